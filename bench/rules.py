"""The report's rules: which sentence names which cause, and the evidence that must hold before it is said.

One table, so a reader can audit every causal claim the report makes. A rule is checked on one variant's
row of the summary at one worker count (`Evidence` gives it the row and its context); its sentence is said
only when its test holds, and the tests ask that the interval behind a claim excludes the no-effect value
(a speedup's 95 % interval below linear before any loss is explained, above 1.00x before a gain is). Where no
rule holds, the report says the difference is within the run's noise, with the interval's half-width.
CPU-bound explanations (the GIL, contention, idle workers, the ceiling) need work that kept the serial
cell's core busy: a `sleep` workload's speedups are not about cores at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .variants import in_family

THREADS = in_family("threads") | in_family("interpreters")
PROCESSES = in_family("processes")

CPU_BOUND_BUSY = 0.9  # the serial cell kept at least this much of one core busy: CPU-bound work
GIL_BOUND_BUSY = 1.25  # threads that together kept fewer cores busy took turns
INFLATION = 1.10  # the same work cost at least this much more CPU in parallel, interval above 1: contention
STARTUP_SHARE = 0.15  # start-up above this share of a repetition's time is worth naming
IDLE_SHARE = 0.9  # processes whose CPU was below this share of workers x wall time sat idle part of the time


@dataclass(frozen=True)
class Evidence:
    row: dict  # the variant's summary row at this worker count
    usable: int  # usable CPUs
    serial_busy: float  # busy cores of the serial cell: ~1 for CPU-bound work

    @property
    def n(self) -> int:
        return int(self.row["workers"])

    @property
    def cores(self) -> int:
        return min(self.n, self.usable)

    def get(self, key: str) -> float:
        value = self.row.get(key, math.nan)
        return value if value == value else math.nan

    @property
    def cpu_bound(self) -> bool:
        return self.serial_busy >= CPU_BOUND_BUSY

    @property
    def below_linear(self) -> bool:
        """The speedup's interval lies below linear: there is a loss to explain."""
        return self.get("speedup_high") < self.cores

    @property
    def above_one(self) -> bool:
        """The speedup's interval lies above 1.00x: there is a gain to explain."""
        return self.get("speedup_low") > 1


@dataclass(frozen=True)
class Rule:
    name: str
    evidence: str  # the test, in words, for the table in docs and for a reader of the code
    holds: Callable[[Evidence], bool]
    says: Callable[[Evidence], str]


def _x(v) -> str:
    return "-" if v != v else f"{v:.2f}x"


RULES = (
    Rule(
        "gil-turns",
        "threads with the GIL on; serial CPU-bound; busy cores < 1.25; speedup interval below linear",
        lambda e: (
            e.row["variant"] in THREADS
            and bool(e.row["gil_enabled"])
            and e.n > 1
            and e.cpu_bound
            and e.get("busy_cores") < GIL_BOUND_BUSY
            and e.below_linear
        ),
        lambda e: f"the threads took turns: one held the GIL at a time ({e.get('busy_cores'):.2f} busy cores)",
    ),
    Rule(
        "gil-released",
        "threads with the GIL on; busy cores >= 1.25; speedup interval above 1.00x",
        lambda e: (
            e.row["variant"] in THREADS
            and bool(e.row["gil_enabled"])
            and e.n > 1
            and e.get("busy_cores") >= GIL_BOUND_BUSY
            and e.above_one
        ),
        lambda e: f"the threads overlapped on {e.get('busy_cores'):.1f} cores: the work releases the GIL (C code)",
    ),
    Rule(
        "no-gil",
        "threads without a GIL; busy cores >= 1.25; speedup interval above 1.00x",
        lambda e: (
            e.row["variant"] in THREADS
            and not bool(e.row["gil_enabled"])
            and e.n > 1
            and e.get("busy_cores") >= GIL_BOUND_BUSY
            and e.above_one
        ),
        lambda e: f"no GIL: the threads ran Python in parallel on {e.get('busy_cores'):.1f} cores",
    ),
    Rule(
        "oversubscribed",
        "serial CPU-bound; more workers than usable CPUs",
        lambda e: e.n > e.usable and e.cpu_bound,
        lambda e: f"oversubscribed: {e.n} workers share {e.usable} CPUs",
    ),
    Rule(
        "start-up",
        "start-up above 15 % of the time; speedup interval below linear",
        lambda e: e.get("startup_share") > STARTUP_SHARE and e.below_linear,
        lambda e: (
            f"start-up took {e.get('startup_share') * 100:.0f} % of the time: the work is short next to "
            "creating the workers"
        ),
    ),
    Rule(
        "contention",
        "serial CPU-bound; the CPU-inflation interval lies above 1.10; speedup interval below linear",
        lambda e: e.n > 1 and e.cpu_bound and e.get("cpu_inflation_low") > INFLATION and e.below_linear,
        lambda e: (
            f"the same work cost {e.get('cpu_inflation'):.2f}x "
            f"[{e.get('cpu_inflation_low'):.2f}-{e.get('cpu_inflation_high'):.2f}] the serial CPU time: the "
            "workers slowed each other down (shared caches, memory bandwidth, cores slowing when all are busy)"
        ),
    ),
    Rule(
        "idle-workers",
        "processes, N <= CPUs; serial CPU-bound; busy cores < 0.9 N; start-up <= 15 %; speedup interval below linear",
        lambda e: (
            e.row["variant"] in PROCESSES
            and 1 < e.n <= e.usable
            and e.cpu_bound
            and e.get("busy_cores") < IDLE_SHARE * e.n
            and not e.get("startup_share") > STARTUP_SHARE
            and e.below_linear
        ),
        lambda e: (
            f"CPU time was only {e.get('busy_cores') / e.n * 100:.0f} % of workers x wall time: workers sat "
            "idle part of the time (uneven tasks, cores of uneven speed, or IPC)"
        ),
    ),
    Rule(
        "machine-ceiling",
        "serial CPU-bound; the ceiling's interval lies below 90 % of linear",
        lambda e: e.n > 1 and e.cpu_bound and e.get("ceiling_speedup_high") < 0.9 * e.cores,
        lambda e: f"the machine itself tops out at {_x(e.get('ceiling_speedup'))} here (the measured ceiling)",
    ),
    Rule(
        "above-linear",
        "serial CPU-bound; speedup interval above linear",
        lambda e: e.cpu_bound and e.get("speedup_low") > e.cores,
        lambda e: (
            "above linear, which the cores cannot give: the serial baseline ran slower than the same work in "
            "the workers (see the context check)"
        ),
    ),
)


def sentences(evidence: Evidence) -> list[str]:
    """The sentences whose evidence holds, in the table's order."""
    return [rule.says(evidence) for rule in RULES if rule.holds(evidence)]


def noise_phrase(row) -> str:
    half = row.get("speedup_halfwidth", math.nan)
    return f"within this run's noise (+-{half * 100:.0f} %)" if half == half else "no interval (one block)"


def table_rows() -> list[list[str]]:
    """The rules as a table: name and evidence (for the report's appendix and docs)."""
    return [[rule.name, rule.evidence] for rule in RULES]
