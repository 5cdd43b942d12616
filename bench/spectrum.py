"""The spectrum: over the benchmarks of a run, which kinds of code gain from threads, free threads and processes.

One row per workload: its speedup at N workers for threads under the GIL, threads under a free-threaded build
and processes (each over its own interpreter's serial loop, with the paired interval), the busy cores, the
free-threaded build's single-thread cost (its serial time over the GIL build's, both measured in this run),
whether it is thread-safe as written (a threaded cell that failed, or whose results differed from a single
thread's, says it is not), and with --trace the share of time threads were blocked. Sorted by what free
threads gain. Built from a run's CSVs alone (results.csv, unavailable.csv, trace_summary.csv), so `gilbench
report` redraws it.
"""

from __future__ import annotations

import math
import re

from .analysis import BASELINE_VARIANT, ratio_interval
from .variants import in_family

THREADS = ("thread-pool", "threading")  # the first measured is the spectrum's "threads"
PROCESSES = ("process-pool", "multiprocessing")
SERIES = (  # key, label, colour (Okabe-Ito)
    ("threads_gil", "threads, GIL", "#E69F00"),
    ("threads_ft", "threads, free-threaded", "#0072B2"),
    ("processes", "processes", "#009E73"),
)


def wanted(table) -> bool:
    """A spectrum is drawn for runs with pyperformance benchmarks (and then over every workload of the run)."""
    return bool(table["workload"].astype(str).str.startswith("pyperformance:").any())


def _kind(row) -> str:
    return "ft" if bool(row["free_threaded"]) and not bool(row["gil_enabled"]) else "gil"


def interpreters(table, twins: set[str] | None = None) -> dict[str, str]:
    """The run's GIL and free-threaded interpreters: {'gil': executable, 'ft': executable}, the first of each, except
    that a GIL build in `twins` (the free-threaded build's twin, bench/report/pairs.py) is taken before any other."""
    found: dict[str, str] = {}
    rows = table.drop_duplicates("python_executable")
    for _, row in sorted(rows.iterrows(), key=lambda item: item[1]["python_executable"] not in (twins or set())):
        found.setdefault(_kind(row), row["python_executable"])
    return found


def _short_error(text: str) -> str:
    text = str(text).split("; traceback:")[0]
    text = re.sub(r" \(task \d+, at .*\)$", "", text)
    text = re.sub(r": fingerprints .*", "", text)  # the digests themselves are in results.csv's error column
    return text[:120]


RESULTS_DIFFER = "results differ"  # how a workload's check (workloads/pyperformance.py) words a wrong result
NOT_SAFE = ("no", "no-isolated")  # the safety kinds of a benchmark that is not thread-safe as written


def thread_safety(frame, workload: str) -> dict:
    """Whether every threaded repetition of the benchmark ran and returned what a single thread returns, as facts:
    `safety` is 'yes', 'isolated-ok' (its @isolated mode ran correctly), 'no', 'no-isolated' (failed even with a
    private copy of its module per thread), 'untested' (no threaded cell ran) or 'serial-failed'; with the first
    failure's error and whether it was a wrong result rather than a crash. Words: bench/report/suite.py."""
    rows = frame[(frame["workload"] == workload) & frame["variant"].isin(in_family("threads"))]
    serial = frame[(frame["workload"] == workload) & (frame["variant"] == BASELINE_VARIANT)]
    serial_ok = serial[~serial["warmup"].astype(bool)]["ok"].astype(bool)  # a light warm-up's ran no task
    isolated = workload.endswith("@isolated")
    facts = {"safety": "untested", "safety_error": "", "safety_differs": False}
    if rows.empty:
        return facts
    failed = rows[~rows["ok"].astype(bool)]
    if failed.empty:
        return facts | {"safety": "isolated-ok" if isolated else "yes"}
    if not serial_ok.any():
        return facts | {"safety": "serial-failed"}
    what = _short_error(failed["error"].iloc[0])
    # results.csv carries the error as text: the one place it is classified, read once as it enters the spectrum
    return {
        "safety": "no-isolated" if isolated else "no",
        "safety_error": what,
        "safety_differs": RESULTS_DIFFER in what,
    }


def _pick(part, variants, workers: int | None):
    for v in variants:
        rows = part[(part["variant"] == v) & part["speedup"].notna()]
        if workers is not None:
            rows = rows[rows["workers"] == workers]
        if not rows.empty:
            return rows.sort_values("workers").iloc[-1]
    return None


def build(table, frame, unavailable=None, trace_summary=None, twins: set[str] | None = None):
    """The spectrum table (a pandas DataFrame), or None when the run has nothing to show."""
    import pandas as pd

    if table.empty:
        return None
    kinds = interpreters(table, twins)
    threaded = table[table["variant"].isin(THREADS + PROCESSES)]
    if threaded.empty:
        n = None
    else:
        n = int(threaded["workers"].max())
    records = []
    for workload, part in table.groupby("workload", sort=False):
        rec = {"workload": workload, "workers": n, **thread_safety(frame, workload)}
        for key, python, variants in (
            ("threads_gil", kinds.get("gil"), THREADS),
            ("threads_ft", kinds.get("ft"), THREADS),
            ("processes", kinds.get("gil", kinds.get("ft")), PROCESSES),
        ):
            row = None if python is None else _pick(part[part["python_executable"] == python], variants, n)
            for suffix, col in (("", "speedup"), ("_low", "speedup_low"), ("_high", "speedup_high")):
                rec[key + suffix] = float(row[col]) if row is not None else math.nan
            rec[key + "_busy"] = float(row["busy_cores"]) if row is not None else math.nan
            rec[key + "_variant"] = row["variant"] if row is not None else ""
            # the claims the run's error budget accepted for the row (bench/report/budget.py): gain and loss words
            rec[key + "_claims"] = str(row.get("claims", "")) if row is not None else ""
        rec["ft_cost"], rec["ft_cost_low"], rec["ft_cost_high"] = ft_cost(frame, workload, kinds)
        rec["blocked_gil"], rec["blocked_ft"] = blocked(trace_summary, workload, kinds, n)
        failed = frame[(frame["workload"] == workload) & ~frame["ok"].astype(bool)]
        rec["failed_cells"] = ", ".join(sorted({f"{r.variant} x{int(r.workers)}" for r in failed.itertuples()}))
        rec["unavailable"] = ""
        records.append(rec)
    seen = {r["workload"] for r in records}
    if unavailable is not None and not unavailable.empty:
        for workload, part in unavailable.groupby("workload", sort=False):
            reasons = "; ".join(f"{r.python_executable}: {r.reason}" for r in part.itertuples())
            if workload in seen:
                next(r for r in records if r["workload"] == workload)["unavailable"] = reasons
            else:
                records.append({"workload": workload, "workers": n, "safety": "untested", "unavailable": reasons})
    spectrum = pd.DataFrame.from_records(records)
    for key, _, _ in SERIES:
        if key not in spectrum:
            spectrum[key] = math.nan
    order = spectrum["threads_ft"].fillna(spectrum["threads_gil"]).fillna(-1)
    spectrum = spectrum.assign(_order=order).sort_values("_order", ascending=False).drop(columns="_order")
    # the two interpreters the spectrum sets side by side, (executable, version) each, for what the pair compares
    versions = dict(zip(table["python_executable"], table["python_version"], strict=False))
    spectrum.attrs["pythons"] = {kind: (python, str(versions.get(python, ""))) for kind, python in kinds.items()}
    return spectrum


def ft_cost(frame, workload: str, kinds: dict) -> tuple[float, float, float]:
    """The free-threaded build's serial time over the GIL build's, same work, both from this run (their medians'
    intervals joined: the two interpreters' serial cells are not paired)."""
    from .analysis import measured

    if "gil" not in kinds or "ft" not in kinds:
        return math.nan, math.nan, math.nan
    rows = measured(frame[(frame["workload"] == workload) & (frame["variant"] == BASELINE_VARIANT)])
    ft = rows[rows["python_executable"] == kinds["ft"]]["total_s"].to_numpy(dtype=float)
    gil = rows[rows["python_executable"] == kinds["gil"]]["total_s"].to_numpy(dtype=float)
    if not len(ft) or not len(gil):
        return math.nan, math.nan, math.nan
    import numpy as np

    low, high, _ = ratio_interval(ft, gil)
    return float(np.median(ft) / np.median(gil)), low, high


def blocked(trace_summary, workload: str, kinds: dict, n) -> tuple[float, float]:
    """--trace: the share of time the worker threads were blocked, threads at N, GIL and free-threaded."""
    out = []
    for kind in ("gil", "ft"):
        value = math.nan
        if trace_summary is not None and kind in kinds and n is not None:
            rows = trace_summary[
                (trace_summary["workload"] == workload)
                & (trace_summary["python_executable"] == kinds[kind])
                & trace_summary["variant"].isin(THREADS)
                & (trace_summary["workers"] == n)
                & (trace_summary["unavailable"].fillna("") == "")
            ]
            if not rows.empty:
                value = float(rows.sort_values("variant", key=lambda s: s.map(THREADS.index)).iloc[0]["blocked_share"])
        out.append(value)
    return out[0], out[1]


def chart(spectrum, out, title: str = "") -> list:
    """spectrum.png / .svg: one row per workload, speedup at N with intervals for the three kinds of worker; drawn in
    gilbench's style, the user's matplotlib settings left alone (as every chart of bench/charts.py)."""
    from .charts import styled

    return styled(_chart)(spectrum, out, title)


def _chart(spectrum, out, title: str = "") -> list:
    from .charts import finish, pyplot

    plt = pyplot()
    rows = spectrum[spectrum[[k for k, _, _ in SERIES]].notna().any(axis=1)].iloc[::-1]
    if rows.empty:
        return []
    n = rows["workers"].dropna()
    n = int(n.iloc[0]) if len(n) else None
    fig, ax = plt.subplots(figsize=(10.5, 1.4 + 0.55 * len(rows)), layout="constrained")
    for k, (key, label, colour) in enumerate(SERIES):
        y = [i + (k - 1) * 0.22 for i in range(len(rows))]
        x = rows[key].to_numpy(dtype=float)
        low = rows[key + "_low"].to_numpy(dtype=float)
        high = rows[key + "_high"].to_numpy(dtype=float)
        err = [
            [max(0.0, v - lo) if lo == lo else 0 for v, lo in zip(x, low, strict=True)],
            [max(0.0, hi - v) if hi == hi else 0 for v, hi in zip(x, high, strict=True)],
        ]
        ax.errorbar(x, y, xerr=err, fmt="o", color=colour, label=label, capsize=2.5, markersize=5, lw=1.2)
    labels = []
    for _, r in rows.iterrows():
        name = str(r["workload"]).removeprefix("pyperformance:")
        notes = []
        if r["safety"] in NOT_SAFE:
            notes.append("not thread-safe as written")
        if r["ft_cost"] == r["ft_cost"]:
            notes.append(f"free-threaded serial: {r['ft_cost']:.2f}x the time")
        labels.append(name + ("\n" + "; ".join(notes) if notes else ""))
    ax.set_yticks(range(len(rows)), labels, fontsize=8.5)
    ax.axvline(1.0, color="#444444", lw=1, ls="--")
    if n:
        ax.axvline(n, color="#999999", lw=1, ls=":")
        ax.text(n, len(rows) - 0.4, f" {n}x: every worker busy", fontsize=8, color="#666666", va="bottom")
    ax.text(1.0, len(rows) - 0.4, " 1x: no gain ", fontsize=8, color="#444444", va="bottom", ha="right")
    ax.set_ylim(-0.6, len(rows) - 0.1)
    ax.set_xlabel(f"speedup at {n} workers over the same interpreter's serial loop (95 % interval)" if n else "speedup")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    ax.set_title(title or "Which kinds of code gain from threads, free threads and processes", fontsize=11)
    return finish(fig, out, "spectrum")
