"""Synthetic results for analysis and chart tests: numbers chosen by hand, written through storage."""

from __future__ import annotations

from dataclasses import fields

from gilbench import storage
from gilbench.storage import ResultRow, TaskRow

BASE = {f.name: {"int": 1, "float": 0.0, "bool": False, "str": ""}[f.type] for f in fields(ResultRow)}
BASE.update(
    run_id="r1",
    workload="count",
    size="smoke",
    params="{}",
    python_executable="/usr/bin/python3",
    scaling="strong",
    python_version="3.11.7",
    start_method="fork",
    host="hostA",
    ok=True,
    warmup=False,
    gil_enabled=True,
    usable_cpus=2,
    logical_cpus=2,
    physical_cores=2,
    block_workers=0,
)  # 0: unpaired rows, as an older gilbench wrote them; paired_row() makes blocks


def row(variant, workers, total, repeat=1, busy=None, startup=0.0, **changes):
    values = dict(
        BASE,
        variant=variant,
        workers=workers,
        total_s=total,
        compute_s=total - startup,
        startup_s=startup,
        repeat=repeat,
        tasks=workers,
        cpu_s=(busy or 1.0) * (total - startup),
        busy_cores=busy if busy is not None else 1.0,
        peak_rss_mb=50.0 * workers,
    )
    values.update(changes)
    return ResultRow(**values)


def paired_block(repeat, workers, serial_s, variants: dict, drift=1.0, attempt=1, **changes):
    """One paired block: the serial cell and each variant at `workers` (variant -> time), all multiplied by the
    block's `drift` (a slow spell moves a whole block)."""
    rows = [row("serial", 1, serial_s * drift, repeat, block_workers=workers, attempt=attempt, **changes)]
    for variant, seconds in variants.items():
        rows.append(row(variant, workers, seconds * drift, repeat, block_workers=workers, attempt=attempt, **changes))
    return rows


def write_run(folder, rows, tasks=()):
    folder.mkdir(parents=True, exist_ok=True)
    storage.append_rows(folder / storage.RESULTS, rows, ResultRow)
    if tasks:
        storage.append_rows(folder / storage.TASKS, list(tasks), TaskRow)
    return folder


def gil_run(folder, host="hostA", gil=True, usable=2):
    """serial 2 s; threads stuck at ~2 s with 1 busy core; processes at 1.05 s with 1.9 busy cores."""
    rows = []
    for r in (1, 2, 3):
        rows.append(row("serial", 1, 2.0, r, host=host, usable_cpus=usable, gil_enabled=gil))
        for v in ("threading", "thread-pool"):
            rows.append(row(v, 1, 2.0, r, host=host, usable_cpus=usable, gil_enabled=gil))
            rows.append(
                row(
                    v,
                    2,
                    2.02 if gil else 1.05,
                    r,
                    busy=1.0 if gil else 1.9,
                    host=host,
                    usable_cpus=usable,
                    gil_enabled=gil,
                )
            )
        for v in ("multiprocessing", "process-pool"):
            rows.append(row(v, 1, 2.05, r, busy=1.0, startup=0.02, host=host, usable_cpus=usable, gil_enabled=gil))
            rows.append(row(v, 2, 1.05, r, busy=1.9, startup=0.02, host=host, usable_cpus=usable, gil_enabled=gil))
        rows.append(row("ceiling", 1, 2.0, r, host=host, usable_cpus=usable, gil_enabled=gil))
        rows.append(row("ceiling", 2, 1.0, r, busy=2.0, host=host, usable_cpus=usable, gil_enabled=gil))
    rows.append(row("serial", 1, 9.9, 0, warmup=True, host=host))  # a warm-up: must be ignored
    rows.append(row("process-pool", 2, 0.001, 2, ok=False, error="boom", host=host))  # a failure: ignored
    tasks = []
    for v, pids, share in (("threading", (10, 10), 0.5), ("multiprocessing", (11, 12), 0.98)):
        for i, pid in [(i, pid) for _ in (1, 2, 3) for i, pid in enumerate(pids)]:
            r = len(tasks) // 2 % 3 + 1  # each of the three repetitions has its two tasks
            tasks.append(
                TaskRow(
                    "r1",
                    "count",
                    "smoke",
                    v,
                    2,
                    r,
                    0,
                    False,
                    1,
                    i,
                    "/usr/bin/python3",
                    pid,
                    100 + i,
                    host,
                    0.0,
                    1.0,
                    1.0,
                    share,
                    share,
                )
            )
    return write_run(folder, rows, tasks)


def task(variant, workers, index, worker, start, end, cpu=None, repeat=1, **changes):
    """One task of a repetition: `worker` is its (pid, thread id); its CPU time `cpu` (default: all of its wall)."""
    wall = end - start
    cpu = wall if cpu is None else cpu
    pid, thread_id = worker
    values = dict(
        run_id="r1",
        workload="count",
        size="smoke",
        variant=variant,
        workers=workers,
        repeat=repeat,
        block_workers=0,
        warmup=False,
        attempt=1,
        task=index,
        python_executable="/usr/bin/python3",
        pid=pid,
        thread_id=thread_id,
        host="hostA",
        start_s=start,
        end_s=end,
        wall_s=wall,
        cpu_s=cpu,
        cpu_share=cpu / wall if wall else 0.0,
    )
    values.update(changes)
    return TaskRow(**values)


def ran_tasks(frame):
    """The rows of repetitions that ran their tasks: all but a light warm-up's 1-worker cells, which stop before
    their timed region (`--warmup light`, the default): warm-ups that succeeded with no time."""
    dry = frame["warmup"].astype(bool) & frame["ok"].astype(bool) & frame["total_s"].isna()
    return frame[~dry]
