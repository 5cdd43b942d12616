"""The context check: at 1 worker every variant does the serial work in another context (a worker thread, a forked
process), so the serial cell's compute time over theirs should be 1.00x. One test per workload and interpreter, on
compute time (start-up is a cost the serial loop does not pay, not context): per 1-worker block, the mean over the
1-worker variants of log(serial compute / variant compute), tested against 0 (paired t). Its p-value goes in the
finding's facts ("p"), decided across the run's workloads by `significant` (Holm at 5 %). Which variants differ is
said only where the workload's test holds, under Holm within the workload.

What the design cannot tell: every ratio of a block divides the same serial repetition, so a difference says that
the serial cell and the other contexts ran the same work at different speeds, not which side is off (a slow spell of
the serial repetitions moves every ratio the same way, as a real advantage of the other contexts would). Either way,
every speedup of the workload carries it: the words say that much and no more.

A variant whose start-up is most of its 1-worker time (dask's LocalCluster) is named once per run
(`startup_findings`), not in every workload's check."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..analysis import BASELINE, BASELINE_VARIANT, BLOCK, CELL, measured, paired_interval, t_cdf
from .evidence import PROCESSES, THREADS
from .findings import Finding
from .numbers import estimate, pct, speedup
from .rules import STARTUP_SHARE
from .significance import CLAIMS
from .significance import holm as holm_step_down

METRIC = "compute_s"  # first task in to last result out: the start-up of a pool or a cluster left out
FAMILY_LEVEL = 0.05  # the run's family-wise error for its context claims, until the run-wide budget takes them
MIN_BLOCKS = 2  # one block says nothing of its spread: no test below this
ROUND = BASELINE + ["repeat"]  # an older CSV (no blocks): a round's repetitions of every cell stand in for a block


@dataclass(frozen=True)
class Estimate:
    """A geometric-mean ratio (serial compute / variant compute) with its 95 % t interval, and the two-sided p-value
    of the test that its log is 0."""

    ratio: float
    low: float
    high: float
    p: float
    blocks: int


@dataclass(frozen=True)
class ContextTest:
    """One workload's context test: the common difference of its 1-worker variants, and each variant's own."""

    common: Estimate
    variants: dict[str, Estimate]  # in the order the variants first ran
    paired: bool  # per paired block; False: per round of an older CSV


def holm(ps: Sequence[float], level: float = FAMILY_LEVEL) -> list[bool]:
    """Holm's step-down (bench/report/significance.py) over a list: which hypotheses are rejected (NaN: never)."""
    passed = holm_step_down(dict(enumerate(ps)), level)
    return [i in passed for i in range(len(ps))]


def significant(ps: Sequence[float]) -> list[bool]:
    """Which workloads' context tests the run may claim: Holm at 5 % across the run's workloads. The one place the
    decision is made, so the run-wide error budget can take it over."""
    return holm(ps, FAMILY_LEVEL)


def estimate_of(log_ratios) -> Estimate:
    """Geometric mean, 95 % t interval and the paired t test's two-sided p-value of per-block log ratios."""
    x = np.asarray(log_ratios, dtype=float)
    x = x[np.isfinite(x)]
    ratio, low, high, _ = paired_interval(x)
    if len(x) < MIN_BLOCKS:
        return Estimate(ratio, low, high, math.nan, len(x))
    sd = float(x.std(ddof=1))
    if sd == 0:  # identical ratios: no spread to test against (only a constructed input does this)
        return Estimate(ratio, low, high, 1.0 if x.mean() == 0 else 0.0, len(x))
    stat = float(x.mean()) / (sd / math.sqrt(len(x)))
    return Estimate(ratio, low, high, 2 * t_cdf(-abs(stat), len(x) - 1), len(x))


def block_log_ratios(rows):
    """Per 1-worker block (a row), per 1-worker variant (a column): log(scale x serial compute / variant compute).
    `rows`: the measured rows of one workload under one interpreter. Paired runs pair by block (block_workers 1);
    an older CSV pairs a round's repetitions (`repeat`)."""
    import pandas as pd

    paired = "block_workers" in rows and bool((rows["block_workers"] > 0).any())
    key = BLOCK if paired else ROUND
    if paired:
        rows = rows[rows["block_workers"] == 1]
    serial = rows[rows["variant"] == BASELINE_VARIANT].groupby(key, sort=False)[METRIC].first()
    others = rows[(rows["variant"] != BASELINE_VARIANT) & (rows["workers"] == 1)]
    if serial.empty or others.empty:
        return pd.DataFrame(), paired
    variant = others.groupby(key + ["variant"], sort=False)[[METRIC, "scale"]].first().reset_index()
    variant = variant.merge(serial.rename("serial_value").reset_index(), on=key, how="inner")
    with np.errstate(divide="ignore", invalid="ignore"):
        variant["log_ratio"] = np.log(variant["scale"].astype(float) * variant["serial_value"] / variant[METRIC])
    order = list(dict.fromkeys(variant["variant"]))
    table = variant.set_index(key + ["variant"])["log_ratio"].unstack("variant")
    return table.reindex(columns=order).replace([np.inf, -np.inf], np.nan), paired


def context_test(rows) -> ContextTest | None:
    """The test on one workload's measured rows; None where no variant ran at 1 worker beside the serial cell."""
    table, paired = block_log_ratios(rows)
    if table.empty:
        return None
    common = table.mean(axis=1, skipna=True)  # a block missing a variant (it failed there) averages the others
    return ContextTest(
        estimate_of(common.to_numpy(dtype=float)),
        {str(v): estimate_of(table[v].to_numpy(dtype=float)) for v in table.columns},
        paired,
    )


def _tests(parts, results) -> list[ContextTest | None]:
    rows = measured(results) if results is not None and not results.empty else None
    by_key = {} if rows is None else {tuple(k): g for k, g in rows.groupby(BASELINE, sort=False)}
    keys = [tuple(part[BASELINE].iloc[0]) for part in parts]
    return [context_test(by_key[k]) if k in by_key else None for k in keys]


def _cell(part, variant: str, workers: int = 1) -> tuple | None:
    rows = part[(part["variant"] == variant) & (part["workers"] == workers)]
    return None if rows.empty else tuple(rows.iloc[0][CELL])


def context_claims(table, results) -> dict:
    """The context check's candidate claims for the run's error budget (bench/report/budget.py `decide`): per
    workload, the common difference ("context-difference", on the serial cell's row), and each 1-worker variant's
    own ("context-variant", on its row), each with its two-sided p-value."""
    parts = [part for _, part in table.groupby(BASELINE, sort=False)]
    found = {}
    for part, test in zip(parts, _tests(parts, results), strict=True):
        serial = _cell(part, BASELINE_VARIANT)
        if test is None or serial is None or test.common.p != test.common.p:
            continue
        found[("context-difference", serial)] = test.common.p
        for variant, e in test.variants.items():
            cell = _cell(part, variant)
            if cell is not None and e.p == e.p:
                found[("context-variant", cell)] = e.p
    return found


def _claimed(part, variant: str, claim: str) -> bool:
    rows = part[(part["variant"] == variant) & (part["workers"] == 1)]
    return not rows.empty and claim in str(rows.iloc[0][CLAIMS]).split(";")


def context_findings(parts, results) -> list[Finding | None]:
    """One finding per part (a workload under one interpreter; None where no variant ran at 1 worker). Where the
    parts' claims were decided with their run (bench/report/budget.py, with `context_claims`), the run's error
    budget says which differences may be claimed; parts given alone are decided among themselves (`significant`)."""
    tests = _tests(parts, results)
    decided_with_run = all(CLAIMS in part for part in parts)
    testable = [t for t in tests if t is not None and t.common.p == t.common.p]
    decided = dict(zip(map(id, testable), significant([t.common.p for t in testable]), strict=True))
    out: list[Finding | None] = []
    for part, t in zip(parts, tests, strict=True):
        if t is None:
            out.append(None)
        elif decided_with_run and t.common.p == t.common.p:
            claimed = _claimed(part, BASELINE_VARIANT, "context-difference")
            own = [_claimed(part, v, "context-variant") for v in t.variants]
            out.append(_finding(part, t, claimed, own))
        else:
            out.append(_finding(part, t, decided.get(id(t))))
    return out


def _finding(part, test: ContextTest, claimed: bool | None, own: list[bool] | None = None) -> Finding:
    subject = str(part["workload"].iloc[0])
    c = test.common
    facts = {
        "paired": test.paired,
        "listed": [(v, e.ratio) for v, e in test.variants.items()],
        "ratio": c.ratio,
        "low": c.low,
        "high": c.high,
        "blocks": c.blocks,
    }
    if claimed is None:  # no test, so no p for the run's error budget
        return Finding("context-few-blocks", subject, facts)
    facts["p"] = c.p
    if not claimed:
        return Finding("context-none", subject, facts)
    names = list(test.variants)
    if own is None:  # which variants differ by themselves: Holm within the workload, for parts given alone
        own = holm([test.variants[v].p for v in names])
    differ = [(v, test.variants[v]) for v, yes in zip(names, own, strict=True) if yes]
    facts |= {"differ": [(v, e.ratio, e.low, e.high) for v, e in differ]}
    facts |= {"variant_p": {v: test.variants[v].p for v in names}}  # each variant's own test, before Holm
    facts |= {"free_threads": _free_threads(part, names, differ)}
    return Finding("context-difference", subject, facts)


def _free_threads(part, names: list[str], differ: list[tuple[str, Estimate]]) -> bool:
    """On a free-threaded build: the variants that differ by themselves are all thread variants, all slower, and a
    process variant ran without differing. The one pattern biased reference counting predicts (it costs threads,
    not forked processes); anything else it cannot explain."""
    first = part.iloc[0]
    if not (bool(first["free_threaded"]) and not bool(first["gil_enabled"]) and differ):
        return False
    threads_slower = all(v in THREADS and e.ratio < 1 for v, e in differ)
    return threads_slower and any(v in PROCESSES for v in names)


def _what(f) -> str:
    block = "per block" if f["paired"] else "per round (an older run without paired blocks)"
    return f"serial compute time / variant compute time, {block}; start-up left out"


def _listed(f) -> str:
    return ", ".join(f"{v} {speedup(s)}" for v, s in f["listed"])


def _common(f) -> str:
    """`1.15x [1.08-1.22] over 9 blocks (p = 0.003)`: the geometric mean over the variants."""
    unit = "blocks" if f["paired"] else "rounds"
    return f"{estimate(f['ratio'], f['low'], f['high'], unit='x')} over {f['blocks']} {unit} (p = {f['p']:.3f})"


def _side(ratio: float) -> str:
    return f"{pct(abs(ratio - 1))} {'faster' if ratio > 1 else 'slower'}"


SAME_WORK = "the same work as serial, in a worker thread or process"
NOT_WHICH = (
    " Every ratio of a block divides the same serial repetition, so this cannot tell whether the serial cell or "
    "the other contexts are off; `--precision 0.05` narrows the interval, not that question."
)
BIASED_REFCOUNT = (
    " Here only thread variants differ, and they are slower, the pattern of one cost that falls on threads alone on "
    "a free-threaded build: objects made by the thread that imported the workload (module globals, the task list) "
    "are that thread's, and every other thread changes their reference counts with atomic operations (biased "
    "reference counting, PEP 703); a forked process inherits the importing thread and does not pay it "
    "(docs/measuring.md, 'Free-threaded builds at 1 worker')."
)


def _differ(f) -> str:
    if not f["differ"]:
        return " No variant differs by itself (Holm within the workload)."
    named = ", ".join(f"{v} {estimate(r, lo, hi, unit='x')}" for v, r, lo, hi in f["differ"])
    return f" By themselves (Holm within the workload): {named}."


def _range(ends: tuple[float, float], say) -> str:
    """`49 %-68 %`, or one value where both ends read the same."""
    low, high = say(ends[0]), say(ends[1])
    return low if low == high else f"{low}-{high}"


def _seconds(s: float) -> str:
    return f"{s:.2f} s"


PHRASES = {
    "context-few-blocks": lambda f: (
        f"Context check at 1 worker ({_what(f)}): {_listed(f)}; fewer than {MIN_BLOCKS} blocks with the serial "
        "cell, so no test."
    ),
    "context-none": lambda f: (
        f"Context check at 1 worker ({SAME_WORK}; {_what(f)}): {_listed(f)}; together {_common(f)}: no difference "
        "between the serial cell and the other contexts that this run can claim (its claims share one 5 % error "
        "budget); one could still be as large as the interval."
    ),
    "context-difference": lambda f: (
        f"Context check at 1 worker ({SAME_WORK}; {_what(f)}): {_listed(f)}. The 1-worker variants ran the same work "
        f"{_side(f['ratio'])} than the serial cell, {_common(f)}: every speedup of this workload carries that "
        f"difference.{NOT_WHICH}{_differ(f)}{BIASED_REFCOUNT if f['free_threads'] else ''}"
    ),
    "context-startup": lambda f: (
        f"{f['variant']}'s start-up (creating and closing its workers) "
        f"took {_range(f['shares'], pct)} of its 1-worker time ({_range(f['seconds'], _seconds)}) "
        f"in {'each of the' if f['workloads'] > 1 else 'the'} {f['workloads']} "
        f"workload{'s' if f['workloads'] > 1 else ''} it ran: a cost the serial loop does not pay, so every "
        f"{f['variant']} speedup carries it, most where the work is short; the context checks compare compute times "
        "and leave it out."
    ),
}


def context_checks(parts, results) -> list[list[str]]:
    """Each part's context check in words: one line, or none where no variant ran at 1 worker (or the run's rows are
    not at hand)."""
    return [[] if f is None else [PHRASES[f.rule](dict(f.facts))] for f in context_findings(parts, results)]


def context_check(part, results) -> list[str]:
    """One part's context check on its own (a family of one workload)."""
    return context_checks([part], results)[0]


def startup_findings(table) -> list[Finding]:
    """The variants whose start-up took more than STARTUP_SHARE of their 1-worker repetitions (median) in every
    workload where they ran at 1 worker: the story of their numbers is their start-up, said once per run."""
    one = table[(table["workers"] == 1) & (table["variant"] != BASELINE_VARIANT) & table["startup_share"].notna()]
    found = []
    for variant, rows in one.groupby("variant", sort=False):
        share, seconds = rows["startup_share"], rows["startup_s"]
        if (share > STARTUP_SHARE).all():
            facts = {
                "variant": str(variant),
                "shares": (share.min(), share.max()),
                "seconds": (seconds.min(), seconds.max()),
                "workloads": rows["workload"].nunique(),
            }
            found.append(Finding("context-startup", str(variant), facts))
    return found


def startup_lines(table) -> list[str]:
    """The run-level start-up sentences, one per variant whose start-up is its story."""
    return [PHRASES[f.rule](dict(f.facts)) for f in startup_findings(table)]
