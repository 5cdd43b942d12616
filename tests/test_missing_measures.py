"""A machine without the thread-state trace or the accounting of other programs (macOS and Windows have no state
timeline; a broken install no accounting): the terminal, the report and a notebook's runs say which measure is
missing and why, once, and everything else is measured as usual. Forced here by making both checks say no."""

from __future__ import annotations

import math

import pytest
from gilbench import accounting, api, cli, oslayer, storage

NO_STATES = "simulated: no per-thread scheduler files"
NO_ACCOUNTING = "simulated: no process table to read"
STATES_SAID = "thread states are not measured here"
OTHERS_SAID = "other programs' CPU is not measured here"
# Two workloads, so that a note said per workload would be said twice; traced, so that thread states are asked for.
RUN = ["--workloads", "count,hashing", "--variants", "serial,threading", "--workers", "1,2"]
RUN += ["--size", "smoke", "--repeat", "2", "--warmup", "0", "--trace", "--no-progress"]


@pytest.fixture
def bare_machine(monkeypatch):
    """Both checks say why not; the accounting reads nothing, as where it cannot be read; nothing said yet."""
    monkeypatch.setattr(oslayer, "thread_states_unavailable", lambda: NO_STATES)
    monkeypatch.setattr(accounting, "unavailable", lambda: NO_ACCOUNTING)
    monkeypatch.setattr(accounting, "snapshot", lambda tree=None, session=None: None)
    monkeypatch.setattr(api, "SAID", set())


@pytest.mark.slow
def test_each_missing_measure_is_said_once_and_the_rest_works(bare_machine, tmp_path, capsys):
    code = cli.main(["run", *RUN, "--out", str(tmp_path / "cli")])
    terminal = "".join(capsys.readouterr())
    assert code == 0, terminal[-3000:]
    for said, why in ((STATES_SAID, NO_STATES), (OTHERS_SAID, NO_ACCOUNTING)):
        assert terminal.count(said) == 1, terminal
        assert terminal.count(why) == 1, terminal

    run_dir = (tmp_path / "cli" / "latest").resolve()
    report = (run_dir / "report.md").read_text()
    for said, why in ((STATES_SAID, NO_STATES), (OTHERS_SAID, NO_ACCOUNTING)):
        assert report.count(said) == 1, report
        assert report.count(why) == 1, report
    assert "Thread states: unavailable" not in report  # no workload's section says it again

    # everything else: every cell measured, speedups there, no repetition marked disturbed, no states chart
    results = storage.load_results(run_dir)
    assert len(results) and not results["disturbed"].any()
    assert all(math.isnan(v) for v in results["other_cores"])
    summary = api.load(run_dir).summary
    assert set(summary["workload"]) == {"count", "hashing"}
    assert summary["speedup"].notna().all()
    traced = storage.load_results(run_dir / storage.TRACE_SUMMARY, storage.TraceSummaryRow)
    assert len(traced) and (traced["unavailable"] == NO_STATES).all()
    assert not list(run_dir.glob("states-*"))


@pytest.mark.slow
def test_a_notebooks_later_runs_do_not_say_it_again(bare_machine, tmp_path, capsys):
    """A notebook makes several runs in one kernel: the first that lacks a measure says so, the next ones do not."""
    small = dict(workloads="count", variants=["serial"], workers=[1], size="smoke", repeat=2, warmup=0, trace=True)
    first = api.run(**small, out=tmp_path / "a", no_report=True, log=lambda line: None)
    said_first = "".join(capsys.readouterr())
    api.run(**small, out=tmp_path / "b", no_report=True, log=lambda line: None)
    said_second = "".join(capsys.readouterr())
    assert said_first.count(STATES_SAID) == 1 and said_first.count(OTHERS_SAID) == 1, said_first
    assert STATES_SAID not in said_second and OTHERS_SAID not in said_second, said_second
    assert first.summary["median_s"].notna().all()
