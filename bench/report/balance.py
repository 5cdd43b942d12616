"""Balance: from tasks.csv, whether a cell's workers were there and waiting, or had nothing left to do.

Busy cores (CPU time over wall time) fall as much when threads wait for the GIL as when one worker sits idle after
its uneven slice while another still works: the two read the same there. The task timeline tells them apart. Per
measured repetition of a cell (non-warm-up tasks, each repetition's last attempt, as the statistics count them):

- `task_cpu_share`: the tasks' CPU time over their wall time, summed over the cell's tasks: the share of its life
  a task ran. Threads waiting for the GIL (or a lock, or a core) have a low share; a thread that ran alone on an
  uneven slice does not.
- `least_busy_share`: the least busy worker's busy time (the wall time of its tasks) over the repetition's compute
  span (the first task's start to the last task's end). A worker is a (pid, thread) pair; one that got no task is
  busy 0. Near 1 where every worker worked to the end; low where a worker sat idle while another still worked.
- `finish_spread`: how far apart the workers' last tasks ended, as a share of the span.
- `least_work_share`: the least loaded worker's share of the work, against an even share (1: even; 0: a worker got
  nothing), each task's work its median wall time in the serial cell. A worker can sit idle because its share of
  the work was small (uneven work) or because its core ran faster (cores of uneven speed: a 2-vCPU VM's two
  processes ran the same task in 0.28 s and 0.41 s); only this tells the two apart. NaN where a task has no serial
  time (weak scaling: the serial cell runs one share).

Per cell, the median over its repetitions, and a one-sided p-value for each test a rule makes of it (the
repetitions' mean below the rule's threshold, a t-test; NaN with fewer than two repetitions), under the key the
run's error budget reads. Where a run has no tasks.csv, or a cell has no tasks in it, the columns are NaN and the
rules that need them do not hold.

The ceiling is a ceiling only where it measured the machine: `ceiling_unquoted` names why it is not quoted at a
worker count ("uneven": its own workers were unevenly busy, so it timed its slices; "beaten": a variant's speedup
interval lies above it), and there the ceiling's columns on the other rows are NaN: no ceiling efficiency, no
"tops out", no band on the charts.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis import BASELINE, BASELINE_VARIANT, CEILING, t_cdf
from .rules import CEILING_EVEN, GIL_WAIT_SHARE, UNEVEN_BUSY

TASK_CELL = ["workload", "size", "variant", "workers", "python_executable"]  # a cell, as tasks.csv names it
REPETITION = TASK_CELL + ["block_workers", "repeat"]
WORKER = ["pid", "thread_id"]
COLUMNS = (
    "task_cpu_share",
    "least_busy_share",
    "finish_spread",
    "least_work_share",
    "gil_wait_p",
    "uneven_p",
    "ceiling_unquoted",
)
WORKLOAD_RUN = ["workload", "size", "python_executable"]  # the cells that share one task list and one serial cell
CEILING_COLUMNS = ("ceiling_speedup", "ceiling_speedup_low", "ceiling_speedup_high", "ceiling_efficiency")
# a variant whose tasks do not run on a fixed set of workers (one process per task): no worker can be idle
UNBALANCED_BY_DESIGN = frozenset({"process-per-task"})


def below_p(values, threshold: float) -> float:
    """One-sided p-value that the values' mean lies below `threshold` by chance (H0: mean >= threshold), from a t-test
    over the repetitions; NaN with fewer than two. Equal values decide it outright (0 below, 1 at or above)."""
    x = np.asarray([v for v in values if v == v], dtype=float)
    if len(x) < 2:
        return math.nan
    sd = float(x.std(ddof=1))
    if sd == 0:
        return 0.0 if x.mean() < threshold else 1.0
    t = (x.mean() - threshold) / (sd / math.sqrt(len(x)))
    return t_cdf(t, len(x) - 1)


def repetition(tasks, workers: int, costs=None) -> dict:
    """One repetition's tasks: their CPU share while alive, the least busy worker's share of the span, how far apart
    the workers finished, and the least loaded worker's share of the work (`costs`: each task's serial wall time, by
    task index)."""
    span = float(tasks["end_s"].max() - tasks["start_s"].min())
    wall = float(tasks["wall_s"].sum())
    out = {"task_cpu_share": float(tasks["cpu_s"].sum()) / wall if wall > 0 else math.nan}
    per_worker = tasks.groupby(WORKER)
    busy, ends = per_worker["wall_s"].sum(), per_worker["end_s"].max()
    expected = min(workers, len(tasks))
    if str(tasks["variant"].iloc[0]) in UNBALANCED_BY_DESIGN or len(busy) > expected or span <= 0:
        return out | {"least_busy_share": math.nan, "finish_spread": math.nan, "least_work_share": math.nan}
    idle_workers = expected - len(busy)  # workers that never got a task: busy 0, finished at the start
    least = 0.0 if idle_workers else float(busy.min()) / span
    first_end = float(tasks["start_s"].min()) if idle_workers else float(ends.min())
    out |= {"least_busy_share": min(1.0, least), "finish_spread": (float(ends.max()) - first_end) / span}
    cost = tasks["task"].map(costs) if costs is not None else None
    if cost is None or cost.isna().any() or cost.sum() <= 0:
        return out | {"least_work_share": math.nan}
    work = cost.groupby([tasks["pid"], tasks["thread_id"]]).sum()
    lightest = 0.0 if idle_workers else float(work.min())
    return out | {"least_work_share": lightest / (float(cost.sum()) / expected)}


def per_cell(tasks):
    """One row per cell of tasks.csv: the medians over its measured repetitions, and the p-values of the rules'
    tests."""
    import pandas as pd

    mine = tasks[~tasks["warmup"].astype(bool)]
    if mine.empty:
        return pd.DataFrame(columns=TASK_CELL + list(COLUMNS[:-1]))
    last = mine.groupby(REPETITION, sort=False)["attempt"].transform("max")
    mine = mine[mine["attempt"] == last]
    serial = mine[mine["variant"] == BASELINE_VARIANT]
    costs = {key: part.groupby("task")["wall_s"].median() for key, part in serial.groupby(WORKLOAD_RUN, sort=False)}
    reps = [
        dict(zip(REPETITION, key, strict=True)) | repetition(rep, int(key[3]), costs.get((key[0], key[1], key[4])))
        for key, rep in mine.groupby(REPETITION, sort=False)
    ]
    frame = pd.DataFrame(reps)
    rows = []
    for key, cell in frame.groupby(TASK_CELL, sort=False):
        rows.append(
            dict(zip(TASK_CELL, key, strict=True))
            | {
                "task_cpu_share": cell["task_cpu_share"].median(),
                "least_busy_share": cell["least_busy_share"].median(),
                "finish_spread": cell["finish_spread"].median(),
                "least_work_share": cell["least_work_share"].median(),
                "gil_wait_p": below_p(cell["task_cpu_share"], GIL_WAIT_SHARE),
                "uneven_p": below_p(cell["least_busy_share"], UNEVEN_BUSY),
            }
        )
    return pd.DataFrame(rows)


def join(table, tasks):
    """The summary rows with the balance columns added at the end (NaN where there are no tasks), and the ceiling's
    columns blanked where the ceiling is not one (`ceiling_unquoted` says why)."""
    table = table.copy()
    for column in COLUMNS[:-1]:
        table[column] = math.nan
    if tasks is not None and not tasks.empty:
        cells = per_cell(tasks).set_index(TASK_CELL)
        at = table.set_index(TASK_CELL).index
        for column in COLUMNS[:-1]:
            table[column] = cells[column].reindex(at).to_numpy() if not cells.empty else math.nan
    table["ceiling_unquoted"] = unquoted(table)
    blank = table["ceiling_unquoted"] != ""
    for column in CEILING_COLUMNS:
        if column in table:
            table.loc[blank, column] = math.nan
    return table


def unquoted(table) -> list[str]:
    """Per row, why the ceiling at its worker count is not the machine's limit: "uneven", "beaten", both joined by
    "+", or "" (quoted, or no ceiling measured)."""
    key = BASELINE + ["workers"]
    ceilings = table[table["variant"] == CEILING]
    rivals = table[~table["variant"].isin([CEILING, BASELINE_VARIANT])]
    why: dict[tuple, str] = {}
    for _, c in ceilings[ceilings["workers"] > 1].iterrows():  # one process: the context check's, not a ceiling's
        at = tuple(c[k] for k in key)
        same = rivals[np.logical_and.reduce([rivals[k] == v for k, v in zip(key, at, strict=True)])]
        reasons = []
        idle = c.get("least_busy_share", math.nan) < CEILING_EVEN
        if idle and c.get("least_work_share", math.nan) < CEILING_EVEN:
            reasons.append("uneven")  # its slices, not its cores: cores of uneven speed are the machine's own
        if (same["speedup_low"] > c["speedup"]).any():
            reasons.append("beaten")
        why[at] = "+".join(reasons)
    return [why.get(tuple(r[k] for k in key), "") for _, r in table.iterrows()]
