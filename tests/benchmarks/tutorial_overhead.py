"""Does gilbench measure what the tutorial measures? Both stopwatches, both speedups, alternated.

The tutorial's two scripts, timed from outside (wall clock around the whole interpreter, minus
the start-up of an interpreter that does the same imports and nothing else): the serial one
calls the counting loop twice with 10**8, the parallel one starts two multiprocessing.Process
objects with 10**8 each and joins them. gilbench: the `count` workload at `full` size (2 x
10**8), `serial` (one task of 2 x 10**8, as its 1-worker split makes it) and `multiprocessing`
at 2 workers (= the tutorial's two processes), total_s of one repetition each. Every round
runs all four, so drift hits both sides alike. Usage:

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

# The tutorial's loop, shared by its two scripts below.
COUNT_LOOP = f"""
COUNT = {ITERATIONS}


def count(n):
    result = 0
    for _ in range(n):
        result += 1
"""
TUTORIAL = (
    "from multiprocessing import Process\n"
    + COUNT_LOOP
    + """

if __name__ == "__main__":
    p1 = Process(target=count, args=(COUNT // 2,))
    p2 = Process(target=count, args=(COUNT // 2,))
    p1.start()
    p2.start()
    p1.join()
    p2.join()
"""
)
SERIAL = (
    COUNT_LOOP
    + """

if __name__ == "__main__":
    count(COUNT // 2)
    count(COUNT // 2)
"""
)
STARTUP_ONLY = "from multiprocessing import Process\n"


def wall(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def harness_once(out: Path) -> tuple[float, float]:
    """gilbench's serial and multiprocessing@2 total_s, one repetition each (no warm-up: as the scripts run)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gilbench",
            "run",
            "--workloads",
            "count",
            "--variants",
            "serial,multiprocessing",
            "--workers",
            "2",
            "--size",
            "full",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--out",
            str(out),
            "--no-progress",
            "--no-report",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    import pandas as pd

    frame = pd.read_csv(out / "latest" / "results.csv")

    def last(variant):  # a disturbed repetition was run again: take the clean attempt where there is one
        rows = frame[frame["variant"] == variant]
        clean = rows[~rows["disturbed"]]
        return float((clean if not clean.empty else rows)["total_s"].iloc[-1])

    return last("serial"), last("multiprocessing")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script, serial_script, empty = Path(tmp) / "tutorial.py", Path(tmp) / "serial.py", Path(tmp) / "startup.py"
        script.write_text(TUTORIAL)
        serial_script.write_text(SERIAL)
        empty.write_text(STARTUP_ONLY)
        t_serial, t_par, startup, g_serial, g_par = [], [], [], [], []
        for r in range(args.rounds):
            startup.append(wall([sys.executable, str(empty)]))
            t_serial.append(wall([sys.executable, str(serial_script)]) - startup[-1])
            t_par.append(wall([sys.executable, str(script)]) - startup[-1])
            s, p = harness_once(Path(tmp) / f"run{r}")
            g_serial.append(s)
            g_par.append(p)
            print(
                f"round {r + 1}: tutorial serial {t_serial[-1]:.3f} s, 2 processes {t_par[-1]:.3f} s "
                f"({t_serial[-1] / t_par[-1]:.2f}x); gilbench serial {s:.3f} s, multiprocessing@2 {p:.3f} s "
                f"({s / p:.2f}x)",
                flush=True,
            )
    med = statistics.median
    print(f"\n{args.rounds} rounds, medians (interpreter start-up {med(startup):.3f} s taken off the scripts):")
    print(
        f"  tutorial: serial {med(t_serial):.3f} s, two processes {med(t_par):.3f} s, "
        f"speedup {med(t_serial) / med(t_par):.2f}x"
    )
    print(
        f"  gilbench: serial {med(g_serial):.3f} s, multiprocessing@2 {med(g_par):.3f} s, "
        f"speedup {med(g_serial) / med(g_par):.2f}x"
    )
    print(
        f"  gilbench vs tutorial: serial {100 * (med(g_serial) / med(t_serial) - 1):+.1f} %, "
        f"parallel {100 * (med(g_par) / med(t_par) - 1):+.1f} %"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
