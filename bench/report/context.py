"""The context check: at 1 worker every variant does the serial work in another context (a worker thread, a forked
process), so its speedup should be 1.00x; where it is not, the serial baseline carries a bias. Found as data (one
finding per workload, by rule id), then worded by one phrase per id."""

from __future__ import annotations

from ..analysis import BASELINE_VARIANT
from .evidence import PROCESSES, THREADS
from .findings import Finding
from .numbers import interval, speedup
from .rules import AGREEING_CONTEXTS, AGREEMENT, MIN_CONTEXT_COVERAGE


def _one_worker(part):
    """The 1-worker rows with a speedup, the column read (compute times per block where the run has them), and the
    interval's ends."""
    one = part[(part["workers"] == 1) & ~part["variant"].isin([BASELINE_VARIANT])]
    paired = bool("compute_speedup" in one and one["compute_speedup"].notna().any())
    col = "compute_speedup" if paired else "speedup"
    one = one[one[col].notna()]
    return one.assign(speedup=one[col], speedup_low=one[col + "_low"], speedup_high=one[col + "_high"]), paired


def context_finding(part) -> Finding | None:
    """The run's own calibration of context bias. Its *compute* time (first task in to last result out) should
    match serial's: its start-up (creating a pool, a cluster) is a cost serial does not pay, not a bias, so the
    check compares compute times, per block. No verdict where the interval's coverage is below 80 %."""
    one, paired = _one_worker(part)
    if one.empty:
        return None
    subject = str(part["workload"].iloc[0])
    facts = {"paired": paired, "listed": [(r["variant"], r["speedup"]) for _, r in one.iterrows()]}
    if not (one["speedup_coverage"].fillna(0) >= MIN_CONTEXT_COVERAGE).all():
        return Finding("context-low-coverage", subject, facts)
    outside = one[(one["speedup_low"] > 1) | (one["speedup_high"] < 1)]
    if not outside.empty:
        faster = outside["speedup"] > 1  # the variant ran the work faster than the serial cell: serial was slow
        side = "slower" if faster.all() else "faster" if (~faster).all() else "off"
        return Finding("context-bias", subject, facts | {"outside": list(outside["variant"]), "side": side})
    agree = agreement(one)
    return Finding("context-agreement", subject, facts | agree) if agree else Finding("context-none", subject, facts)


def agreement(one) -> dict:
    """Where each 1-worker interval contains 1.00x but every median lies on the same side of it by more than 5 %:
    they agree, and a bias they all share is the serial baseline's. Empty where they do not agree (or are fewer
    than three). On a free-threaded build, whether the process variants are slower too (`processes_too`)."""
    s = one["speedup"]
    if len(one) < AGREEING_CONTEXTS or not ((s < 1 - AGREEMENT).all() or (s > 1 + AGREEMENT).all()):
        return {}
    slower = bool((s < 1).all())
    inflation = one["cpu_inflation"] if "cpu_inflation" in one else None
    facts = {"count": len(one), "low": s.min(), "high": s.max(), "slower": slower, "free_threads": None}
    if inflation is not None and inflation.notna().all():
        facts |= {"inflation": (inflation.min(), inflation.max())}
        facts |= {"cpu_cost": slower and inflation.min() > 1 + AGREEMENT / 2}
    first = one.iloc[0]
    if slower and bool(first["free_threaded"]) and not bool(first["gil_enabled"]):
        processes = one[one["variant"].isin(PROCESSES)]
        threads_only = not one[one["variant"].isin(THREADS)].empty
        processes_too = not processes.empty and bool((processes["speedup"] < 1 - AGREEMENT).all())
        facts["free_threads"] = "processes-too" if processes_too else "threads-only" if threads_only else "none"
    return facts


def _what(f) -> str:
    return "serial compute time / variant compute time, per block" if f["paired"] else "total times (an older run)"


def _listed(f) -> str:
    return ", ".join(f"{v} {speedup(s)}" for v, s in f["listed"])


SAME_WORK = "the same work as serial, in a worker thread or process"
BIASED_REFCOUNT = (
    " On a free-threaded build one cost falls on threads only: objects made by the thread that imported "
    "the workload (module globals, the task list) are that thread's, and every other thread changes "
    "their reference counts with atomic operations (biased reference counting, PEP 703), so a worker "
    "thread that keeps changing module state (attributes of objects made at import) pays at every "
    "access; a forked process inherits the importing thread and does not (README, 'Reading the numbers')."
)
FREE_THREADS_READING = {
    "processes-too": " Here the process variants are slower too, which that cost cannot explain: read it as the "
    "serial baseline's spell.",
    "threads-only": " Here only thread variants are slower: that cost fits.",
    "none": "",
}


def _agreement(f) -> str:
    text = (
        f"Each interval alone contains 1.00x, but all {f['count']} medians lie on one side, "
        f"{interval(f['low'], f['high'], unit='x', brackets=False)}: the same work ran "
        f"{'slower' if f['slower'] else 'faster'} in every other context than in the serial cell, so the serial "
        "baseline itself is the odd one out and every speedup of this workload carries that bias"
    )
    if "inflation" in f:
        low, high = f["inflation"]
        cpu = interval(low, high, unit="x", brackets=False)
        text += f" (the workers' CPU time was {cpu} the serial cell's: "
        text += (
            "the work itself cost more CPU, it did not wait)"
            if f["cpu_cost"]
            else "not a difference of CPU time alone)"
        )
    text += (
        ". A serial median from few repetitions can land in a fast or slow spell of the machine; more "
        "blocks (`--precision 0.05`) tell a spell from a bias."
    )
    if f["free_threads"] is not None:
        text += BIASED_REFCOUNT + FREE_THREADS_READING[f["free_threads"]]
    return text


PHRASES = {
    "context-low-coverage": lambda f: (
        f"Context check at 1 worker ({_what(f)}): {_listed(f)}; its intervals' coverage is below "
        f"{MIN_CONTEXT_COVERAGE * 100:.0f} %, too low to tell a bias of the serial baseline from noise."
    ),
    "context-agreement": lambda f: (
        f"Context check at 1 worker ({SAME_WORK}; {_what(f)}): {_listed(f)}. " + _agreement(f)
    ),
    "context-none": lambda f: (
        f"Context check at 1 worker ({SAME_WORK}; {_what(f)}): {_listed(f)}; every interval contains 1.00x, so no "
        "bias of the serial baseline shows beyond this run's noise."
    ),
    "context-bias": lambda f: (
        f"Context check at 1 worker ({_what(f)}): {_listed(f)}. The intervals of {', '.join(f['outside'])} exclude "
        f"1.00x: the serial baseline ran the same work {f['side']} than those workers did, so every speedup of "
        "this workload carries that bias."
    ),
}


def context_check(part) -> list[str]:
    """The context check in words: one line, or none where no variant ran at 1 worker."""
    found = context_finding(part)
    return [] if found is None else [PHRASES[found.rule](dict(found.facts))]
