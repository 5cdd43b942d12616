"""Per-task overhead of each executor on many tiny tasks (dask and joblib vs process-pool).

`count` with 2000 tasks of one iteration each: the work is nothing, so compute_s / tasks is
the cost of handing out one task and getting its result back. Usage:

    .venv/bin/python tests/benchmarks/task_overhead.py [--tasks 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--variants", default="serial,thread-pool,process-pool,dask,joblib")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gilbench",
                "run",
                "--workloads",
                "count",
                "--variants",
                args.variants,
                "--workers",
                str(args.workers),
                "--param",
                f"iterations={args.tasks}",
                "--param",
                f"tasks={args.tasks}",
                "--repeat",
                str(args.repeat),
                "--out",
                tmp,
                "--no-progress",
                "--no-report",
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        import pandas as pd

        f = pd.read_csv(Path(tmp) / "latest" / "results.csv")
    f = f[f["ok"] & ~f["warmup"]]
    table = f.groupby(["variant", "workers"]).agg(
        compute_s=("compute_s", "median"), startup_s=("startup_s", "median"), tasks=("tasks", "first")
    )
    table["per_task_us"] = table["compute_s"] / table["tasks"] * 1e6
    print(table.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
