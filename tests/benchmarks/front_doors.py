"""Do the two front doors agree? The same cells through `gilbench run` and through pytest-benchmark.

Runs a few cells both ways at the same size and repetitions, imports the pytest-benchmark JSON,
and compares total_s per cell. The doors alternate one repetition at a time, because this
kind of VM has slow and fast spells lasting seconds: running all of one door and then all of
the other compares spells, not doors. Each back-to-back pair shares its spell, so the median
of the paired differences is the fairest comparison; the difference of medians is shown too.
Usage:

    .venv/bin/python tests/benchmarks/front_doors.py [--size standard] [--cycles 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELLS = [
    ("count", "serial", 1),
    ("count", "threading", 2),
    ("count", "process-pool", 2),
    ("thumbnail", "serial", 1),
    ("thumbnail", "thread-pool", 2),
    ("thumbnail", "process-pool", 2),
]


def medians(f):
    f = f[f["ok"] & ~f["warmup"]]
    return f.groupby(["workload", "variant", "workers"])["total_s"].median()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="standard")
    parser.add_argument(
        "--cycles", type=int, default=10, help="measured repetitions per cell per door, taken in alternating pairs"
    )
    args = parser.parse_args()
    import statistics

    import pandas as pd

    pairs = {cell: [] for cell in CELLS}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for cycle in range(args.cycles):
            for w, v, n in CELLS:  # one repetition through each door, back to back: a pair
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "gilbench",
                        "run",
                        "--workloads",
                        w,
                        "--variants",
                        v,
                        "--workers",
                        str(n),
                        "--size",
                        args.size,
                        "--repeat",
                        "1",
                        "--out",
                        str(out / "run"),
                        "--no-progress",
                        "--no-report",
                        "--seed",
                        str(cycle),
                    ],
                    check=True,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                a = medians(pd.read_csv(out / "run" / "latest" / "results.csv"))[(w, v, n)]
                json_path = out / "pb.json"
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "tests/test_benchmarks.py",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        "-k",
                        f"{w}-{v}-{n}",
                        "--benchmark-enable",
                        "--benchmark-only",
                        "--gilbench-size",
                        args.size,
                        "--gilbench-rounds",
                        "1",
                        f"--benchmark-json={json_path}",
                    ],
                    check=True,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                )
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "gilbench",
                        "import",
                        str(json_path),
                        "--out",
                        str(out / "imp"),
                        "--no-report",
                    ],
                    check=True,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                )
                b = medians(pd.read_csv(out / "imp" / "latest" / "results.csv"))[(w, v, n)]
                pairs[(w, v, n)].append((a, b))
    print(
        f"{args.cycles} alternating pairs per cell (one repetition through each door, back to back), size {args.size}"
    )
    print(f"{'cell':<30} {'gilbench run':>13} {'pytest door':>12} {'medians':>9} {'paired':>9}")
    worst = worst_paired = 0.0
    for cell, got in pairs.items():
        a = statistics.median(x for x, _ in got)
        b = statistics.median(y for _, y in got)
        paired = statistics.median((y - x) / x * 100 for x, y in got)
        diff = (b - a) / a * 100
        worst, worst_paired = max(worst, abs(diff)), max(worst_paired, abs(paired))
        w, v, n = cell
        print(f"{w + ' ' + v + ' x' + str(n):<30} {a:>12.3f}s {b:>11.3f}s {diff:>+8.1f}% {paired:>+8.1f}%")
    print(
        f"\nlargest difference of medians: {worst:.1f} %; largest median paired difference: {worst_paired:.1f} %"
        " (target: within 10 %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
