"""Finishing a run: with --trace, after the measured rounds, one more repetition per cell under a sampler that
reads every thread's state from /proc (trace.csv, trace_summary.csv). Not a measurement: never in results.csv.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import interpreters, storage
from .blocks import Cell
from .options import RunConfig
from .runner import run_repetition


def switch_interval(python: str) -> float:
    """sys.getswitchinterval() of an interpreter: how often a thread waiting for the GIL asks for it."""
    if interpreters.is_this(python):
        return sys.getswitchinterval()
    out = interpreters.probe(python, "import sys; print(sys.getswitchinterval())", timeout=60)
    try:
        return float(out.stdout.strip())
    except ValueError:
        return 0.005


def trace_cell(
    run_id: str, cell: Cell, prepared: dict, config: RunConfig, switch_s: float, unavailable: str | None = None
):
    """One extra repetition of a cell under the sampler (--trace): its trace.csv rows and trace_summary.csv row.
    Not a measurement: it is never written to results.csv. `unavailable`: sampler.available(), checked once per run."""
    from . import sampler, states

    unavailable = (sampler.available() if unavailable is None else unavailable) or ""
    interval = states.sampling_interval(switch_s)
    readings: dict[str, Any] = {"samples": [], "cpu_s": math.nan, "wall_s": math.nan}
    with tempfile.TemporaryDirectory(prefix="gilbench-trace-") as scratch:
        path = os.path.join(scratch, "samples.json")
        result, _ = run_repetition(cell, prepared, config, None if unavailable else (interval, path))
        if not unavailable:
            try:
                with open(path) as fh:
                    readings = json.load(fh)
            except (OSError, ValueError) as exc:
                unavailable = f"the sampler left no readings ({exc})"
    if not result.ok and not unavailable:
        unavailable = f"the traced repetition failed: {result.error}"
    # on the repetition's own clock (seconds since it started), as tasks.csv: a failed one has no clock
    origin = result.origin_s if result.ok else math.nan
    threads = states.classify([(t - origin, *rest) for t, *rest in readings["samples"]] if origin == origin else [])
    workers = {(r.pid, r.thread_id) for r in result.task_records}
    natives = {(r.pid, tid) for r in result.task_records for tid in r.native_tids}
    window = (
        min((r.start_s for r in result.task_records), default=0.0),
        max((r.end_s for r in result.task_records), default=0.0),
    )
    rows = [
        storage.TraceRow(
            run_id,
            cell.workload,
            cell.size,
            cell.variant,
            cell.workers,
            cell.python,
            pid,
            tid,
            (pid, tid) in workers,
            (pid, tid) in natives,
            state,
            start,
            end,
        )
        for (pid, tid), spans in threads.items()
        for start, end, state in states.segments(spans)
    ]
    wall, cpu = readings.get("wall_s", math.nan), readings.get("cpu_s", math.nan)
    row = storage.TraceSummaryRow(
        run_id=run_id,
        workload=cell.workload,
        size=cell.size,
        variant=cell.variant,
        workers=cell.workers,
        python_executable=cell.python,
        python_version=result.python_version,
        free_threaded=result.free_threaded,
        gil_enabled=result.gil_seen(),
        ok=result.ok,
        unavailable=unavailable,
        switch_interval_s=switch_s,
        interval_s=interval,
        samples=len(readings["samples"]),
        compute_s=window[1] - window[0],
        sampler_cpu_s=cpu,
        sampler_cpu_share=cpu / wall if wall and wall == wall else math.nan,
        native_threads=sum(1 for key in threads if key in natives),
        native_running_share=states.summarize(threads, natives, window)["running_share"],
        **states.summarize(threads, workers, window),
    )
    return rows, row


def trace_phase(run_id: str, run_dir: Path, cells: list[Cell], prepared: dict, config: RunConfig, bar, seed: int):
    """--trace: after the measured rounds, one traced repetition per cell (shuffled; cells already traced in an
    interrupted run are skipped on --resume)."""
    done = set()
    summary_path = run_dir / storage.TRACE_SUMMARY
    if summary_path.exists():
        frame = storage.load_results(summary_path, storage.TraceSummaryRow)
        done = {(r.workload, r.variant, int(r.workers), r.python_executable) for r in frame.itertuples()}
    todo = [c for c in cells if (c.workload, c.variant, c.workers, c.python) not in done]
    random.Random(seed + 1).shuffle(todo)
    bar.total += len(todo)
    switch = {python: switch_interval(python) for python in {c.python for c in todo}}
    from .sampler import available

    unavailable = available() or ""
    for cell in todo:
        bar.set_postfix_str(f"trace {cell.workload} {cell.variant} x{cell.workers}", refresh=False)
        rows, summary = trace_cell(run_id, cell, prepared[cell.workload], config, switch[cell.python], unavailable)
        storage.append_rows(run_dir / storage.TRACE, rows, storage.TraceRow)
        storage.append_rows(summary_path, [summary], storage.TraceSummaryRow)
        bar.update(1)
