"""The platform layer (bench/oslayer.py): its portable implementations, forced here with GILBENCH_PORTABLE=1, do
what the POSIX and Linux ones do; and nothing macOS and Windows lack is imported at the top of gilbench's modules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from gilbench import accounting, oslayer

from tests.conftest import ROOT

# A parent that starts a child (both sleep): the tree a cell and its worker make.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(child.pid, flush=True)
    time.sleep(600)
    """
)

# An orchestrator: a lifeline, a "cell" (that parent) started with it, the cell's pid printed; then it waits to die.
ORCHESTRATOR = textwrap.dedent(
    """
    import subprocess, sys, time
    from gilbench import oslayer
    lifeline = oslayer.Lifeline()
    cell = subprocess.Popen([sys.executable, "-c", sys.argv[1]] + lifeline.cell_args(), stdout=subprocess.PIPE,
                            text=True, **lifeline.popen_options())
    lifeline.started(cell.pid)
    print(cell.pid, cell.stdout.readline().strip(), flush=True)
    time.sleep(600)
    """
)


# The POSIX lifeline's reader is the cell's own watchdog (gilbench.cell); a stand-in cell reads it itself.
POSIX_WATCHDOG = textwrap.dedent(
    """
    import os, sys, threading
    def watch():
        while os.read(int(sys.argv[1]), 1):
            pass
        os.killpg(0, 9)
    threading.Thread(target=watch, daemon=True).start()
    """
)


def gone(pids, timeout=10.0) -> bool:
    """Whether every pid has ended (a zombie counts as ended: only its parent's wait is left)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                alive.append(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
            except psutil.NoSuchProcess:
                alive.append(False)
        if not any(alive):
            return True
        time.sleep(0.05)
    return False


def test_the_setting_forces_the_portable_implementations(monkeypatch):
    monkeypatch.setenv(oslayer.PORTABLE, "1")
    assert not oslayer.posix() and not oslayer.linux()
    monkeypatch.setenv(oslayer.PORTABLE, "0")
    assert oslayer.posix() == (os.name == "posix")
    assert oslayer.linux() == sys.platform.startswith("linux")


def test_macos_gives_ru_maxrss_in_bytes_and_linux_in_kib():
    assert oslayer.maxrss_kb(50 * 1024 * 1024, "darwin") == 50 * 1024
    assert oslayer.maxrss_kb(50 * 1024, "linux") == 50 * 1024


def test_peak_memory_and_cpu_are_read_here():
    assert oslayer.peak_rss_kb() > 1024  # a Python process holds more than 1 MiB
    assert oslayer.process_cpu_s() > 0


@pytest.mark.parametrize("forced", ["0", "1"])
def test_a_tree_is_killed_whole(forced, monkeypatch, no_stray_cells):
    monkeypatch.setenv(oslayer.PORTABLE, forced)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells),
        **oslayer.own_group(),
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    oslayer.Tree(parent.pid).kill()
    parent.wait(timeout=10)
    parent.stdout.close()
    assert gone([parent.pid, child])


@pytest.mark.parametrize("forced", ["0", "1"])
def test_the_cell_dies_with_the_orchestrator_even_by_sigkill(forced, no_stray_cells):
    env = dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells, **{oslayer.PORTABLE: forced})
    cell = PARENT if forced == "1" else POSIX_WATCHDOG + PARENT
    orchestrator = subprocess.Popen(
        [sys.executable, "-c", ORCHESTRATOR, cell], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert orchestrator.stdout is not None
    cell_pid, worker_pid = map(int, orchestrator.stdout.readline().split())
    orchestrator.send_signal(signal.SIGKILL)
    orchestrator.wait()
    orchestrator.stdout.close()
    assert gone([cell_pid, worker_pid])


@pytest.mark.skipif(os.name != "posix", reason="checks the portable accounting against /proc")
def test_the_portable_accounting_reads_what_proc_reads(monkeypatch):
    """The same processes, in the same ticks (psutil reads the same counters on Linux); this process's own tree
    left out by both."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the reference is Linux's /proc")
    by_proc = accounting.snapshot()
    monkeypatch.setenv(oslayer.PORTABLE, "1")
    portable = accounting.snapshot()
    assert by_proc is not None and portable is not None
    common = set(by_proc.others) & set(portable.others)
    assert len(common) >= 0.9 * len(by_proc.others)  # processes that started or ended between the two readings
    assert os.getpid() not in portable.others
    for pid in common:  # the counters only grow, by little in the moment between the readings
        assert portable.others[pid][0] >= by_proc.others[pid][0]


WINDOWS_LACKS = "resource=None, fcntl=None, pty=None, termios=None"  # an import of any of them raises ImportError


def test_no_module_imports_what_windows_lacks_at_the_top():
    """Every gilbench module imports with resource and fcntl missing, as on Windows."""
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        sys.modules.update({WINDOWS_LACKS})
        import gilbench
        for info in pkgutil.walk_packages(gilbench.__path__, "gilbench."):
            if info.name != "gilbench.__main__":
                importlib.import_module(info.name)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_test_suite_imports_without_what_windows_lacks():
    """conftest.py and every test module import with the POSIX-only modules missing: on Windows the suite is
    collected, and a test that needs one of them skips itself where it runs."""
    code = textwrap.dedent(
        f"""
        import importlib, pathlib, sys
        import psutil, pytest  # psutil has a build of its own for Windows; its Linux one imports resource
        sys.modules.update({WINDOWS_LACKS})
        for path in sorted(pathlib.Path("tests").glob("*.py")):
            try:
                importlib.import_module(f"tests.{{path.stem}}")
            except pytest.skip.Exception:
                pass  # a module-level importorskip: an optional package that is not installed
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
