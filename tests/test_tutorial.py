"""--check-against-tutorial, and the cell's process holding what the tutorial's scripts hold."""

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from gilbench import analysis, storage, tutorial
from gilbench.storage import TutorialRow

from tests.conftest import gilbench
from tests.helpers import paired_block, write_run

ROOT = Path(__file__).resolve().parents[1]


def script_rows(block_workers, repeat, serial_s, parallel_s, attempt=1, python="/usr/bin/python3"):
    common = dict(
        run_id="r1",
        timestamp="",
        workload="count",
        size="smoke",
        python_executable=python,
        block_workers=block_workers,
        repeat=repeat,
        attempt=attempt,
        warmup=repeat <= 0,
        share=1000,
        ok=True,
        error="",
    )
    return [
        TutorialRow(script="serial", total_s=serial_s, **common),
        TutorialRow(script="parallel", total_s=parallel_s, **common),
    ]


def test_tutorial_check_pairs_the_scripts_with_the_cells_block_by_block(tmp_path):
    # gilbench: serial / multiprocessing = 2.0, 2.2, 1.8; the tutorial's scripts: 2.0, 2.0, 2.0 (numbers by hand)
    cells = [(2.0, 1.0), (2.2, 1.0), (1.8, 1.0)]
    scripts = [(2.0, 1.0), (3.0, 1.5), (1.9, 0.95)]
    rows, tut = [], []
    for repeat, ((cs, cp), (ss, sp)) in enumerate(zip(cells, scripts, strict=True), start=1):
        rows += paired_block(repeat, 2, cs, {"multiprocessing": cp})
        tut += script_rows(2, repeat, ss, sp)
    tut += script_rows(2, 0, 9.0, 1.0)  # a warm-up block: left out
    tut += script_rows(2, 3, 50.0, 1.0, attempt=0)  # an earlier attempt of block 3: only the last counts
    folder = write_run(tmp_path / "run", rows)
    storage.append_rows(folder / storage.TUTORIAL, tut, TutorialRow)
    frame = storage.load_results(folder)
    checks = analysis.tutorial_check(frame, storage.load_tutorial(folder))
    assert len(checks) == 1
    c = checks[0]
    assert c["workers"] == 2 and c["blocks"] == 3
    geo = math.exp(np.mean(np.log([2.0, 2.2, 1.8])))
    assert c["gilbench_speedup"][0] == pytest.approx(geo)
    assert c["tutorial_speedup"][0] == pytest.approx(2.0)
    assert c["tutorial_speedup"][1] == pytest.approx(2.0)  # no spread: a zero-width interval
    assert c["ratio"][0] == pytest.approx(geo / 2.0)
    assert c["ratio"][1] < 1 < c["ratio"][2]
    # stopwatch by stopwatch: cell serial / script serial = 1, 2.2/3, 1.8/1.9; parallel: 1, 1/1.5, 1/0.95
    assert c["serial_stopwatch"][0] == pytest.approx(math.exp(np.mean(np.log([1.0, 2.2 / 3.0, 1.8 / 1.9]))))
    assert c["parallel_stopwatch"][0] == pytest.approx(math.exp(np.mean(np.log([1.0, 1 / 1.5, 1 / 0.95]))))


@pytest.mark.parametrize("native", ["leave", "1,leave"])
def test_a_run_with_the_check_writes_the_scripts_rows_and_says_both_speedups(tmp_path, no_stray_cells, native):
    """At several --native-threads settings the scripts run beside the reference setting's blocks (leave) only: the
    same rows as at one setting, one check in the report, in that setting's section."""
    done = gilbench(
        "run",
        "--workloads",
        "count",
        "--variants",
        "serial,multiprocessing",
        "--workers",
        "1,2",
        "--size",
        "smoke",
        "--repeat",
        "3",
        "--check-against-tutorial",
        "--native-threads",
        native,
        "--no-progress",
        "--out",
        tmp_path,
        env={"GILBENCH_TEST_MARKER": no_stray_cells},
    )
    assert done.returncode == 0, done.stderr
    run_dir = (tmp_path / "latest").resolve()
    assert set(storage.load_results(run_dir)["native_setting"]) == set(native.split(","))
    scripts = storage.load_tutorial(run_dir)
    # only the block at 2 workers runs the scripts (at 1 there is no parallel script to compare): warm-up + 3
    assert set(scripts["block_workers"]) == {2}
    assert len(scripts) == 2 * 4 and scripts["ok"].all()
    assert (scripts["total_s"] > 0).all()
    assert set(scripts["share"]) == {200_000 // 2}
    assert "the tutorial's own scripts" in done.stderr
    report = (run_dir / "report.md").read_text()
    assert report.count("Against the tutorial's own two scripts") == 1
    (section,) = [part for part in report.split("\n## ") if "Against the tutorial's" in part]
    assert section.startswith("count - ") and "--native-threads" not in section.splitlines()[0], section[:200]
    assert "Speedups are on `total_s`" in report


def test_the_tutorial_scripts_count_the_work_they_are_given(tmp_path):
    serial = tutorial.run(sys.executable, "serial", 100_000, 2, "fork", dict(os.environ), 60)
    parallel = tutorial.run(sys.executable, "parallel", 100_000, 2, "spawn", dict(os.environ), 60)
    assert serial.share == parallel.share == 50_000
    assert serial.total_s > 0 and parallel.total_s > 0


def test_a_failing_tutorial_script_says_so_in_one_line(tmp_path):
    with pytest.raises(RuntimeError, match="the tutorial's serial script failed under .*python"):
        tutorial.run(sys.executable, "serial", 100_000, 2, "no-such-method", dict(os.environ), 60)


@pytest.mark.parametrize("expected,ok", [(1, True), (2, False)])
def test_the_serial_cell_runs_its_task_with_no_other_thread_in_its_process(expected, ok, tmp_path, no_stray_cells):
    """The tutorial's serial script holds one thread; so does the process of a serial cell (the watchdog that kills
    a cell whose orchestrator died is a process of the cell's group, not a thread beside the measured loop). The
    fixture's check fails the cell when its task saw another number of threads: 2 must fail, so the check bites."""
    fixture = ROOT / "tests" / "fixtures" / "threads_seen.py"
    done = gilbench(
        "run",
        "--workloads",
        fixture,
        "--variants",
        "serial",
        "--param",
        f"expect_threads={expected}",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--no-progress",
        "--no-report",
        "--out",
        tmp_path,
        env={"GILBENCH_TEST_MARKER": no_stray_cells},
    )
    rows = storage.load_results((tmp_path / "latest").resolve())
    assert len(rows) == 1
    assert bool(rows["ok"].iloc[0]) is ok, rows["error"].iloc[0]
    assert (done.returncode == 0) is ok


@pytest.mark.parametrize("workers, pointer", [([1, 2], "this run's context check"), ([2], "add 1 to --workers")])
def test_a_gap_with_the_tutorial_points_at_the_loops_context(workers, pointer):
    import pandas as pd
    from gilbench import report

    part = pd.DataFrame(
        [
            {"workload": "count", "python_executable": "py", "variant": v, "workers": n}
            for n in workers
            for v in ("serial", "multiprocessing")
        ]
    )
    check = {
        "python_executable": "py",
        "blocks": 12,
        "workers": 2,
        "tutorial_speedup": (1.7, 1.6, 1.8, 0.95),
        "gilbench_speedup": (2.05, 1.95, 2.15, 0.95),
        "serial_stopwatch": (1.0, 0.95, 1.05, 0.95),
        "parallel_stopwatch": (0.85, 0.8, 0.9, 0.95),
    }
    gap = report.tutorial_findings(part, [dict(check, ratio=(1.21, 1.11, 1.32, 0.95))])
    assert "the interval excludes 1.00x" in gap[0] and "context" in gap[0] and pointer in gap[0]
    same = report.tutorial_findings(part, [dict(check, ratio=(1.02, 0.95, 1.10, 0.95))])
    assert "the same within this run's noise" in same[0] and report.CONTEXT_FIRST not in same[0]
