"""dask and joblib variants: a real scheduler and workers on loopback, LocalCluster, joblib."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gilbench import cli, storage

from tests.conftest import ROOT, gilbench
from tests.helpers import ran_tasks

# ImportError, not only a missing module: distributed's locket raises it where it finds no file locking (a machine
# without fcntl, as tests/test_oslayer.py simulates Windows here)
distributed = pytest.importorskip(
    "distributed", reason="the dask variant needs: pip install 'gilbench[distributed]'", exc_type=ImportError
)
pytest.importorskip("joblib", reason="the joblib variant needs: pip install 'gilbench[distributed]'")

DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(no_stray_cells):
    """`dask scheduler` and `dask worker` (two single-threaded worker processes) on 127.0.0.1."""
    if not os.access(DASK, os.X_OK):
        pytest.skip(f"the dask command is not installed next to {sys.executable}")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells, PYTHONPATH=str(ROOT))
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(logs / f"dask-scheduler-{port}.log", "w"),
            start_new_session=True,
        )
    ]
    procs.append(
        subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(logs / f"dask-worker-{port}.log", "w"),
            start_new_session=True,
        )
    )
    from dask.distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    yield address
    for p in reversed(procs):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_dask_on_a_real_scheduler_and_workers(dask_cluster, tmp_path, no_stray_cells):
    proc = gilbench(
        "run",
        "--dask-scheduler",
        dask_cluster,
        "--workloads",
        "count,thumbnail",
        "--variants",
        "serial,dask",
        "--workers",
        "1,2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
        env={"GILBENCH_TEST_MARKER": no_stray_cells},
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    dask = frame[frame["variant"] == "dask"]
    assert len(dask) == 2 * 2 * 2 and dask["ok"].all()
    tasks = storage.load_tasks(tmp_path / "latest")
    two = tasks[(tasks["variant"] == "dask") & (tasks["workers"] == 2)]
    assert (two["host"] == socket.gethostname()).all()
    # the tasks ran in the cluster's worker processes, not in the cell
    assert two.groupby(["workload", "repeat"])["pid"].nunique().max() == 2
    assert (two["start_s"] >= -0.5).all() and (two["wall_s"] > 0).all()
    assert (tmp_path / "latest" / "report.md").exists()


def test_dask_local_cluster_default_and_joblib(tmp_path, no_stray_cells):
    proc = gilbench(
        "run",
        "--workloads",
        "count",
        "--variants",
        "serial,dask,joblib",
        "--workers",
        "1,2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
        "--no-report",
        env={"GILBENCH_TEST_MARKER": no_stray_cells},
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    assert frame["ok"].all() and set(frame["variant"]) == {"serial", "dask", "joblib"}
    two = frame[frame["workers"] == 2]
    assert (two[two["variant"] == "dask"]["worker_processes"] == 2).all()
    # loky's first ready worker may take both tiny smoke tasks before the second one is up: 1 or 2
    assert two[two["variant"] == "joblib"]["worker_processes"].between(1, 2).all()
    local = ran_tasks(frame[frame["variant"] == "dask"])
    assert (local["startup_s"] > 0.1).all()  # starting the LocalCluster is counted, not hidden


def test_scheduler_that_does_not_answer(capsys, tmp_path):
    start = time.monotonic()
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    assert cli.main(["run", "--dask-scheduler", address, "--variants", "serial,dask", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--dask-scheduler '{address}' did not answer within 5 s" in err and err.count("\n") == 1
    assert time.monotonic() - start < 5 + 10
    assert not (tmp_path / "runs").exists()


def test_missing_extras_are_listed_with_the_install_command(monkeypatch, capsys):
    import importlib.util

    from gilbench import variants

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("distributed", "joblib") else real(name, *a)
    )
    found = variants.local_availability()
    assert found["dask"] == "needs the distributed package: pip install 'gilbench[distributed]'"
    assert found["joblib"] == "needs the joblib package: pip install 'gilbench[distributed]'"
    assert cli.main(["list"]) == 0
    assert "unavailable: needs the joblib package: pip install 'gilbench[distributed]'" in capsys.readouterr().out
