"""Issue 27, item 3: a cell's peak_rss_mb is the cell's own memory, not that of the process that started it.

On Linux a process's ru_maxrss survives exec: a cell started by a large orchestrator (one that has
imported pandas to plan --repeat auto's next round) reported the orchestrator's peak as its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

LARGE_MB = 300

SCRIPT = textwrap.dedent(f"""
    import json, sys
    from gilbench import options, plan, runner
    ballast = bytearray({LARGE_MB} * 1024 * 1024)  # touched: resident in this (the starting) process
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    config = options.resolve(options.RunOptions(workloads="count", variants="serial", workers="1", size="smoke",
                                                out=sys.argv[1]))
    cell = plan.build_cells(config)[0]
    result, _ = runner.run_repetition(cell, {{}}, config)
    print(json.dumps({{"ok": result.ok, "error": result.error, "peak_rss_mb": result.peak_rss_mb}}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the inherited ru_maxrss is Linux's behaviour")
def test_a_cell_started_by_a_large_process_reports_its_own_peak(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"], result["error"]
    assert 0 < result["peak_rss_mb"] < LARGE_MB / 2, result  # a serial count cell needs a few tens of MB
