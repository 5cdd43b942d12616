"""The spectrum in words (a run with pyperformance benchmarks): its findings, its table, whether each benchmark is
thread-safe as written, and the terminal's lines about it. The spectrum's numbers come from bench/spectrum.py."""

from __future__ import annotations

import math

from ..spectrum import NOT_SAFE, SERIES
from ..suites.pyperformance import plain_name
from .findings import Finding
from .numbers import estimate, pct, speedup
from .pairs import pair, words


def with_interval(value, low=math.nan, high=math.nan) -> str:
    """A spectrum cell: the speedup with its interval where it has one, "-" where it has none."""
    return estimate(value, low, high, unit="x", unknown="")


def failure(r) -> str:
    return f"{'gives other results' if r.get('safety_differs') else 'fails'} under threads ({r.get('safety_error')})"


ISOLATED_STILL_SHARES = (
    "it shares state outside its own module (a standard-library module's, such as random's generator)"
)
SAFETY = {  # the spectrum's `safety` kinds (bench/spectrum.py's thread_safety) in words
    "yes": lambda r: "yes (no threaded failure seen)",
    "isolated-ok": lambda r: "isolated: correct (a private copy of its module per thread)",
    "untested": lambda r: "-",
    "serial-failed": lambda r: "- (its serial cells failed too)",
    "no": lambda r: f"no: {failure(r)}",
    "no-isolated": lambda r: f"no, even isolated: {failure(r)}: {ISOLATED_STILL_SHARES}",
}


def safety(r) -> str:
    return SAFETY[str(r.get("safety", "untested"))](r)


def spectrum_findings(spectrum, env: dict | None = None) -> list[Finding]:
    """What the spectrum shows: where free threads gain or lose (intervals clear of 1.00x), the benchmarks that are
    not thread-safe, and the free-threaded build's single-thread cost."""
    found = []
    ok = spectrum[spectrum["threads_ft"].notna()]
    # a gain or a loss is said only where the run's error budget accepted it (bench/report/budget.py): above-one,
    # or below-one's claim on the row (below linear at one worker); a spectrum without claims reads its intervals
    claims = ok["threads_ft_claims"].fillna("").astype(str) if "threads_ft_claims" in ok else None
    if claims is not None:
        gain = ok[claims.str.split(";").apply(lambda c: "above-one" in c)]
        lose = ok[claims.str.split(";").apply(lambda c: "below-one" in c) & (ok["threads_ft"] < 1)]
    else:
        gain, lose = ok[ok["threads_ft_low"] > 1], ok[ok["threads_ft_high"] < 1]
    if len(gain):
        found.append(Finding("free-threads-gain", "spectrum", {"rows": list(gain.itertuples())}))
    if len(lose):
        found.append(Finding("free-threads-lose", "spectrum", {"rows": list(lose.itertuples())}))
    for kind in NOT_SAFE:
        names = list(spectrum[spectrum["safety"] == kind]["workload"])
        if names:
            found.append(Finding(f"thread-unsafe:{kind}", "spectrum", {"workloads": names}))
    cost = spectrum["ft_cost"].dropna() if "ft_cost" in spectrum else None
    pythons = spectrum.attrs.get("pythons", {})
    if cost is not None and len(cost) and {"gil", "ft"} <= set(pythons):
        compared = pair(env or {}, pythons["gil"], pythons["ft"])
        cost_facts = {"low": cost.min(), "high": cost.max(), "pair": compared}
        found.append(Finding("free-threaded-cost", "spectrum", cost_facts))
    return found


PHRASES = {
    "free-threads-gain": lambda f: (
        "Free threads gain (interval above 1.00x): "
        + ", ".join(f"{plain_name(r.workload)} {speedup(r.threads_ft)}" for r in f["rows"])
        + "."
    ),
    "free-threads-lose": lambda f: (
        "Free threads lose (interval below 1.00x: the threads contend for something they share): "
        + ", ".join(
            f"{plain_name(r.workload)} {speedup(r.threads_ft)} ({r.threads_ft_busy:.2f} busy cores)" for r in f["rows"]
        )
        + "."
    ),
    "thread-unsafe:no": lambda f: (
        "Not thread-safe as written (they share module state; `pyperformance:NAME@isolated` runs a private copy of "
        "the module per thread): " + ", ".join(f"`{plain_name(w)}`" for w in f["workloads"]) + "."
    ),
    "thread-unsafe:no-isolated": lambda f: (
        "Not thread-safe even with a private copy of the module per thread (they share state outside it, such "
        "as a standard-library module's): " + ", ".join(f"`{plain_name(w)}`" for w in f["workloads"]) + "."
    ),
    "free-threaded-cost": lambda f: (
        ("The cost of free threading: the" if f["pair"].rule == "twins" else "The")
        + f" free-threaded build's serial loop took {speedup(f['low'])} to {speedup(f['high'])} the GIL build's "
        "time for the same work (median over median; both interpreters measured side by side in this run). "
        + words(f["pair"], measured="these serial times")
    ),
}


def findings(spectrum, env: dict | None = None) -> list[str]:
    """The spectrum's findings in words, for the report's spectrum section."""
    return [PHRASES[f.rule](f.facts) for f in spectrum_findings(spectrum, env)]


def explain(spectrum) -> str:
    """What the spectrum's table shows; its processes ran under the GIL build where the run had one, else under the
    free-threaded build (bench/spectrum.py's `processes` series)."""
    pythons = spectrum.attrs.get("pythons")
    return EXPLAIN.format(build="the free-threaded build" if pythons and "gil" not in pythons else "the GIL build")


EXPLAIN = (
    "Speedup at N workers over the serial loop of the same interpreter, with its 95 % paired interval: threads "
    "under the GIL build, threads under the free-threaded build, processes (under {build}). Busy cores: "
    "the CPU time of the tasks over the wall time. The free-threaded single-thread cost is the free-threaded "
    "build's serial time over the GIL build's for the same work, both measured in this run (their two medians' "
    "intervals joined); above 1, free threads must first win that back. Free threads over the GIL build's serial: "
    "the free threads' speedup divided by that cost, what moving this code to free threads at N gains over one GIL "
    "thread (no interval: a ratio of two estimates). Thread-safe as written: whether every "
    "threaded repetition of the benchmark as written ran and returned what a single thread returns (a benchmark "
    "whose function returns nothing or a time can only fail, not differ). Sorted by the free threads' speedup."
)


def _cells(r, traced: bool) -> list[str]:
    busy = " / ".join("-" if not v == v else f"{v:.2f}" for v in (r[k + "_busy"] for k, _, _ in SERIES))
    cost = estimate(r["ft_cost"], r["ft_cost_low"], r["ft_cost_high"], unit="x the time", unknown="")
    row = [
        f"`{plain_name(r['workload'])}`" + (f" (unavailable under {r['unavailable']})" if r.get("unavailable") else ""),
        *(with_interval(r[key], r[key + "_low"], r[key + "_high"]) for key, _, _ in SERIES),
        busy,
        cost,
        with_interval(r["threads_ft"] / r["ft_cost"]),
        safety(r),
    ]
    if traced:
        row.append(" / ".join(pct(v) for v in (r["blocked_gil"], r["blocked_ft"])))
    return row


def table_rows(spectrum) -> tuple[list[str], list[list[str]]]:
    """The report's table: one row per workload, in the chart's order."""
    n = spectrum["workers"].dropna()
    at = f" x{int(n.iloc[0])}" if len(n) else ""
    head = [
        "workload",
        f"threads, GIL{at}",
        f"threads, free-threaded{at}",
        f"processes{at}",
        "busy cores (GIL / free / proc.)",
        "free-threaded single-thread cost",
        f"free threads{at} over the GIL build's serial",
        "thread-safe as written",
    ]
    traced = spectrum.get("blocked_gil") is not None and spectrum[["blocked_gil", "blocked_ft"]].notna().any().any()
    if traced:
        head.append("threads blocked (GIL / free)")
    rows = []
    for _, r in spectrum.iterrows():
        if r.get("unavailable") and not (r.get("threads_gil") == r.get("threads_gil")):
            rows.append([f"`{plain_name(r['workload'])}`", "unavailable: " + r["unavailable"]] + [""] * (len(head) - 2))
            continue
        rows.append(_cells(r, bool(traced)))
    return head, rows
