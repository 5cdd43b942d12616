"""Analysis: per-cell statistics, speedup, efficiency, Karp-Flatt, Amdahl fits. From the CSV alone.

Conventions (the README repeats them):
- A cell's time is the median of its measured repetitions (warm-ups and failures excluded).
- Speedup S(N) = median serial time / median time of the variant at N workers, within the same
  workload, size, parameters and interpreter. Efficiency = S(N) / N.
- The `ceiling` variant (N independent processes, no pool, no IPC, timed from a barrier) is the
  machine's own limit; `ceiling_efficiency` = S(N) / S_ceiling(N).
- Karp-Flatt serial fraction e = (1/S - 1/N) / (1 - 1/N), for N > 1.
- Amdahl fit per variant: S(N) = 1 / (p + (1 - p) / N), p in [0, 1] by least squares.
- Intervals are distribution-free and state their exact coverage (see `median_interval`). With
  n repetitions the interval [x_(k), x_(n+1-k)] of the sorted times covers the true median with
  probability 1 - 2 P(Binomial(n, 1/2) <= k - 1), whatever the distribution of the times. Five
  repetitions give at best [min, max] at 93.75 %; nothing here is called 95 % that is not.
  A bootstrap of five values would only ever return values among the five, so none is used.
- A speedup's interval joins the two medians' intervals, each at sqrt(0.95): the ratio of the
  true medians lies in [serial_low / variant_high, serial_high / variant_low] with probability at
  least the product of their coverages (the samples are independent).
- Disturbed repetitions (other programs or steal above the threshold) are left out; where a
  repetition stayed disturbed through all its re-runs, its last attempt is kept and counted.
"""

from __future__ import annotations

import math

import numpy as np

CELL = ["workload", "size", "params", "python_executable", "start_method", "variant", "workers"]
BASELINE = ["workload", "size", "params", "python_executable", "start_method"]
SERIES = BASELINE + ["variant"]
from .variants import VARIANTS  # noqa: E402

# The baseline and the machine's ceiling, as bench/variants.py defines them.
BASELINE_VARIANT = next(name for name, v in VARIANTS.items() if v.family == "serial")
CEILING = next(name for name, v in VARIANTS.items() if v.ceiling)
CONFIDENCE = 0.95
AMDAHL_MIN_R2 = 0.5  # a fit explaining less of the variance than this describes nothing: not drawn, not quoted


def measured(frame):
    """The rows that count: successful, non-warm-up repetitions, without disturbed ones.

    A repetition (cell and repeat number) that was disturbed on every attempt keeps its last
    attempt, so a cell measured on a machine that stayed busy still has its values - marked.
    """
    import pandas as pd

    rows = frame[frame["ok"].astype(bool) & ~frame["warmup"].astype(bool)]
    if "disturbed" not in rows or not rows["disturbed"].astype(bool).any():
        return rows
    disturbed = rows["disturbed"].astype(bool)
    key = CELL + ["repeat"]
    clean_keys = set(map(tuple, rows.loc[~disturbed, key].to_numpy()))
    last = rows[disturbed].sort_values("attempt").groupby(key, sort=False).tail(1)
    kept = last[[tuple(k) not in clean_keys for k in last[key].to_numpy()]]
    return pd.concat([rows[~disturbed], kept])


def median_coverage(n: int, k: int) -> float:
    """Exact probability that [x_(k), x_(n+1-k)] of n independent draws covers the true median."""
    from scipy.stats import binom

    if n < 1 or not 1 <= k <= (n + 1) // 2:
        return 0.0
    return float(1 - 2 * binom.cdf(k - 1, n, 0.5))


def median_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """The narrowest order-statistic interval of the median whose coverage reaches `confidence`, or, where
    n is too small for that, the widest one there is ([min, max]); returns (low, high, exact coverage)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0.0
    k = 1
    for candidate in range(1, (n + 1) // 2 + 1):
        if median_coverage(n, candidate) >= confidence:
            k = candidate
    return float(x[k - 1]), float(x[n - k]), median_coverage(n, k)


def ratio_interval(num, den, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Interval of median(num) / median(den) from the two medians' intervals, each at sqrt(confidence);
    returns (low, high, coverage), where the coverage is a lower bound (the product of the two)."""
    part = math.sqrt(confidence)
    n_low, n_high, n_cov = median_interval(num, part)
    d_low, d_high, d_cov = median_interval(den, part)
    if not d_low > 0:
        return math.nan, math.nan, 0.0
    return n_low / d_high, n_high / d_low, n_cov * d_cov


def karp_flatt(speedup, workers):
    """Experimentally determined serial fraction; NaN at one worker, where it is undefined."""
    s, n = np.asarray(speedup, dtype=float), np.asarray(workers, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (1 / s - 1 / n) / (1 - 1 / n)
    return np.where(n > 1, e, np.nan)


def amdahl(workers, p):
    return 1.0 / (p + (1.0 - p) / np.asarray(workers, dtype=float))


def fit_amdahl(workers, speedup) -> tuple[float, float]:
    """Least-squares serial fraction p in [0, 1] and the fit's R^2 (NaN with fewer than two points)."""
    from scipy.optimize import least_squares

    n, s = np.asarray(workers, dtype=float), np.asarray(speedup, dtype=float)
    keep = np.isfinite(s) & np.isfinite(n)
    n, s = n[keep], s[keep]
    if len(n) < 2 or len(set(n)) < 2:
        return math.nan, math.nan
    fit = least_squares(lambda p: amdahl(n, p[0]) - s, x0=[0.5], bounds=([0.0], [1.0]))
    p = float(fit.x[0])
    residual = float(np.sum((amdahl(n, p) - s) ** 2))
    total = float(np.sum((s - s.mean()) ** 2))
    r2 = 1 - residual / total if total > 0 else (1.0 if residual < 1e-12 else 0.0)
    return p, r2


def summarize(frame, metric: str = "total_s"):
    """One row per cell: statistics of `metric`, speedup, efficiency, busy cores, fits."""
    import pandas as pd

    rows = measured(frame)
    if rows.empty:
        return pd.DataFrame()
    records, samples = [], []
    for key, group in rows.groupby(CELL, sort=False):
        values = group[metric].to_numpy(dtype=float)
        samples.append(values)
        low, high, coverage = median_interval(values)
        kept_disturbed = group["disturbed"].astype(bool) if "disturbed" in group else None
        total = group["total_s"].to_numpy(dtype=float)
        records.append({
            **dict(zip(CELL, key)),
            "host": group["host"].iloc[0],
            "python_version": group["python_version"].iloc[0],
            "free_threaded": bool(group["free_threaded"].iloc[0]),
            "gil_enabled": bool(group["gil_enabled"].all()),
            "python_gil_env": str(group["python_gil_env"].iloc[0]),
            "usable_cpus": int(group["usable_cpus"].iloc[0]),
            "tasks": int(group["tasks"].iloc[0]),
            "repeats": len(values),
            "median_s": float(np.median(values)),
            "min_s": float(values.min()),
            "max_s": float(values.max()),
            "ci_low_s": low,
            "ci_high_s": high,
            "ci_coverage": coverage,
            "disturbed_kept": int(kept_disturbed.sum()) if kept_disturbed is not None else 0,
            "other_cores_max": float(group["other_cores"].max()) if "other_cores" in group else math.nan,
            "startup_s": float(group["startup_s"].median()),
            "startup_share": float(np.median(group["startup_s"].to_numpy(dtype=float) / total)),
            "busy_cores": float(group["busy_cores"].median()),
            "cpu_s": float(group["cpu_s"].median()),
            "peak_rss_mb": float(group["peak_rss_mb"].median()),
        })
    table = pd.DataFrame.from_records(records)
    serial = table[table["variant"] == BASELINE_VARIANT].set_index(BASELINE)
    keys = pd.MultiIndex.from_frame(table[BASELINE])
    table["serial_s"] = serial["median_s"].reindex(keys).to_numpy()
    table["speedup"] = table["serial_s"] / table["median_s"]
    # The same work costs more CPU when it runs in parallel if workers contend (shared reference
    # counts, caches, memory bandwidth, cores slowing when all are busy): >1 means contention.
    table["cpu_inflation"] = table["cpu_s"] / serial["cpu_s"].reindex(keys).to_numpy()
    # The interval of a speedup: the serial and the variant medians' intervals joined (see ratio_interval).
    serial_pos = {tuple(k): i for i, k in zip(table.index, table[BASELINE].to_numpy()) if table.at[i, "variant"] == BASELINE_VARIANT}
    lows, highs, coverages = [], [], []
    for i, base in zip(table.index, table[BASELINE].to_numpy()):
        j = serial_pos.get(tuple(base))
        low, high, coverage = ratio_interval(samples[j], samples[i]) if j is not None else (math.nan, math.nan, 0.0)
        lows.append(low), highs.append(high), coverages.append(coverage)
    table["speedup_low"], table["speedup_high"], table["speedup_coverage"] = lows, highs, coverages
    table["speedup_halfwidth"] = np.maximum(table["speedup_high"] / table["speedup"] - 1,
                                            1 - table["speedup_low"] / table["speedup"])
    table["efficiency"] = table["speedup"] / table["workers"]
    table["karp_flatt"] = karp_flatt(table["speedup"], table["workers"])
    ceiling = table[table["variant"] == CEILING].set_index(BASELINE + ["workers"])["speedup"]
    table["ceiling_speedup"] = ceiling.reindex(pd.MultiIndex.from_frame(table[BASELINE + ["workers"]])).to_numpy()
    table["ceiling_efficiency"] = table["speedup"] / table["ceiling_speedup"]
    table["amdahl_p"], table["amdahl_r2"] = math.nan, math.nan
    for _, idx in table.groupby(SERIES, sort=False).groups.items():
        part = table.loc[idx]
        if part["variant"].iloc[0] == BASELINE_VARIANT:
            continue
        p, r2 = fit_amdahl(part["workers"], part["speedup"])
        table.loc[idx, "amdahl_p"], table.loc[idx, "amdahl_r2"] = p, r2
    return table


def missing_baselines(table) -> list[str]:
    """Workloads (with size) that have measurements but no successful serial cell."""
    if table.empty:
        return []
    lacking = table[table["serial_s"].isna()]
    return sorted({f"{w} ({s})" for w, s in zip(lacking["workload"], lacking["size"])})


def format_table(table) -> str:
    columns = ["workload", "variant", "workers", "median_s", "speedup", "busy_cores", "startup_s"]
    shown = table.copy()
    if shown["python_executable"].nunique() > 1:
        shown["python"] = [f"{v}{'t' if ft else ''}" for v, ft in zip(shown["python_version"], shown["free_threaded"])]
        columns.insert(0, "python")
    if "disturbed_kept" in shown and (shown["disturbed_kept"] > 0).any():
        shown["note"] = ["busy machine" if k else "" for k in shown["disturbed_kept"]]
        columns.append("note")
    shown = shown[columns].sort_values(columns[:3] + ["workers"], kind="stable")
    return shown.to_string(
        index=False,
        formatters={
            "median_s": "{:.3f}".format, "speedup": lambda v: "-" if v != v else f"{v:.2f}x",
            "busy_cores": "{:.2f}".format, "startup_s": "{:.3f}".format,
        },
    )


VERDICTS = {"+": "faster", "-": "slower", "~": "no clear difference"}  # pyperf's and asv's marks


def precision_met(table, precision: float):
    """Per cell: is the speedup interval within +-precision of the speedup (relative half-width)?"""
    half = np.maximum(table["speedup_high"] / table["speedup"] - 1, 1 - table["speedup_low"] / table["speedup"])
    return (half <= precision).fillna(False)


MIN_VERDICT_COVERAGE = 0.8  # below this (e.g. two repetitions: 25 %) an interval cannot carry a verdict


def verdict(low: float, high: float, coverage: float = 1.0) -> str:
    """'+' when the whole interval of time(B) / time(A) lies below 1 (B is faster), '-' above 1, else '~';
    '~' also where the interval's coverage is too low to say anything."""
    if not (low == low and high == high) or not coverage >= MIN_VERDICT_COVERAGE:
        return "~"
    return "+" if high < 1 else "-" if low > 1 else "~"


def verdict_meaning(mark: str, coverage: float) -> str:
    """The words for a verdict, where the terminal, compare.md and the report say it."""
    return VERDICTS[mark] if coverage >= MIN_VERDICT_COVERAGE else "too few repetitions for a verdict"


def compare_cells(base_rows, other_rows, metric: str = "total_s"):
    """Per cell present in both: time ratio other / base (median over median) with its interval, coverage and
    verdict; the same work only (workload, size, parameters, variant, workers)."""
    import pandas as pd

    keys = ["workload", "size", "params", "variant", "workers"]
    base = {k: g[metric].to_numpy(dtype=float) for k, g in measured(base_rows).groupby(keys, sort=False)}
    other = {k: g[metric].to_numpy(dtype=float) for k, g in measured(other_rows).groupby(keys, sort=False)}
    records = []
    for key in [k for k in base if k in other]:
        low, high, coverage = ratio_interval(other[key], base[key])
        mark = verdict(low, high, coverage)
        records.append({**dict(zip(keys, key)), "base_median_s": float(np.median(base[key])),
                        "other_median_s": float(np.median(other[key])),
                        "time_ratio": float(np.median(other[key]) / np.median(base[key])),
                        "ratio_low": low, "ratio_high": high, "coverage": coverage, "verdict": mark,
                        "meaning": verdict_meaning(mark, coverage)})
    order = list(VARIANTS)
    records.sort(key=lambda r: (r["workload"], order.index(r["variant"]) if r["variant"] in order else len(order),
                                r["workers"]))
    return pd.DataFrame.from_records(records)
