"""Thread states from the sampler's readings: per thread, per small interval, running, waiting for a core,
or blocked; the segments for trace.csv and the per-cell summary for trace_summary.csv.

How a reading becomes a state (see bench/sampler.py for what is read):
- a thread whose state letter is R is runnable: on a CPU, or in a run queue waiting for one;
- S or D is blocked: waiting for the GIL (CPython parks a waiting thread on a condition variable), a
  lock, I/O or a sleep;
- the kernel adds a thread's run-queue wait to its schedstat counter when the wait ends, so a wait of W ns
  that appears at one reading is assigned to the W ns of runnable time just before it: those intervals
  are "waiting for a core"; the rest of the runnable time is "running".
A hand-off is a worker thread going from blocked to running: under the GIL, one per switch interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import pairwise

RUNNING, WAITING, BLOCKED = "running", "waiting for a core", "blocked"
STATES = (RUNNING, WAITING, BLOCKED)


def sampling_interval(switch_interval_s: float) -> float:
    """A fifth of the interpreter's switch interval (1 ms at CPython's 5 ms), so that every hand-off spans several
    readings; never below 0.5 ms, where reading /proc itself would cost more than the resolution is worth."""
    return max(0.0005, switch_interval_s / 5)


def classify(samples) -> dict[tuple[int, int], list[tuple[float, float, str]]]:
    """Per (pid, tid): [(start, end, state)] for each interval between two consecutive readings of that thread."""
    by_thread = defaultdict(list)
    for t, pid, tid, letter, run, wait in samples:
        by_thread[(pid, tid)].append((t, letter, run, wait))
    out = {}
    for key, rows in by_thread.items():
        rows.sort()
        spans = []
        for (t0, letter, _, wait0), (t1, _, _, wait1) in pairwise(rows):
            if letter in "ZX":
                break
            spans.append([t0, t1, RUNNING if letter == "R" else BLOCKED, wait1 - wait0])
        # run-queue waits, credited when they end: give each to the runnable time just before it
        for i, span in enumerate(spans):
            owed = span[3] / 1e9
            j = i
            while owed > 0 and j >= 0:
                start, end, state, _ = spans[j]
                if state != BLOCKED:
                    length = end - start
                    if owed >= length / 2:
                        spans[j][2] = WAITING
                    owed -= length
                j -= 1
        out[key] = [(s, e, state) for s, e, state, _ in spans]
    return out


def segments(spans: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Consecutive intervals of one state joined: the rows of trace.csv."""
    out: list[tuple[float, float, str]] = []
    for start, end, state in spans:
        if out and out[-1][2] == state and abs(out[-1][1] - start) < 1e-9:
            out[-1] = (out[-1][0], end, state)
        else:
            out.append((start, end, state))
    return out


def clip(spans, low: float, high: float):
    return [(max(s, low), min(e, high), st) for s, e, st in spans if e > low and s < high]


def summarize(threads: dict, workers: set, window: tuple[float, float]) -> dict:
    """Shares of the worker threads' time in each state inside the window (first task start to last task end),
    and hand-offs per second (blocked -> running of a worker thread)."""
    low, high = window
    totals = dict.fromkeys(STATES, 0.0)
    handoffs = 0
    for key, spans in threads.items():
        if key not in workers:
            continue
        inside = clip(spans, low, high)
        for start, end, state in inside:
            totals[state] += end - start
        handoffs += sum(1 for a, b in pairwise(inside) if a[2] == BLOCKED and b[2] == RUNNING)
    whole = sum(totals.values())
    span = high - low
    return {
        "running_share": totals[RUNNING] / whole if whole else math.nan,
        "waiting_share": totals[WAITING] / whole if whole else math.nan,
        "blocked_share": totals[BLOCKED] / whole if whole else math.nan,
        "handoffs_per_s": handoffs / span if span > 0 and whole else math.nan,  # no readings: no count either
        "threads": sum(1 for key in threads if key in workers),
    }
