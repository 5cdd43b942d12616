"""Running one block: each repetition of its cells in a fresh child process of its own (its own process group,
killed on a timeout), the tutorial's scripts among them where --check-against-tutorial asks, and each finished
repetition appended to the CSVs at once.

Only scheduling and recording happen here; all measuring happens in gilbench.cell, in the child.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import accounting, blocks, environment, interpreters, native, oslayer, registry, storage, tutorial, variants
from .blocks import Block, Cell, Repetition
from .options import RunConfig
from .protocol import CellResult, CellSpec
from .run_folder import keep_traceback
from .storage import ResultRow, TaskRow


@dataclass
class Outcome:
    """What a run did, for the closing lines of `gilbench run`."""

    run_dir: Path
    config: RunConfig | None = None  # what ran (for the closing lines)
    failed: int = 0
    finished: int = 0
    disturbed: int = 0  # repetitions during which other programs or steal took more than the threshold
    rerun: int = 0  # of those, how many were queued to run again
    set_aside: int = 0  # blocks still disturbed after their re-runs: counted only where a cell has no clean block
    replaced: dict = field(default_factory=dict)  # per group (blocks.Group), the new blocks run for set-aside ones
    most_other: float = 0.0  # the most cores other programs and steal took in one repetition
    missed_precision: int = 0  # --repeat auto: cells whose speedup interval was still wider than the precision
    planned_s: float = math.nan  # --repeat auto: the measuring time the plan predicted after the pilot
    measured_s: float = 0.0  # seconds spent measuring (warm-ups, pilot and the sized rounds)
    disturbed_s: float = 0.0  # of those, the seconds of disturbed blocks: run again, or set aside (and replaced)


def native_limit(cell: Cell, config: RunConfig) -> int | None:
    """The thread count --native-threads gives this cell's native pools (None: left as they are)."""
    return native.limit_for(cell.native, cell.workers, environment.usable_cpus())


def cell_spec(cell: Cell, prepared: dict, config: RunConfig, scratch: str, dry: bool = False) -> CellSpec:
    """What the cell process is told to run: the workload, its parameters, the variant and its settings."""
    return CellSpec(
        workload_ref=cell.ref,
        params=cell.params(prepared),
        variant=cell.variant,
        workers=cell.workers,
        start_method=config.start_method,
        scratch_dir=scratch,
        search_path=[os.getcwd()] if not cell.ref.endswith(".py") and not cell.ref.startswith("gilbench.") else [],
        options={"scheduler": config.dask_scheduler} if cell.variant == "dask" and config.dask_scheduler else {},
        native_threads=native_limit(cell, config),
        dry=dry,
    )


def start_sampler(pid: int, trace: tuple[float, str], timeout: float) -> subprocess.Popen:
    """The thread-state sampler of a traced cell: a separate process, so it never competes for the cell's GIL."""
    return subprocess.Popen(
        interpreters.module_command(
            sys.executable, "gilbench.sampler", str(pid), str(trace[0]), trace[1], str(timeout + 10)
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=interpreters.child_env(),
    )


def run_repetition(
    cell: Cell, prepared: dict, config: RunConfig, trace: tuple[float, str] | None = None, dry: bool = False
) -> tuple[CellResult, accounting.Usage]:
    """Run one repetition in a fresh child process (its own process group); return its result and what the
    rest of the machine used meanwhile (accounted from just before the cell starts to just after it is reaped).
    `trace`: (interval, path): a sampler process reads the cell's thread states from /proc into path.
    `dry`: a dry warm-up, which stops before the timed region (no times, no task records)."""
    timeout = min(config.timeout, config.cell_timeouts.get(cell.workload, math.inf))
    with tempfile.TemporaryDirectory(prefix="gilbench-cell-") as scratch:
        spec = cell_spec(cell, prepared, config, scratch, dry)
        spec_path, result_path = os.path.join(scratch, "spec.json"), os.path.join(scratch, "result.json")
        storage.atomic_write(spec_path, spec.to_json())
        log_path = os.path.join(scratch, "cell.log")
        lifeline = oslayer.Lifeline()  # the cell dies with this process, even by SIGKILL
        with open(log_path, "wb") as log:
            before = accounting.snapshot()
            try:
                proc = subprocess.Popen(
                    interpreters.module_command(cell.python, "gilbench.cell", spec_path, result_path)
                    + lifeline.cell_args(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=interpreters.child_env(config.child_env),
                    **lifeline.popen_options(),  # its own process group
                )
            except BaseException:
                lifeline.close()
                raise
            lifeline.started(proc.pid)
            tree = oslayer.Tree(proc.pid)
            sampler = None if trace is None else start_sampler(proc.pid, trace, timeout)
            timed_out = False
            try:
                oslayer.wait(proc, timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                tree.kill()  # timeout, Ctrl-C, or leftovers a crashed cell did not reap
                proc.wait()
                lifeline.close()
                if sampler is not None:
                    stop_sampler(sampler)
            usage = accounting.between(before, accounting.snapshot(session=proc.pid))  # the cell's leftovers are its
            if spec.options.get("scheduler"):  # the work ran in an outside cluster's processes: not separable here
                usage = accounting.Usage(math.nan, math.nan, math.nan)
        if config.keep_outputs is not None:
            keep_outputs(scratch, cell, config, (spec_path, result_path, log_path))
        if timed_out:
            return (
                CellResult.failed(f"timed out after {timeout:g} s: killed the cell's process tree", timed_out=True),
                usage,
            )
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


def stop_sampler(sampler: subprocess.Popen) -> None:
    """It stops by itself when the cell's process is gone; SIGTERM makes sure, SIGKILL if it hangs."""
    sampler.terminate()
    try:
        sampler.wait(timeout=15)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()


# The machine's columns, the same on every row of a run (each row of a tidy CSV stands alone).
MACHINE_COLUMNS = (
    "host",
    "logical_cpus",
    "physical_cores",
    "usable_cpus",
    "cpu_model",
    "load_avg_1m",
    "os",
    "harness_commit",
    "packages",
)


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
    process_busy = result.process_cpu_s / result.process_wall_s if result.process_wall_s > 0 else math.nan
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
        process_cpu_s=result.process_cpu_s,
        process_busy_cores=process_busy,
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
        python_version=result.python_version,
        python_implementation=result.python_implementation,
        python_executable=cell.python,
        free_threaded=result.free_threaded,
        gil_enabled=result.gil_seen(),
        python_gil_env=config.child_env.get("PYTHON_GIL", os.environ.get("PYTHON_GIL", "")),
        start_method=config.start_method,
        **{column: env[column] for column in MACHINE_COLUMNS},
        native_threads=result.native_threads,
        native_limit=native.setting_text(native_limit(cell, config)),
        native_setting=cell.native,
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
            native_setting=cell.native,
        )
        for rec in result.task_records
    ]
    return row, tasks


@dataclass
class BlockContext:
    """What running a run's blocks needs besides each block, and what it counts."""

    config: RunConfig
    env: dict
    run_id: str
    run_dir: Path
    prepared: dict[str, dict]  # per workload, what its cells are given (plan.prepare_inputs)
    seed: int  # the run's: the tutorial's scripts' places in a block derive from it
    outcome: Outcome
    bar: Any  # tqdm's progress bar
    walls: dict | None = None  # --repeat auto: blocks.cell_key -> wall seconds of its repetitions, for the sizing
    hung: dict[Cell, str] = field(default_factory=dict)  # pyperformance cells that timed out: not run again
    expected_failures: set[str] = field(default_factory=set)  # known-unsafe workloads whose thread failures were said


def run_block(blk: Block, run: BlockContext) -> int:
    """Run one block's repetitions (and the tutorial's scripts among them); how many measured ones were disturbed."""
    steps: list = blk.repetitions()
    if run.config.check_against_tutorial:
        g = blk.group
        seed = f"{run.seed}-{g.python}-{g.workers}-{blk.repeat}-{blk.attempt}"
        steps = tutorial.among(steps, g.workload, g.workers, seed, g.native, run.config.native_threads)
    disturbed = 0
    for rep in steps:
        if isinstance(rep, str):  # one of the tutorial's own scripts, between the block's cells
            run_tutorial_script(blk, rep, run)
        elif run_one(rep, run):
            disturbed += 1
    return disturbed


def run_tutorial_script(blk: Block, script: str, run: BlockContext) -> None:
    g, config = blk.group, run.config
    work = tutorial.BlockWork(
        run.run_id,
        g.workload,
        g.size,
        g.params_json,
        g.python,
        g.workers,
        blk.repeat,
        blk.attempt,
        config.start_method,
        interpreters.child_env(config.child_env),
        config.timeout,
    )
    storage.append_rows(run.run_dir / storage.TUTORIAL, [tutorial.run_row(work, script)], storage.TutorialRow)


def failure_line(cell: Cell, rep: Repetition, error: str, run: BlockContext) -> str:
    """The line a failed repetition gets; "" where it says nothing new: the thread cells of a benchmark the probe
    found not thread-safe fail as expected, said once per workload (every failure stays in results.csv)."""
    unsafe = run.config.not_thread_safe.get(cell.workload)
    kind = variants.VARIANTS.get(cell.variant)
    if unsafe is None or kind is None or kind.family != "threads":
        return f"FAILED {cell.workload} {cell.variant} x{cell.workers} (block {rep.repeat}): {error}"
    if cell.workload in run.expected_failures:
        return ""
    run.expected_failures.add(cell.workload)
    python, what = unsafe
    return (
        f"{cell.workload}: its thread cells fail, as the probe found before the run (not thread-safe as written: "
        f"{what}, under {python}); first: {cell.variant} x{cell.workers} (block {rep.repeat}): {error}. Its further "
        "thread failures are not listed here (each is in results.csv's error column)"
    )


def run_one(rep: Repetition, run: BlockContext) -> bool:
    """Run one repetition and append its rows; whether it is a measured one that was disturbed."""
    cell, outcome, bar = rep.cell, run.outcome, run.bar
    note = f" | disturbed {outcome.disturbed}" if outcome.disturbed else ""
    bar.set_postfix_str(f"{cell.workload} {cell.variant} x{cell.workers}{note}", refresh=False)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.perf_counter()
    if cell in run.hung:  # a benchmark whose shared state threads corrupted loops forever: once is enough
        result, usage = CellResult.failed(run.hung[cell]), accounting.Usage(math.nan, math.nan, math.nan)
    else:
        dry = rep.warmup and run.config.dry_warmup(cell.workers)
        result, usage = run_repetition(cell, run.prepared[cell.workload], run.config, dry=dry)
        if result.timed_out and registry.suite_of(cell.workload) is not None:
            run.hung[cell] = f"not run again: it timed out in block {rep.repeat} ({result.error})"
    if not result.ok and result.traceback:  # the full traceback in the run folder; the error points to it
        kept = keep_traceback(run.run_dir, rep, result.traceback, run.config.python)
        result.error = f"{result.error}; traceback: {kept}"
    if run.walls is not None and not rep.warmup:
        run.walls.setdefault(blocks.cell_key(cell), []).append(time.perf_counter() - began)
    row, task_rows = make_rows(run.run_id, rep, result, run.env, started, run.config, usage)
    storage.append_rows(run.run_dir / storage.TASKS, task_rows, TaskRow)
    storage.append_rows(run.run_dir / storage.RESULTS, [row], ResultRow)
    outcome.finished += 1
    if not row.ok:
        outcome.failed += 1
        said = failure_line(cell, rep, row.error, run)
        if said:
            bar.write(said, file=sys.stderr)
    disturbed = row.disturbed and not rep.warmup  # a disturbed warm-up is marked, and counts for nothing anyway
    if disturbed:
        outcome.disturbed += 1
        outcome.most_other = max(outcome.most_other, row.other_cores + row.steal_cores)
    bar.update(1)
    return disturbed
