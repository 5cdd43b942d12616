"""The classic tutorial's own two scripts, run beside the `count` cells (`gilbench run --check-against-tutorial`).

The tutorial counts to n in a pure-Python loop, once serially and once split between processes, and times
each script with its own stopwatch. Run alternately with gilbench's cells in the same paired blocks, they
tell whether gilbench's stopwatches measure what the tutorial's measure for the same work: the report
compares the two speedups block by block.

At N workers, the serial script calls `count(iterations // N)` N times (the tutorial's: twice, at 2), and
the parallel one starts N `multiprocessing.Process` objects with that share each, starts them all and joins
them all, timed from before the first constructor to after the last join. Standard library only: each
script runs under the cells' interpreter.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

from . import oslayer
from .errors import UsageError
from .native import reference_setting
from .native import settings as native_settings
from .storage import TutorialRow

WORKLOAD = "count"  # the workload whose cells the tutorial's scripts stand beside
VARIANT = "multiprocessing"  # the tutorial's pattern: N Process objects, started together, joined
SCRIPTS = ("serial", "parallel")

# The tutorial's code, unchanged but for the share per call, the worker count and the start method (argv, so
# that its processes start as the cells' do), and for printing its stopwatch as JSON.
SCRIPT = """\
import json
import multiprocessing
import sys
import time
from multiprocessing import Process


def count(n):
    result = 0
    for _ in range(n):
        result += 1


if __name__ == "__main__":
    kind, share, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    multiprocessing.set_start_method(sys.argv[4])
    if kind == "serial":
        start = time.perf_counter()
        for _ in range(workers):
            count(share)
        elapsed = time.perf_counter() - start
    else:
        start = time.perf_counter()
        processes = [Process(target=count, args=(share,)) for _ in range(workers)]
        for p in processes:
            p.start()
        for p in processes:
            p.join()
        elapsed = time.perf_counter() - start
    print(json.dumps({"total_s": elapsed}))
"""


@dataclass(frozen=True)
class TutorialRun:
    """One run of one of the tutorial's scripts: what its own stopwatch read."""

    script: str  # serial or parallel
    workers: int
    share: int  # iterations per call (per process)
    total_s: float


def check_selected(workloads: list[str], variants: list[str], workers: list[int]) -> None:
    """--check-against-tutorial needs what it compares with: the count workload, multiprocessing at 2+ workers."""
    if WORKLOAD not in workloads:
        raise UsageError(
            f"--check-against-tutorial compares the tutorial's scripts with the {WORKLOAD!r} workload; "
            f"the selected workloads are {', '.join(workloads)} (add --workloads {WORKLOAD})"
        )
    if VARIANT not in variants:
        raise UsageError(
            f"--check-against-tutorial compares with the {VARIANT!r} variant (the tutorial's pattern); "
            f"the selected variants are {', '.join(variants)} (add it to --variants)"
        )
    if not any(n >= 2 for n in workers):
        raise UsageError("--check-against-tutorial needs a worker count of 2 or more (--workers)")


def applies(workload: str, workers: int, setting: str, settings: str) -> bool:
    """Whether a block of this workload at this worker count and --native-threads setting runs the tutorial's
    scripts too. A run of several settings (`settings`, the option as given) runs them beside the reference
    setting's blocks only (native.reference_setting): the count loop has no native pool, so every setting's blocks
    are the same comparison, and one is the check; the report pairs them with that setting's cells."""
    return workload == WORKLOAD and workers >= 2 and setting == reference_setting(native_settings(settings))


def among(steps: list, workload: str, workers: int, seed: str, setting: str, settings: str) -> list:
    """A block's repetitions, with the tutorial's two scripts (their names) at random places among them where the
    block's workload, worker count and native-thread setting call for them (`applies`): alternated with the cells,
    so drift falls on both alike. `seed`: the block's own, so a block run again on --resume has its scripts at the
    same places."""
    steps = list(steps)
    if applies(workload, workers, setting, settings):
        place = random.Random(seed)
        for script in SCRIPTS:
            steps.insert(place.randrange(len(steps) + 1), script)
    return steps


@dataclass(frozen=True)
class BlockWork:
    """What the scripts run beside: a block's work (the count workload's parameters), its interpreter and worker
    count, and where it is in the run; how they run (the cells' start method, environment and timeout)."""

    run_id: str
    workload: str
    size: str
    params_json: str
    python: str
    workers: int
    repeat: int
    attempt: int
    start_method: str
    env: dict
    timeout: float


def run_row(block: BlockWork, script: str) -> TutorialRow:
    """Run one of the tutorial's scripts for the block's work and worker count: its row of tutorial.csv (a script
    that fails or times out is a row too, with its error)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    iterations = int(json.loads(block.params_json)["iterations"])
    error, total_s = "", math.nan
    try:
        total_s = run(
            block.python, script, iterations, block.workers, block.start_method, block.env, block.timeout
        ).total_s
    except RuntimeError as exc:
        error = str(exc)
    return TutorialRow(
        run_id=block.run_id,
        timestamp=started,
        workload=block.workload,
        size=block.size,
        python_executable=block.python,
        block_workers=block.workers,
        repeat=block.repeat,
        attempt=block.attempt,
        warmup=block.repeat <= 0,
        script=script,
        share=iterations // block.workers,
        total_s=total_s,
        ok=not error,
        error=error,
    )


def run(
    python: str, script: str, iterations: int, workers: int, start_method: str, env: dict, timeout: float
) -> TutorialRun:
    """Run one of the tutorial's scripts in a fresh interpreter; its own stopwatch's reading. The script is a file
    (not `-c`), so that the forkserver and spawn start methods can import its main module in the children."""
    share = iterations // workers
    with tempfile.TemporaryDirectory(prefix="gilbench-tutorial-") as folder:
        path = os.path.join(folder, "tutorial.py")
        with open(path, "w") as fh:
            fh.write(SCRIPT)
        # its own session, like a cell: a timeout or Ctrl-C takes the script's processes down with it
        proc = subprocess.Popen(
            [python, "-P", path, script, str(share), str(workers), start_method],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            **oslayer.own_group(),
        )
        tree = oslayer.Tree(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the tutorial's {script} script timed out after {timeout:g} s") from None
        finally:
            tree.kill()
            proc.wait()
    if proc.returncode != 0:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the tutorial's {script} script failed under {python}: {tail}")
    return TutorialRun(script, workers, share, float(json.loads(out)["total_s"]))
