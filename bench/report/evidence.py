"""The evidence the report's rules read: one variant's row at one worker count, and one workload group's view.

Facts only, no thresholds (those are rules, bench/report/rules.py) and no words. Family membership comes from
bench/variants.py alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..analysis import BASELINE_VARIANT, CEILING
from ..variants import in_family

THREADS = in_family("threads")
PROCESSES = in_family("processes")
INTERPRETERS = in_family("interpreters")
# several Python threads in one process: what the GIL rules ask about (subinterpreters run in threads too)
THREAD_LIKE = THREADS | INTERPRETERS


@dataclass(frozen=True)
class Evidence:
    """One variant's summary row at one worker count, with what the rules need around it."""

    row: dict  # the variant's summary row at this worker count
    usable: int  # usable CPUs
    serial_busy: float  # busy cores of the serial cell: ~1 for CPU-bound work

    @property
    def variant(self) -> str:
        return str(self.row["variant"])

    @property
    def n(self) -> int:
        return int(self.row["workers"])

    @property
    def cores(self) -> int:
        return min(self.n, self.usable)

    @property
    def gil(self) -> bool:
        return bool(self.row["gil_enabled"])

    @property
    def native(self) -> int:
        """The most threads any native pool of the row's workers had (0: none found, or not known)."""
        return native_count(str(self.row.get("native_threads", "") or ""))

    def get(self, key: str) -> float:
        value = self.row.get(key, math.nan)
        return value if value == value else math.nan


def native_count(summary: str) -> int:
    """The largest thread count in results.csv's `native_threads` text (`openblas=2;openmp=2 | openblas=1`): 0 for
    `none`, `unknown` or an empty text."""
    counts = [part.rsplit("=", 1)[1].strip() for part in re.split(r"[;|]", summary) if "=" in part]
    return max((int(c) for c in counts if c.isdigit()), default=0)


def has_native_pools(table) -> bool:
    """Whether some cell's workers had a native thread pool (results.csv's and summary.csv's `native_threads`)."""
    return "native_threads" in table and any(native_count(str(p)) > 0 for p in table["native_threads"])


def _best(rows):
    """The row (a pandas Series, its index kept) with the highest speedup; None where none has a speedup."""
    rows = rows[rows["speedup"].notna()]
    return None if rows.empty else rows.loc[rows["speedup"].idxmax()]


@dataclass(frozen=True)
class Group:
    """One workload at one size under one interpreter (a section of the report): its rows and what they share."""

    part: Any  # the summary rows (a pandas DataFrame)
    usable: int  # usable CPUs
    serial: dict | None  # the serial baseline's row
    variants: Any  # the rows that have a speedup to read (not serial, not the ceiling)
    best: Any  # the variant row with the highest speedup, or None
    best_threads: Any  # the best thread variant above one worker, or None
    best_processes: Any  # the best process variant above one worker, or None

    @property
    def serial_busy(self) -> float:
        return float(self.serial["busy_cores"]) if self.serial is not None else 1.0

    def evidence(self, row) -> Evidence:
        return Evidence(dict(row), self.usable, self.serial_busy)

    @property
    def disturbed(self):
        """Per row: the disturbed repetitions that were kept (0 where the run had no such column)."""
        return self.part["disturbed_kept"] if "disturbed_kept" in self.part else self.part["workers"] * 0

    @property
    def serial_disturbed(self) -> bool:
        return bool((self.disturbed[self.part["variant"] == BASELINE_VARIANT] > 0).any())


def group(part) -> Group:
    """A workload's rows as facts (bench/report/budget.py `group` adds the run's decided claims)."""
    serial = part[part["variant"] == BASELINE_VARIANT]
    variants = part[~part["variant"].isin([BASELINE_VARIANT, CEILING])]
    parallel = variants[variants["workers"] > 1]
    return Group(
        part,
        int(part["usable_cpus"].iloc[0]),
        dict(serial.iloc[0]) if not serial.empty else None,
        variants,
        _best(variants),
        _best(parallel[parallel["variant"].isin(THREADS)]),
        _best(parallel[parallel["variant"].isin(PROCESSES)]),
    )
