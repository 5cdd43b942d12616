"""Issue 27, item 5: a failing workload of the user's says where it failed, keeps the traceback, and hints."""

from __future__ import annotations

import textwrap

import pandas as pd
from gilbench import storage

COMMON = """
SIZES = {"smoke": {"n": 4}}


def make_tasks(params, workers):
    return list(range(params["n"]))


def check(params, tasks, results):
    pass
"""

BAD_INPUT = (
    COMMON
    + """

def run_task(i):
    if i == 2:
        raise ValueError(f"bad input {i}")
    return i
"""
)

THREADS_ONLY = (
    COMMON
    + """
import threading


def run_task(i):
    if threading.current_thread() is not threading.main_thread():  # as module globals clobbered by other threads
        raise RuntimeError("state changed under me")
    return i
"""
)

MISSING = (
    COMMON
    + """

def run_task(i):
    import gilbench_no_such_module_xyz  # noqa: F401
    return i
"""
)


def _run(tmp_path, run_cli, source, name):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    out = tmp_path / f"out-{name}"
    proc = run_cli(
        "run",
        "--workloads",
        path,
        "--variants",
        "serial,threading,multiprocessing",
        "--workers",
        "2",
        "--size",
        "smoke",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--no-progress",
        "--no-report",
        "--out",
        out,
    )
    frame = storage.load_results(out / "latest")
    return proc, frame, out / "latest"


def test_a_failed_task_names_its_index_file_and_line_and_keeps_the_traceback(tmp_path, run_cli):
    proc, frame, run_dir = _run(tmp_path, run_cli, BAD_INPUT, "bad_input")
    assert proc.returncode == 1
    failed = frame[~frame["ok"].astype(bool)]
    assert len(failed) == len(frame) == 3  # every variant meets task 2
    for error in failed["error"]:
        assert "ValueError: bad input 2" in error and "task 2" in error and "bad_input.py:" in error, error
        kept = error.split("traceback: ")[-1].strip()
        text = (run_dir / kept).read_text()
        assert "Traceback" in text and 'raise ValueError(f"bad input {i}")' in text, text


def test_a_workload_that_fails_only_under_threads_gets_a_module_state_hint(tmp_path, run_cli):
    proc, frame, _ = _run(tmp_path, run_cli, THREADS_ONLY, "threads_only")
    assert proc.returncode == 1
    ok = frame.groupby("variant")["ok"].all()
    assert not ok["threading"] and ok["serial"] and ok["multiprocessing"]
    assert "module state" in proc.stderr and "threads_only" in proc.stderr, proc.stderr


def test_a_missing_import_inside_a_task_says_what_to_install(tmp_path, run_cli):
    proc, frame, _ = _run(tmp_path, run_cli, MISSING, "missing")
    assert proc.returncode == 1
    assert all("pip install gilbench_no_such_module_xyz" in e for e in frame["error"]), list(frame["error"])
    assert pd.Series(frame["ok"]).eq(False).all()
