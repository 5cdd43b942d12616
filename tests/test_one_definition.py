"""A variant is defined in one place: add it there and it reaches the list, the CSV, the charts and the report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from gilbench import storage

from tests.conftest import ROOT

NEW_VARIANT = """
VARIANTS["my-threads"] = Variant("my-threads", "threads added by a test, in one place", run_threading, "threads",
                                 "#117733", "h")
"""


@pytest.mark.slow
def test_a_variant_added_in_one_place_is_everywhere(tmp_path, no_stray_cells):
    package = tmp_path / "site" / "gilbench"
    shutil.copytree(ROOT / "bench", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "workloads", package / "workloads", ignore=shutil.ignore_patterns("__pycache__"))
    with open(package / "variants.py", "a") as fh:
        fh.write(NEW_VARIANT)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), GILBENCH_TEST_MARKER=no_stray_cells)

    def gilbench(*args):
        return subprocess.run(
            [sys.executable, "-P", "-m", "gilbench", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    listed = gilbench("list")
    assert listed.returncode == 0, listed.stderr
    assert "my-threads" in listed.stdout and "threads added by a test, in one place" in listed.stdout

    run = gilbench(
        "run",
        "--workloads",
        "count",
        "--variants",
        "serial,my-threads,process-pool",
        "--workers",
        "1,2",
        "--size",
        "smoke",
        "--repeat",
        "1",
        "--no-progress",
        "--out",
        "out",
    )
    assert run.returncode == 0, run.stderr
    run_dir = tmp_path / "out" / "latest"
    frame = storage.load_results(run_dir)
    assert frame["ok"].all() and set(frame["variant"]) == {"serial", "my-threads", "process-pool"}
    assert sorted(frame.loc[frame["variant"] == "my-threads", "workers"].unique()) == [1, 2]
    legend_text = (run_dir / "speedup-count.svg").read_text()
    assert "my-threads" in legend_text and "#117733" in legend_text.lower()  # its own colour, not grey
    report = (run_dir / "report.md").read_text()
    assert "**my-threads**: threads added by a test, in one place" in report
    assert "**my-threads**: " in report.split("## Variants in this run")[1].split("## Summary")[0]
