"""Do two runs agree, does a precision target cost what the plan says, and do the intervals cover?

    .venv/bin/python tests/benchmarks/paired_blocks.py reproduce [--runs 2] [-- GILBENCH RUN OPTIONS]
    .venv/bin/python tests/benchmarks/paired_blocks.py precision [--precision 0.05]
    .venv/bin/python tests/benchmarks/paired_blocks.py identity [--runs 2] [--repeat 10]

Run each alone on a quiet machine: nothing else may use the CPU meanwhile.

reproduce  runs `gilbench run` (make bench's default matrix, or the options after --) several times in a row
           and compares every speedup between each pair of runs. Two runs agree on a speedup when the
           difference of its logs lies within the 95 % interval of that difference,
           t x sqrt(se1^2 + se2^2) (Welch), each se read back from its run's t interval. (Asking that the
           second run's point estimate fall inside the first run's 95 % interval is the wrong test: with
           equal precision it fails about one time in six when nothing changed.) Also says whether the two
           intervals overlap, and each interval's half-width.
precision  count, serial vs process-pool at 2 workers, `--precision P`: was it reached, how long did
           measuring take, and what did the plan predict after the pilot.
identity   the 1-worker identity: at one worker every variant does the serial work, so its compute-time
           speedup is 1.00x unless the context (a worker thread, a forked process) changes the loop's speed.
           Across many such cells the share of intervals that contain 1.00 should be near their stated
           95 % coverage; much less means a real context effect (or intervals that cover less than they say).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from itertools import combinations
from pathlib import Path

import pandas as pd
from gilbench.analysis import SEQUENTIAL_FACTOR, SEQUENTIAL_METHOD
from scipy.stats import t

ROOT = Path(__file__).resolve().parents[2]
GILBENCH = [sys.executable, "-m", "gilbench", "run", "--no-progress"]


def run(options: list[str], out: Path) -> tuple[pd.DataFrame, dict, str]:
    proc = subprocess.run([*GILBENCH, *options, "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"gilbench run failed ({proc.returncode}):\n{proc.stderr}")
    latest = (out / "latest").resolve()
    plan = json.loads((latest / "plan.json").read_text()) if (latest / "plan.json").exists() else {}
    return pd.read_csv(latest / "summary.csv"), plan, proc.stderr


def standard_error(row) -> float:
    """The se of log(speedup) behind a paired-t interval: half its log width over the t quantile (and over the
    widening of a run sized by --repeat auto's looks, analysis.SEQUENTIAL_FACTOR)."""
    n = int(row["speedup_blocks"])
    if n < 2 or not row["speedup_high"] > 0:
        return math.nan
    widened = SEQUENTIAL_FACTOR if row.get("speedup_method") == SEQUENTIAL_METHOD else 1.0
    return math.log(row["speedup_high"] / row["speedup_low"]) / 2 / t.ppf(0.975, n - 1) / widened


def welch_limit(se_a: float, n_a: int, se_b: float, n_b: int) -> float:
    """Half-width of the 95 % interval of a difference of two independent means (Welch: t with the
    Welch-Satterthwaite degrees of freedom, not 1.96, since a few blocks give a few degrees of freedom)."""
    var = se_a**2 + se_b**2
    df = var**2 / (se_a**4 / (n_a - 1) + se_b**4 / (n_b - 1))
    return float(t.ppf(0.975, df) * math.sqrt(var))


def reproduce(args, options) -> None:
    options = options or []
    tables = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="gilbench-repro-") as out:
            table, plan, err = run(options, Path(out))
        table = table[table["variant"] != "serial"].copy()
        table["se"] = table.apply(standard_error, axis=1)
        tables.append(table)
        print(
            f"run {i + 1}: measured {plan.get('measured_s', math.nan):.0f} s "
            f"(plan {plan.get('predicted_s', math.nan):.0f} s)"
            + "".join(f"\n  {line}" for line in err.splitlines() if line.startswith("gilbench: precision"))
        )
    key = ["workload", "python_executable", "variant", "workers"]
    rows = []
    for (a, ta), (b, tb) in combinations(enumerate(tables, 1), 2):
        both = ta.merge(tb, on=key, suffixes=("_a", "_b"))
        for _, r in both.iterrows():
            diff = math.log(r["speedup_b"] / r["speedup_a"])
            limit = welch_limit(r["se_a"], int(r["speedup_blocks_a"]), r["se_b"], int(r["speedup_blocks_b"]))
            rows.append(
                {
                    "runs": f"{a}-{b}",
                    "workload": r["workload"],
                    "variant": r["variant"],
                    "workers": r["workers"],
                    "speedup_a": f"{r['speedup_a']:.2f} [{r['speedup_low_a']:.2f}-{r['speedup_high_a']:.2f}]",
                    "speedup_b": f"{r['speedup_b']:.2f} [{r['speedup_low_b']:.2f}-{r['speedup_high_b']:.2f}]",
                    "half_a": r["speedup_halfwidth_a"],
                    "half_b": r["speedup_halfwidth_b"],
                    "diff_pct": 100 * math.expm1(diff),
                    "limit_pct": 100 * math.expm1(limit),
                    "agree": abs(diff) <= limit,
                    "overlap": r["speedup_low_b"] <= r["speedup_high_a"] and r["speedup_low_a"] <= r["speedup_high_b"],
                    "b_in_a": r["speedup_low_a"] <= r["speedup_b"] <= r["speedup_high_a"],
                }
            )
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(
        f"\n{int(frame['agree'].sum())} of {len(frame)} speedups agree (difference within its 95 % interval); "
        f"{int(frame['overlap'].sum())} intervals overlap; {int(frame['b_in_a'].sum())} second estimates fall in the "
        f"first interval; largest half-width {100 * max(frame['half_a'].max(), frame['half_b'].max()):.1f} %"
    )


def precision(args, _options) -> None:
    with tempfile.TemporaryDirectory(prefix="gilbench-precision-") as out:
        table, plan, err = run(
            [
                "--workloads",
                "count",
                "--variants",
                "serial,process-pool",
                "--workers",
                "2",
                "--precision",
                str(args.precision),
                "--budget",
                str(args.budget),
            ],
            Path(out),
        )
    pp = table[table["variant"] == "process-pool"].iloc[0]
    predicted, measured = plan["predicted_s"], plan["measured_s"]
    print("\n".join(line for line in err.splitlines() if line.startswith("gilbench:")))
    print(
        f"process-pool x2: {pp['speedup']:.3f}x [{pp['speedup_low']:.3f}-{pp['speedup_high']:.3f}], "
        f"+-{pp['speedup_halfwidth'] * 100:.1f} % after {int(pp['speedup_blocks'])} blocks "
        f"({'reached' if pp['speedup_halfwidth'] <= args.precision else 'NOT reached'} +-{args.precision * 100:g} %); "
        f"measuring {measured:.0f} s, predicted {predicted:.0f} s after the pilot ({plan['pilot_s']:.0f} s): "
        f"prediction off by {100 * (predicted / measured - 1):+.0f} %"
    )


def identity(args, _options) -> None:
    cells = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="gilbench-identity-") as out:
            table, _, _ = run(
                [
                    "--workloads",
                    args.workloads,
                    "--variants",
                    "serial,threading,thread-pool,multiprocessing,process-pool,ceiling",
                    "--workers",
                    "1",
                    "--size",
                    args.size,
                    "--repeat",
                    str(args.repeat),
                ],
                Path(out),
            )
        one = table[(table["variant"] != "serial") & (table["workers"] == 1)].copy()
        one["run"] = i + 1
        cells.append(one)
    frame = pd.concat(cells)
    frame["compute_covers"] = (frame["compute_speedup_low"] <= 1) & (frame["compute_speedup_high"] >= 1)
    frame["total_covers"] = (frame["speedup_low"] <= 1) & (frame["speedup_high"] >= 1)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(
            frame[
                [
                    "run",
                    "workload",
                    "variant",
                    "compute_speedup",
                    "compute_speedup_low",
                    "compute_speedup_high",
                    "speedup",
                    "compute_covers",
                    "total_covers",
                ]
            ].to_string(index=False, float_format="%.3f")
        )
    for what in ("compute", "total"):
        share = frame[f"{what}_covers"].mean()
        print(
            f"{what} time: {int(frame[f'{what}_covers'].sum())} of {len(frame)} intervals contain 1.00 "
            f"({share * 100:.0f} %; stated coverage 95 %)"
        )
    by_variant = frame.groupby("variant")["compute_speedup"].median()
    print("median compute-time ratio by variant: " + ", ".join(f"{v} {x:.3f}" for v, x in by_variant.items()))


def main() -> None:
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        rest, argv = argv[argv.index("--") + 1 :], argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("reproduce")
    r.add_argument("--runs", type=int, default=2)
    p = sub.add_parser("precision")
    p.add_argument("--precision", type=float, default=0.05)
    p.add_argument("--budget", type=float, default=180)
    i = sub.add_parser("identity")
    i.add_argument("--runs", type=int, default=2)
    i.add_argument("--repeat", type=int, default=10)
    i.add_argument("--size", default="quick")
    i.add_argument("--workloads", default="count,thumbnail,mandelbrot,hashing")
    args = parser.parse_args(argv)
    {"reproduce": reproduce, "precision": precision, "identity": identity}[args.what](args, rest)


if __name__ == "__main__":
    main()
