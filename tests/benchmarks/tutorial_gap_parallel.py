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


if __name__ == "__main__":
    target = count
    if "imports" in sys.argv:  # what a gilbench cell has imported before it forks its workers
        import gilbench.cell, gilbench.variants, gilbench.protocol, gilbench.registry, gilbench.workloads.count
    if "gbfunc" in sys.argv:
        from gilbench.workloads.count import run_task as target
    r, w = os.pipe()
    start = time.perf_counter()
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
    loops = [json.loads(os.read(r, 64)) for _ in range(2)]
    print(json.dumps({"total_s": total, "loops": loops}))
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
    parser.add_argument("mode", choices=["function", "session", "parent"])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--half", type=float, default=1e8)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = {
        "function": ["tut", "tut-gbfunc", "cell"],
        "session": ["same-session", "own-session"],
        "parent": ["tut", "tut-pollwait", "tut-imports", "cell"],
    }[args.mode]
    res: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="gilbench-gap-") as tmp:
        path = Path(tmp) / "tutorial_parallel.py"
        path.write_text(SCRIPT)
        for r in range(args.rounds):
            order = names[:]
            rng.shuffle(order)
            for name in order:
                if name == "cell":
                    res[name].append(tutorial_gap.run_cell(Path(tmp), int(args.half), "multiprocessing", 2, 0))
                else:
                    extra = [name.removeprefix("tut-")] if name.startswith("tut-") else []
                    res[name].append(script(path, args.half, extra, own_session=name == "own-session"))
            print(r + 1, {k: round(v[-1]["total_s"], 3) for k, v in res.items()}, flush=True)
    total = {k: [x["total_s"] for x in v] for k, v in res.items()}
    for name in names[1:]:
        print(f"{name} / {names[0]}: {against(total[name], total[names[0]])}")
    for name in names:
        if name == "cell":
            over = [x["until_first_task_s"] + x["after_last_task_s"] for x in res[name]]
        else:
            over = [x["total_s"] - max(x["loops"]) for x in res[name]]
        print(f"{name}: stopwatch beyond the slower loop, median {statistics.median(over) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
