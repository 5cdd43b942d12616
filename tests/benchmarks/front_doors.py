"""Do the two front doors agree? The same cells through `gilbench run` and through pytest-benchmark.

Runs a few cells both ways at the same size and repetitions, imports the pytest-benchmark JSON,
and compares the medians of total_s per cell. Usage:

    .venv/bin/python tests/benchmarks/front_doors.py [--size standard] [--rounds 7]
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


def medians(results_csv: Path):
    import pandas as pd

    f = pd.read_csv(results_csv)
    f = f[f["ok"] & ~f["warmup"]]
    return f.groupby(["workload", "variant", "workers"])["total_s"].median()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="standard")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for workload in sorted({c[0] for c in CELLS}):
            variants = ",".join(sorted({c[1] for c in CELLS if c[0] == workload}))
            subprocess.run([sys.executable, "-m", "bench", "run", "--workloads", workload, "--variants", variants,
                            "--workers", "1,2", "--size", args.size, "--repeat", str(args.rounds), "--out",
                            str(out / "run"), "--no-progress", "--no-report"], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL)
        run_files = sorted((out / "run" / "runs").glob("*/results.csv"))
        selector = " or ".join(f"{w}-{v}-{n}" for w, v, n in CELLS)
        subprocess.run([sys.executable, "-m", "pytest", "tests/test_benchmarks.py", "-q", "-p", "no:cacheprovider",
                        "-k", selector, "--benchmark-enable", "--benchmark-only", "--gilbench-size", args.size,
                        "--gilbench-rounds", str(args.rounds), f"--benchmark-json={out / 'pb.json'}"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-m", "bench", "import", str(out / "pb.json"), "--out", str(out / "imp"),
                        "--no-report"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        import pandas as pd

        run = pd.concat([medians(p) for p in run_files])
        door = medians(next((out / "imp" / "runs").glob("*/results.csv")))
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
