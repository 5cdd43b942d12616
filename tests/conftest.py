"""Shared fixtures. The session fixture fails the suite if any child process outlives the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _descendants():
    return [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(scope="session", autouse=True)
def no_orphan_processes():
    """No test may leave a process behind: not a worker, not a cell, not a cluster."""
    before = {p.pid for p in _descendants()}
    yield
    deadline = time.monotonic() + 5
    while True:
        left = [p for p in _descendants() if p.pid not in before]
        # processes started by us but re-parented to init are caught by the per-test check below
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"processes left behind: {[(p.pid, ' '.join(p.cmdline())) for p in left]}"


@pytest.fixture
def no_stray_cells():
    """Checks that no process from this test survives, including orphans re-parented to init."""
    marker = f"gilbench-test-{os.getpid()}-{time.monotonic_ns()}"
    yield marker
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stray = [p for p in psutil.process_iter(["environ"]) if _has_marker(p, marker)]
        if not stray:
            return
        time.sleep(0.1)
    pytest.fail(f"processes outlived the test: {[p.pid for p in stray]}")


def _has_marker(proc, marker):
    try:
        return (proc.info.get("environ") or {}).get("GILBENCH_TEST_MARKER") == marker
    except (psutil.Error, AttributeError):
        return False


def gilbench(*args, env=None, timeout=600, cwd=None):
    """Run the CLI as a user would, in a subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "gilbench", *map(str, args)], capture_output=True, text=True,
        timeout=timeout, env=full_env, cwd=cwd or ROOT,
    )


@pytest.fixture
def run_cli():
    return gilbench


def _mount_tmpfs(path, options):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody can write to: chmod 555 for a normal user, a read-only tmpfs for root."""
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
    elif _mount_tmpfs(path, "ro,size=1m"):
        yield path
        subprocess.run(["umount", str(path)], check=True)
    else:
        pytest.skip("running as root without permission to mount a read-only tmpfs")


@pytest.fixture
def full_disk_dir(tmp_path):
    """A folder on a tiny tmpfs that is already full (root only)."""
    path = tmp_path / "full"
    path.mkdir()
    if os.geteuid() != 0 or not _mount_tmpfs(path, "size=64k"):
        pytest.skip("needs root and permission to mount a tmpfs to simulate a full disk")
    try:
        with open(path / "filler", "wb") as fh:
            fh.write(b"\0" * 1024 * 1024)
    except OSError:
        pass
    yield path
    subprocess.run(["umount", str(path)], check=True)
