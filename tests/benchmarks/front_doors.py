"""Do the two front doors agree? The same cells through `gilbench run` and through pytest-benchmark.

Runs a few cells both ways at the same size and repetitions, imports the pytest-benchmark JSON,
and compares the medians of total_s per cell. The doors alternate over several cycles, one
cell at a time, because this kind of VM has slow and fast spells lasting seconds: running all
of one door and then all of the other compares spells, not doors. Usage:

    .venv/bin/python tests/benchmarks/front_doors.py [--size standard] [--rounds 5] [--cycles 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELLS = [("count", "serial", 1), ("count", "threading", 2), ("count", "process-pool", 2),
         ("thumbnail", "serial", 1), ("thumbnail", "thread-pool", 2), ("thumbnail", "process-pool", 2)]


def medians(f):
    f = f[f["ok"] & ~f["warmup"]]
    return f.groupby(["workload", "variant", "workers"])["total_s"].median()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="standard")
    parser.add_argument("--rounds", type=int, default=5, help="repetitions per cell per door per cycle")
    parser.add_argument("--cycles", type=int, default=3,
                        help="the doors alternate this many times, so the machine's slow and fast spells hit both")
    args = parser.parse_args()
    import pandas as pd

    run_parts, door_parts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for cycle in range(args.cycles):
            for w, v, n in CELLS:
                subprocess.run([sys.executable, "-m", "bench", "run", "--workloads", w, "--variants", v,
                                "--workers", str(n), "--size", args.size, "--repeat", str(args.rounds), "--out",
                                str(out / f"run{cycle}"), "--no-progress", "--no-report"], check=True, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            selector = " or ".join(f"{w}-{v}-{n}" for w, v, n in CELLS)
            subprocess.run([sys.executable, "-m", "pytest", "tests/test_benchmarks.py", "-q", "-p", "no:cacheprovider",
                            "-k", selector, "--benchmark-enable", "--benchmark-only", "--gilbench-size", args.size,
                            "--gilbench-rounds", str(args.rounds), f"--benchmark-json={out / f'pb{cycle}.json'}"],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            subprocess.run([sys.executable, "-m", "bench", "import", str(out / f"pb{cycle}.json"), "--out",
                            str(out / f"imp{cycle}"), "--no-report"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            run_parts += [pd.read_csv(p) for p in (out / f"run{cycle}" / "runs").glob("*/results.csv")]
            door_parts += [pd.read_csv(p) for p in (out / f"imp{cycle}" / "runs").glob("*/results.csv")]
    run, door = medians(pd.concat(run_parts)), medians(pd.concat(door_parts))
    print(f"{args.cycles} alternating cycles x {args.rounds} repetitions per cell per door, size {args.size}")
    print(f"{'cell':<32} {'gilbench run':>13} {'pytest door':>12} {'difference':>11}")
    worst = 0.0
    for w, v, n in CELLS:
        a, b = run.get((w, v, n)), door.get((w, v, n))
        diff = (b - a) / a * 100
        worst = max(worst, abs(diff))
        print(f"{w + ' ' + v + ' x' + str(n):<32} {a:>12.3f}s {b:>11.3f}s {diff:>+10.1f}%")
    print(f"\nlargest difference: {worst:.1f} % (target: within 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
