"""A run's folder, new or resumed: its name, the files a new run starts with (options.json, environment.json, the
CSVs' headers, unavailable.csv, inputs.csv), what a resumed one has already done, `results/latest`, and the
tracebacks of failed repetitions.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import storage
from .blocks import Block, Repetition
from .inputs import write_inputs
from .options import LIGHT, RunConfig
from .plan import Plan
from .storage import OPTIONS_FILE, ResultRow, TaskRow

ERRORS = (
    "errors"  # a failed repetition's traceback: errors/<workload>-<variant>-x<workers>-r<repeat>-<attempt>[-py<k>].txt
)


@dataclass(frozen=True)
class RunFolder:
    run_id: str
    path: Path


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


def create(config: RunConfig, env: dict, plan: Plan, log) -> RunFolder:
    """A new run's folder, with the files it starts with: the options as given and as resolved, the environment,
    the seed, the inputs, and the CSVs' headers."""
    run_id, run_dir = new_run_dir(config.out)
    storage.atomic_write(run_dir / OPTIONS_FILE, json.dumps(config.given.recorded(), indent=2))
    environment = {**env, "run_id": run_id, "seed": plan.seed, "config": config.recorded(), "inputs": plan.inputs}
    storage.atomic_write(run_dir / storage.ENVIRONMENT, json.dumps(environment, indent=2))
    storage.append_rows(run_dir / storage.RESULTS, [], ResultRow)
    storage.append_rows(run_dir / storage.TASKS, [], TaskRow)
    if config.unavailable:
        storage.append_rows(
            run_dir / storage.UNAVAILABLE,
            [storage.UnavailableRow(run_id, w, p, r) for (w, p), r in config.unavailable.items()],
            storage.UnavailableRow,
        )
    write_inputs(run_dir, plan.inputs)
    reps = sum(len(b.cells) for b in plan.order)
    groups = f"{len(plan.groups)} paired group{'s' if len(plan.groups) != 1 else ''}"
    log(
        f"run {run_id}: {len(plan.cells)} cells in {groups} x ({plan.first_rounds} + "
        f"{config.warmup_rounds}{' light' if config.warmup == LIGHT else ''} warm-up) blocks = {reps} repetitions"
        + (f"; then sized to +-{config.precision * 100:g} % within {config.budget:g} s" if config.auto else "")
    )
    return RunFolder(run_id, run_dir)


def recorded_seed(resume_dir: Path) -> int:
    """The seed an interrupted run was planned with, read back from its folder: --resume makes the same plan."""
    return json.loads((Path(resume_dir) / storage.ENVIRONMENT).read_text())["seed"]


def reopen(resume_dir: Path) -> RunFolder:
    run_dir = Path(resume_dir).resolve()  # `results/latest` names the run itself, not the link
    return RunFolder(json.loads((run_dir / storage.ENVIRONMENT).read_text())["run_id"], run_dir)


def finished_blocks(run_dir: Path) -> dict[tuple, tuple[set, int]]:
    """Per block already in a run folder (workload, size, interpreter, native-thread setting, block workers, block
    number): the cells
    recorded at its last attempt and that attempt. --resume skips finished blocks and runs a block that an
    interruption cut short again, whole, so that its pairs stay back to back."""
    frame = storage.load_results(run_dir)
    done: dict[tuple, tuple[set, int]] = {}
    for r in frame.itertuples():
        key = (r.workload, r.size, r.python_executable, str(r.native_setting), int(r.block_workers), int(r.repeat))
        cells, attempt = done.get(key, (set(), 0))
        if int(r.attempt) > attempt:
            cells, attempt = set(), int(r.attempt)
        if int(r.attempt) == attempt:
            cells.add((r.variant, int(r.workers)))
        done[key] = (cells, attempt)
    return done


def block_key(blk: Block) -> tuple:
    g = blk.group
    return (g.workload, g.size, g.python, g.native, g.workers, blk.repeat)


def resume_order(order: list[Block], done: dict) -> list[Block]:
    out = []
    for blk in order:
        cells, attempt = done.get(block_key(blk), (set(), 0))
        if {(c.variant, c.workers) for c in blk.cells} <= cells:
            continue
        out.append(Block(blk.group, blk.repeat, blk.cells, attempt + 1))
    return out


def keep_traceback(run_dir: Path, rep: Repetition, text: str, pythons: list[str]) -> str:
    """Write a failed repetition's traceback into the run folder; returns its path relative to the run folder.
    `pythons`: the run's interpreters (the k-th is named -py<k> where there are several)."""
    cell = rep.cell
    name = f"{storage.file_stem(cell.workload)}-{cell.variant}-x{cell.workers}-b{rep.block_workers}-r{rep.repeat}"
    name += f"-{rep.attempt}"
    if len(pythons) > 1 and cell.python in pythons:
        name += f"-py{pythons.index(cell.python) + 1}"
    name += ".txt"
    (Path(run_dir) / ERRORS).mkdir(exist_ok=True)
    storage.atomic_write(Path(run_dir) / ERRORS / name, text)
    return f"{ERRORS}/{name}"
