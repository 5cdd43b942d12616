#!/usr/bin/env python3
"""The 16-core reference run, prepared to run as one command on a machine lent for minutes.

    python3 scripts/reference_16core.py --out DIR [--ft PATH/python3.13t] [--budget 420] [--dry-run]

1. Calibrates, on the machine itself, what one unit of each workload costs under each interpreter
   (a loop of count, one mandelbrot row, one thumbnail megapixel), and sizes every workload so that
   each task at 16 workers runs for about TASK_S seconds (the issue asks for at least 0.2 s).
2. Prints every planned cell and the estimated time from a simple model (serial time T; GIL-bound
   threads about 1.3 T; threads without the GIL, and processes, T / min(N, CPUs, tasks); plus the
   start of each cell process), and chooses the repetitions that fit the budget.
3. Runs `gilbench run` under this interpreter (GIL) and, with --ft, under a free-threaded one, then
   merges both into DIR/merged (results.csv, tasks.csv, environment.json, options-*.json, plan.json)
   and packs it as DIR/reference.tar.gz. Charts and report are drawn afterwards with `gilbench report`.

Rehearse at small scale with --workers 1,2 --ft-workers 1,2 --threading-workers 2 --thread-pool-workers 1,2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

GIL_WORKLOADS = ["count", "mandelbrot", "thumbnail"]
FT_WORKLOADS = ["count", "mandelbrot"]
GIL_VARIANTS = ["serial", "threading", "multiprocessing", "thread-pool", "process-pool", "ceiling"]
FT_VARIANTS = ["serial", "thread-pool", "process-pool", "ceiling"]
THREADS = {"threading", "thread-pool"}
TASKS = 16  # mandelbrot row sets and thumbnail images: one task per worker at 16 workers
TASK_S = 0.21  # seconds per task at 16 workers, on the machine that runs this (the issue: at least 0.2)
MANDELBROT = {"width": 400, "max_iter": 100}
GIL_BOUND = {"count", "mandelbrot"}  # pure Python: under the GIL its threads take turns
GIL_THREAD_FACTOR = 1.3  # GIL-bound threads on many cores: hand-offs cost (a guess; the rehearsal checks it)
CELL_OVERHEAD_S = 0.25  # starting a cell process and its imports, writing its rows
PER_WORKER_S = 0.01  # starting one worker process or thread

CALIBRATE = (  # a %-template: the code it fills in is full of braces, which str.format would need doubled
    r"""
import json, sys, tempfile, time
from pathlib import Path
from gilbench.workloads import count, mandelbrot, thumbnail

def best(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return min(times)

out = {"python": sys.version.split()[0], "gil": getattr(sys, "_is_gil_enabled", lambda: True)()}
out["count_per_iteration_s"] = best(lambda: count.run_task(2_000_000)) / 2e6
rows = 96
out["mandelbrot_per_row_s"] = best(lambda: mandelbrot.run_task((%(width)d, rows, %(max_iter)d, 0, 1))) / rows
if "--thumbnail" in sys.argv:
    w, h = 1600, 1200
    with tempfile.TemporaryDirectory() as tmp:
        src = thumbnail.prepare({"images": 1, "width": w, "height": h}, tmp)["inputs"][0]
        out["thumbnail_per_megapixel_s"] = best(lambda: thumbnail.run_task((src, tmp + "/t.jpg"))) / (w * h / 1e6)
print(json.dumps(out))
"""  # noqa: UP031
    % MANDELBROT
)


def calibrate(python: str, thumbnail: bool) -> dict:
    from gilbench import interpreters

    proc = interpreters.probe(python, CALIBRATE, *(["--thumbnail"] if thumbnail else []), timeout=300)
    if proc.returncode != 0:
        sys.exit(f"calibration under {python} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sizes(cal: dict, task_s: float = TASK_S) -> dict[str, dict]:
    """Parameters that make each task at 16 workers last about task_s under the calibrated interpreter."""
    iterations = math.ceil(TASKS * task_s / cal["count_per_iteration_s"] / 1e6) * 1_000_000
    height = math.ceil(task_s / cal["mandelbrot_per_row_s"]) * TASKS  # TASKS row sets of height/TASKS rows
    megapixels = task_s / cal["thumbnail_per_megapixel_s"]
    width = int(math.sqrt(megapixels * 1e6 * 4 / 3)) // 16 * 16
    return {
        "count": {"iterations": iterations, "tasks": 0},
        "mandelbrot": {**MANDELBROT, "height": height, "tasks": TASKS},
        "thumbnail": {"images": TASKS, "width": width, "height": width * 3 // 4},
    }


def serial_seconds(workload: str, params: dict, cal: dict) -> float:
    if workload == "count":
        return params["iterations"] * cal["count_per_iteration_s"]
    if workload == "mandelbrot":
        return params["height"] * cal["mandelbrot_per_row_s"]
    return params["images"] * params["width"] * params["height"] / 1e6 * cal["thumbnail_per_megapixel_s"]


def estimate(workload: str, variant: str, workers: int, t: float, cpus: int, gil: bool) -> float:
    tasks = workers if workload == "count" else TASKS
    parallel = min(workers, cpus, tasks)
    if variant == "serial":
        compute = t
    elif variant in THREADS and gil and workload in GIL_BOUND:
        compute = t * (GIL_THREAD_FACTOR if workers > 1 else 1.0)
    else:
        compute = t / parallel
    return compute + CELL_OVERHEAD_S + PER_WORKER_S * workers


def plan(interp: dict, workloads, variants, workers, thread_workers: dict, params, cpus) -> list[dict]:
    cells = []
    for w in workloads:
        t = serial_seconds(w, params[w], interp["cal"])
        for v in variants:
            counts = [1] if v == "serial" else thread_workers.get(v, workers)
            for n in counts:
                cells.append(
                    {
                        "python": interp["python"],
                        "label": interp["label"],
                        "workload": w,
                        "variant": v,
                        "workers": n,
                        "task_s_at_16": t / TASKS,
                        "estimate_s": estimate(w, v, n, t, cpus, interp["cal"]["gil"]),
                    }
                )
    return cells


def gilbench_run(
    python_flag: list[str],
    workloads,
    variants,
    workers,
    thread_workers: dict,
    params,
    repeat,
    out: Path,
    log,
    deadline_s: float,
) -> Path:
    """One `gilbench run`; at the deadline it is stopped as Ctrl-C stops it (every finished repetition kept),
    so the whole command keeps its budget even where the estimate was short."""
    args = [
        sys.executable,
        "-m",
        "gilbench",
        "run",
        *python_flag,
        "--workloads",
        ",".join(workloads),
        "--variants",
        ",".join(variants),
        "--workers",
        ",".join(map(str, workers)),
        *[
            a
            for v, counts in thread_workers.items()
            if v in variants
            for a in ("--variant-workers", f"{v}=" + ",".join(map(str, counts)))
        ],
        "--repeat",
        str(repeat),
        "--warmup",
        "0",
        "--size",
        "standard",
        "--no-progress",
        "--no-report",
        "--out",
        str(out),
        "--timeout",
        "600",
    ]
    for w in workloads:
        for key, value in params[w].items():
            args += ["--param", f"{w}.{key}={value}"]
    log(f"$ {' '.join(args)}")
    with open(out.parent / f"{out.name}.log", "w") as output:
        proc = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            proc.wait(timeout=max(1.0, deadline_s))
        except subprocess.TimeoutExpired:
            log(f"deadline of {deadline_s:.0f} s reached: stopping the run (finished repetitions are kept)")
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    log((out.parent / f"{out.name}.log").read_text()[-2500:])
    if proc.returncode not in (0, 1, 130):
        sys.exit(f"gilbench run failed with exit status {proc.returncode}")
    return (out / "latest").resolve()


def merge(runs: dict[str, Path], into: Path, plan_data: dict) -> None:
    """One folder with both runs' rows: the CSVs share one schema, so their rows simply follow each other."""
    into.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "tasks.csv"):
        with open(into / name, "w") as out:
            for i, run in enumerate(runs.values()):
                lines = (run / name).read_text().splitlines(keepends=True)
                out.writelines(lines if i == 0 else lines[1:])
    first = next(iter(runs.values()))
    env = json.loads((first / "environment.json").read_text())
    env["merged_from"] = {
        label: json.loads((run / "environment.json").read_text())["run_id"] for label, run in runs.items()
    }
    env["reference_plan"] = plan_data["summary"]
    (into / "environment.json").write_text(json.dumps(env, indent=2))
    for label, run in runs.items():
        (into / f"options-{label}.json").write_text((run / "options.json").read_text())
    (into / "plan.json").write_text(json.dumps(plan_data, indent=2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--ft", help="a free-threaded python3.13t (its cells: count and mandelbrot)")
    ap.add_argument("--budget", type=float, default=420, help="seconds for the whole command (default 420)")
    ap.add_argument("--workers", default="1,2,4,8,12,16,32")
    ap.add_argument("--ft-workers", default="1,2,4,8,16")
    ap.add_argument(
        "--threading-workers",
        default="16",
        help="worker counts for threading under the GIL: each point costs a serial run's time",
    )
    ap.add_argument(
        "--thread-pool-workers",
        default="4,16,32",
        help="worker counts for thread-pool under the GIL (free-threaded: every --ft-workers point)",
    )
    ap.add_argument("--max-repeat", type=int, default=5)
    ap.add_argument("--min-repeat", type=int, default=2)
    ap.add_argument(
        "--task-s",
        type=float,
        default=TASK_S,
        help=f"seconds per task at 16 workers (default {TASK_S}; smaller only to rehearse quickly)",
    )
    ap.add_argument("--dry-run", action="store_true", help="calibrate, plan and estimate; run nothing")
    ap.add_argument("--assume-cpus", type=int, help="plan for this many CPUs (with --dry-run: the estimate elsewhere)")
    args = ap.parse_args()
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    logfile = open(args.out / "reference.log", "a")

    def log(text: str) -> None:
        print(text, flush=True)
        logfile.write(text + "\n")
        logfile.flush()

    workers = [int(n) for n in args.workers.split(",")]
    ft_workers = [int(n) for n in args.ft_workers.split(",")]
    gil_threads = {
        "threading": [int(n) for n in args.threading_workers.split(",")],
        "thread-pool": [int(n) for n in args.thread_pool_workers.split(",")],
    }
    cpus = args.assume_cpus or len(os.sched_getaffinity(0))
    log(f"machine: {cpus} usable CPUs; budget {args.budget:.0f} s")

    gil = {"label": "gil", "python": sys.executable, "cal": calibrate(sys.executable, thumbnail=True)}
    params = sizes(gil["cal"], args.task_s)
    interps = [gil]
    if args.ft:
        ft = {"label": "ft", "python": args.ft, "cal": calibrate(args.ft, thumbnail=False)}
        interps.append(ft)
        # count: the same size under both interpreters (GIL vs no GIL on the same work), large enough for the
        # faster one; mandelbrot: sized for each (free-threaded floats are about 2x slower, and its cells are many)
        ft_params = sizes(
            {**ft["cal"], "thumbnail_per_megapixel_s": gil["cal"]["thumbnail_per_megapixel_s"]}, args.task_s
        )
        params["count"] = {k: max(v, ft_params["count"][k]) for k, v in params["count"].items()}
        ft_params["count"] = params["count"]
        ft["params"] = ft_params
    gil["params"] = params
    for i in interps:
        log(
            f"calibration {i['label']} (Python {i['cal']['python']}, GIL {'on' if i['cal']['gil'] else 'off'}): "
            + ", ".join(f"{k} {v:.3g}" for k, v in i["cal"].items() if k.endswith("_s"))
        )
    for i in interps:
        log(
            f"sizes {i['label']}: "
            + "; ".join(f"{w} {json.dumps(i['params'][w])}" for w in (GIL_WORKLOADS if i is gil else FT_WORKLOADS))
        )

    cells = plan(gil, GIL_WORKLOADS, GIL_VARIANTS, workers, gil_threads, gil["params"], cpus)
    if args.ft:  # without the GIL, threads get every point
        cells += plan(ft, FT_WORKLOADS, FT_VARIANTS, ft_workers, {}, ft["params"], cpus)
    per_round = sum(c["estimate_s"] for c in cells)
    spent = time.perf_counter() - started
    merge_s = 10.0
    # At least two repetitions: where the estimate says the second does not fit whole, the deadlines
    # below end it early and the cells it did not reach keep one (the report shows each cell's count).
    repeat = max(args.min_repeat, min(args.max_repeat, int((args.budget - spent - merge_s) // per_round)))
    log(
        f"\nplanned cells ({len(cells)}), each run {repeat} times, no warm-up round (each repetition is a fresh "
        "process; rounds are shuffled):"
    )
    for c in cells:
        log(
            f"  {c['label']:<3} {c['workload']:<10} {c['variant']:<15} x{c['workers']:<3} ~{c['estimate_s']:.2f} s"
            f"  (task at 16 workers {c['task_s_at_16']:.2f} s)"
        )
    short = {f"{c['label']} {c['workload']}": round(c["task_s_at_16"], 3) for c in cells}
    log("task length at 16 workers: " + ", ".join(f"{k} {v} s" for k, v in short.items()))
    total = spent + per_round * repeat + merge_s
    log(
        f"estimate: {per_round:.0f} s per round x {repeat} rounds + calibration {spent:.0f} s + merge {merge_s:.0f} s "
        f"= {total:.0f} s of a {args.budget:.0f} s budget"
    )
    if per_round * repeat + spent + merge_s > args.budget:
        log(
            f"the budget does not fit {repeat} whole rounds: the last is stopped at the deadline, and the cells it "
            "did not reach keep fewer repetitions"
        )
    plan_data = {
        "cells": cells,
        "summary": {
            "source_commit": os.environ.get("GILBENCH_SOURCE_COMMIT", ""),
            "repeat": repeat,
            "warmup": 0,
            "estimate_s": round(total, 1),
            "per_round_estimate_s": round(per_round, 1),
            "task_target_s": args.task_s,
            "task_workers": TASKS,  # the worker count each task is sized at (the report quotes it)
            "params": {i["label"]: i["params"] for i in interps},
            "workers": workers,
            "ft_workers": ft_workers,
            "thread_workers_gil": gil_threads,
            "calibration": {i["label"]: i["cal"] for i in interps},
        },
    }
    if args.dry_run:
        (args.out / "plan.json").write_text(json.dumps(plan_data, indent=2))
        return 0

    runs = {}
    t0 = time.perf_counter()
    est_gil = sum(c["estimate_s"] for c in cells if c["label"] == "gil") * repeat
    est_ft = sum(c["estimate_s"] for c in cells if c["label"] == "ft") * repeat
    left = args.budget - (t0 - started) - merge_s
    runs["gil"] = gilbench_run(
        [],
        GIL_WORKLOADS,
        GIL_VARIANTS,
        workers,
        gil_threads,
        gil["params"],
        repeat,
        args.out / "gil",
        log,
        deadline_s=left * est_gil / (est_gil + est_ft),
    )
    gil_s = time.perf_counter() - t0
    log(f"GIL run: {gil_s:.0f} s (estimated {est_gil:.0f} s)")
    if args.ft:
        t0 = time.perf_counter()
        runs["ft"] = gilbench_run(
            ["--python", args.ft],
            FT_WORKLOADS,
            FT_VARIANTS,
            ft_workers,
            {},
            ft["params"],
            repeat,
            args.out / "ft",
            log,
            deadline_s=args.budget - (time.perf_counter() - started) - merge_s,
        )
        ft_s = time.perf_counter() - t0
        log(f"free-threaded run: {ft_s:.0f} s (estimated {est_ft:.0f} s)")
    plan_data["summary"]["actual_s"] = round(time.perf_counter() - started, 1)
    merge(runs, args.out / "merged", plan_data)
    log(f"whole command: {time.perf_counter() - started:.0f} s (estimated {total:.0f} s)")
    logfile.close()
    with tarfile.open(args.out / "reference.tar.gz", "w:gz") as tar:
        tar.add(args.out / "merged", arcname="merged")
        tar.add(args.out / "reference.log", arcname="merged/reference.log")
    print(f"packed: {args.out / 'reference.tar.gz'} ({(args.out / 'reference.tar.gz').stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
