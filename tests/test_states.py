"""Issue 17: what every thread was doing, read from /proc by a separate sampler process (--trace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gilbench import sampler, states, storage

pytestmark = pytest.mark.skipif(sampler.available() is not None, reason=str(sampler.available()))
from tests.conftest import QUIET_CORES  # noqa: E402
from tests.pythons import FT, needs_ft  # noqa: E402 - one way to find a free-threaded Python

# Of a share: readings 1 ms apart over a 0.8 s window (about 800 per thread), and the first and last interval of
# each thread, which the window cuts. Two spinning processes on a quiet 2-CPU VM measured 0.98-1.00 running.
SAMPLING_MARGIN = 0.05


def running_floor(workers: int, sampler_share: float) -> float:
    """The share of their time `workers` spinning workers must spend running, on a machine checked to be quiet:
    the usable CPUs less what the sampler used (it reads /proc every 1 ms, on one of the same CPUs) and less what
    the quiet check lets other programs take (QUIET_CORES), shared by the workers; at most all of their time."""
    cpus = len(os.sched_getaffinity(0))
    return min(1.0, (cpus - sampler_share - QUIET_CORES) / workers) - SAMPLING_MARGIN


def test_a_run_queue_wait_is_given_to_the_runnable_time_before_it():
    """The kernel credits a wait when it ends: 2 ms of wait seen at the fourth reading of a thread that looked
    runnable throughout marks the two 1 ms intervals before it as waiting, not the ones after."""
    ms = 1_000_000
    samples = [(i / 1000, 1, 1, "R", i * ms, 2 * ms if i >= 3 else 0) for i in range(6)]
    samples += [(i / 1000, 1, 2, "S", 0, 0) for i in range(6)]
    spans = states.classify(samples)
    assert [s for _, _, s in spans[(1, 1)]] == [
        "running",
        "waiting for a core",
        "waiting for a core",
        "running",
        "running",
    ]
    assert {s for _, _, s in spans[(1, 2)]} == {"blocked"}
    joined = states.segments(spans[(1, 1)])
    assert [s for _, _, s in joined] == ["running", "waiting for a core", "running"]


def _watch(code: str, python: str = sys.executable):
    """Run `code` in a fresh process and sample it from another one (python -m gilbench.sampler), as --trace does;
    returns {(pid, tid): spans}, the sampled process's pid and the share of one core the sampler used."""
    with subprocess.Popen([python, "-c", textwrap.dedent(code)]) as proc:
        out = Path(f"/tmp/gilbench-test-states-{proc.pid}.json")
        try:
            subprocess.run(
                [sys.executable, "-m", "gilbench.sampler", str(proc.pid), "0.001", str(out), "30"],
                check=True,
                timeout=60,
            )
            proc.wait(timeout=30)
            data = json.loads(out.read_text())
        finally:
            proc.kill()
            out.unlink(missing_ok=True)
    assert data["samples"], "the sampler read nothing"
    return states.classify(data["samples"]), proc.pid, data["cpu_s"] / data["wall_s"]


def _workers(threads, root, processes=False):
    """The threads that did the work: in another process (processes) or other than the main thread (threads)."""
    return {k for k in threads if (k[0] != root if processes else k[0] == root and k[1] != root)}


def _window(threads, workers):
    busy = [(s, e) for k in workers for s, e, st in threads[k] if st != "blocked"]
    return min(s for s, _ in busy), max(e for _, e in busy)


SPIN_THREADS = """
    import threading, time
    def spin():
        end = time.perf_counter() + 0.8
        while time.perf_counter() < end:
            pass
    ts = [threading.Thread(target=spin) for _ in range({n})]
    [t.start() for t in ts]
    [t.join() for t in ts]
"""


@pytest.mark.quiet
def test_two_threads_spinning_under_the_gil_take_turns():
    threads, root, _ = _watch(SPIN_THREADS.format(n=2))
    workers = _workers(threads, root)
    assert len(workers) == 2
    window = _window(threads, workers)
    for key in workers:  # one GIL, two threads: each blocked about half of the time (measured 0.48-0.49); a quarter
        one = states.summarize(threads, {key}, window)  # either side for uneven turns (a woken thread may wait
        assert 0.25 < one["blocked_share"] < 0.75, one  # longer than one switch interval for its turn)
    both = states.summarize(threads, workers, window)
    # one hand-off every switch interval (5 ms) is 200 per second at most (measured 170); 40 is a turn of 25 ms on
    # average, five switch intervals, which the forced switch does not let a thread keep on a quiet machine
    assert both["handoffs_per_s"] > 40
    # alternating: seldom both running at the same reading
    series = [{round(s, 4): st for s, _, st in threads[k]} for k in workers]
    common = set(series[0]) & set(series[1])
    together = sum(1 for t in common if series[0][t] == series[1][t] == "running")
    assert together < 0.2 * len(common)


@pytest.mark.quiet
def test_two_processes_spinning_both_run():
    code = """
        import multiprocessing, time
        def spin():
            end = time.perf_counter() + 0.8
            while time.perf_counter() < end:
                pass
        if __name__ == "__main__":
            ps = [multiprocessing.Process(target=spin) for _ in range(2)]
            [p.start() for p in ps]
            [p.join() for p in ps]
    """
    threads, root, sampler_share = _watch(code)
    workers = _workers(threads, root, processes=True)
    assert len(workers) == 2
    summary = states.summarize(threads, workers, _window(threads, workers))
    assert summary["running_share"] > running_floor(2, sampler_share), (summary, sampler_share)
    assert summary["blocked_share"] < 0.1, summary
    assert summary["handoffs_per_s"] < 20


@pytest.mark.quiet
def test_a_sleeping_thread_is_blocked():
    code = """
        import threading, time
        t = threading.Thread(target=time.sleep, args=(0.5,))
        t.start(); t.join()
    """
    threads, root, _ = _watch(code)
    workers = _workers(threads, root)
    assert len(workers) == 1
    key = next(iter(workers))
    times = [s for s, _, _ in threads[key]]
    summary = states.summarize(threads, workers, (min(times), max(times)))
    assert summary["blocked_share"] > 0.9, summary


@pytest.mark.quiet
def test_more_processes_than_cpus_wait_for_a_core():
    n = 2 * len(os.sched_getaffinity(0))
    if n > 8:
        pytest.skip(f"{n // 2} CPUs: oversubscribing them takes more processes than this test starts")
    code = f"""
        import multiprocessing, time
        def spin():
            end = time.perf_counter() + 0.8
            while time.perf_counter() < end:
                pass
        if __name__ == "__main__":
            ps = [multiprocessing.Process(target=spin) for _ in range({n})]
            [p.start() for p in ps]
            [p.join() for p in ps]
    """
    threads, root, _ = _watch(code)
    workers = _workers(threads, root, processes=True)
    assert len(workers) == n
    summary = states.summarize(threads, workers, _window(threads, workers))
    # n = twice the CPUs spinning: at most half of them run at a time, so while all n are up each waits for a core
    # half of its time or more; the window also holds the staggered starts and ends, when fewer compete: half of
    # that lower bound is left for them.
    assert summary["waiting_share"] > 0.25, summary
    assert summary["blocked_share"] < 0.1


@needs_ft
@pytest.mark.quiet
def test_free_threaded_threads_all_run_at_once():
    threads, root, sampler_share = _watch(SPIN_THREADS.format(n=2), python=FT)
    workers = _workers(threads, root)
    summary = states.summarize(threads, workers, _window(threads, workers))
    assert summary["running_share"] > running_floor(2, sampler_share), (summary, sampler_share)
    assert summary["blocked_share"] < 0.15, summary


@pytest.mark.slow
@pytest.mark.quiet
def test_run_with_trace_writes_the_state_timeline_and_keeps_it_out_of_the_statistics(tmp_path, run_cli):
    out = tmp_path / "out"
    proc = run_cli(
        "run",
        "--workloads",
        "count",
        "--variants",
        "serial,threading,multiprocessing",
        "--workers",
        "2",
        "--size",
        "smoke",
        "--param",
        "iterations=3e6",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--trace",
        "--out",
        out,
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    run = out / "latest"
    assert len(storage.load_results(run)) == 3  # three cells, one repetition each: the traced ones are not there
    trace, summary = storage.load_trace(run)
    assert set(summary["variant"]) == {"serial", "threading", "multiprocessing"}
    assert (summary["unavailable"].fillna("") == "").all()
    threads = summary[summary["variant"] == "threading"].iloc[0]
    # the GIL shows as threads blocked a quarter of the time or more, handing off; in a smoke-size cell the rate was
    # as low as 16 per second in some quiet runs on the 2-vCPU VM (Intel Xeon), above 40 in others: a few turns
    # decide it, so the test asks for hand-offs at all, the spin test above for their rate
    assert threads["blocked_share"] > 0.25 and threads["handoffs_per_s"] > 5
    assert 0 < threads["sampler_cpu_share"] < 1
    procs = summary[summary["variant"] == "multiprocessing"].iloc[0]
    # processes are not blocked, threads are; how much of a cell this short (about 0.06 s) its processes spend
    # running also depends on their start (0.79 in one fresh-clone run): the spin tests above hold the floor
    assert procs["blocked_share"] < threads["blocked_share"] / 2 and procs["running_share"] > 0.5, procs.to_dict()
    assert set(trace["state"]) <= set(states.STATES) and trace["worker"].any()
    assert (run / "states-count.png").exists()
    report = (run / "report.md").read_text()
    # the report says the threads took turns where its rule's bar is cleared (blocked over 30 %, hand-offs above
    # one per 5 switch intervals), and shows the figures without the claim where a few turns left the rate below it
    turns = "hand-offs/s - the threads took turns holding the GIL"
    if threads["blocked_share"] > 0.3 and threads["handoffs_per_s"] > 0.2 / threads["switch_interval_s"]:
        assert turns in report
    else:
        assert "hand-offs/s" in report and turns not in report, threads.to_dict()
    assert "states-count.png" in proc.stdout


def test_without_proc_files_the_trace_says_why(tmp_path, monkeypatch):
    from gilbench import finish, inputs, options, plan, report

    monkeypatch.setattr(sampler, "available", lambda: "the state timeline needs Linux's /proc (this is plan9)")
    config = options.resolve(
        options.RunOptions(workloads="count", variants="threading", workers="2", size="smoke", out=str(tmp_path))
    )
    prepared, found = plan.prepare_inputs(config)
    cell = plan.build_cells(config, inputs.recorded(found))[0]
    rows, summary = finish.trace_cell("r1", cell, prepared["count"], config, 0.005)
    assert rows == [] and summary.unavailable == "the state timeline needs Linux's /proc (this is plan9)"
    storage.append_rows(tmp_path / storage.TRACE_SUMMARY, [summary], storage.TraceSummaryRow)
    _, frame = storage.load_trace(tmp_path)
    import pandas as pd

    part = pd.DataFrame([{"workload": "count", "size": "smoke", "python_executable": cell.python, "usable_cpus": 2}])
    assert report.state_findings(part, frame) == [
        "Thread states: unavailable - the state timeline needs Linux's /proc (this is plan9)."
    ]
