"""Fault injection: every fault here really happens (exit, signal, segfault, hang, Ctrl-C, SIGKILL).

Each test names the row of docs/failures.md ("What happens when things go wrong") it backs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from gilbench import storage

from tests.conftest import FIXTURES, ROOT
from tests.helpers import ran_tasks

FAULTY = str(FIXTURES / "faulty.py")
PROCESS_VARIANTS = "multiprocessing,process-pool"


def marked_env(marker):
    return dict(os.environ, GILBENCH_TEST_MARKER=marker)


# No re-runs of disturbed repetitions (--reruns 0): these runs count their rows, on a busy machine too; tests run side
# by side disturb each other. Disturbance is tested in tests/test_disturbance.py.
def run(args, marker, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "gilbench", "run", "--no-progress", "--no-report", "--reruns", "0", *map(str, args)],
        capture_output=True,
        text=True,
        env=marked_env(marker),
        cwd=ROOT,
        timeout=timeout,
    )


def faulty(fault, out, variants=PROCESS_VARIANTS, extra=()):
    return [
        "--workloads",
        FAULTY,
        "--variants",
        variants,
        "--workers",
        "2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--param",
        f"fault={fault}",
        "--param",
        "fault_task=1",
        "--out",
        out,
        *extra,
    ]


@pytest.mark.parametrize(
    "fault,reason",
    [
        ("exit", "exit code 1"),
        ("sigkill", "killed by signal SIGKILL"),
        ("segfault", "killed by signal SIGSEGV"),
    ],
)
def test_worker_that_dies_fails_its_cell_and_the_run_goes_on(fault, reason, tmp_path, no_stray_cells):
    """docs/failures.md: a worker process dies (os._exit, SIGKILL, segfault)."""
    proc = run(faulty(fault, tmp_path, "serial," + PROCESS_VARIANTS), no_stray_cells)
    assert proc.returncode == 1, proc.stderr  # some cells failed
    frame = ran_tasks(storage.load_results(tmp_path / "latest"))
    procs = frame[frame["variant"].isin(PROCESS_VARIANTS.split(","))]
    assert len(procs) == 2 * 2  # both cells, warm-up + 1 repeat: the run went on after each failure
    assert not procs["ok"].any()
    assert all(reason in e for e in procs["error"]), procs["error"].tolist()
    serial = frame[frame["variant"] == "serial"]  # one worker runs the faulty task inside the cell itself
    assert len(serial) == 1 and all("cell process ended without a result" in e for e in serial["error"])
    assert "FAILED" in proc.stderr and "repetition(s) failed" in proc.stderr


def test_fault_in_the_cell_process_itself(tmp_path, no_stray_cells):
    """docs/failures.md: a crash of the whole cell (serial/threading: the worker is the cell)."""
    proc = run(faulty("segfault", tmp_path, "serial,threading"), no_stray_cells)
    assert proc.returncode == 1
    frame = ran_tasks(storage.load_results(tmp_path / "latest"))
    # serial runs task 1 too (2 tasks at 1 worker), so every cell dies with the cell process
    assert not frame["ok"].any()
    assert all("cell process ended without a result (killed by signal SIGSEGV)" in e for e in frame["error"])


@pytest.mark.parametrize("fault", ["hang", "spin"])
def test_hanging_worker_is_killed_at_the_timeout(fault, tmp_path, no_stray_cells):
    """docs/failures.md: a worker hangs (sleeps or spins forever)."""
    start = time.monotonic()
    proc = run(faulty(fault, tmp_path, "process-pool,threading", ["--timeout", "2"]), no_stray_cells)
    elapsed = time.monotonic() - start
    frame = storage.load_results(tmp_path / "latest")
    hung = frame[frame["workers"] == 2]
    assert proc.returncode == 1
    assert all("timed out after 2 s" in e for e in hung["error"])
    # 2 cells x 2 repetitions (warm-up + 1) at workers=2 hang for 2 s each; the rest are quick
    assert elapsed < 4 * (2 + 3) + 10


@pytest.mark.parametrize(
    "fault,message",
    [
        ("raise", "RuntimeError: task 1 failed on purpose"),
        ("wrong", "ValueError: counted 19999, expected 20000"),
    ],
)
def test_task_that_raises_or_lies_is_a_failed_cell(fault, message, tmp_path, no_stray_cells):
    """docs/failures.md: a task raises; a task returns a wrong result."""
    proc = run(faulty(fault, tmp_path, "serial,threading,thread-pool," + PROCESS_VARIANTS), no_stray_cells)
    assert proc.returncode == 1
    frame = ran_tasks(storage.load_results(tmp_path / "latest"))
    assert not frame["ok"].any()
    assert all(message in e for e in frame["error"]), frame["error"].tolist()
    assert frame["total_s"].isna().all()  # never recorded as a (fast) measurement


def _wait_for_rows(path: Path, n: int, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") > n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail(f"{path} never reached {n} rows")


def last_attempts(frame):
    """Each block's rows at its last attempt: what the statistics use."""
    last = frame.groupby(["workload", "block_workers", "repeat"])["attempt"].transform("max")
    return frame[frame["attempt"] == last]


def _start_slow_run(out, marker, repeat=3):
    args = [
        "--workloads",
        FAULTY,
        "--variants",
        "serial,threading,multiprocessing,process-pool",
        "--workers",
        "1,2",
        "--repeat",
        str(repeat),
        "--size",
        "smoke",
        "--param",
        "fault=slow",
        "--param",
        "fault_task=0",
        "--out",
        out,
        "--seed",
        "1",
        "--reruns",
        "0",
    ]  # 7 cells x (warm-up + repeat) rows exactly
    ignore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731 - as `cmd &` in a script
    proc = subprocess.Popen(
        [sys.executable, "-m", "gilbench", "run", "--no-progress", "--no-report", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=marked_env(marker),
        cwd=ROOT,
        preexec_fn=ignore_sigint,
    )
    return proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_fast_keeps_rows_and_resume_finishes(signum, tmp_path, no_stray_cells):
    """docs/failures.md: Ctrl-C or SIGTERM during a run; --resume. Also when gilbench was started with SIGINT
    ignored, as a non-interactive shell starts background jobs."""
    proc = _start_slow_run(tmp_path, no_stray_cells)
    results = None
    deadline = time.monotonic() + 30
    while results is None and time.monotonic() < deadline:
        latest = tmp_path / "latest"
        if latest.exists():
            results = latest.resolve() / "results.csv"
        time.sleep(0.05)
    _wait_for_rows(results, 3, proc)
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()  # the cell's watchdog takes its process group down with it
        proc.communicate()
        pytest.fail(f"gilbench ignored signal {signum!r} for 10 s")
    assert time.monotonic() - sent < 5
    assert proc.returncode == 130
    run_dir = results.parent
    assert f"kept in {run_dir}/results.csv" in err and f"gilbench run --resume {run_dir}" in err
    assert "more were queued: the one cut short" in err  # what was left, not a total to set against the plan's
    kept = storage.load_results(run_dir)
    assert 3 <= len(kept) < 8 * 4  # finished rows kept; not all of them ran

    resumed = subprocess.run(
        [sys.executable, "-m", "gilbench", "run", "--resume", str(run_dir), "--no-progress", "--no-report"],
        capture_output=True,
        text=True,
        env=marked_env(no_stray_cells),
        cwd=ROOT,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    final = storage.load_results(run_dir)
    # blocks at 1 and 2 workers, 4 cells each, x (warm-up + 3): every block whole at its last attempt (the block
    # the interruption cut short was run again, whole, so that its pairs stay back to back)
    assert len(last_attempts(final)) == 8 * 4
    assert not last_attempts(final).duplicated(["variant", "workers", "block_workers", "repeat"]).any()
    assert final.iloc[: len(kept)]["run_id"].tolist() == kept["run_id"].tolist()  # earlier rows untouched


def test_orchestrator_killed_with_sigkill(tmp_path, no_stray_cells):
    """docs/failures.md: gilbench itself is killed with SIGKILL."""
    proc = _start_slow_run(tmp_path, no_stray_cells, repeat=2)
    deadline = time.monotonic() + 30
    while not (tmp_path / "latest").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run_dir = (tmp_path / "latest").resolve()
    _wait_for_rows(run_dir / "results.csv", 2, proc)
    proc.kill()
    proc.communicate()
    # the no_stray_cells fixture checks that the cell and its workers died with it (the watchdog)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        (p.info.get("environ") or {}).get("GILBENCH_TEST_MARKER") == no_stray_cells
        for p in psutil.process_iter(["environ"])
    ):
        time.sleep(0.1)
    kept = storage.load_results(run_dir)
    assert len(kept) >= 2
    resumed = subprocess.run(
        [sys.executable, "-m", "gilbench", "run", "--resume", str(run_dir), "--no-progress", "--no-report"],
        capture_output=True,
        text=True,
        env=marked_env(no_stray_cells),
        cwd=ROOT,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert len(last_attempts(storage.load_results(run_dir))) == 8 * 3


def test_concurrent_runs_share_a_results_folder(tmp_path, no_stray_cells):
    """docs/failures.md: two runs write into the same results folder at once."""
    args = [
        "--workloads",
        "count",
        "--variants",
        "serial,threading",
        "--workers",
        "1,2",
        "--repeat",
        "2",
        "--size",
        "smoke",
        "--reruns",
        "0",
        "--out",
        tmp_path,
    ]  # the runs disturb each other: no re-runs here
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gilbench", "run", "--no-progress", "--no-report", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=marked_env(no_stray_cells),
            cwd=ROOT,
        )
        for _ in range(3)
    ]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 3
    for run_dir in runs:
        frame = storage.load_results(run_dir)
        assert len(frame) == 4 * 3 and frame["run_id"].nunique() == 1  # blocks of 2 at 1 and 2 workers, x 3
    assert (tmp_path / "latest").resolve() in [r.resolve() for r in runs]


def test_resume_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    from gilbench import cli

    assert cli.main(["run", "--resume", str(tmp_path)]) == 2
    assert "is not a gilbench run folder" in capsys.readouterr().err


def test_full_disk_is_refused_before_anything_runs(full_disk_dir, capsys):
    """docs/failures.md: the output folder is on a full disk."""
    from gilbench import cli

    before = sorted(p.name for p in full_disk_dir.iterdir())
    assert cli.main(["run", "--out", str(full_disk_dir / "results"), "--size", "smoke"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in full_disk_dir.iterdir()) == before


def test_start_method_not_available(monkeypatch, tmp_path, capsys):
    """docs/failures.md: a start method this platform lacks."""
    import multiprocessing

    from gilbench import cli

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert cli.main(["run", "--start-method", "fork", "--out", str(tmp_path / "o")]) == 2
    assert "--start-method 'fork' is not available here (accepted: spawn)" in capsys.readouterr().err
