"""Shared fixtures. The session fixture fails the suite if any child process outlives the tests.

Parallel runs (`make test` runs `pytest -n auto`, pytest-xdist): tests that share a module- or session-scoped
fixture run in one worker, so the fixture is built once (pytest_xdist_make_scheduler below); tests marked `quiet`
run one at a time with no other test running anywhere (a lock shared by the workers) after a check that the machine
is quiet. Any test that measures (one marked `quiet`, or one that ran gilbench: a results.csv appeared under the
test's temporary folders) and fails while programs outside the test suite took CPU is reported as a skip that names
their load. See "Quiet tests" below.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from gilbench import accounting

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


SIDE_BY_SIDE_THRESHOLD = 1e6  # cores: more than any machine has, so no repetition is marked disturbed


def gilbench(*args, env=None, timeout=600, cwd=None):
    """Run the CLI as a user would, in a subprocess.

    A `run` marks no repetition disturbed and re-runs none unless the test says --disturbance-threshold or
    --reruns: tests running side by side are each other's other programs, and a run that set their blocks aside
    would answer "too busy" where the test reads a speedup, or triple each other's work; its rows are the ones it
    asked for on a busy machine too. Disturbance, re-runs and set-aside blocks are tested in tests/test_disturbance.py
    and tests/test_set_aside.py; a test that measured and fails on a busy machine is a skip (see Quiet tests)."""
    args = [str(a) for a in args]
    if args[:1] == ["run"] and "--resume" not in args:
        if not any(a.startswith("--reruns") for a in args):
            args.append("--reruns=0")
        if not any(a.startswith("--disturbance-threshold") for a in args):
            args.append(f"--disturbance-threshold={SIDE_BY_SIDE_THRESHOLD:g}")
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "gilbench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd or ROOT,
    )


def wait_for_rows(out: Path, n: int, proc, timeout: float = 60) -> Path:
    """Wait until the run started into `out` has written `n` rows to its results.csv (a run's own progress, not a
    guess of how long it takes); fails if the run ends first. Returns the run folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = Path(out) / "latest"
        results = latest / "results.csv"
        if results.exists() and results.read_text().count("\n") > n:
            return latest.resolve()
        if proc.poll() is not None:
            pytest.fail(f"the run ended before writing {n} rows: {proc.communicate()}")
        time.sleep(0.02)
    pytest.fail(f"{out} never reached {n} rows in {timeout} s")


@pytest.fixture
def run_cli():
    return gilbench


def _mount_tmpfs(path, options):
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0
    )


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


# --- Quiet tests -------------------------------------------------------------------------------------
# A test marked `quiet` asserts something that other programs' CPU use would change (thread states, which
# repetitions a burner disturbed). Under pytest-xdist every other test holds a shared lock while it runs and a
# quiet test holds it exclusively (a gate lock first, so waiting quiet tests are not starved by new shared
# holders); consecutive quiet tests of one worker keep it. Quiet tests are queued last. Before each one, gilbench's
# own accounting (bench/accounting.py: all CPUs' busy time from /proc/stat less this process tree's rusage)
# measures what other programs took over PROBE_S; above QUIET_CORES it waits PROBE_S and measures once more, then
# skips with the figures.
#
# Which tests need a quiet machine is found by what they measure, not by a list: a test that ran gilbench (a
# results.csv was written under its temporary folders while it ran) measured times, and so does a `quiet` one. Such
# a test that fails while programs outside the test suite (not pytest, its workers, or anything they started: other
# tests' runs are the suite's own business, and counting them would turn real failures into skips under `make
# test`) took more than QUIET_CORES, on average over the test, is reported as skipped with that load, what its
# runs recorded, and the failure, never as passed. On a quiet machine a failure stays a failure, and a test that
# measured nothing (a wording or a statistics test on synthetic rows) fails whatever the load.

QUIET_CORES = 0.1  # the default --disturbance-threshold: what gilbench itself calls a disturbed repetition
PROBE_S = 0.5  # one USER_HZ tick (10 ms) over 0.5 s resolves 0.02 cores, well below QUIET_CORES
LOCKS_ENV = "GILBENCH_TEST_LOCKS"
SUITE_ENV = "GILBENCH_TEST_SUITE"  # the process id whose tree is the test suite: the one pytest started first


def pytest_configure(config):
    os.environ.setdefault(SUITE_ENV, str(os.getpid()))  # xdist's workers inherit the first pytest's
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        folder = tempfile.mkdtemp(prefix="gilbench-test-locks-")  # the workers inherit it
        os.environ[LOCKS_ENV] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def _shared_fixture_group(item):
    """The first module/session-scoped fixture of this test's own (not pytest's): tests sharing it share a worker."""
    for name in item.fixturenames:
        for fixturedef in (item._fixtureinfo.name2fixturedefs.get(name) or ())[-1:]:
            if (
                fixturedef.scope != "function"
                and (fixturedef.baseid or "").startswith("tests")
                and name != "no_orphan_processes"
            ):
                return f"{name}@{fixturedef.baseid}"
    return None


def pytest_collection_modifyitems(config, items):
    """An order: tests with a shared fixture and slow ones first (the long ones start early), quiet ones last (they
    wait for a moment when nothing else runs); and, for the parallel scheduler below, each test's work unit."""

    def rank(item):
        if item.get_closest_marker("quiet"):
            return 2
        return 0 if item.get_closest_marker("slow") or _shared_fixture_group(item) else 1

    items.sort(key=rank)  # stable: collection order within each rank
    folder = os.environ.get(LOCKS_ENV)
    if folder and hasattr(config, "workerinput"):
        units = {
            item.nodeid: "quiet" if item.get_closest_marker("quiet") else _shared_fixture_group(item) for item in items
        }
        path = Path(folder) / f"units-{config.workerinput['workerid']}.json"
        path.with_suffix(".tmp").write_text(json.dumps({k: v for k, v in units.items() if v}))
        path.with_suffix(".tmp").replace(path)


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's load scheduling in work units: the tests sharing a module- or session-scoped fixture are one
    unit, so one worker builds it once; all quiet tests are one unit; every other test is a unit of its own. Units
    go out in collection order (the order above). (Ours rather than --dist loadgroup: that one marks a group by
    rewriting a test's node id, which pytest 9.2 no longer lets a plugin do.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # keep the order: long units first, the quiet one last
    folder = Path(os.environ[LOCKS_ENV])

    class UnitScheduling(LoadScopeScheduling):
        units: dict | None = None

        def _split_scope(self, nodeid):
            if self.units is None:  # read once every worker has collected (scheduling starts then)
                self.units = {}
                for path in sorted(folder.glob("units-*.json")):
                    self.units.update(json.loads(path.read_text()))
            return self.units.get(nodeid) or nodeid

    return UnitScheduling(config, log)


def _other_cores(before, after) -> float:
    usage = accounting.between(before, after)
    taken = usage.other_cores + usage.steal_cores
    return taken if taken == taken else math.nan


def _probe() -> float:
    before = accounting.snapshot()
    time.sleep(PROBE_S)  # a measuring window, not a synchronisation
    return _other_cores(before, accounting.snapshot())


LOCK_EXCLUSIVE, LOCK_SHARED, UNLOCK = "exclusive", "shared", "unlock"


def _flock(fh, how: str) -> None:
    """flock where there is one (POSIX; imported here so that the suite imports on Windows). Windows has no shared
    file locks: there quiet tests run beside the others, and one that measured and fails on a busy machine is a
    skip that says so (Quiet tests, above)."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fh, {LOCK_EXCLUSIVE: fcntl.LOCK_EX, LOCK_SHARED: fcntl.LOCK_SH, UNLOCK: fcntl.LOCK_UN}[how])


@contextlib.contextmanager
def _machine_lock(item, nextitem):
    folder = os.environ.get(LOCKS_ENV) if hasattr(item.config, "workerinput") else None
    if not folder:
        yield
        return
    quiet = item.get_closest_marker("quiet") is not None
    state = item.config.stash.setdefault(_HELD, {})
    if quiet and "files" in state:  # the previous quiet test of this worker kept it
        files = state.pop("files")
    else:
        files = [open(os.path.join(folder, name), "a+") for name in ("gate", "tests")]
        gate, tests = files
        if quiet:
            _flock(gate, LOCK_EXCLUSIVE)
            _flock(tests, LOCK_EXCLUSIVE)
        else:
            _flock(gate, LOCK_SHARED)
            _flock(tests, LOCK_SHARED)
            _flock(gate, UNLOCK)
    try:
        yield
    finally:
        if quiet and nextitem is not None and nextitem.get_closest_marker("quiet"):
            state["files"] = files
        else:
            for fh in files:
                fh.close()  # closing releases the locks


_HELD = pytest.StashKey[dict]()
_STARTED = pytest.StashKey[tuple]()


def _suite() -> int:
    return int(os.environ.get(SUITE_ENV, os.getpid()))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with _machine_lock(item, nextitem):
        if accounting.unavailable() is None:  # before any fixture: a module's shared run counts as measured too
            item.stash[_STARTED] = (accounting.snapshot(_suite()), time.time())
        return (yield)


@pytest.fixture(autouse=True)
def _quiet_machine(request):
    """For a `quiet` test: a quiet machine first, or a skip that says how busy it was."""
    if request.node.get_closest_marker("quiet") is None or accounting.unavailable() is not None:
        yield
        return
    taken = _probe()
    if taken > QUIET_CORES:
        taken = min(taken, _probe())  # once more: a moment's load (a cron job, a compiler) may have passed
    if taken > QUIET_CORES:
        pytest.skip(
            f"needs a quiet machine: other programs took {taken:.2f} cores (threshold {QUIET_CORES}) "
            f"in two {PROBE_S} s checks before the test"
        )
    yield


def _runs_measured(item, since: float) -> list[Path]:
    """The results.csv files written under this test's temporary folders (the session's base) since it started."""
    factory = getattr(item.config, "_tmp_path_factory", None)
    roots = {v for v in item.funcargs.values() if isinstance(v, Path) and v.is_dir()}
    with contextlib.suppress(OSError, ValueError, AttributeError):
        roots.add(factory.getbasetemp())
    found = set()
    for root in roots:
        with contextlib.suppress(OSError):
            found |= {p for p in root.rglob("results.csv") if p.stat().st_mtime >= since - 1}
    return sorted(found)


def what_runs_recorded(paths: list[Path]) -> str:
    """What gilbench's own accounting recorded in those runs: other processes' most cores in one repetition and the
    repetitions it marked disturbed (under xdist these include other tests' runs)."""
    rows = []
    for path in paths:
        with contextlib.suppress(OSError, csv.Error):
            rows += list(csv.DictReader(path.read_text().splitlines()))
    cores = [float(r["other_cores"]) for r in rows if r.get("other_cores") not in (None, "", "nan")]
    if not cores:
        return ""
    disturbed = sum(r.get("disturbed") == "True" for r in rows)
    return (
        f"; its gilbench runs recorded other processes at up to {max(cores):.2f} cores in one repetition, "
        f"{disturbed} of {len(rows)} repetitions disturbed"
    )


def busy_reason(taken: float, measured: bool, recorded: str = "") -> str | None:
    """Why a failed test is reported as a skip, or None where it stays a failure: only a test that measured (`quiet`,
    or it ran gilbench), only while programs outside the test suite took more than QUIET_CORES."""
    if not measured or not taken > QUIET_CORES:
        return None
    return (
        f"needs a quiet machine: other programs used {taken:.2f} cores during this test (outside the test suite; "
        f"threshold {QUIET_CORES}){recorded}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    started = item.stash.get(_STARTED, None)
    if call.when == "call" and report.failed and started is not None and started[0] is not None:
        runs = _runs_measured(item, started[1])
        taken = _other_cores(started[0], accounting.snapshot(_suite()))
        reason = busy_reason(
            taken, bool(runs) or item.get_closest_marker("quiet") is not None, what_runs_recorded(runs)
        )
        if reason is not None:
            crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
            first = (crash or str(report.longrepr)).strip().splitlines()[:1] or [""]
            report.outcome = "skipped"
            report.longrepr = (
                str(item.path),
                item.location[1] or 0,
                f"Skipped: {reason}; it failed with: {first[0][:300]}",
            )
    return report
