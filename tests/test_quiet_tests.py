"""The test suite's own quiet-machine rule (tests/conftest.py): a test that measured and failed while programs outside
the suite took CPU is reported as a skip naming their load; any other failure stays a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gilbench import accounting

from tests.conftest import QUIET_CORES, SUITE_ENV, busy_reason, what_runs_recorded

pytest_plugins = ["pytester"]

needs_accounting = pytest.mark.skipif(accounting.unavailable() is not None, reason=str(accounting.unavailable()))
BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


def test_a_failure_stays_a_failure_on_a_quiet_machine_or_where_the_test_measured_nothing():
    assert busy_reason(QUIET_CORES / 2, measured=True) is None  # quiet: a failure is a failure
    assert busy_reason(0.9, measured=False) is None  # busy, but a test of synthetic rows cannot blame the machine
    assert busy_reason(float("nan"), measured=True) is None  # no accounting here: nothing to blame
    reason = busy_reason(0.9, measured=True)
    assert reason is not None and "other programs used 0.90 cores during this test" in reason


def test_the_reason_quotes_what_the_runs_recorded(tmp_path):
    results = tmp_path / "results.csv"
    results.write_text("variant,other_cores,disturbed\nserial,0.95,True\nserial,0.02,False\nthreading,nan,False\n")
    said = what_runs_recorded([results])
    assert "up to 0.95 cores in one repetition" in said and "1 of 3 repetitions disturbed" in said
    assert what_runs_recorded([tmp_path / "missing.csv"]) == ""


@needs_accounting
def test_a_snapshot_of_a_tree_leaves_out_its_live_descendants():
    """The suite's own processes (workers, runs, burners a test starts) are not other programs."""
    child = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=3)])
    try:
        time.sleep(0.3)  # let it start burning
        before_all, before_tree = accounting.snapshot(), accounting.snapshot(os.getpid())
        time.sleep(1.0)  # a measuring window
        after_all, after_tree = accounting.snapshot(), accounting.snapshot(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert before_all and after_all and before_tree and after_tree
    assert child.pid in after_all.others and child.pid not in after_tree.others
    everyone = accounting.other_ticks(before_all.others, after_all.others)
    outside = accounting.other_ticks(before_tree.others, after_tree.others)
    assert everyone - outside >= 0.5 * accounting.USER_HZ  # the child's second of burning, and only there


INNER = """
import time


def test_a_timing_assertion(tmp_path):
    (tmp_path / "results.csv").write_text("variant,other_cores,disturbed\\nserial,0.95,True\\n")
    time.sleep(1.5)
    assert 0.84 > 0.87, "running share below its floor"


def test_a_logic_assertion():
    time.sleep(1.5)
    assert "below linear" == "above linear"
"""


@needs_accounting
@pytest.mark.slow
@pytest.mark.quiet  # its quiet half needs a quiet machine, and its burner must not slow other tests
def test_a_measuring_test_that_fails_while_other_programs_burn_is_a_skip_naming_their_load(pytester, monkeypatch):
    """An inner test suite, its own tree (this test's burner is another program to it, and this suite's own)."""
    monkeypatch.delenv(SUITE_ENV, raising=False)
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_inner=INNER)
    quiet = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfs")
    quiet.assert_outcomes(failed=2)  # a quiet machine: both failures stay failures
    burner = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=30)])
    try:
        busy = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfs")
    finally:
        burner.kill()
        burner.wait()
    text = busy.stdout.str()
    assert busy.parseoutcomes() == {"failed": 1, "skipped": 1}, text
    assert "FAILED test_inner.py::test_a_logic_assertion" in text  # it measured nothing: the machine is no excuse
    skipped = [line for line in busy.stdout.lines if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and "needs a quiet machine: other programs used" in skipped[0], skipped
    assert "running share below its floor" in skipped[0] and "up to 0.95 cores in one repetition" in skipped[0]
