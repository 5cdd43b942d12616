"""Does the harness add hidden cost? Compare gilbench's total_s with the tutorial's own script.

The tutorial: two multiprocessing.Process objects each counting half of 2 x 10**8, started
and joined, timed from outside (wall clock around the whole interpreter, minus the start-up of
an interpreter that does the same imports and nothing else). gilbench: the `count` workload,
`multiprocessing` variant, 2 workers (= 2 tasks), `full` size. Runs alternate so that drift
hits both sides alike. Usage:

    .venv/bin/python tests/benchmarks/tutorial_overhead.py [--rounds 8]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ITERATIONS = 200_000_000

TUTORIAL = f'''
from multiprocessing import Process

COUNT = {ITERATIONS}


def count(n):
    result = 0
    for _ in range(n):
        result += 1


if __name__ == "__main__":
    p1 = Process(target=count, args=(COUNT // 2,))
    p2 = Process(target=count, args=(COUNT // 2,))
    p1.start()
    p2.start()
    p1.join()
    p2.join()
'''
STARTUP_ONLY = "from multiprocessing import Process\n"


def wall(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def harness_once(out: Path) -> float:
    subprocess.run(
        [sys.executable, "-m", "gilbench", "run", "--workloads", "count", "--variants", "multiprocessing",
         "--workers", "2", "--size", "full", "--repeat", "1", "--out", str(out), "--no-progress", "--no-report"],
        check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
    )
    import pandas as pd

    frame = pd.read_csv(out / "latest" / "results.csv")
    return float(frame[~frame["warmup"]]["total_s"].iloc[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script, empty = Path(tmp) / "tutorial.py", Path(tmp) / "startup.py"
        script.write_text(TUTORIAL)
        empty.write_text(STARTUP_ONLY)
        tutorial, startup, harness = [], [], []
        for r in range(args.rounds):
            startup.append(wall([sys.executable, str(empty)]))
            tutorial.append(wall([sys.executable, str(script)]))
            harness.append(harness_once(Path(tmp) / f"run{r}"))
            print(f"round {r + 1}: tutorial {tutorial[-1]:.3f} s (start-up {startup[-1]:.3f} s), "
                  f"gilbench total_s {harness[-1]:.3f} s", flush=True)
    t = statistics.median(tutorial) - statistics.median(startup)
    h = statistics.median(harness)
    print(f"\ntutorial script, minus interpreter start-up: median {t:.3f} s")
    print(f"gilbench total_s (multiprocessing, 2 workers, full):   median {h:.3f} s")
    print(f"difference: {100 * (h - t) / t:+.1f} %  (target: within 5 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
