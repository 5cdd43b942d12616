"""The orchestrator: a run from its checked options to its folder of CSVs, along the data's way:

- the plan (bench/plan.py): the matrix of cells, their inputs prepared once, the shuffled paired blocks;
- the run folder (bench/run_folder.py): a new one with the files a run starts with, or a resumed one, whose
  finished blocks are skipped;
- the scheduler (bench/scheduler.py): the queue of blocks, disturbed blocks run again, --repeat auto's sizing;
- one block (bench/runner.py): each repetition in a fresh child process, appended to the CSVs at once;
- finishing (bench/finish.py): --trace's traced repetitions, after the measured rounds.

It only schedules and records; all measuring happens in gilbench.cell, in the child.
"""

from __future__ import annotations

import importlib
import sys
from collections import deque
from pathlib import Path

from . import finish, plan, run_folder, scheduler
from .errors import RunError
from .options import RunConfig
from .runner import BlockContext, Outcome


class Interrupted(RunError):
    """Ctrl-C or SIGTERM stopped the run; every finished repetition is on disk."""

    def __init__(self, run_dir: Path, finished: int, planned: int):
        # what was left, not a total to set against the start line's: blocks run again and sized rounds add to it
        super().__init__(
            f"interrupted; {finished} repetitions finished and kept in {run_dir}/results.csv ({planned - finished} "
            f"more were queued: the one cut short, and any re-runs and sized rounds); finish with: gilbench run "
            f"--resume {run_dir}"
        )
        self.run_dir, self.finished, self.planned = run_dir, finished, planned


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython imported and running as one), as tqdm.auto decides."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def has_widgets() -> bool:
    try:
        importlib.import_module("ipywidgets")  # only whether it imports (tqdm's widget needs it)
    except ImportError:
        return False
    return True


def progress_bar(total: int, off: bool):
    """The run's progress bar, drawn only where it can be seen as one bar: a notebook with ipywidgets gets tqdm's
    widget; a terminal gets tqdm's text bar. Anywhere else it is off (its lines still print): without ipywidgets
    tqdm's notebook bar warns "IProgress not found" and its text frames pile up in the saved notebook as separate
    outputs, and stderr sent to a file or a pipe would keep every redrawn frame, with the run's lines glued on."""
    from tqdm import tqdm as text_bar

    if in_notebook():
        if not off and has_widgets():
            from tqdm.notebook import tqdm as widget_bar

            return widget_bar(total=total, unit="rep", file=sys.stderr)
        off = True
    shown = not off and sys.stderr.isatty()
    return text_bar(total=total, unit="rep", disable=not shown, file=sys.stderr, dynamic_ncols=True)


def execute(config: RunConfig, env: dict, log=print, resume_dir: Path | None = None) -> Outcome:
    """Run the whole matrix in paired blocks (bench/blocks.py). Returns the Outcome: the run folder and counts.

    With resume_dir, the same plan (same seed) is rebuilt and the blocks already in its results.csv are
    skipped, so an interrupted run finishes as if it had never stopped.
    """
    # the same plan as an interrupted run: its seed, read back from its folder
    seed = run_folder.recorded_seed(resume_dir) if resume_dir is not None else plan.new_seed(config)
    the_plan = plan.make(config, seed)  # bad inputs fail here, before a run folder exists
    sizing = scheduler.Sizing.start(the_plan.groups, the_plan.first_rounds) if config.auto else None
    order = the_plan.order
    if resume_dir is not None:
        folder = run_folder.reopen(resume_dir)
        done = run_folder.finished_blocks(folder.path)
        order = run_folder.resume_order(order, done)
        if sizing is not None:
            sizing.resume(folder.path, done, the_plan.first_rounds)
        log(
            f"resuming run {folder.run_id}: {len(done)} blocks begun, {len(order)} to run "
            "(a block cut short runs again, whole)"
        )
    else:
        folder = run_folder.create(config, env, the_plan, log)
    run_folder.point_latest(config.out, folder.path)

    outcome = Outcome(folder.path, config)
    queue = deque(order)
    bar = progress_bar(sum(len(b.cells) for b in queue), config.no_progress)
    run = BlockContext(
        config=config,
        env=env,
        run_id=folder.run_id,
        run_dir=folder.path,
        prepared=the_plan.prepared,
        seed=seed,
        outcome=outcome,
        bar=bar,
        walls=sizing.walls if sizing else None,
    )
    try:
        scheduler.run_blocks(queue, run, sizing, the_plan.rng)
        scheduler.close_plan(folder.path, sizing, outcome)
        if config.trace:
            finish.trace_phase(folder.run_id, folder.path, the_plan.cells, the_plan.prepared, config, bar, seed)
    except KeyboardInterrupt:
        raise Interrupted(
            folder.path,
            outcome.finished,
            max(outcome.finished, int(bar.total or 0)),  # the bar counts every addition
        ) from None
    finally:
        bar.close()
    return outcome
