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
from datetime import datetime, timezone
from pathlib import Path

from . import accounting, interpreters, storage, variants
from .options import OPTIONS_FILE, RunConfig
from .protocol import CellResult, CellSpec
from .errors import UsageError
from .registry import Workload
from .storage import ResultRow, TaskRow


@dataclass(frozen=True)
class Cell:
    workload: str
    ref: str
    size: str
    params_json: str  # the profile's parameters with overrides: what the CSV shows
    variant: str
    workers: int
    python: str = sys.executable  # the interpreter that runs this cell


@dataclass
class Outcome:
    """What a run did, for the closing lines of `gilbench run`."""

    run_dir: Path
    failed: int = 0
    finished: int = 0
    disturbed: int = 0  # repetitions during which other programs or steal took more than the threshold
    rerun: int = 0  # of those, how many were queued to run again
    kept_disturbed: int = 0  # measured repetitions still disturbed after their re-runs: kept, marked
    most_other: float = 0.0  # the most cores other programs and steal took in one repetition
    missed_precision: int = 0  # --repeat auto: cells whose speedup interval was still wider than the precision


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run; every finished repetition is on disk."""

    def __init__(self, run_dir: Path, finished: int, planned: int):
        super().__init__(f"interrupted after {finished} of {planned} repetitions")
        self.run_dir, self.finished, self.planned = run_dir, finished, planned


@dataclass(frozen=True)
class Repetition:
    cell: Cell
    repeat: int  # 1..N measured; 0, -1, ... warm-ups
    attempt: int = 1  # 2, 3, ...: a re-run of a repetition that other programs disturbed

    @property
    def warmup(self) -> bool:
        return self.repeat <= 0


def effective_params(wl: Workload, config: RunConfig) -> dict:
    """The size profile with the user's overrides, and the user's image folder for image workloads."""
    params = wl.params(config.size, config.overrides.get(wl.name))
    if config.images_dir and "images" in params:
        params["images_dir"] = os.path.abspath(config.images_dir)
    return params


def build_cells(config: RunConfig) -> list[Cell]:
    cells = []
    for wl in config.workloads:
        params = effective_params(wl, config)
        params_json = json.dumps(params, sort_keys=True)
        for python in config.pythons:
            for variant in config.variants:
                requested = config.variant_workers.get(variant, config.workers)
                for workers in variants.worker_counts(variant, requested):
                    cells.append(Cell(wl.name, wl.ref, config.size, params_json, variant, workers, python))
    return cells


def repetition_key(workload, size, variant, workers, repeat, python) -> tuple:
    return (str(workload), str(size), str(variant), int(workers), int(repeat), str(python))


def plan(cells: list[Cell], repeat: int, rng: random.Random, warmup: int = 1) -> list[Repetition]:
    """`warmup` warm-up rounds, then `repeat` rounds; each round visits every cell once, in a new shuffled order.

    Interleaving spreads drift (thermal throttling, a background job) evenly over all cells
    instead of letting it land on whichever cell happened to run last.
    """
    order = []
    for r in range(1 - warmup, repeat + 1):
        round_ = [Repetition(cell, r) for cell in cells]
        rng.shuffle(round_)
        order.extend(round_)
    return order


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


def run_repetition(cell: Cell, prepared: dict, config: RunConfig) -> tuple[CellResult, accounting.Usage]:
    """Run one repetition in a fresh child process (its own process group); return its result and what the
    rest of the machine used meanwhile (accounted from just before the cell starts to just after it is reaped)."""
    with tempfile.TemporaryDirectory(prefix="gilbench-cell-") as scratch:
        spec = CellSpec(
            workload_ref=cell.ref,
            params={**json.loads(cell.params_json), **prepared},
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
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(watch_read,),
                    env=interpreters.child_env(config.child_env), start_new_session=True,  # its own process group
                )
            finally:
                os.close(watch_read)
            timed_out = False
            try:
                proc.wait(timeout=config.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                kill_group(proc.pid)  # timeout, Ctrl-C, or leftovers a crashed cell did not reap
                proc.wait()
                os.close(watch_write)
            usage = accounting.between(before, accounting.snapshot())
            if spec.options.get("scheduler"):  # the work ran in an outside cluster's processes: not separable here
                usage = accounting.Usage(math.nan, math.nan, math.nan)
        if timed_out:
            return CellResult.failed(f"timed out after {config.timeout:g} s: killed the cell's process group"), usage
        try:
            with open(result_path) as fh:
                return CellResult.from_json(fh.read()), usage
        except OSError:
            tail = Path(log_path).read_text(errors="replace").strip().splitlines()[-1:] or [""]
            reason = f"cell process ended without a result ({variants.describe_exit(proc.returncode)})"
            return CellResult.failed(f"{reason}: {tail[0]}" if tail[0] else reason), usage
        except ValueError as exc:  # a cell of another gilbench version, or a torn file
            return CellResult.failed(f"cell result unreadable: {exc}"), usage


def make_rows(run_id: str, rep: Repetition, result: CellResult, env: dict, started: str, config: RunConfig,
              usage: accounting.Usage | None = None):
    cell = rep.cell
    usage = usage or accounting.Usage(math.nan, math.nan, math.nan)
    busy = result.cpu_s / result.compute_s if result.compute_s > 0 else math.nan
    row = ResultRow(
        run_id=run_id, timestamp=started, workload=cell.workload, size=cell.size, params=cell.params_json,
        variant=cell.variant, workers=cell.workers, tasks=result.tasks, chunksize=result.chunksize,
        repeat=rep.repeat, warmup=rep.warmup, startup_s=result.startup_s, compute_s=result.compute_s,
        total_s=result.total_s, cpu_s=result.cpu_s, busy_cores=busy, peak_rss_mb=result.peak_rss_mb,
        worker_processes=result.worker_processes, other_cores=usage.other_cores, steal_cores=usage.steal_cores,
        disturbed=result.ok and accounting.is_disturbed(usage, config.disturbance_threshold), attempt=rep.attempt,
        ok=result.ok, error=result.error, host=env["host"],
        python_version=result.python_version, python_implementation=result.python_implementation,
        python_executable=cell.python, free_threaded=result.free_threaded,
        gil_enabled=bool(result.worker_gil_enabled if result.worker_gil_enabled is not None
                         else result.gil_enabled is not False),
        python_gil_env=config.child_env.get("PYTHON_GIL", os.environ.get("PYTHON_GIL", "")),
        start_method=config.start_method, logical_cpus=env["logical_cpus"],
        physical_cores=env["physical_cores"], usable_cpus=env["usable_cpus"], cpu_model=env["cpu_model"],
        load_avg_1m=env["load_avg_1m"], os=env["os"], harness_commit=env["harness_commit"],
        packages=env["packages"],
    )
    tasks = [
        storage.task_row(rec, run_id=run_id, workload=cell.workload, size=cell.size, variant=cell.variant,
                         workers=cell.workers, repeat=rep.repeat, warmup=rep.warmup, attempt=rep.attempt,
                         python_executable=cell.python,
                         host=env["host"])
        for rec in result.task_records
    ]
    return row, tasks


def prepare_inputs(config: RunConfig, log=print) -> dict[str, dict]:
    """Each workload's prepare() runs once per run, here, before any cell (inputs are cached on disk).

    A workload may report inputs it skipped (`skipped`: [[name, reason], ...]); each is said once.
    """
    prepared = {}
    for wl in config.workloads:
        hook = getattr(wl.module, "prepare", None)
        if hook is None:
            prepared[wl.name] = {}
            continue
        params = effective_params(wl, config)
        if "images_dir" in params:
            params["strict"] = config.strict
        config.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            extra = dict(hook(params, str(config.cache_dir)) or {})
        except ValueError as exc:  # the workload rejected its inputs (e.g. --strict and a bad image)
            raise UsageError(str(exc)) from None
        for name, reason in extra.pop("skipped", []):
            print(f"gilbench: skipping {name}: {reason}", file=sys.stderr)
        prepared[wl.name] = extra
    return prepared


def auto_round(run_dir: Path, cells: list[Cell], config: RunConfig, repeat: int, elapsed_s: float,
               rng: random.Random, outcome: "Outcome") -> list[Repetition]:
    """The next round for --repeat auto: the cells whose speedup interval is still wider than the precision,
    with their serial baselines, shuffled; none when every cell meets it or the round would not fit the budget."""
    from . import analysis

    table = analysis.summarize(storage.load_results(run_dir))
    if table.empty:
        return []
    missed = table[~analysis.precision_met(table, config.precision)]
    outcome.missed_precision = len(missed)
    rounds_done = repeat - 1 + config.warmup
    if missed.empty or elapsed_s + elapsed_s / max(1, rounds_done) > config.budget_s:
        return []
    wanted = {(r.workload, r.variant, int(r.workers), r.python_executable) for r in missed.itertuples()}
    wanted |= {(w, analysis.BASELINE_VARIANT, 1, p) for w, _, _, p in wanted}
    extra = [Repetition(c, repeat) for c in cells if (c.workload, c.variant, c.workers, c.python) in wanted]
    rng.shuffle(extra)
    return extra


def finished_keys(run_dir: Path) -> set[tuple]:
    """Repetitions already recorded in a run folder (successful or not): --resume skips them."""
    frame = storage.load_results(run_dir)
    return {
        repetition_key(r.workload, r.size, r.variant, r.workers, r.repeat, r.python_executable)
        for r in frame.itertuples()
    }


def execute(config: RunConfig, env: dict, log=print, resume_dir: Path | None = None) -> tuple[Path, int]:
    """Run the whole matrix. Returns the run folder and the number of failed repetitions.

    With resume_dir, the same plan (same seed) is rebuilt and the repetitions already in its
    results.csv are skipped, so an interrupted run finishes as if it had never stopped.
    """
    from tqdm import tqdm

    seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "big")
    if resume_dir is not None:  # the same plan as the interrupted run: its seed, read back from its folder
        seed = json.loads((Path(resume_dir) / storage.ENVIRONMENT).read_text())["seed"]
    cells = build_cells(config)
    order = plan(cells, config.repeat, random.Random(seed), config.warmup)
    prepared = prepare_inputs(config, log)  # bad inputs fail here, before a run folder exists
    if resume_dir is not None:
        run_dir = Path(resume_dir).resolve()  # `results/latest` names the run itself, not the link
        run_id = json.loads((run_dir / storage.ENVIRONMENT).read_text())["run_id"]
        done = finished_keys(run_dir)
        order = [r for r in order if repetition_key(r.cell.workload, r.cell.size, r.cell.variant, r.cell.workers,
                                                    r.repeat, r.cell.python) not in done]
        log(f"resuming run {run_id}: {len(done)} repetitions already done, {len(order)} to go")
    else:
        run_id, run_dir = new_run_dir(config.out)
        storage.atomic_write(run_dir / OPTIONS_FILE, json.dumps(config.options.recorded(), indent=2))
        storage.atomic_write(run_dir / storage.ENVIRONMENT, json.dumps({
            **env, "run_id": run_id, "seed": seed, "config": {  # the options as resolved, for the report
                "size": config.size, "repeat": config.repeat, "warmup": config.warmup,
                "start_method": config.start_method, "variant_workers": config.variant_workers,
                "timeout_s": config.timeout, "workers": config.workers, "variants": config.variants,
                "pythons": config.pythons, "workloads": [wl.name for wl in config.workloads],
                "child_env": config.child_env, "disturbance_threshold": config.disturbance_threshold,
                "reruns": config.reruns, "repeat_auto": config.auto, "precision": config.precision,
                "budget_s": config.budget_s,
            }}, indent=2))
        storage.append_rows(run_dir / storage.RESULTS, [], ResultRow)
        storage.append_rows(run_dir / storage.TASKS, [], TaskRow)
        log(f"run {run_id}: {len(cells)} cells x ({config.repeat} + {config.warmup} warm-up) = {len(order)} repetitions")
    point_latest(config.out, run_dir)

    outcome = Outcome(run_dir)
    queue = deque(order)
    measuring_since = time.perf_counter()
    next_repeat = config.repeat + 1
    bar = tqdm(total=len(queue), unit="rep", disable=not config.progress, file=sys.stderr, dynamic_ncols=True)
    try:
        while queue or config.auto:
            if not queue:  # --repeat auto: another round of the cells that missed the precision, if the budget lasts
                extra = auto_round(run_dir, cells, config, next_repeat, time.perf_counter() - measuring_since,
                                   random.Random(seed + next_repeat), outcome)
                if not extra:
                    break
                queue.extend(extra)
                bar.total += len(extra)
                next_repeat += 1
                continue
            rep = queue.popleft()
            cell = rep.cell
            note = f" | disturbed {outcome.disturbed}" if outcome.disturbed else ""
            bar.set_postfix_str(f"{cell.workload} {cell.variant} x{cell.workers}{note}", refresh=False)
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            result, usage = run_repetition(cell, prepared[cell.workload], config)
            row, task_rows = make_rows(run_id, rep, result, env, started, config, usage)
            storage.append_rows(run_dir / storage.TASKS, task_rows, TaskRow)
            storage.append_rows(run_dir / storage.RESULTS, [row], ResultRow)
            outcome.finished += 1
            if not row.ok:
                outcome.failed += 1
                bar.write(f"FAILED {cell.workload} {cell.variant} x{cell.workers} (repeat {rep.repeat}): {row.error}",
                          file=sys.stderr)
            if row.disturbed and not rep.warmup:  # a disturbed warm-up is marked, and counts for nothing anyway
                outcome.disturbed += 1
                outcome.most_other = max(outcome.most_other, row.other_cores + row.steal_cores)
                if rep.attempt <= config.reruns:  # again later in the run, a bounded number of times
                    queue.append(Repetition(cell, rep.repeat, rep.attempt + 1))
                    outcome.rerun += 1
                    bar.total += 1
                else:
                    outcome.kept_disturbed += 1
            bar.update(1)
    except KeyboardInterrupt:
        raise Interrupted(run_dir, outcome.finished, outcome.finished + len(queue) + 1) from None
    finally:
        bar.close()
    return outcome
