"""The orchestrator: builds the matrix, orders the repetitions, runs each in a fresh child
process, enforces timeouts, shows progress and appends every finished repetition to the CSVs.

It only schedules and records; all measuring happens in bench.cell, in the child.
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench import storage
from bench.environment import HARNESS_ROOT
from bench.registry import Workload
from bench.storage import ResultRow, TaskRow


@dataclass(frozen=True)
class Cell:
    workload: str
    ref: str
    size: str
    params_json: str  # the profile's parameters with overrides: what the CSV shows
    variant: str
    workers: int
    python: str = sys.executable  # the interpreter that runs this cell


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run; every finished repetition is on disk."""

    def __init__(self, run_dir: Path, finished: int, planned: int):
        super().__init__(f"interrupted after {finished} of {planned} repetitions")
        self.run_dir, self.finished, self.planned = run_dir, finished, planned


@dataclass
class RunConfig:
    workloads: list[Workload]
    variants: list[str]
    workers: list[int]
    size: str = "standard"
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # workload -> {param: text}
    repeat: int = 3
    start_method: str = "fork"
    timeout: float = 300.0
    out: Path = Path("results")
    pythons: list[str] = field(default_factory=lambda: [sys.executable])
    images_dir: str | None = None
    seed: int | None = None
    cache_dir: Path = Path(os.environ.get("GILBENCH_CACHE", Path.home() / ".cache" / "gilbench"))
    progress: bool = True
    strict: bool = False  # fail on the first invalid input image instead of skipping it
    child_env: dict[str, str] = field(default_factory=dict)  # e.g. PYTHON_GIL for every cell
    cli_args: list[str] = field(default_factory=list)  # recorded, so --resume can rebuild this config
    dask_scheduler: str | None = None  # run the dask variant on this existing cluster instead of a LocalCluster


@dataclass(frozen=True)
class Repetition:
    cell: Cell
    repeat: int  # 0 = warm-up

    @property
    def warmup(self) -> bool:
        return self.repeat == 0


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
                counts = [1] if variant == "serial" else config.workers
                for workers in counts:
                    cells.append(Cell(wl.name, wl.ref, config.size, params_json, variant, workers, python))
    return cells


def repetition_key(workload, size, variant, workers, repeat, python) -> tuple:
    return (str(workload), str(size), str(variant), int(workers), int(repeat), str(python))


def plan(cells: list[Cell], repeat: int, rng: random.Random) -> list[Repetition]:
    """A warm-up round, then `repeat` rounds; each round visits every cell once, in a new shuffled order.

    Interleaving spreads drift (thermal throttling, a background job) evenly over all cells
    instead of letting it land on whichever cell happened to run last.
    """
    order = []
    for r in range(repeat + 1):
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


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HARNESS_ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_repetition(cell: Cell, prepared: dict, config: RunConfig) -> dict:
    """Run one repetition in a fresh child process (its own process group) and return its result."""
    with tempfile.TemporaryDirectory(prefix="gilbench-cell-") as scratch:
        spec = {
            "workload_ref": cell.ref,
            "params": {**json.loads(cell.params_json), **prepared},
            "variant": cell.variant,
            "workers": cell.workers,
            "start_method": config.start_method,
            "scratch_dir": scratch,
            "options": {"scheduler": config.dask_scheduler} if cell.variant == "dask" and config.dask_scheduler else {},
        }
        spec_path, result_path = os.path.join(scratch, "spec.json"), os.path.join(scratch, "result.json")
        with open(spec_path, "w") as fh:
            json.dump(spec, fh)
        log_path = os.path.join(scratch, "cell.log")
        watch_read, watch_write = os.pipe()  # the cell's lifeline: closes when this process dies
        with open(log_path, "wb") as log:
            try:
                proc = subprocess.Popen(
                    [cell.python, "-m", "bench.cell", spec_path, result_path, str(watch_read)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(watch_read,),
                    env=child_env(config.child_env), start_new_session=True,  # its own process group
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
        if timed_out:
            return {"ok": False, "error": f"timed out after {config.timeout:g} s: killed the cell's process group"}
        try:
            with open(result_path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            from bench.variants import describe_exit

            tail = Path(log_path).read_text(errors="replace").strip().splitlines()[-1:] or [""]
            reason = f"cell process ended without a result ({describe_exit(proc.returncode)})"
            return {"ok": False, "error": f"{reason}: {tail[0]}"[:500] if tail[0] else reason}


def make_rows(run_id: str, rep: Repetition, result: dict, env: dict, started: str, config: RunConfig):
    cell = rep.cell
    nan = math.nan
    compute_s = result.get("compute_s", nan)
    cpu_s = result.get("cpu_s", nan)
    row = ResultRow(
        run_id=run_id, timestamp=started, workload=cell.workload, size=cell.size, params=cell.params_json,
        variant=cell.variant, workers=cell.workers, tasks=result.get("tasks", 0),
        chunksize=result.get("chunksize", 0), repeat=rep.repeat, warmup=rep.warmup,
        startup_s=result.get("startup_s", nan), compute_s=compute_s, total_s=result.get("total_s", nan),
        cpu_s=cpu_s, busy_cores=cpu_s / compute_s if compute_s and compute_s > 0 else nan,
        peak_rss_mb=result.get("peak_rss_mb", nan), worker_processes=result.get("worker_processes", 0),
        ok=bool(result.get("ok")), error=result.get("error", ""),
        host=env["host"],
        python_version=result.get("python_version", ""),
        python_implementation=result.get("python_implementation", ""),
        python_executable=cell.python,
        free_threaded=bool(result.get("free_threaded", False)),
        gil_enabled=bool(result.get("worker_gil_enabled", result.get("gil_enabled", True))),
        python_gil_env=config.child_env.get("PYTHON_GIL", os.environ.get("PYTHON_GIL", "")),
        start_method=config.start_method, logical_cpus=env["logical_cpus"],
        physical_cores=env["physical_cores"], usable_cpus=env["usable_cpus"], cpu_model=env["cpu_model"],
        load_avg_1m=env["load_avg_1m"], os=env["os"], harness_commit=env["harness_commit"],
        packages=env["packages"],
    )
    tasks = [
        TaskRow(
            run_id=run_id, workload=cell.workload, size=cell.size, variant=cell.variant, workers=cell.workers,
            repeat=rep.repeat, warmup=rep.warmup, task=t["index"], python_executable=cell.python,
            pid=t["pid"], thread_id=t["thread_id"],
            host=t.get("host", env["host"]), start_s=t["start"], end_s=t["end"], wall_s=t["end"] - t["start"],
            cpu_s=t["cpu_s"], cpu_share=t["cpu_s"] / (t["end"] - t["start"]) if t["end"] > t["start"] else nan,
        )
        for t in result.get("task_records", [])
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
        extra = dict(hook(params, str(config.cache_dir)) or {})
        for name, reason in extra.pop("skipped", []):
            print(f"gilbench: skipping {name}: {reason}", file=sys.stderr)
        prepared[wl.name] = extra
    return prepared


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
    cells = build_cells(config)
    order = plan(cells, config.repeat, random.Random(seed))
    prepared = prepare_inputs(config, log)  # bad inputs fail here, before a run folder exists
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        run_id = json.loads((run_dir / storage.ENVIRONMENT).read_text())["run_id"]
        done = finished_keys(run_dir)
        order = [r for r in order if repetition_key(r.cell.workload, r.cell.size, r.cell.variant, r.cell.workers,
                                                    r.repeat, r.cell.python) not in done]
        log(f"resuming run {run_id}: {len(done)} repetitions already done, {len(order)} to go")
    else:
        run_id, run_dir = new_run_dir(config.out)
        with open(run_dir / storage.ENVIRONMENT, "w") as fh:
            json.dump({**env, "run_id": run_id, "seed": seed, "cli_args": config.cli_args, "config": {
                "size": config.size, "repeat": config.repeat, "start_method": config.start_method,
                "timeout_s": config.timeout, "workers": config.workers, "variants": config.variants,
                "pythons": config.pythons, "workloads": [wl.name for wl in config.workloads],
                "child_env": config.child_env,
            }}, fh, indent=2)
        storage.append_rows(run_dir / storage.RESULTS, [], ResultRow)
        storage.append_rows(run_dir / storage.TASKS, [], TaskRow)
        log(f"run {run_id}: {len(cells)} cells x ({config.repeat} + 1 warm-up) = {len(order)} repetitions")
    point_latest(config.out, run_dir)

    failed = finished = 0
    bar = tqdm(total=len(order), unit="rep", disable=not config.progress, file=sys.stderr, dynamic_ncols=True)
    try:
        for rep in order:
            cell = rep.cell
            bar.set_postfix_str(f"{cell.workload} {cell.variant} x{cell.workers}", refresh=False)
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            result = run_repetition(cell, prepared[cell.workload], config)
            row, task_rows = make_rows(run_id, rep, result, env, started, config)
            storage.append_rows(run_dir / storage.TASKS, task_rows, TaskRow)
            storage.append_rows(run_dir / storage.RESULTS, [row], ResultRow)
            finished += 1
            if not row.ok:
                failed += 1
                bar.write(f"FAILED {cell.workload} {cell.variant} x{cell.workers} (repeat {rep.repeat}): {row.error}",
                          file=sys.stderr)
            bar.update(1)
    except KeyboardInterrupt:
        raise Interrupted(run_dir, finished, len(order)) from None
    finally:
        bar.close()
    return run_dir, failed
