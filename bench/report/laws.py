"""The scaling law of a variant's curve in words: which law describes it, its parameters with their intervals, and
what they mean for this kind of worker (the wording of the `scaling-law` finding, and the laws table's cells)."""

from __future__ import annotations

import math

from ..analysis import USL_MIN_COUNTS, describes
from .evidence import THREAD_LIKE, THREADS
from .numbers import estimate
from .rules import LAW_MIN_COUNTS


def between(value, low, high, digits: int = 2) -> str:
    """A law's parameter with its bootstrap interval, where it has one."""
    return estimate(value, low, high, digits, unknown="")


def _quality(r2, error) -> str:
    return f"R^2 {r2:.2f}, typical error {error:.0%}"


def _contention(sigma: float, gil: bool) -> str:
    """sigma (or Amdahl's p, the same thing where kappa = 0) in words."""
    if sigma >= 0.95:
        return (
            " - each added thread waits for the GIL: the work runs one thread at a time, no parallel part at all"
            if gil
            else " - no parallel part at all: the work runs one worker at a time"
        )
    if sigma >= 0.5:
        return (
            f" - each added thread mostly waits for the GIL: {sigma:.0%} of the work runs one thread at a time"
            if gil
            else f" - {sigma:.0%} of the work queues, one worker at a time"
        )
    if sigma >= 0.05:
        return f" - {sigma:.0%} of the work does not overlap (it waits its turn: a queue, a lock, the GIL)"
    return ""


def law_sentences(row, falling: bool = False) -> list[str]:
    """Which scaling law describes this variant's curve, its parameters with their intervals, and what they mean
    for this kind of worker. Quoted only where a law's fit explains at least half of the variance."""
    v, law = row["variant"], row.get("law", "")
    sigma, kappa, peak = (
        row.get("usl_sigma", math.nan),
        row.get("usl_kappa", math.nan),
        row.get("usl_peak_workers", math.nan),
    )
    threads = v in THREAD_LIKE
    gil = bool(row["gil_enabled"]) and v in THREADS
    if law == "usl":
        text = (
            f"USL fit: contention sigma = {between(sigma, row['usl_sigma_low'], row['usl_sigma_high'])}, "
            f"coherency kappa = {between(kappa, row['usl_kappa_low'], row['usl_kappa_high'], 4)} "
            f"({_quality(row['usl_r2'], row['usl_error'])}; intervals: bootstrap over rounds)"
        )
        text += _contention(sigma, gil)
        if peak == peak:  # kappa > 0, and its interval excludes 0
            who = (
                "threads pay for handing the GIL back and forth"
                if gil
                else "threads pay for shared state (reference counts, cache lines)"
                if threads
                else "workers pay for each other (start-up, IPC, cores they share)"
            )
            text += f"; kappa > 0: {who}, " + (
                "so no worker count beats one worker: the curve falls from the start"
                if peak < 1.05
                else f"so the curve peaks near {peak:.1f} workers and falls after"
            )
        r2 = row.get("amdahl_r2", math.nan)
        if r2 == r2:
            text += (
                "; it describes the curve better than Amdahl's law, by the information criterion"
                if describes(r2, row["amdahl_error"])
                else f"; Amdahl's law does not describe this curve ({_quality(r2, row['amdahl_error'])})"
            )
        return [text]
    if law == "amdahl":
        p = row["amdahl_p"]
        text = (
            f"Amdahl fit: serial fraction p = {p:.3f} ({_quality(row['amdahl_r2'], row['amdahl_error'])})"
            + _contention(p, gil)
        )
        text += (
            f"; the USL's coherency term (kappa = {kappa:.4f}) does not earn its place"
            if sigma == sigma
            else f"; too few worker counts to test the USL (it needs {USL_MIN_COUNTS})"
        )
        return [text]
    out = []
    if falling:
        out.append(
            "speedup falls as workers are added (the last interval lies below the first): a cost that grows "
            "with the workers outweighs the work"
        )
    if row.get("fitted_counts", 0) < LAW_MIN_COUNTS:
        return out  # too few worker counts to fit: said once per workload (workload_findings)
    fitted = [
        f"{name} {_quality(row.get(law + '_r2', math.nan), row.get(law + '_error', math.nan))}"
        for name, law in (("Amdahl", "amdahl"), ("USL", "usl"))
        if row.get(law + "_r2", math.nan) == row.get(law + "_r2", math.nan)
    ]
    if fitted:
        out.append(
            "neither Amdahl's law nor the USL describes this curve (" + ", ".join(fitted) + "), so no law is quoted"
        )
    if sigma != sigma:
        out.append(f"too few worker counts for the USL (it needs {USL_MIN_COUNTS})")
    return out
