"""Analysis: per-cell statistics, speedup, efficiency, and the fits. Computed from CSV alone."""

from __future__ import annotations

CELL = ["workload", "size", "params", "python_executable", "start_method", "variant", "workers"]
BASELINE = ["workload", "size", "params", "python_executable"]


def measured(frame):
    """The rows that count: successful, non-warm-up repetitions."""
    return frame[frame["ok"] & ~frame["warmup"]]


def summarize(frame, metric: str = "total_s"):
    """One row per cell: median time, speedup over the serial baseline, efficiency, busy cores."""
    import pandas as pd

    rows = measured(frame)
    if rows.empty:
        return pd.DataFrame()
    g = rows.groupby(CELL, sort=False)
    table = g.agg(
        repeats=(metric, "size"),
        median_s=(metric, "median"),
        min_s=(metric, "min"),
        max_s=(metric, "max"),
        startup_s=("startup_s", "median"),
        busy_cores=("busy_cores", "median"),
        peak_rss_mb=("peak_rss_mb", "median"),
        tasks=("tasks", "first"),
    ).reset_index()
    serial = table[table["variant"] == "serial"].set_index(BASELINE)["median_s"]
    keys = pd.MultiIndex.from_frame(table[BASELINE])
    table["serial_s"] = serial.reindex(keys).to_numpy()
    table["speedup"] = table["serial_s"] / table["median_s"]
    table["efficiency"] = table["speedup"] / table["workers"]
    return table


def format_table(table) -> str:
    shown = table[["workload", "variant", "workers", "median_s", "speedup", "busy_cores", "startup_s"]].copy()
    shown = shown.sort_values(["workload", "variant", "workers"], kind="stable")
    return shown.to_string(
        index=False,
        formatters={
            "median_s": "{:.3f}".format, "speedup": "{:.2f}x".format,
            "busy_cores": "{:.2f}".format, "startup_s": "{:.3f}".format,
        },
    )
