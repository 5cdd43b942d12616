"""Does a busy machine change gilbench's answers? The default matrix, quiet vs with a CPU burner, alternated.

    .venv/bin/python tests/benchmarks/disturbance.py [--rounds 2] [--duty 0.3] [--period 3.3]

The burner is one process of its own that keeps one core busy `duty` of the time: busy
duty x period seconds, then idle for the rest of the period (1 s of every 3.3 s by default, as
a browser tab or a build step comes and goes), started before a run and killed after it.
gilbench should mark the repetitions it disturbs, run them again when the burner is idle, and
report the same speedups as the quiet runs. With a short period (--period 0.1) no repetition
escapes the burner: every one is disturbed, kept after its re-runs and flagged.
Prints, per condition and run, count's and thumbnail's speedups at 2 workers, then the
difference of the two conditions' medians. A benchmark, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

BURNER = """
import time
busy, period = {duty} * {period}, {period}
while True:
    start = time.monotonic()
    while time.monotonic() - start < busy:
        pass
    time.sleep(period - busy)
"""


def one_run(out: Path, burner: bool, duty: float, period: float) -> pd.DataFrame:
    proc = subprocess.Popen([sys.executable, "-c", BURNER.format(duty=duty, period=period)]) if burner else None
    try:
        subprocess.run(
            [sys.executable, "-m", "gilbench", "run", "--no-progress", "--no-report", "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
    frame = pd.read_csv(out / "latest" / "results.csv")
    table = pd.read_csv(out / "latest" / "summary.csv") if (out / "latest" / "summary.csv").exists() else None
    if table is None:
        from gilbench import analysis, storage

        table = analysis.summarize(storage.load_results(out / "latest"))
    table.attrs["disturbed"] = int((frame["disturbed"] & ~frame["warmup"]).sum())  # as gilbench counts them
    table.attrs["other_max"] = float(frame["other_cores"].max())
    return table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duty", type=float, default=0.3)
    ap.add_argument("--period", type=float, default=3.3)
    args = ap.parse_args()
    speedups = {"quiet": {}, "burner": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for condition in ("quiet", "burner"):  # alternated, so the machine's drift falls on both
                table = one_run(Path(tmp) / f"{condition}{r}", condition == "burner", args.duty, args.period)
                at2 = table[(table["workers"] == 2) & table["workload"].isin(["count", "thumbnail"])]
                print(
                    f"round {r + 1} {condition:<6}: {table.attrs['disturbed']} disturbed measured repetitions "
                    f"(other programs up to {table.attrs['other_max']:.2f} cores); "
                    + ", ".join(
                        f"{w} {v} {s:.2f}x"
                        for w, v, s in zip(at2["workload"], at2["variant"], at2["speedup"], strict=True)
                    ),
                    flush=True,
                )
                for w, v, s in zip(at2["workload"], at2["variant"], at2["speedup"], strict=True):
                    speedups[condition].setdefault((w, v), []).append(s)
    print("\nmedian speedup at 2 workers, quiet vs burner:")
    worst = 0.0
    for key in sorted(speedups["quiet"]):
        q, b = statistics.median(speedups["quiet"][key]), statistics.median(speedups["burner"].get(key, [float("nan")]))
        worst = max(worst, abs(b / q - 1))
        print(f"  {key[0]:<10} {key[1]:<16} {q:.2f}x vs {b:.2f}x  ({(b / q - 1) * 100:+.1f} %)")
    print(f"largest difference: {worst * 100:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
