"""Simulated runs with known truths, fed through gilbench's own analysis and report: what the report says of noise.

A run is written as results.csv rows (tests/helpers.py), then read by the code users run (render.analyse, the
report's blocks, its Markdown). Every cell's time is its true time x the block's drift (a slow spell moves a whole
block, and pairing cancels it) x its own log-normal noise; busy cores and CPU time are the truth with a little
noise of their own. Nothing is known to the report but the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tests.helpers import row, write_run

THREADS = ("threading", "thread-pool")
PROCESSES = ("multiprocessing", "process-pool")
DEFAULT_VARIANTS = THREADS + PROCESSES + ("ceiling",)
LARGE_VARIANTS = THREADS + PROCESSES + ("process-per-task", "joblib", "dask", "ceiling")
CELL_SPREAD = 0.117 / math.sqrt(2)  # each cell's log-time noise: a per-block log ratio spread of 0.117 (the audit's)
BUSY_NOISE = 0.03  # relative noise of busy cores and CPU time per repetition
STARTUP_SHARE = 0.01  # a pool's or a process's start-up: small, as for count and thumbnail at the standard size


@dataclass(frozen=True)
class Truth:
    """What is true of a simulated run: every variant's speedup and busy cores at n workers, and the planted
    effects (a context difference: the serial cell's work took `serial_bias` x the workers'; a contending
    variant: its CPU inflation and its speedup n / inflation)."""

    workloads: tuple[str, ...] = ("count", "thumbnail")
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    workers: tuple[int, ...] = (1, 2)
    usable: int = 2
    blocks: int = 9
    serial_bias: float = 1.0
    contending: dict = field(default_factory=dict)  # variant -> CPU inflation at n > 1

    def speedup(self, variant: str, n: int) -> float:
        cores = min(n, self.usable)
        if variant in THREADS:
            return 1.0  # the GIL: one thread at a time
        return cores / self.contending.get(variant, 1.0) if n > 1 else 1.0

    def busy(self, variant: str, n: int) -> float:
        return 1.0 if variant in THREADS else float(min(n, self.usable))

    def inflation(self, variant: str, n: int) -> float:
        return self.contending.get(variant, 1.0) if n > 1 else 1.0


def simulate(folder, truth: Truth, seed: int):
    """Write one simulated run's results.csv into `folder`; returns the folder."""
    rng = np.random.default_rng(seed)
    rows = []
    common = dict(usable_cpus=truth.usable, logical_cpus=truth.usable, physical_cores=truth.usable)
    for workload in truth.workloads:
        work = 2.0  # the serial cell's true seconds
        for r in range(1, truth.blocks + 1):
            for n in truth.workers:
                drift = float(rng.uniform(1.0, 1.3))  # a slow spell moves the whole block
                cells = [("serial", 1, 1.0, 1.0, 1.0)] + [
                    (v, n, truth.speedup(v, n), truth.busy(v, n), truth.inflation(v, n)) for v in truth.variants
                ]
                for variant, workers, speedup, busy, inflation in cells:
                    true_s = work * (truth.serial_bias if variant == "serial" else 1.0) / speedup
                    total = true_s * drift * float(rng.lognormal(0.0, CELL_SPREAD))
                    startup = total * STARTUP_SHARE
                    noise = float(rng.lognormal(0.0, BUSY_NOISE))
                    cpu = work * inflation * noise * (truth.serial_bias if variant == "serial" else 1.0)
                    rows.append(
                        row(
                            variant,
                            workers,
                            total,
                            r,
                            busy=busy * float(rng.lognormal(0.0, BUSY_NOISE)),
                            startup=startup,
                            cpu_s=cpu,
                            workload=workload,
                            block_workers=n,
                            tasks=max(truth.workers),
                            **common,
                        )
                    )
    return write_run(folder, rows)


def report_text(folder) -> str:
    """The run's report.md as `gilbench report` builds it, without drawing the charts (their files are not read)."""
    from gilbench import render
    from gilbench import report as rep

    a = render.analyse(folder)
    blocks = rep.build_blocks(
        a.table, a.env, {}, a.missing, str(a.results_csv), a.tasks, a.trace_summary, results=a.frame
    )
    return rep.to_markdown(blocks, a.out)


def variant_lines(text: str, variant: str) -> list[str]:
    """The report's lines about one variant (its line in each workload's findings)."""
    return [line for line in text.splitlines() if line.startswith(f"- **{variant}**:")]


# Words of the causes a report can give; under the null each is false where the truth says otherwise.
LOSS_WORDS = ("below linear", "slowed each other", "sat idle", "start-up took", "tops out", "falls as workers")
LAW_WORDS = ("Amdahl fit", "USL fit", "serial fraction p =")
GAIN_WORDS = ("above linear", "overlapped on", "no GIL")
CONTEXT_WORDS = ("than the serial cell", "carries that difference", "carries that bias")


def false_sentences(text: str, truth: Truth) -> list[str]:
    """The sentences of a report that the truth contradicts (an empty list: the report said nothing false)."""
    wrong = []
    for v in truth.variants:
        for line in variant_lines(text, v):
            if v in THREADS:  # threads under the GIL: no gain, no release of the GIL
                wrong += [f"{v}: {w}" for w in GAIN_WORDS if w in line]
            elif v not in truth.contending:  # processes at linear: no loss, no law, no gain beyond linear
                wrong += [f"{v}: {w}" for w in LOSS_WORDS + LAW_WORDS + GAIN_WORDS if w in line]
    ceiling_gap = [
        line for line in text.splitlines() if "of the measured ceiling (" in line and "(from tasks.csv)" in line
    ]
    wrong += [f"ceiling gap: {line[:60]}" for line in ceiling_gap if not truth.contending]
    if truth.serial_bias == 1.0:
        wrong += [f"context: {w}" for w in CONTEXT_WORDS if w in text]
    wrong += [f"answer: {line[:60]}" for line in text.splitlines() if any(f"Use {t} x" in line for t in THREADS)]
    return wrong
