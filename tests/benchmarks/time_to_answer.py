"""How long does each tool take to a trustworthy answer on the seed's experiment? gilbench, hyperfine and pyperf.

    .venv/bin/python tests/benchmarks/time_to_answer.py [--rounds 1] [--conditions quiet,bursty] [--pyperf]

The seed's experiment: count's loop, 2 x 7.5e6 iterations, serially and in two processes. Each tool is asked for
the speedup of two processes over the serial loop, to +-5 % at 95 %:

- gilbench: `gilbench run --workloads count --variants serial,multiprocessing --workers 2 --precision 0.05
  --budget 120` (count at the standard size is the seed's 2 x 7.5e6). Its time to the answer: from its start to
  the answer line on the terminal; its estimate and interval: summary.csv's.
- hyperfine (when installed: `apt install hyperfine`): `hyperfine -N --runs 10` (its default minimum) on the
  classic tutorial's two scripts (gilbench.tutorial.SCRIPT), which time whole commands, interpreter start-up
  included, so their speedup reads lower. Its interval: Welch's t on the log times, as gilbench's older unpaired
  intervals. Its time to +-5 %: the fewest runs k of each command whose first k runs already give +-5 %, at what
  those runs took plus hyperfine's own measured overhead per run. That is an oracle's stop: hyperfine has no
  precision target, so a user must choose the runs before knowing; its default 10 runs are shown too.
- pyperf (`--pyperf`, quiet only: about a minute): `python -m pyperf command` with its defaults on each script;
  Welch's t on all its values' logs.

Conditions: quiet, and bursty: a one-core burner busy 1 s, then idle 1 s (tests/benchmarks/disturbance.py's),
started before each tool and killed after it. Each round runs every tool in every condition, in that order.
A benchmark, not a test: run it alone on a quiet machine (nothing else may use the CPU meanwhile).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from disturbance import BURNER  # this folder is the script's: on sys.path
from gilbench import tutorial
from gilbench.analysis import t_quantile
from gilbench.environment import cpu_model

ROOT = Path(__file__).resolve().parents[2]
PRECISION = 0.05
SHARE = 7_500_000  # iterations per call: the seed's 2 x 7.5e6
WORKERS = 2
GILBENCH = [
    *("-m", "gilbench", "run", "--no-progress", "--workloads", "count", "--variants", "serial,multiprocessing"),
    *("--workers", str(WORKERS), "--precision", str(PRECISION), "--budget", "120"),
]
ANSWER = re.compile(r"^gilbench: count: ")
BURSTY = {"duty": 0.5, "period": 2.0}  # 1 s busy, 1 s idle
HYPERFINE_RUNS = 10  # hyperfine's default minimum number of runs


@dataclass
class Outcome:
    tool: str
    condition: str
    to_answer_s: float  # start to an answer at +-5 % (nan: not reached)
    wall_s: float  # the whole command
    speedup: float
    low: float
    high: float
    count: str  # blocks or runs behind the estimate

    def line(self) -> str:
        half = (self.high / self.low) ** 0.5 - 1 if self.low > 0 else math.nan
        reached = f"{self.to_answer_s:6.1f} s" if self.to_answer_s == self.to_answer_s else "   not reached"
        return (
            f"{self.condition:7} {self.tool:22} to +-5 %: {reached}   wall {self.wall_s:6.1f} s   "
            f"{self.speedup:.2f}x [{self.low:.2f}-{self.high:.2f}] (+-{half * 100:.1f} %, {self.count})"
        )


def welch(a, b) -> tuple[float, float, float]:
    """Speedup mean(a) / mean(b) on the log scale with Welch's 95 % interval: (speedup, low, high)."""
    la, lb = np.log(np.asarray(a, float)), np.log(np.asarray(b, float))
    va, vb = la.var(ddof=1) / len(la), lb.var(ddof=1) / len(lb)
    df = (va + vb) ** 2 / (va**2 / (len(la) - 1) + vb**2 / (len(lb) - 1)) if va + vb > 0 else len(la) + len(lb) - 2
    h = t_quantile(0.975, max(1, int(df))) * math.sqrt(va + vb)
    d = la.mean() - lb.mean()
    return math.exp(d), math.exp(d - h), math.exp(d + h)


def within(low: float, high: float) -> bool:
    return (high / low) ** 0.5 - 1 <= PRECISION


def burner(condition: str):
    if condition != "bursty":
        return None
    return subprocess.Popen([sys.executable, "-c", BURNER.format(**BURSTY)])


def stop(proc) -> None:
    if proc is not None:
        proc.kill()
        proc.wait()


def run_gilbench(condition: str, scratch: Path) -> Outcome:
    out = scratch / f"gilbench-{condition}"
    proc_burner = burner(condition)
    start = time.perf_counter()
    answered = math.nan
    try:
        proc = subprocess.Popen(
            [sys.executable, *GILBENCH, "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if answered != answered and ANSWER.match(line):
                answered = time.perf_counter() - start
        proc.wait()
        wall = time.perf_counter() - start
    finally:
        stop(proc_burner)
    if proc.returncode not in (0, 1):
        sys.exit(f"gilbench run failed ({proc.returncode}):\n{''.join(lines)}")
    table = pd.read_csv(out / "latest" / "summary.csv")
    row = table[table["variant"] == "multiprocessing"].iloc[0]
    low, high = float(row["speedup_low"]), float(row["speedup_high"])
    for line in lines:
        if "disturbed" in line or "measuring took" in line:
            print("   ", line.strip())
    return Outcome(
        "gilbench",
        condition,
        answered if within(low, high) else math.nan,
        wall,
        float(row["speedup"]),
        low,
        high,
        f"{int(row['speedup_blocks'])} blocks",
    )


def scripts(scratch: Path) -> tuple[list[str], list[str]]:
    path = scratch / "tutorial.py"
    path.write_text(tutorial.SCRIPT)
    common = [str(SHARE), str(WORKERS), "fork"]
    return [sys.executable, str(path), "serial", *common], [sys.executable, str(path), "parallel", *common]


def run_hyperfine(condition: str, scratch: Path) -> list[Outcome]:
    serial, parallel = scripts(scratch)
    export = scratch / f"hyperfine-{condition}.json"
    proc_burner = burner(condition)
    start = time.perf_counter()
    try:
        subprocess.run(
            [
                *("hyperfine", "-N", "--runs", str(HYPERFINE_RUNS), "--style", "none"),
                *("--export-json", str(export), " ".join(serial), " ".join(parallel)),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
    finally:
        stop(proc_burner)
    a, b = (r["times"] for r in json.loads(export.read_text())["results"])
    overhead = max(0.0, (wall - sum(a) - sum(b)) / (len(a) + len(b)))  # hyperfine's own time per run
    k_done = next((k for k in range(2, len(a) + 1) if within(*welch(a[:k], b[:k])[1:])), None)
    first = sum(a[:k_done]) + sum(b[:k_done]) + 2 * k_done * overhead if k_done else math.nan
    oracle = Outcome(
        "hyperfine (fewest runs)",
        condition,
        first,
        first,
        *welch(a[:k_done], b[:k_done]) if k_done else (math.nan,) * 3,
        f"{k_done} runs each" if k_done else "never within 10 runs",
    )
    default = Outcome(
        "hyperfine (10 runs)",
        condition,
        wall if within(*welch(a, b)[1:]) else math.nan,
        wall,
        *welch(a, b),
        f"{len(a)} runs each",
    )
    return [oracle, default]


def run_pyperf(scratch: Path) -> Outcome:
    values, start = [], time.perf_counter()
    for i, command in enumerate(scripts(scratch)):
        output = scratch / f"pyperf-{i}.json"
        output.unlink(missing_ok=True)  # pyperf will not write over an earlier round's file
        subprocess.run(
            [sys.executable, "-m", "pyperf", "command", "--quiet", "--output", str(output), *command],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        runs = json.loads(output.read_text())["benchmarks"][0]["runs"]
        values.append([v for r in runs for v in r.get("values", [])])
    wall = time.perf_counter() - start
    speedup, low, high = welch(*values)
    return Outcome(
        "pyperf (defaults)",
        "quiet",
        wall if within(low, high) else math.nan,
        wall,
        speedup,
        low,
        high,
        f"{len(values[0])} values each",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--conditions", default="quiet,bursty")
    parser.add_argument("--pyperf", action="store_true", help="also pyperf with its defaults (quiet only)")
    args = parser.parse_args()
    conditions = args.conditions.split(",")
    if bad := [c for c in conditions if c not in ("quiet", "bursty")]:
        parser.error(f"--conditions {','.join(bad)!r}: accepted: quiet, bursty")
    hyperfine = shutil.which("hyperfine") is not None
    if not hyperfine:
        print("hyperfine not found (apt install hyperfine, or cargo install hyperfine): gilbench alone")
    print(f"machine: {cpu_model()}, {len(os.sched_getaffinity(0))} usable CPUs; Python {sys.version.split()[0]}")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="gilbench-tta-") as tmp:
        scratch = Path(tmp)
        for _ in range(args.rounds):
            for condition in conditions:
                found = [run_gilbench(condition, scratch)]
                if hyperfine:
                    found += run_hyperfine(condition, scratch)
                if args.pyperf and condition == "quiet":
                    found.append(run_pyperf(scratch))
                for outcome in found:
                    print(outcome.line(), flush=True)
                outcomes += found
    return 0


if __name__ == "__main__":
    sys.exit(main())
