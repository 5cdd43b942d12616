"""Wording: one phrase per rule id, the only place a finding becomes words.

A phrase takes the finding's facts and returns the words the report says; numbers go through bench/report/numbers.py.
`plain=True` words a finding for the terminal: the same words without Markdown's emphasis, so nothing downstream
strips markup from a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..native import setting_words
from .evidence import Evidence, native_count
from .findings import Finding
from .laws import law_sentences
from .numbers import NO_INTERVAL, estimate, pct, speedup
from .rules import ANSWER_TIES


def strong(text: str, plain: bool = False) -> str:
    """Emphasis: bold in Markdown (and HTML), the words alone on a terminal."""
    return text if plain else f"**{text}**"


def over_tests(family, whose: str) -> str:
    """` over the run's 100 tests`: the family Holm's procedure ran over, where the row records it; else nothing."""
    return f" over {whose} {int(family)} tests" if family is not None and family == family and family else ""


def noise(facts) -> str:
    """What a line without a cause can say: where linear lies against the speedup's 95 % interval, and, where the
    interval alone would say more than the run's error budget lets the words say, that it is not said."""
    low, high = facts.get("speedup_low"), facts.get("speedup_high")
    if low is None or high is None or low != low or high != high:
        return "no interval (one block)"
    cores = min(int(facts["workers"]), int(facts["usable"]))
    linear = speedup(float(cores))
    if low <= cores <= high:
        return f"consistent with linear ({linear} lies inside its interval)"
    of = over_tests(facts.get("claims_family"), "the run's")
    what, end = ("loss", f"ends under {linear}") if high < cores else ("gain beyond linear", f"starts over {linear}")
    return (
        f"no {what} this run can claim: its 95 % interval {end}, but not by enough for the run's error budget "
        f"(Holm's procedure at 5 %{of}), so no cause is named"
    )


def _with_interval(facts) -> str:
    """`1.23x [1.10-1.35]`, or `0.90x (no interval: under 2 blocks)` in a sentence (a table keeps `[nan-nan]`)."""
    return estimate(
        facts["speedup"], facts["speedup_low"], facts["speedup_high"], unit="x", unknown=f" ({NO_INTERVAL})"
    )


def _kept_up(f) -> str:
    """threads-kept-up as a clause: the answer line's reason; the workload's section says it as a sentence."""
    return (
        f"threads kept up with processes ({speedup(f['threads']['speedup'])} vs {speedup(f['processes']['speedup'])}): "
        + (
            "the GIL is off in this interpreter"
            if not f["threads"]["gil_enabled"]
            else "the heavy part runs in C with the GIL released"
        )
    )


def sentence(clause: str) -> str:
    return clause[:1].upper() + clause[1:] + "."


# A finding the answer line gives as its reason, where its own words are a sentence: the same words as a clause.
REASON_CLAUSES: dict[str, Callable[[dict], str]] = {"threads-kept-up": _kept_up}


PHRASES: dict[str, Callable[[dict], str]] = {
    "gil-turns": lambda f: (
        f"the threads took turns: one held the GIL at a time ({f['busy_cores']:.2f} busy cores; a task ran "
        f"{pct(f['task_cpu_share'])} of the time it was alive, waiting the rest)"
    ),
    "gil-released": lambda f: (
        f"the threads overlapped on {f['busy_cores']:.1f} cores: the work releases the GIL (C code)"
    ),
    "no-gil": lambda f: f"no GIL: the threads ran Python in parallel on {f['busy_cores']:.1f} cores",
    "oversubscribed": lambda f: f"oversubscribed: {int(f['workers'])} workers share {f['usable']} CPUs",
    "native-oversubscribed": lambda f: (
        f"oversubscribed by native threads: {int(f['workers'])} workers x {native_pool(f)} on {f['usable']} usable "
        f"CPUs; the processes kept {_process_busy(f)} busy cores, {f['native_cores']:.2f} more than their Python "
        f"threads did, and the speedup of {speedup(f['speedup'])} is the cost of the threads crowding the cores "
        "(limit them: --native-threads auto)"
    ),
    "native-threads": lambda f: (
        f"the work released the GIL, but the cores went to the library's own threads ({native_pool(f)}): the process "
        f"kept {_process_busy(f)} busy cores, {f['native_cores']:.2f} more than the Python threads did, and the "
        f"serial loop already used them (try --native-threads 1)"
    ),
    "start-up": lambda f: (
        f"start-up took {pct(f['startup_share'])} of the time: the work is short next to creating the workers"
    ),
    "contention": lambda f: (
        f"the same work cost {estimate(f['cpu_inflation'], f['cpu_inflation_low'], f['cpu_inflation_high'], unit='x')}"
        " the serial CPU time: the workers slowed each other down (shared caches, memory bandwidth, cores slowing "
        "when all are busy)"
    ),
    "idle-workers": lambda f: (
        f"CPU time was only {pct(f['busy_cores'] / f['workers'])} of workers x wall time: workers sat idle part of "
        "the time (uneven tasks, cores of uneven speed, or IPC)"
    ),
    "machine-ceiling": lambda f: (
        f"the machine itself tops out at {speedup(f['ceiling_speedup'])} here (the measured ceiling)"
    ),
    "above-linear": lambda f: (
        "above linear, which the cores cannot give: the serial baseline ran slower than the same work in the "
        "workers (see the context check)"
    ),
    "busy-machine": lambda f: (
        "measured on a busy machine (other programs kept taking CPU through the re-runs), so its CPU cost and the "
        "shape of its curve may be theirs: no contention or scaling law is read from them"
    ),
    "noise": noise,
    "unexplained-loss": lambda f: (
        f"below linear ({speedup(float(min(int(f['workers']), int(f['usable']))))}), and no cause shows in this run's "
        "measures"
    ),
    "not-cpu-bound": lambda f: (
        f"the serial cell kept only {f['serial_busy']:.2f} of a core busy: this work waits (I/O, sleep) rather than "
        "computes, so cores and the GIL do not explain it"
    ),
    "scaling-law": lambda f: "; ".join(law_sentences(f["row"], f["falling"])),
    "threads-cannot-overlap": lambda f: (
        f"threads cannot overlap here: the best threads kept {f['threads']['busy_cores']:.2f} cores busy "
        f"({speedup(f['threads']['speedup'])}), the GIL lets one run at a time"
    ),
    "waits-overlap": lambda f: (
        f"the work waits rather than computes (the serial cell kept {f['serial_busy']:.2f} of a core busy), so "
        "workers overlap their waiting"
    ),
    "gil-visible": lambda f: (
        f"The GIL is visible here: the best threads reached {speedup(f['threads']['speedup'])} with "
        f"{f['threads']['busy_cores']:.2f} busy cores, while processes reached {speedup(f['processes']['speedup'])} "
        f"with {f['processes']['busy_cores']:.2f}."
    ),
    "threads-kept-up": lambda f: sentence(_kept_up(f)),
    "set-aside": lambda f: set_aside(f),
    "uneven-work": lambda f: (
        f"uneven work: one worker was busy only {pct(f['least_busy_share'])} of the time while another finished the "
        f"rest: its tasks were {pct(f['least_work_share'])} of an even share of the work (their serial times, from "
        "tasks.csv)"
    ),
}


def native_pool(f) -> str:
    """A row's native pools in words: `openblas=2` -> `native threads openblas=2`."""
    return f"native threads {f.get('native_threads') or 'unknown'}"


def _process_busy(f) -> str:
    return estimate(f["process_busy_cores"], f["process_busy_cores_low"], f["process_busy_cores_high"])


def native_setting(row) -> str:
    """The native-thread setting a cell ran at, for the answer line: `` where no pool of more than one thread was
    there and nothing was limited."""
    limit = str(row.get("native_limit", "") or "")
    if limit.isdigit():
        return f" with {setting_words(limit)} (--native-threads)"
    pools = str(row.get("native_threads", "") or "")
    return f" with native threads as they were ({pools})" if native_count(pools) > 1 else ""


def set_aside(f) -> str:
    """Blocks set aside, and the cells the machine was too busy to answer for (facts: analysis.set_aside_facts; a
    run-wide finding, `run_wide`, names each cell's workload)."""
    one = f["blocks"] == 1
    text = (
        f"{f['blocks']} block{'' if one else 's'} stayed disturbed by other programs through "
        f"{'its' if one else 'their'} re-runs and {'was' if one else 'were'} set aside: the speedups count clean "
        "blocks only"
    )
    if f["too_busy"]:
        where = f.get("run_wide", False)
        text += "; the machine was too busy to answer for " + ", ".join(
            f"{workload + ' ' if where else ''}{cell} (every one of its {n} blocks disturbed, other programs up "
            f"to {cores:.2f} cores)"
            for workload, cell, n, cores in f["too_busy"]
        )
        text += ": no speedup is given for them; run again on a quieter machine"
    return text


def say(finding: Finding) -> str:
    return PHRASES[finding.rule](dict(finding.facts))


def variant_line(e: Evidence, found: list[Finding]) -> str:
    """One variant's line: its speedup with the interval, busy cores and efficiency, then what its findings say."""
    r = e.row
    head = (
        f"**{e.variant}**: {_with_interval(r)} at {e.n} workers, {r['busy_cores']:.2f} busy cores, "
        f"efficiency {pct(r['efficiency'])}"
    )
    return head + ": " + "; ".join(text for text in map(say, found) if text) + "."


# The answer's reason where findings._reason finds none: why none is given.
NO_REASON = (
    "no reason is given: none of the causes gilbench tests (threads taking turns on the GIL, work that waits, a "
    "cost of its curve) was accepted for it under this run's error budget"
)


def answer(finding: Finding | None, plain: bool = False) -> str:
    """The answer line of a workload: the variant to use, or to stay serial; "" where nothing can be said."""
    if finding is None:
        return ""
    best = finding.facts["best"]
    where = f"{best['variant']} x{int(best['workers'])}{native_setting(best)}: {_with_interval(best)}"
    if finding.rule == "stay-serial":
        return f"{strong('Stay serial', plain)}: every variant was slower than the serial loop (best: {where})."
    if finding.rule == "cannot-tell":
        blocks = finding.facts["blocks"]
        to_tell = (
            f"about {blocks} blocks (at this run's pair spread of {pct(best['pair_spread'], 1)}) would tell, if the "
            "speedup is what this run estimates (`--repeat` or `--precision`)"
            if blocks
            else "its estimate is not above 1.00x, so more blocks would tell only how much slower it is"
            if not best["speedup"] > 1
            else "this run has no per-block spread to size more blocks from (a run without paired blocks: measure "
            "it again with this gilbench)"
        )
        low, of = best.get("speedup_low", math.nan), over_tests(best.get("claims_family"), "its")
        short = (  # an interval above 1.00x on its own, which the budget over the run's tests does not accept
            f"lies above 1.00x by its own 95 % interval, but not by enough for this run's error budget (Holm's "
            f"procedure at 5 %{of}, so that no sentence of the report is wrong by chance more than 1 time in 20)"
            if low == low and low > 1
            else "is not above 1.00x beyond this run's error budget"
        )
        return (
            f"{strong('Cannot tell yet', plain)} whether any variant beats the serial loop: the best, {where}, "
            f"{short}; {to_tell}."
        )
    named = finding.facts["tied"]
    tie = ""
    if named:
        more = len(named) - ANSWER_TIES
        tie = " (tied within the intervals with " + ", ".join(named[:ANSWER_TIES])
        tie += (f" and {more} more" if more > 0 else "") + ")"
    reason = finding.facts["reason"]
    across = across_words(best, finding.facts.get("across"))
    if reason is None:
        said = NO_REASON
    elif reason.rule in REASON_CLAUSES:
        said = REASON_CLAUSES[reason.rule](dict(reason.facts))
    else:
        said = say(reason)
    return strong(f"Use {where}", plain) + tie + across + f"; {said}."


def across_words(best, across: dict | None) -> str:
    """A setting other than the reference one: the best cell against the reference setting's serial loop, and, where
    that gain is accepted under the run's error budget, the advice in one line."""
    if not across:
        return ""
    against = f"--native-threads {across['setting']}"
    text = f", {estimate(across['speedup'], across['low'], across['high'], unit='x')} over the serial loop at {against}"
    if not across["wins"]:
        return text + " (not beyond this run's error budget)"
    limit = str(best.get("native_limit", "") or "")
    what = (
        f"limit the native threads to {limit}" if limit.isdigit() else f"--native-threads {best.get('native_setting')}"
    )
    return text + f": {what} and use {best['variant']} x{int(best['workers'])}"
