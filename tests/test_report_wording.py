"""One wording test per rule id: each phrase quotes its facts in the report's words and the one number format.
Every other report test asserts rule ids; a rule id without an example here fails the coverage test."""

from __future__ import annotations

import math
from collections import namedtuple
from pathlib import Path

import pytest
from gilbench.report import ceiling, closing, context, pairs, suite, wording
from gilbench.report.findings import Finding

ROW = {
    "variant": "threading",
    "workers": 4,
    "usable": 2,
    "speedup": 1.234,
    "speedup_low": 1.1,
    "speedup_high": 1.35,
    "speedup_halfwidth": 0.1,
    "busy_cores": 1.5,
    "efficiency": 0.31,
    "startup_share": 0.2,
    "cpu_inflation": 1.3,
    "cpu_inflation_low": 1.2,
    "cpu_inflation_high": 1.4,
    "ceiling_speedup": 1.8,
    "serial_busy": 0.5,
    "gil_enabled": True,
    "task_cpu_share": 0.55,
    "least_busy_share": 0.45,
    "least_work_share": 0.45,
}
NATIVE = dict(
    ROW,
    process_busy_cores=1.98,
    process_busy_cores_low=1.95,
    process_busy_cores_high=2.01,
    native_cores=0.97,
    native_threads="openblas=2",
)
PAIR = {"threads": dict(ROW, speedup=1.1, busy_cores=1.02), "processes": dict(ROW, speedup=1.9, busy_cores=1.95)}
CONTEXT = {
    "paired": True,
    "listed": [("threading", 0.8), ("multiprocessing", 0.9)],
    **{"ratio": 0.85, "low": 0.7, "high": 1.03, "p": 0.08, "blocks": 6},
}
Spectrum = namedtuple("Spectrum", "workload threads_ft threads_ft_busy")
SAFETY = {"safety": "no", "safety_error": "ValueError: results differ", "safety_differs": True, "workload": "bm"}
CHECK = {
    "workers": 2,
    "blocks": 6,
    "tutorial_speedup": (1.5, 1.4, 1.6, 0.95),
    "gilbench_speedup": (1.6, 1.5, 1.7, 0.95),
    "ratio": (1.0667, 1.01, 1.12, 0.95),
}

PAIR_DIFFERENCES = [("version", "3.11.7", "3.13.15"), ("compiler", "GCC 12", "GCC 14")]
POOL = dict(ROW, variant="process-pool", ceiling_efficiency=0.8, startup_s=0.05, ceiling_speedup=1.5)
GAP = {"row": POOL, "usable": 2, "ceiling": None}
GAP_TIMELINE = {"per_worker": 2.0, "straggle_s": 0.12, "idle_share": 0.1, "stragglers": True}

EXAMPLES = {  # rule id: (facts, the words said)
    "ceiling-reached": (GAP, "At 2 workers, **process-pool** reached 80.0 % of the measured ceiling (1.23x vs 1.50x)."),
    "ceiling-gap-noise": (GAP, "(1.23x vs 1.50x): not a gap this run can claim under its error budget."),
    "ceiling-gap": (
        dict(GAP, timeline=GAP_TIMELINE, ceiling={"speedup_low": 1.3, "speedup_high": 1.7}),
        "start-up 0.050 s (20 % of the time); 2.0 tasks per worker; the workers' last tasks ended up to 0.120 s apart "
        "(10 % of the time: stragglers, while the others sat idle); its speedup interval (1.10x-1.35x) overlaps the "
        "ceiling's (1.30x-1.70x): the gap may be this run's noise (from tasks.csv).",
    ),
    "gil-turns": (
        ROW,
        "the threads took turns: one held the GIL at a time (1.50 busy cores; a task ran 55 % of the time it was "
        "alive, waiting the rest)",
    ),
    "uneven-work": (
        dict(ROW, least_work_share=0.1),
        "uneven work: one worker was busy only 45 % of the time while another finished the rest: its tasks were 10 % "
        "of an even share of the work (their serial times, from tasks.csv)",
    ),
    "ceiling-unquoted": (
        {
            "counts": [
                {
                    "row": dict(ROW, variant="ceiling", workers=2, ceiling_unquoted="uneven+beaten"),
                    "beaten_by": [("tp", 1.1, 1.3), ("pp", 1.2, 1.4)],
                }
            ]
        },
        "The ceiling is not the machine's limit at x2 (1.23x): its slices were uneven (the lightest 45 % of an even "
        "share of the work by the serial times; that worker busy 45 % of the time); tp (1.10x-1.30x) and pp "
        "(1.20x-1.40x) lie above it. A ceiling that timed its own uneven slices (from tasks.csv) or that a variant "
        "beat is not one: it is not quoted there, and not drawn.",
    ),
    "gil-released": (ROW, "the threads overlapped on 1.5 cores: the work releases the GIL (C code)"),
    "no-gil": (ROW, "no GIL: the threads ran Python in parallel on 1.5 cores"),
    "oversubscribed": (ROW, "oversubscribed: 4 workers share 2 CPUs"),
    "native-oversubscribed": (
        NATIVE,
        "oversubscribed by native threads: 4 workers x native threads openblas=2 on 2 usable CPUs; the processes kept "
        "1.98 [1.95-2.01] busy cores, 0.97 more than their Python threads did, and the speedup of 1.23x is the cost",
    ),
    "native-threads": (
        NATIVE,
        "the work released the GIL, but the cores went to the library's own threads (native threads openblas=2): the "
        "process kept 1.98 [1.95-2.01] busy cores, 0.97 more than the Python threads did",
    ),
    "start-up": (ROW, "start-up took 20 % of the time: the work is short next to creating the workers"),
    "contention": (ROW, "the same work cost 1.30x [1.20-1.40] the serial CPU time: the workers slowed each other down"),
    "idle-workers": (ROW, "CPU time was only 38 % of workers x wall time: workers sat idle part of the time"),
    "machine-ceiling": (ROW, "the machine itself tops out at 1.80x here (the measured ceiling)"),
    "above-linear": (ROW, "above linear, which the cores cannot give"),
    "busy-machine": (ROW, "measured on a busy machine (other programs kept taking CPU through the re-runs)"),
    "noise": (ROW, "no loss this run can claim: its 95 % interval ends under 2.00x, but not by enough for the run's"),
    "unexplained-loss": (ROW, "below linear (2.00x), and no cause shows in this run's measures"),
    "not-cpu-bound": (ROW, "the serial cell kept only 0.50 of a core busy: this work waits (I/O, sleep)"),
    "scaling-law": ({"row": dict(ROW, fitted_counts=2), "falling": True}, "speedup falls as workers are added"),
    "threads-cannot-overlap": (PAIR, "threads cannot overlap here: the best threads kept 1.02 cores busy (1.10x)"),
    "waits-overlap": (ROW, "the work waits rather than computes (the serial cell kept 0.50 of a core busy)"),
    "gil-visible": (PAIR, "The GIL is visible here: the best threads reached 1.10x with 1.02 busy cores, while "),
    "threads-kept-up": (PAIR, "Threads kept up with processes (1.10x vs 1.90x): the heavy part runs in C"),
    "context-few-blocks": (CONTEXT, "threading 0.80x, multiprocessing 0.90x; fewer than 2 blocks with the serial"),
    "context-none": (CONTEXT, "together 0.85x [0.70-1.03] over 6 blocks (p = 0.080): no difference between the serial"),
    "context-difference": (
        dict(CONTEXT, differ=[("threading", 0.8, 0.7, 0.9)], free_threads=False),
        "The 1-worker variants ran the same work 15 % slower than the serial cell, 0.85x [0.70-1.03] over 6 blocks "
        "(p = 0.080): every speedup of this workload carries that difference. Every ratio of a block divides the "
        "same serial repetition, so this cannot tell whether the serial cell or the other contexts are off;",
    ),
    "context-startup": (
        {"variant": "dask", "shares": (0.49, 0.68), "seconds": (0.92, 1.1), "workloads": 5},
        "dask's start-up (creating and closing its workers) took 49 %-68 % of its 1-worker time (0.92 s-1.10 s) in "
        "each of the 5 workloads it ran: a cost the serial loop does not pay",
    ),
    "free-threads-gain": ({"rows": [Spectrum("bm", 1.5, 1.9)]}, "Free threads gain (interval above 1.00x): bm 1.50x."),
    "free-threads-lose": ({"rows": [Spectrum("bm", 0.5, 1.9)]}, "bm 0.50x (1.90 busy cores)."),
    "thread-unsafe:no": ({"workloads": ["bm"]}, "Not thread-safe as written (they share module state;"),
    "thread-unsafe:no-isolated": ({"workloads": ["bm"]}, "Not thread-safe even with a private copy of the module"),
    "free-threaded-cost": (
        {"low": 1.1, "high": 1.4, "pair": Finding("twins", "interpreters", {"gil": "3.13.15", "ft": "3.13.15"})},
        "The cost of free threading: the free-threaded build's serial loop took 1.10x to 1.40x",
    ),
    "twins": (
        {"gil": "3.13.15", "ft": "3.13.15", "measured": "the serial times below"},
        "3.13.15t and 3.13.15 are twins (the same version built the same way, with and without the GIL): the serial "
        "times below are the cost of free threading alone.",
    ),
    "not-twins": (
        {"gil": "3.11.7", "ft": "3.13.15", "measured": "these verdicts", "differences": PAIR_DIFFERENCES},
        "3.13.15t against 3.11.7: version and compiler differ besides the GIL (version: 3.11.7 against 3.13.15; "
        "compiler: GCC 12 against GCC 14), so these verdicts are not the cost of free threading alone;",
    ),
    "build-unknown": (
        {"gil": "3.11.7", "ft": "3.13.15", "measured": "these verdicts", "differences": PAIR_DIFFERENCES[:1]},
        "3.13.15t against 3.11.7: version differs, and how they were built was not recorded, so these verdicts are "
        "not known to be the cost of free threading alone;",
    ),
    "answer": (
        {"answer": Finding("stay-serial", "w", {"best": dict(ROW, speedup=0.8, speedup_low=0.7, speedup_high=0.9)})},
        "Stay serial: every variant was slower than the serial loop (best: threading x4: 0.80x [0.70-0.90]).",
    ),
    "precision": (
        {"precision": 0.05, "auto": False, "repeat": 5, "met": 1, "of": 2, "missed": [("w threading x4", 0.12)]},
        "precision +-5 % (--repeat 5): 1 of 2 speedups met it; not met: w threading x4 (+-12 %)",
    ),
    "plan-cost": ({"measured_s": 61.2, "planned_s": 58.9, "budget": 90}, "measuring took 61 s; the plan after the"),
    "unstable": (
        {"cells": [("w threading x4", 0.31, True)], "precision": 0.1, "auto": True},
        "unstable (repetitions spread more than 10 %): w threading x4 (31 %): the speedups met the precision (+-10 %) "
        "all the same: the spread is already in their intervals",
    ),
    "tutorial-ratio": (CHECK, "count x2, the tutorial's own scripts 1.50x [1.40-1.60], gilbench's multiprocessing"),
    "threads-only-failure": (
        {"workload": "w", "failed": ["threading"], "succeeded": ["serial"]},
        "w failed only under threads (threading) and ran under serial: its tasks may share module state",
    ),
    "spectrum-chart": ({"chart": Path("spectrum.png")}, "the spectrum (which kinds of code gain): spectrum.png"),
    "not-thread-safe": (
        {"row": SAFETY, "twin": "bm@isolated", "isolated": None},
        "bm is NOT thread-safe as written: it shares module state; gives other results under threads "
        "(ValueError: results differ). Run bm@isolated for a private copy of its module per thread",
    ),
    "unavailable": ({"workload": "bm", "under": "3.13t: no wheel"}, "bm unavailable under 3.13t: no wheel"),
    "set-aside": (
        {"blocks": 1, "too_busy": [("w", "process-pool x2", 3, 0.95)], "run_wide": True},
        "1 block stayed disturbed by other programs through its re-runs and was set aside: the speedups count clean "
        "blocks only; the machine was too busy to answer for w process-pool x2 (every one of its 3 blocks disturbed, "
        "other programs up to 0.95 cores): no speedup is given for them",
    ),
}

TABLES = {
    **ceiling.PHRASES,
    **wording.PHRASES,
    **context.PHRASES,
    **suite.PHRASES,
    **closing.PHRASES,
    **pairs.PHRASES,
}


def test_every_rule_id_has_a_wording_example():
    assert set(EXAMPLES) == set(TABLES)


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_wording(rule_id):
    facts, said = EXAMPLES[rule_id]
    assert said in TABLES[rule_id](dict(facts))


def test_the_answer_names_the_native_thread_setting_that_won():
    limited = wording.answer(Finding("use", "w", {"best": dict(NATIVE, native_limit="1"), "tied": [], "reason": None}))
    assert limited.startswith("**Use threading x4 with native threads limited to 1 (--native-threads): 1.23x")
    left = wording.answer(Finding("use", "w", {"best": dict(NATIVE, native_limit="leave"), "tied": [], "reason": None}))
    assert "threading x4 with native threads as they were (openblas=2): 1.23x" in left
    plain = wording.answer(Finding("use", "w", {"best": dict(ROW, native_limit="leave"), "tied": [], "reason": None}))
    assert plain.startswith("**Use threading x4: 1.23x")  # no pool of more than one thread: nothing to name


def test_an_answer_the_run_cannot_give_yet_says_what_would_give_it():
    said = wording.answer(Finding("cannot-tell", "w", {"best": dict(ROW, pair_spread=0.1), "blocks": 24}))
    assert said.startswith("**Cannot tell yet** whether any variant beats the serial loop: the best, threading x4: ")
    assert "about 24 blocks (at this run's pair spread of 10.0 %) would tell" in said
    slower = wording.answer(Finding("cannot-tell", "w", {"best": dict(ROW, speedup=0.9), "blocks": None}))
    assert "its estimate is not above 1.00x" in slower and "Stay serial" not in slower
    unpaired = wording.answer(Finding("cannot-tell", "w", {"best": ROW, "blocks": None}))
    assert "no per-block spread to size more blocks from" in unpaired and "not above 1.00x, so" not in unpaired
    # an interval above 1.00x on its own is said to be so, and why the run still cannot tell (a reader saw
    # "1.84x [1.67-2.03] is not above 1.00x" as a contradiction)
    spread = dict(ROW, pair_spread=0.1)
    above = wording.answer(Finding("cannot-tell", "w", {"best": dict(spread, claims_family=100), "blocks": 24}))
    assert "lies above 1.00x by its own 95 % interval, but not by enough" in above and "over its 100 tests" in above
    assert "is not above 1.00x" not in above
    straddling = wording.answer(Finding("cannot-tell", "w", {"best": dict(spread, speedup_low=0.95), "blocks": 24}))
    assert "is not above 1.00x beyond this run's error budget" in straddling and "own 95 %" not in straddling


def test_the_answer_line_is_worded_once_for_markdown_and_once_for_a_terminal():
    use = Finding("use", "w", {"best": ROW, "tied": ["a x2", "b x2", "c x2", "d x2"], "reason": None})
    assert (
        wording.answer(use)
        == "**Use threading x4: 1.23x [1.10-1.35]** (tied within the intervals with a x2, b x2, c x2 and 1 more); "
        + wording.NO_REASON
        + "."
    )
    assert "no reason is given" in wording.answer(use, plain=True)  # every answer line says why, or why not
    assert wording.answer(use, plain=True).startswith("Use threading x4: 1.23x [1.10-1.35] (tied")


def test_the_spectrum_words_each_safety_kind():
    assert suite.safety({"safety": "yes"}) == "yes (no threaded failure seen)"
    assert suite.safety(SAFETY) == "no: gives other results under threads (ValueError: results differ)"
    assert suite.safety(dict(SAFETY, safety="no-isolated", safety_differs=False)).startswith("no, even isolated: fails")
    assert suite.with_interval(math.nan) == "-"


def test_closing_lines_ask_for_more_blocks_only_for_unstable_cells_that_missed_the_precision(tmp_path):
    """Whole blocks slow by up to 40 % spread every cell's repetitions, yet the paired speedups hold steady: their
    precision is met, and the closing lines must not ask for more blocks. A cell whose speedup moves with the
    spread misses it: for that cell alone they do."""
    from gilbench import analysis, storage

    from tests.helpers import paired_block, write_run

    def said(rows, name):
        table = analysis.summarize(storage.load_results(write_run(tmp_path / name, rows)))
        found = closing.run_findings(table, 0.1, True, "auto", 180, 0, 0)
        return [line for line in closing.lines(found) if line.startswith("unstable")]

    drifts = (1.0, 1.4, 0.9, 1.3, 1.0, 1.35)
    steady = [r for i, d in enumerate(drifts, 1) for r in paired_block(i, 2, 2.0, {"process-pool": 1.0}, drift=d)]
    lines = said(steady, "steady")
    assert lines and "the speedups met the precision (+-10 %) all the same" in lines[0] and "missed" not in lines[0]
    moving = [
        r
        for i, d in enumerate(drifts, 1)
        for r in paired_block(i, 2, 2.0, {"process-pool": 1.0 * d}, drift=1.0 if i % 2 else d)
    ]
    lines = said(moving, "moving")
    assert (
        lines
        and "count process-pool x2 (35 %): the speedups missed the precision (+-10 %): more blocks (a larger --budget"
        in lines[0]
    ), lines


def test_the_terminal_names_benchmarks_plainly_and_every_answer_gives_its_reason(tmp_path):
    """A pyperformance benchmark under two interpreters: `json_loads (3.13.15t)`, not
    `pyperformance:json_loads-py3.13.15t-fork`; an answer with no cause accepted says why it gives none."""
    from gilbench import analysis, storage

    from tests.helpers import paired_block, write_run

    rows = []
    for exe, version, ft in (("/usr/bin/python3.11", "3.11.7", False), ("/usr/bin/python3.13t", "3.13.15", True)):
        same = dict(python_executable=exe, python_version=version, free_threaded=ft, gil_enabled=not ft)
        for i, drift in enumerate((1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99), 1):
            rows += paired_block(
                i, 2, 2.0, {"process-pool": 1.02}, drift=drift, workload="pyperformance:json_loads", **same
            )
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "run", rows)))
    lines = [line for line in closing.lines(closing.answer_findings(table))]
    assert [line.split(":")[0] for line in lines] == ["json_loads (3.11.7)", "json_loads (3.13.15t)"], lines
    for line in lines:
        assert "Use process-pool x2" in line and "; " in line.split("]")[-1], line  # a reason, or why there is none


def test_an_isolated_benchmark_still_not_thread_safe_is_not_sent_to_its_own_isolated_mode():
    row = dict(SAFETY, safety="no-isolated", workload="pyperformance:go@isolated")
    said = closing.PHRASES["not-thread-safe"]({"row": row, "twin": None, "isolated": None})
    assert said.startswith("go@isolated is NOT thread-safe") and "@isolated@isolated" not in said and "Run " not in said


def test_a_speedup_without_an_interval_says_so_in_words_not_nan():
    """--repeat 1: one block, no spread, no interval. The answer line and the precision line say that in words."""
    one_block = dict(ROW, speedup=0.9, speedup_low=math.nan, speedup_high=math.nan)
    said = wording.answer(Finding("cannot-tell", "w", {"best": one_block, "blocks": None}))
    assert "threading x4: 0.90x (no interval: under 2 blocks), is not above" in said and "nan" not in said
    facts = {"auto": False, "repeat": 1, "precision": 0.1, "met": 0, "of": 1, "missed": [("w threading x4", math.nan)]}
    missed = closing.PHRASES["precision"](facts)
    assert missed.endswith("not met: w threading x4 (no interval: under 2 blocks)") and "nan" not in missed


def test_threads_that_kept_up_read_as_one_clause_of_the_answer_line():
    """The answer's reason is a clause after ';': no capital, no second full stop, while the section keeps its
    sentence."""
    kept_up = Finding("threads-kept-up", "w", {**PAIR, "threads": dict(PAIR["threads"], speedup=1.89)})
    use = Finding("use", "w", {"best": ROW, "tied": ["threading x2"], "reason": kept_up})
    said = wording.answer(use, plain=True)
    assert said.endswith(
        "; threads kept up with processes (1.89x vs 1.90x): the heavy part runs in C with the GIL released."
    )
    assert ".." not in said
    assert wording.say(kept_up).startswith("Threads kept up") and wording.say(kept_up).endswith("released.")
