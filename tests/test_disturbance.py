"""Machine accounting: repetitions that other programs disturbed are marked, re-run and left out; quiet ones are not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from gilbench import accounting, analysis, storage
from tests.conftest import ROOT, wait_for_rows

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(accounting.unavailable() is not None, reason=str(accounting.unavailable()))]

RUN = ["--workloads", "count", "--variants", "serial,process-pool", "--workers", "1,2", "--size", "quick",
       "--param", "iterations=4e6", "--warmup", "0", "--no-progress", "--no-report"]
BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


def start_gilbench(out, marker, *extra):
    env = dict(os.environ, GILBENCH_TEST_MARKER=marker)
    return subprocess.Popen([sys.executable, "-m", "gilbench", "run", *RUN, *extra, "--out", str(out)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.quiet
def test_a_quiet_run_marks_nothing(tmp_path, no_stray_cells):
    proc = start_gilbench(tmp_path, no_stray_cells, "--repeat", "3")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    frame = storage.load_results(tmp_path / "latest")
    assert frame["other_cores"].notna().all() and (frame["other_cores"] >= 0).all()
    assert not frame["disturbed"].any(), frame[["variant", "workers", "other_cores", "steal_cores"]].to_string()
    assert (frame["attempt"] == 1).all() and len(frame) == 3 * 3
    assert "disturbed" not in err


@pytest.mark.quiet  # what it did not overlap must be quiet
def test_a_cpu_burner_marks_the_repetitions_it_overlapped_and_they_run_again(tmp_path, no_stray_cells):
    proc = start_gilbench(tmp_path, no_stray_cells, "--repeat", "4", "--reruns", "3")
    wait_for_rows(tmp_path, 2, proc)  # the run is going: imports done, the first repetitions written
    burner_start = time.time()
    burners = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=2.5)],
                                env=dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells)) for _ in range(2)]
    try:
        for burner in burners:
            burner.wait(timeout=30)
    finally:
        for burner in burners:  # bounded by their own clock; never left running
            burner.kill()
            burner.wait()
    burner_end = time.time()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    frame = storage.load_results(tmp_path / "latest")
    disturbed = frame[frame["disturbed"]]
    assert len(disturbed) >= 1, frame[["variant", "workers", "repeat", "other_cores"]].to_string()
    assert (disturbed["other_cores"] + disturbed["steal_cores"] > 0.1).all()
    started = frame["timestamp"].map(lambda t: __import__("datetime").datetime.fromisoformat(t).timestamp())
    assert started[frame["disturbed"]].between(burner_start - 5, burner_end + 1).all()  # only while it burned
    for _, row in disturbed.iterrows():  # each disturbed repetition ran again, later, and that one was quiet
        again = frame[(frame["variant"] == row["variant"]) & (frame["workers"] == row["workers"])
                      & (frame["repeat"] == row["repeat"]) & (frame["attempt"] > row["attempt"])]
        assert not again.empty
    assert (frame.groupby(["variant", "workers", "repeat"])["disturbed"].min() == False).all()  # noqa: E712
    kept = analysis.measured(frame)
    assert not kept["disturbed"].any() and len(kept) == 3 * 4  # the statistics see one clean value per repetition
    assert "disturbed" in err and "run again" in err


def test_a_machine_that_stays_busy_keeps_marked_results_and_says_so(tmp_path, no_stray_cells):
    """With no re-runs allowed, disturbed measurements are kept, marked, and the report says how busy."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=60)],
                                env=dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells)) for _ in range(2)]
    try:
        time.sleep(0.5)
        env = dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells)
        proc = subprocess.run([sys.executable, "-m", "gilbench", "run", "--workloads", "count", "--variants", "serial",
                               "--size", "quick", "--param", "iterations=4e6", "--warmup", "0", "--repeat", "2",
                               "--reruns", "0", "--no-progress", "--out", str(tmp_path)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    assert frame["disturbed"].all() and (frame["attempt"] == 1).all()
    table = analysis.summarize(frame)
    assert int(table["disturbed_kept"].iloc[0]) == 2 and table["other_cores_max"].iloc[0] > 0.1
    assert "busy machine" in proc.stdout  # the terminal table marks the cell
    report = (tmp_path / "latest" / "report.md").read_text()
    assert "**Measured on a busy machine**" in report and "serial x1 (2 of 2 repetitions" in report


def test_repeat_auto_adds_rounds_only_for_cells_that_miss_the_precision(tmp_path, no_stray_cells):
    """A loose precision is met after the first rounds; an impossible one runs until the budget and says so."""
    env = dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells)
    base = [sys.executable, "-m", "gilbench", "run", "--workloads", "count", "--variants", "serial,process-pool",
            "--workers", "2", "--size", "smoke", "--repeat", "auto", "--no-progress"]
    loose = subprocess.run([*base, "--precision", "10", "--out", str(tmp_path / "loose")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert loose.returncode == 0, loose.stderr
    frame = storage.load_results(tmp_path / "loose" / "latest")
    assert frame.loc[~frame["warmup"], "repeat"].max() == 6  # the first rounds only
    assert "every cell's speedup interval is within" in loose.stderr
    tight = subprocess.run([*base, "--precision", "0.0001", "--budget", "8", "--out", str(tmp_path / "tight")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert tight.returncode == 0, tight.stderr
    frame = storage.load_results(tmp_path / "tight" / "latest")
    assert frame["repeat"].max() > 6  # more rounds were run...
    assert "2 cell(s) still wider than" in tight.stderr  # ...and it stopped at the budget, saying so
    report = (tmp_path / "tight" / "latest" / "report.md").read_text()
    assert "0 of 2 cells met the target" in report
