"""Where does the parallel part of the tutorial gap go? The tutorial's two-process script, its children timing their
own loops, against gilbench's multiprocessing cell (2 x 10^8 iterations by default), alternated per round.

    .venv/bin/python tests/benchmarks/tutorial_gap_parallel.py function [--rounds 12]
    .venv/bin/python tests/benchmarks/tutorial_gap_parallel.py session [--rounds 10]

function  the tutorial's script; the same script with gilbench's `count.run_task` as the children's target; and
          gilbench's multiprocessing cell at 2 workers. Prints each against the tutorial's script (geometric mean
          of per-round ratios, 95 % t interval), and how far each stopwatch exceeds its slower child's loop.
session   the tutorial's script started in the caller's session, and in a session of its own (as a cell is).
parent    the tutorial's script; the same with its parent waiting as a cell does (multiprocessing.connection.wait on
          the children's sentinels, then join); the same after importing gilbench's cell modules; gilbench's cell.
inside    the tutorial's script in a session of its own (as `--check-against-tutorial` runs it); the tutorial's parallel
          code run inside a gilbench cell process (the cell as the orchestrator starts it, its multiprocessing
          variant swapped for the tutorial's bare Process/start/join, children running gilbench's `run_task`); and
          gilbench's cell. Splits the gap between the cell's process and its variant's code.
children  the tutorial's script, its two children reporting which they are (first or second started), their loops'
          wall and CPU seconds and involuntary context switches; the same after forking one trivial child first; after
          running /bin/true through subprocess first; and gilbench's cell (its tasks' records): is one child slower?
context   the tutorial's script in its own session; the same starting its stopwatch 0.3 s after the interpreter's
          start (a cell starts its variant that late); after importing gilbench's cell modules; with a /bin/sh
          watchdog in its process group; and gilbench's cell: which part of the cell's process makes the difference.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from scipy.stats import t

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tutorial_gap  # noqa: E402  (the cell runner, started as the orchestrator starts it)
from gilbench import interpreters  # noqa: E402

SCRIPT = r"""
import json, os, sys, time
from multiprocessing import Process
N = int(float(sys.argv[1]))


def count(n):
    result = 0
    for _ in range(n):
        result += 1


def timed(fn, n, w):
    t = time.perf_counter(); fn(n); os.write(w, json.dumps(time.perf_counter() - t).encode().ljust(64))


def timed_child(index, fn, n, w):  # which child, its loop's wall and CPU seconds, its involuntary context switches
    import resource
    t, c = time.perf_counter(), time.thread_time()
    fn(n)
    wall, cpu = time.perf_counter() - t, time.thread_time() - c
    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
    os.write(w, json.dumps([index, wall, cpu, switches]).encode().ljust(128))


if __name__ == "__main__":
    target = count
    if "imports" in sys.argv:  # what a gilbench cell has imported before it forks its workers
        import gilbench.cell, gilbench.variants, gilbench.protocol, gilbench.registry, gilbench.workloads.count
    if "sh" in sys.argv:  # a /bin/sh reading a pipe in the same process group, as a cell's watchdog does
        import subprocess
        lifeline, keep = os.pipe()
        subprocess.Popen(["/bin/sh", "-c", "while read -r _; do :; done; kill -9 0"], stdin=lifeline, close_fds=True)
    if "sleep" in sys.argv:  # start the stopwatch as late after the interpreter's start as a cell does
        time.sleep(0.3)
    if "gbfunc" in sys.argv:
        from gilbench.workloads.count import run_task as target
    if "prefork" in sys.argv:  # one trivial child forked and reaped before the measured ones
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    if "prespawn" in sys.argv:  # one short program run through subprocess before the measured children
        import subprocess
        subprocess.run(["/bin/true"], check=True)
    r, w = os.pipe()
    start = time.perf_counter()
    if "kids" in sys.argv:
        p1 = Process(target=timed_child, args=(1, target, N, w))
        p2 = Process(target=timed_child, args=(2, target, N, w))
    else:
        p1 = Process(target=timed, args=(target, N, w))
        p2 = Process(target=timed, args=(target, N, w))
    p1.start()
    p2.start()
    if "pollwait" in sys.argv:
        from multiprocessing.connection import wait
        pending = [p1.sentinel, p2.sentinel]
        while pending:
            for ready in wait(pending):
                pending.remove(ready)
    p1.join()
    p2.join()
    total = time.perf_counter() - start
    if "kids" in sys.argv:
        kids = sorted(json.loads(os.read(r, 128)) for _ in range(2))
        print(json.dumps({"total_s": total, "loops": [k[1] for k in kids], "kids": kids}))
    else:
        loops = [json.loads(os.read(r, 64)) for _ in range(2)]
        print(json.dumps({"total_s": total, "loops": loops}))
"""


# A gilbench cell whose multiprocessing variant is the tutorial's code: N Process objects with the task as their
# argument, all started, all joined, timed from before the first constructor to after the last join.
CELL_WITH_TUTORIAL_CODE = r"""
import multiprocessing, sys, time
from dataclasses import replace
from gilbench import cell, registry, variants
from gilbench.protocol import TaskRecord


def tutorial_code(ref, tasks, workers, start_method, **options):
    count = registry.load(ref).run_task
    ctx = multiprocessing.get_context(start_method)
    start = time.perf_counter()
    processes = [ctx.Process(target=count, args=(n,)) for n in tasks]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    end = time.perf_counter()
    records = [TaskRecord(i, p.pid, p.pid, "", start, end, 0.0, 0, True, 0.0) for i, p in enumerate(processes)]
    return variants.Execution(start, end, start, end, list(tasks), records)


variants.VARIANTS["multiprocessing"] = replace(variants.VARIANTS["multiprocessing"], runner=tutorial_code)
sys.exit(cell.main(sys.argv[1:]))
"""


def script(path: Path, half: float, extra: list[str], own_session: bool = False) -> dict:
    out = subprocess.run(
        [sys.executable, "-P", str(path), str(half), *extra],
        capture_output=True,
        text=True,
        env=interpreters.child_env(),
        check=True,
        start_new_session=own_session,
    ).stdout
    return json.loads(out)


def against(values: list[float], reference: list[float]) -> str:
    logs = [math.log(a / b) for a, b in zip(values, reference, strict=True)]
    mean, n = statistics.fmean(logs), len(logs)
    h = t.ppf(0.975, n - 1) * statistics.stdev(logs) / math.sqrt(n)
    return f"{math.exp(mean):.3f} [{math.exp(mean - h):.3f}-{math.exp(mean + h):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["function", "session", "parent", "inside", "context", "children"])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--half", type=float, default=1e8)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every reading here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = {
        "function": ["tut", "tut-gbfunc", "cell"],
        "session": ["same-session", "own-session"],
        "parent": ["tut", "tut-pollwait", "tut-imports", "cell"],
        "inside": ["tut", "cell-tut", "cell"],
        "context": ["tut", "tut-sleep", "tut-imports", "tut-sh", "cell"],
        "children": ["tut-kids", "tut-kids-prefork", "tut-kids-prespawn", "cell"],
    }[args.mode]
    res: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="gilbench-gap-") as tmp:
        path = Path(tmp) / "tutorial_parallel.py"
        path.write_text(SCRIPT)
        driver = Path(tmp) / "cell_with_tutorial_code.py"
        driver.write_text(CELL_WITH_TUTORIAL_CODE)
        for r in range(args.rounds):
            order = names[:]
            rng.shuffle(order)
            for name in order:
                if name == "cell":
                    res[name].append(tutorial_gap.run_cell(Path(tmp), int(args.half), "multiprocessing", 2, 0))
                elif name == "cell-tut":
                    reading = tutorial_gap.run_cell(Path(tmp), int(args.half), "multiprocessing", 2, 0, driver=driver)
                    res[name].append(reading)
                else:
                    extra = name.removeprefix("tut-").split("-") if name.startswith("tut-") else []
                    own = name == "own-session" or args.mode in (
                        "inside",
                        "context",
                        "children",
                    )  # as gilbench runs the tutorial's script
                    res[name].append(script(path, args.half, extra, own_session=own))
            print(r + 1, {k: round(v[-1]["total_s"], 3) for k, v in res.items()}, flush=True)
    if args.json:
        args.json.write_text(json.dumps({"mode": args.mode, "half": args.half, "readings": res}, indent=1))
    total = {k: [x["total_s"] for x in v] for k, v in res.items()}
    for name in names[1:]:
        print(f"{name} / {names[0]}: {against(total[name], total[names[0]])}")
    for name in names:
        if args.mode == "children":
            if name == "cell":
                pairs = [(x["task_walls"][0], x["task_walls"][1]) for x in res[name]]
            else:
                pairs = [(x["kids"][0][1], x["kids"][1][1]) for x in res[name]]
            slow = sum(a > b for a, b in pairs)
            print(
                f"{name}: first child's loop / second's {against([a for a, _ in pairs], [b for _, b in pairs])}, "
                f"first slower in {slow} of {len(pairs)} rounds"
            )
            if name != "cell":
                cpu = [k[2] / k[1] for x in res[name] for k in x["kids"]]
                switches = [[k[3] for k in x["kids"]] for x in res[name]]
                print(
                    f"  CPU share of the loops min {min(cpu):.2f}; involuntary switches, median: first child "
                    f"{statistics.median(s[0] for s in switches)}, second {statistics.median(s[1] for s in switches)}"
                )
            continue
        if name == "cell-tut":
            continue  # its children do not time their loops
        if name == "cell":
            over = [x["until_first_task_s"] + x["after_last_task_s"] for x in res[name]]
        else:
            over = [x["total_s"] - max(x["loops"]) for x in res[name]]
        print(f"{name}: stopwatch beyond the slower loop, median {statistics.median(over) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
