"""The orchestrator: builds the matrix, orders the repetitions, runs each in a fresh child
process, enforces timeouts, shows progress and appends every finished repetition to the CSVs.

It only schedules and records; all measuring happens in gilbench.cell, in the child.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import accounting, blocks, interpreters, storage, tutorial, variants
from .blocks import Block, Repetition
from .errors import RunError, UsageError
from .inputs import ONLY_COUNTED, SKIPS_SAID_EACH, describe_inputs, recorded, write_inputs
from .options import RunConfig
from .protocol import CellResult, CellSpec
from .registry import Workload
from .storage import OPTIONS_FILE, PLAN_FILE, ResultRow, TaskRow, TutorialRow


@dataclass(frozen=True)
class Cell:
    workload: str
    ref: str
    size: str
    params_json: str  # the profile's parameters with overrides: what the CSV shows
    variant: str
    workers: int
    python: str = sys.executable  # the interpreter that runs this cell
    scale: int = 1  # shares of work: 1, or the worker count under --scaling weak
    work_parameter: str | None = None  # the parameter that is multiplied by the scale (the workload's WEAK_SCALING)

    def params(self, prepared: dict) -> dict:
        """What the cell's workload is given: the recorded parameters, the work parameter times the scale."""
        params = {**json.loads(self.params_json), **prepared}
        if self.scale != 1:
            params[self.work_parameter] = params[self.work_parameter] * self.scale
        return params


@dataclass
class Outcome:
    """What a run did, for the closing lines of `gilbench run`."""

    run_dir: Path
    config: RunConfig | None = None  # what ran (for the closing lines)
    failed: int = 0
    finished: int = 0
    disturbed: int = 0  # repetitions during which other programs or steal took more than the threshold
    rerun: int = 0  # of those, how many were queued to run again
    kept_disturbed: int = 0  # measured repetitions still disturbed after their re-runs: kept, marked
    most_other: float = 0.0  # the most cores other programs and steal took in one repetition
    missed_precision: int = 0  # --repeat auto: cells whose speedup interval was still wider than the precision
    planned_s: float = math.nan  # --repeat auto: the measuring time the plan predicted after the pilot
    measured_s: float = 0.0  # seconds spent measuring (warm-ups, pilot and the sized rounds)


class Interrupted(RunError):
    """Ctrl-C or SIGTERM stopped the run; every finished repetition is on disk."""

    def __init__(self, run_dir: Path, finished: int, planned: int):
        super().__init__(
            f"interrupted after {finished} of {planned} repetitions; they are kept in {run_dir}; "
            f"finish with: gilbench run --resume {run_dir}"
        )
        self.run_dir, self.finished, self.planned = run_dir, finished, planned


def effective_params(wl: Workload, config: RunConfig) -> dict:
    """The size profile with the user's overrides, and the user's image folder for image workloads."""
    params = wl.params(config.size, config.param.get(wl.name))
    if config.images and "images" in params:
        params["images_dir"] = os.path.abspath(config.images)
    return params


def cell_scale(variant: str, workers: int, scaling: str) -> int:
    """Shares of work a cell does: under weak scaling one per worker (the serial baseline does one)."""
    return workers if scaling == "weak" and variants.VARIANTS[variant].family != "serial" else 1


def build_cells(config: RunConfig, recorded: dict[str, dict] | None = None) -> list[Cell]:
    """The matrix. `recorded`: per workload, what its prepare() found the inputs to be (e.g. the number of images
    taken from a user's folder), which replaces the profile's values in the recorded parameters."""
    cells = []
    for wl in config.workloads:
        params = {**effective_params(wl, config), **(recorded or {}).get(wl.name, {})}
        params_json = json.dumps(params, sort_keys=True)
        for python in config.python:
            if (wl.name, python) in config.unavailable:  # said before the run, kept in unavailable.csv
                continue
            for variant in config.variants:
                if wl.name.startswith("pyperformance:"):
                    from .suite import skipped_variant

                    if skipped_variant(wl.name, variants.VARIANTS[variant].family):
                        continue
                requested = config.variant_workers.get(variant, config.workers)
                for workers in variants.worker_counts(variant, requested):
                    cells.append(
                        Cell(
                            wl.name,
                            wl.ref,
                            config.size,
                            params_json,
                            variant,
                            workers,
                            python,
                            cell_scale(variant, workers, config.scaling),
                            wl.weak_parameter,
                        )
                    )
    return cells


def repetition_key(workload, size, variant, workers, repeat, python, block_workers) -> tuple:
    return (str(workload), str(size), str(variant), int(workers), int(repeat), str(python), int(block_workers))


def new_run_dir(out: Path) -> tuple[str, Path]:
    runs = Path(out) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    host = socket.gethostname().split(".")[0]
    while True:
        run_id = f"{stamp}-{host}-{os.urandom(2).hex()}"
        try:
            (runs / run_id).mkdir()  # never two runs in one folder, even when started together
            return run_id, runs / run_id
        except FileExistsError:
            continue


def point_latest(out: Path, run_dir: Path) -> None:
    """results/latest -> runs/<id>, replaced atomically (a rename), so readers never see it missing."""
    link = Path(out) / "latest"
    tmp = Path(out) / f".latest.{os.getpid()}.tmp"
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    tmp.symlink_to(os.path.relpath(run_dir, out))
    os.replace(tmp, link)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_repetition(
    cell: Cell, prepared: dict, config: RunConfig, trace: tuple[float, str] | None = None
) -> tuple[CellResult, accounting.Usage]:
    """Run one repetition in a fresh child process (its own process group); return its result and what the
    rest of the machine used meanwhile (accounted from just before the cell starts to just after it is reaped).
    `trace`: (interval, path): a sampler process reads the cell's thread states from /proc into path."""
    timeout = min(config.timeout, config.cell_timeouts.get(cell.workload, math.inf))
    with tempfile.TemporaryDirectory(prefix="gilbench-cell-") as scratch:
        spec = CellSpec(
            workload_ref=cell.ref,
            params=cell.params(prepared),
            variant=cell.variant,
            workers=cell.workers,
            start_method=config.start_method,
            scratch_dir=scratch,
            search_path=[os.getcwd()] if not cell.ref.endswith(".py") and not cell.ref.startswith("gilbench.") else [],
            options={"scheduler": config.dask_scheduler} if cell.variant == "dask" and config.dask_scheduler else {},
        )
        spec_path, result_path = os.path.join(scratch, "spec.json"), os.path.join(scratch, "result.json")
        storage.atomic_write(spec_path, spec.to_json())
        log_path = os.path.join(scratch, "cell.log")
        watch_read, watch_write = os.pipe()  # the cell's lifeline: closes when this process dies
        with open(log_path, "wb") as log:
            before = accounting.snapshot()
            try:
                proc = subprocess.Popen(
                    interpreters.module_command(cell.python, "gilbench.cell", spec_path, result_path, str(watch_read)),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(watch_read,),
                    env=interpreters.child_env(config.child_env),
                    start_new_session=True,  # its own process group
                )
            finally:
                os.close(watch_read)
            sampler = None
            if trace is not None:  # a separate process, so it never competes for the cell's GIL
                sampler = subprocess.Popen(
                    interpreters.module_command(
                        sys.executable,
                        "gilbench.sampler",
                        str(proc.pid),
                        str(trace[0]),
                        trace[1],
                        str(timeout + 10),
                    ),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=interpreters.child_env(),
                )
            timed_out = False
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                kill_group(proc.pid)  # timeout, Ctrl-C, or leftovers a crashed cell did not reap
                proc.wait()
                os.close(watch_write)
                if sampler is not None:
                    stop_sampler(sampler)
            usage = accounting.between(before, accounting.snapshot())
            if spec.options.get("scheduler"):  # the work ran in an outside cluster's processes: not separable here
                usage = accounting.Usage(math.nan, math.nan, math.nan)
        if config.keep_outputs is not None:
            keep_outputs(scratch, cell, config, (spec_path, result_path, log_path))
        if timed_out:
            return CellResult.failed(f"timed out after {timeout:g} s: killed the cell's process group"), usage
        try:
            with open(result_path) as fh:
                return CellResult.from_json(fh.read()), usage
        except OSError:
            tail = Path(log_path).read_text(errors="replace").strip().splitlines()[-1:] or [""]
            reason = f"cell process ended without a result ({variants.describe_exit(proc.returncode)})"
            return CellResult.failed(f"{reason}: {tail[0]}" if tail[0] else reason), usage
        except ValueError as exc:  # a cell of another gilbench version, or a torn file
            return CellResult.failed(f"cell result unreadable: {exc}"), usage


def outputs_dir(cell: Cell, config: RunConfig) -> Path:
    """Where --keep-outputs puts a cell's outputs: DIR/<workload>/<variant>-x<workers>[-py<k>]
    (k: the k-th --python)."""
    assert config.keep_outputs is not None  # called only with --keep-outputs
    name = f"{cell.variant}-x{cell.workers}"
    if len(config.python) > 1:
        name += f"-py{config.python.index(cell.python) + 1}"
    return config.keep_outputs / storage.file_stem(cell.workload) / name


def keep_outputs(scratch: str, cell: Cell, config: RunConfig, own: tuple[str, ...]) -> None:
    """Copy what the cell's workload wrote into its scratch folder (not gilbench's own files) to outputs_dir(),
    replacing the previous repetition's copy."""
    import shutil

    dest = outputs_dir(cell, config)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    skip = {os.path.basename(p) for p in own}
    for entry in os.scandir(scratch):
        if entry.name in skip:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, dest / entry.name, symlinks=True)
        else:
            shutil.copy2(entry.path, dest / entry.name, follow_symlinks=False)


ERRORS = (
    "errors"  # a failed repetition's traceback: errors/<workload>-<variant>-x<workers>-r<repeat>-<attempt>[-py<k>].txt
)


def keep_traceback(run_dir: Path, rep: Repetition, text: str, config: RunConfig) -> str:
    """Write a failed repetition's traceback into the run folder; returns its path relative to the run folder."""
    cell = rep.cell
    name = f"{storage.file_stem(cell.workload)}-{cell.variant}-x{cell.workers}-b{rep.block_workers}-r{rep.repeat}"
    name += f"-{rep.attempt}"
    if len(config.python) > 1 and cell.python in config.python:
        name += f"-py{config.python.index(cell.python) + 1}"
    name += ".txt"
    (Path(run_dir) / ERRORS).mkdir(exist_ok=True)
    storage.atomic_write(Path(run_dir) / ERRORS / name, text)
    return f"{ERRORS}/{name}"


def stop_sampler(sampler: subprocess.Popen) -> None:
    """It stops by itself when the cell's process is gone; SIGTERM makes sure, SIGKILL if it hangs."""
    sampler.terminate()
    try:
        sampler.wait(timeout=15)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()


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
        **states.summarize(threads, workers, window),
    )
    return rows, row


def make_rows(
    run_id: str,
    rep: Repetition,
    result: CellResult,
    env: dict,
    started: str,
    config: RunConfig,
    usage: accounting.Usage | None = None,
):
    cell = rep.cell
    usage = usage or accounting.Usage(math.nan, math.nan, math.nan)
    busy = result.cpu_s / result.compute_s if result.compute_s > 0 else math.nan
    row = ResultRow(
        run_id=run_id,
        timestamp=started,
        workload=cell.workload,
        size=cell.size,
        params=cell.params_json,
        scaling=config.scaling,
        scale=cell.scale,
        variant=cell.variant,
        workers=cell.workers,
        tasks=result.tasks,
        chunksize=result.chunksize,
        repeat=rep.repeat,
        block_workers=rep.block_workers,
        warmup=rep.warmup,
        startup_s=result.startup_s,
        compute_s=result.compute_s,
        total_s=result.total_s,
        cpu_s=result.cpu_s,
        busy_cores=busy,
        peak_rss_mb=result.peak_rss_mb,
        worker_processes=result.worker_processes,
        other_cores=usage.other_cores,
        steal_cores=usage.steal_cores,
        disturbed=result.ok
        and accounting.is_disturbed(
            usage, accounting.threshold_cores(config.disturbance_threshold, cell.workers, env["usable_cpus"])
        ),
        attempt=rep.attempt,
        ok=result.ok,
        error=result.error,
        host=env["host"],
        python_version=result.python_version,
        python_implementation=result.python_implementation,
        python_executable=cell.python,
        free_threaded=result.free_threaded,
        gil_enabled=result.gil_seen(),
        python_gil_env=config.child_env.get("PYTHON_GIL", os.environ.get("PYTHON_GIL", "")),
        start_method=config.start_method,
        logical_cpus=env["logical_cpus"],
        physical_cores=env["physical_cores"],
        usable_cpus=env["usable_cpus"],
        cpu_model=env["cpu_model"],
        load_avg_1m=env["load_avg_1m"],
        os=env["os"],
        harness_commit=env["harness_commit"],
        packages=env["packages"],
    )
    tasks = [
        storage.task_row(
            rec,
            run_id=run_id,
            workload=cell.workload,
            size=cell.size,
            variant=cell.variant,
            workers=cell.workers,
            repeat=rep.repeat,
            block_workers=rep.block_workers,
            warmup=rep.warmup,
            attempt=rep.attempt,
            python_executable=cell.python,
            host=env["host"],
        )
        for rec in result.task_records
    ]
    return row, tasks


def largest_scale(config: RunConfig) -> int:
    """The most shares of work any cell does (weak scaling: the largest worker count), so inputs are made once."""
    if config.scaling != "weak":
        return 1
    return max(
        cell_scale(v, n, "weak")
        for v in config.variants
        for n in variants.worker_counts(v, config.variant_workers.get(v, config.workers))
    )


def prepare_inputs(config: RunConfig, log=print) -> tuple[dict[str, dict], dict[str, dict]]:
    """Each workload's prepare() runs once per run, here, before any cell (inputs are cached on disk).

    Returns what each workload's cells are given, and per workload what it reports of its inputs:
    `record` (parameters as they really are, e.g. how many images a user's folder gave) and `skipped`
    ([[name, reason], ...]: every file left out, each said once here, then counted by reason).
    """
    prepared: dict[str, dict] = {}
    inputs: dict[str, dict] = {}
    scale = largest_scale(config)
    for wl in config.workloads:
        hook = getattr(wl.module, "prepare", None)
        if hook is None:
            prepared[wl.name] = {}
            continue
        params = effective_params(wl, config)
        if scale > 1:  # inputs for the largest cell: N shares of the work parameter
            params[wl.weak_parameter] *= scale
        if "images_dir" in params:
            params["strict"] = config.strict
        config.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            extra = dict(hook(params, str(config.cache_dir)) or {})
        except ValueError as exc:  # the workload rejected its inputs (e.g. --strict and a bad image)
            raise UsageError(str(exc)) from None
        skipped = extra.pop("skipped", [])
        record = extra.pop("record", {})
        if record.get("images_dir") and "inputs" in extra:  # the files the cells will use, as the folder names them
            used = extra["inputs"][: record.get("images", len(extra["inputs"]))]
            record = {**record, "used": [os.path.relpath(p, record["images_dir"]) for p in used]}
        for name, reason in skipped:  # in a big folder, other files are only counted: the report lists them all
            if len(skipped) <= SKIPS_SAID_EACH or not reason.startswith(ONLY_COUNTED):
                print(f"gilbench: skipping {name}: {reason}", file=sys.stderr)
        if record and scale > 1 and wl.weak_parameter in record:
            if record[wl.weak_parameter] < params[wl.weak_parameter]:
                raise UsageError(
                    f"--scaling weak: {wl.name} needs {params[wl.weak_parameter]} {wl.weak_parameter} for "
                    f"{scale} workers; its inputs give {record[wl.weak_parameter]}"
                )
            record = {**record, wl.weak_parameter: record[wl.weak_parameter] // scale}  # one worker's share
        if record or skipped:
            inputs[wl.name] = {**record, "skipped": skipped}
            print(f"gilbench: {wl.name}: {describe_inputs(inputs[wl.name])}", file=sys.stderr)
        prepared[wl.name] = extra
    return prepared, inputs


def finished_blocks(run_dir: Path) -> dict[tuple, tuple[set, int]]:
    """Per block already in a run folder (workload, size, interpreter, block workers, block number): the cells
    recorded at its last attempt and that attempt. --resume skips finished blocks and runs a block that an
    interruption cut short again, whole, so that its pairs stay back to back."""
    frame = storage.load_results(run_dir)
    done: dict[tuple, tuple[set, int]] = {}
    for r in frame.itertuples():
        key = (r.workload, r.size, r.python_executable, int(r.block_workers), int(r.repeat))
        cells, attempt = done.get(key, (set(), 0))
        if int(r.attempt) > attempt:
            cells, attempt = set(), int(r.attempt)
        if int(r.attempt) == attempt:
            cells.add((r.variant, int(r.workers)))
        done[key] = (cells, attempt)
    return done


def block_key(blk: Block) -> tuple:
    g = blk.group
    return (g.workload, g.size, g.python, g.workers, blk.repeat)


def resume_order(order: list[Block], done: dict) -> list[Block]:
    out = []
    for blk in order:
        cells, attempt = done.get(block_key(blk), (set(), 0))
        if {(c.variant, c.workers) for c in blk.cells} <= cells:
            continue
        out.append(Block(blk.group, blk.repeat, blk.cells, attempt + 1))
    return out


@dataclass
class Sizing:
    """--repeat auto's state: the plan made after the pilot, each cell's repetition walls, each group's last block."""

    groups: list
    walls: dict  # blocks.cell_key -> wall seconds of its repetitions (process start included)
    repeat_of: dict  # group -> the last block number planned
    plans: list | None = None


def sizing_round(
    run_dir: Path, config: RunConfig, sizing: Sizing, spent_s: float, rng: random.Random, outcome: Outcome, log
) -> list[Block]:
    """After the pilot and after each sized round: the cells still short of the precision, a round of blocks for
    their groups if it fits in the budget. The first call prints the plan (and writes plan.json)."""
    from . import analysis

    spread = {blocks.short_key(k): v for k, v in analysis.pair_spread(storage.load_results(run_dir)).items()}
    unmet = {}
    for g in sizing.groups:
        # a cell with no pair at all (it failed every time) cannot be sized: it leaves the blocks
        short = [
            c
            for c in g.members
            if spread.get(blocks.cell_key(c), (0,))[0] > 0 and not spread[blocks.cell_key(c)][2] <= config.precision
        ]
        unmet[g] = short
    outcome.missed_precision = sum(len(v) for v in unmet.values())
    if sizing.plans is None:
        sizing.plans = blocks.size_groups(sizing.groups, spread, sizing.walls, config.precision)
        for line in blocks.describe_plan(sizing.plans, config.precision, spent_s, config.budget):
            log(line)
        outcome.planned_s = spent_s + sum(p.more_s for p in sizing.plans)
        storage.atomic_write(
            run_dir / PLAN_FILE, json.dumps(plan_record(sizing.plans, config, spent_s, outcome.planned_s), indent=2)
        )
    candidate = blocks.next_round(sizing.groups, unmet, sizing.repeat_of, rng)
    round_s = sum(blocks.median(sizing.walls.get(blocks.cell_key(c), [])) for blk in candidate for c in blk.cells)
    if not candidate or spent_s + round_s > config.budget:
        return []
    for blk in candidate:
        sizing.repeat_of[blk.group] = blk.repeat
    return candidate


def plan_record(plans, config: RunConfig, spent_s: float, predicted_s: float) -> dict:
    return {
        "precision": config.precision,
        "budget_s": config.budget,
        "pilot_blocks": blocks.PILOT_BLOCKS,
        "pilot_s": round(spent_s, 2),
        "predicted_s": round(predicted_s, 2),
        "groups": [
            {
                "workload": p.group.workload,
                "python": p.group.python,
                "workers": p.group.workers,
                "block_s": round(p.block_s, 3),
                "blocks_needed": p.blocks_needed,
                "cells": [
                    {
                        "cell": c.label,
                        "pilot_blocks": c.blocks_done,
                        "pair_spread": c.spread,
                        "blocks_needed": c.blocks_needed,
                    }
                    for c in p.cells
                ],
            }
            for p in plans
        ],
    }


def with_tutorial(blk: Block, config: RunConfig, seed: int) -> list:
    """The block's repetitions, with the tutorial's two scripts (their names) at random places among them where
    --check-against-tutorial asks for them: alternated with the cells, so drift falls on both alike."""
    steps: list = list(blk.repetitions())
    if config.check_against_tutorial and tutorial.applies(blk.group.workload, blk.group.workers):
        place = random.Random(f"{seed}-{blk.group.python}-{blk.group.workers}-{blk.repeat}-{blk.attempt}")
        for script in tutorial.SCRIPTS:
            steps.insert(place.randrange(len(steps) + 1), script)
    return steps


def run_tutorial_script(run_id: str, run_dir: Path, blk: Block, script: str, config: RunConfig) -> None:
    """Run one of the tutorial's scripts for the block's work and worker count; one row in tutorial.csv."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    iterations = int(json.loads(blk.group.params_json)["iterations"])
    error, total_s = "", math.nan
    try:
        done = tutorial.run(
            blk.group.python,
            script,
            iterations,
            blk.group.workers,
            config.start_method,
            interpreters.child_env(config.child_env),
            config.timeout,
        )
        total_s = done.total_s
    except RuntimeError as exc:
        error = str(exc)
    row = TutorialRow(
        run_id=run_id,
        timestamp=started,
        workload=blk.group.workload,
        size=blk.group.size,
        python_executable=blk.group.python,
        block_workers=blk.group.workers,
        repeat=blk.repeat,
        attempt=blk.attempt,
        warmup=blk.repeat <= 0,
        script=script,
        share=iterations // blk.group.workers,
        total_s=total_s,
        ok=not error,
        error=error,
    )
    storage.append_rows(run_dir / storage.TUTORIAL, [row], TutorialRow)


def execute(config: RunConfig, env: dict, log=print, resume_dir: Path | None = None) -> Outcome:
    """Run the whole matrix in paired blocks (bench/blocks.py). Returns the Outcome: the run folder and counts.

    With resume_dir, the same plan (same seed) is rebuilt and the blocks already in its results.csv are
    skipped, so an interrupted run finishes as if it had never stopped.
    """
    from tqdm.auto import tqdm  # a terminal's bar, or tqdm's notebook widget in Jupyter

    seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "big")
    if resume_dir is not None:  # the same plan as the interrupted run: its seed, read back from its folder
        seed = json.loads((Path(resume_dir) / storage.ENVIRONMENT).read_text())["seed"]
    prepared, inputs = prepare_inputs(config, log)  # bad inputs fail here, before a run folder exists
    cells = build_cells(config, recorded(inputs))
    all_groups = blocks.groups(cells)
    rng = random.Random(seed)
    first_rounds = blocks.PILOT_BLOCKS if config.auto else config.repeat
    order = blocks.plan(all_groups, first_rounds, rng, config.warmup)
    sizing = Sizing(all_groups, {}, {g: first_rounds for g in all_groups}) if config.auto else None
    if resume_dir is not None:
        run_dir = Path(resume_dir).resolve()  # `results/latest` names the run itself, not the link
        run_id = json.loads((run_dir / storage.ENVIRONMENT).read_text())["run_id"]
        done = finished_blocks(run_dir)
        order = resume_order(order, done)
        if sizing is not None:
            for g in all_groups:  # sized rounds already run go on from their last block number
                last = max((k[4] for k in done if k[:4] == (g.workload, g.size, g.python, g.workers)), default=0)
                sizing.repeat_of[g] = max(first_rounds, last)
            frame = storage.load_results(run_dir)  # the walls of the repetitions already run: their times
            for r in frame.itertuples():
                sizing.walls.setdefault(
                    (r.workload, r.size, r.params, r.python_executable, r.variant, int(r.workers)), []
                ).append(float(r.total_s))
        log(
            f"resuming run {run_id}: {len(done)} blocks begun, {len(order)} to run "
            "(a block cut short runs again, whole)"
        )
    else:
        run_id, run_dir = new_run_dir(config.out)
        storage.atomic_write(run_dir / OPTIONS_FILE, json.dumps(config.given.recorded(), indent=2))
        storage.atomic_write(
            run_dir / storage.ENVIRONMENT,
            json.dumps(
                {
                    **env,
                    "run_id": run_id,
                    "seed": seed,
                    "config": config.recorded(),  # the options as resolved, for the report
                    "inputs": inputs,
                },
                indent=2,
            ),
        )
        storage.append_rows(run_dir / storage.RESULTS, [], ResultRow)
        storage.append_rows(run_dir / storage.TASKS, [], TaskRow)
        if config.unavailable:
            storage.append_rows(
                run_dir / storage.UNAVAILABLE,
                [storage.UnavailableRow(run_id, w, p, r) for (w, p), r in config.unavailable.items()],
                storage.UnavailableRow,
            )
        write_inputs(run_dir, inputs)
        reps = sum(len(b.cells) for b in order)
        log(
            f"run {run_id}: {len(cells)} cells in {len(all_groups)} paired groups x ({first_rounds} + "
            f"{config.warmup} warm-up) blocks = {reps} repetitions"
            + (f"; then sized to +-{config.precision * 100:g} % within {config.budget:g} s" if config.auto else "")
        )
    point_latest(config.out, run_dir)

    outcome = Outcome(run_dir, config)
    queue = deque(order)
    hung: dict[Cell, str] = {}  # pyperformance cells that timed out: their later repetitions are not run
    measuring_since = time.perf_counter()
    bar = tqdm(
        total=sum(len(b.cells) for b in queue),
        unit="rep",
        disable=config.no_progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        while queue or sizing is not None:
            if not queue:  # --repeat auto: a round for the groups whose cells are short of the precision
                assert sizing is not None  # the loop goes on without a queue only while sizing
                extra = sizing_round(
                    run_dir,
                    config,
                    sizing,
                    time.perf_counter() - measuring_since,
                    random.Random(seed + 1 + max(sizing.repeat_of.values(), default=0)),
                    outcome,
                    lambda line: bar.write(f"gilbench: {line}", file=sys.stderr),
                )
                if not extra:
                    break
                queue.extend(extra)
                bar.total += sum(len(b.cells) for b in extra)
                continue
            blk = queue.popleft()
            disturbed = 0
            for rep in with_tutorial(blk, config, seed):
                if isinstance(rep, str):  # one of the tutorial's own scripts, between the block's cells
                    run_tutorial_script(run_id, run_dir, blk, rep, config)
                    continue
                cell = rep.cell
                note = f" | disturbed {outcome.disturbed}" if outcome.disturbed else ""
                bar.set_postfix_str(f"{cell.workload} {cell.variant} x{cell.workers}{note}", refresh=False)
                started = datetime.now(UTC).isoformat(timespec="seconds")
                began = time.perf_counter()
                if cell in hung:  # a benchmark whose shared state threads corrupted loops forever: once is enough
                    result, usage = CellResult.failed(hung[cell]), accounting.Usage(math.nan, math.nan, math.nan)
                else:
                    result, usage = run_repetition(cell, prepared[cell.workload], config)
                    if result.error.startswith("timed out") and cell.workload.startswith("pyperformance:"):
                        hung[cell] = f"not run again: it timed out in block {rep.repeat} ({result.error})"
                if not result.ok and result.traceback:  # the full traceback in the run folder; the error points to it
                    kept = keep_traceback(run_dir, rep, result.traceback, config)
                    result.error = f"{result.error}; traceback: {kept}"
                if sizing is not None and not rep.warmup:
                    sizing.walls.setdefault(blocks.cell_key(cell), []).append(time.perf_counter() - began)
                row, task_rows = make_rows(run_id, rep, result, env, started, config, usage)
                storage.append_rows(run_dir / storage.TASKS, task_rows, TaskRow)
                storage.append_rows(run_dir / storage.RESULTS, [row], ResultRow)
                outcome.finished += 1
                if not row.ok:
                    outcome.failed += 1
                    bar.write(
                        f"FAILED {cell.workload} {cell.variant} x{cell.workers} (block {rep.repeat}): {row.error}",
                        file=sys.stderr,
                    )
                if row.disturbed and not rep.warmup:  # a disturbed warm-up is marked, and counts for nothing anyway
                    disturbed += 1
                    outcome.disturbed += 1
                    outcome.most_other = max(outcome.most_other, row.other_cores + row.steal_cores)
                bar.update(1)
            if disturbed:
                if blk.attempt <= config.reruns:  # the whole block again, at once: its pairs stay back to back
                    queue.appendleft(blk.again(rng))
                    outcome.rerun += 1
                    bar.total += len(blk.cells)
                else:
                    outcome.kept_disturbed += disturbed
        outcome.measured_s = time.perf_counter() - measuring_since
        if sizing is not None and sizing.plans is not None:
            try:
                record = json.loads((run_dir / PLAN_FILE).read_text())
                record["measured_s"] = round(outcome.measured_s, 2)
                record["missed"] = outcome.missed_precision
                storage.atomic_write(run_dir / PLAN_FILE, json.dumps(record, indent=2))
            except (OSError, ValueError):
                pass
        if config.trace:
            trace_phase(run_id, run_dir, cells, prepared, config, bar, seed)
    except KeyboardInterrupt:
        raise Interrupted(run_dir, outcome.finished, outcome.finished + sum(len(b.cells) for b in queue) + 1) from None
    finally:
        bar.close()
    return outcome


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
