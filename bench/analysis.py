"""Analysis: per-cell statistics, speedup, efficiency, Karp-Flatt, Amdahl fits. From the CSV alone.

Conventions (the README repeats them):
- A cell's time is the median of its measured repetitions (warm-ups and failures excluded).
- Speedup S(N) = median serial time / median time of the variant at N workers, within the same
  workload, size, parameters and interpreter. Efficiency = S(N) / N.
- The `ceiling` variant (N independent processes, no pool, no IPC, timed from a barrier) is the
  machine's own limit; `ceiling_efficiency` = S(N) / S_ceiling(N).
- Karp-Flatt serial fraction e = (1/S - 1/N) / (1 - 1/N), for N > 1.
- Amdahl fit per variant: S(N) = 1 / (p + (1 - p) / N), p in [0, 1] by least squares.
"""

from __future__ import annotations

import math

import numpy as np

CELL = ["workload", "size", "params", "python_executable", "start_method", "variant", "workers"]
BASELINE = ["workload", "size", "params", "python_executable", "start_method"]
SERIES = BASELINE + ["variant"]
from .variants import VARIANTS

# The baseline and the machine's ceiling, as bench/variants.py defines them.
BASELINE_VARIANT = next(name for name, v in VARIANTS.items() if v.family == "serial")
CEILING = next(name for name, v in VARIANTS.items() if v.ceiling)
BOOTSTRAP = 2000
CONFIDENCE = 0.95


def measured(frame):
    """The rows that count: successful, non-warm-up repetitions."""
    return frame[frame["ok"].astype(bool) & ~frame["warmup"].astype(bool)]


def bootstrap_medians(values, rng, draws=BOOTSTRAP):
    """Medians of `draws` resamples (with replacement) of the values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return np.repeat(values[:1] if len(values) else [math.nan], draws)
    return np.median(rng.choice(values, size=(draws, len(values)), replace=True), axis=1)


def _interval(samples, confidence=CONFIDENCE) -> tuple[float, float]:
    alpha = (1 - confidence) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))


def bootstrap_median_ci(values, rng, confidence=CONFIDENCE, draws=BOOTSTRAP) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median."""
    return _interval(bootstrap_medians(values, rng, draws), confidence)


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


def summarize(frame, metric: str = "total_s", seed: int = 0):
    """One row per cell: statistics of `metric`, speedup, efficiency, busy cores, fits."""
    import pandas as pd

    rows = measured(frame)
    if rows.empty:
        return pd.DataFrame()
    rng = np.random.default_rng(seed)
    records, boots = [], []
    for key, group in rows.groupby(CELL, sort=False):
        values = group[metric].to_numpy(dtype=float)
        boot = bootstrap_medians(values, rng)
        boots.append(boot)
        low, high = _interval(boot)
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
    # The interval of a speedup: bootstrap the ratio of the two medians, resampling both independently.
    serial_pos = {tuple(k): i for i, k in zip(table.index, table[BASELINE].to_numpy()) if table.at[i, "variant"] == BASELINE_VARIANT}
    lows, highs = [], []
    for i, base in zip(table.index, table[BASELINE].to_numpy()):
        j = serial_pos.get(tuple(base))
        if j is None:
            lows.append(math.nan), highs.append(math.nan)
            continue
        low, high = _interval(boots[j] / rng.permutation(boots[i]))
        lows.append(low), highs.append(high)
    table["speedup_low"], table["speedup_high"] = lows, highs
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
    shown = shown[columns].sort_values(columns[:3] + ["workers"], kind="stable")
    return shown.to_string(
        index=False,
        formatters={
            "median_s": "{:.3f}".format, "speedup": lambda v: "-" if v != v else f"{v:.2f}x",
            "busy_cores": "{:.2f}".format, "startup_s": "{:.3f}".format,
        },
    )
