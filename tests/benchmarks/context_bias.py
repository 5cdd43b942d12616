"""Where does a pure-Python loop run fastest? The same count loop in each context gilbench's cells use.

    .venv/bin/python tests/benchmarks/context_bias.py [--rounds 6] [--iterations 2e7]

Each measurement is a fresh interpreter that times only the loop (perf_counter inside), in one of:
  main          the main thread, no other thread (the tutorial's serial script)
  main+idle     the main thread, with one idle thread blocked in os.read (a gilbench cell's watchdog)
  thread        a second thread, the main thread waiting in join() (threading / thread-pool at 1 worker)
  forked        the main thread of a forked child (multiprocessing / process-pool / ceiling at 1 worker)
  halves        the main thread, the work as two calls of half the size (the tutorial's serial shape)
and gilbench's own cells at 1 worker: serial, threading, multiprocessing (their compute_s).
Modes alternate within each round, so the machine's drift falls on all of them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import json, os, sys, threading, time
N = int(float(sys.argv[2]))
def count(n):
    result = 0
    for _ in range(n):
        result += 1
    return result
def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t
mode = sys.argv[1]
if mode == "main":
    out = timed(lambda: count(N))
elif mode == "halves":
    out = timed(lambda: (count(N // 2), count(N - N // 2)))
elif mode == "main+idle":
    r, w = os.pipe()
    threading.Thread(target=os.read, args=(r, 1), daemon=True).start()
    time.sleep(0.01)
    out = timed(lambda: count(N))
    os.write(w, b"x")
elif mode == "thread":
    box = []
    th = threading.Thread(target=lambda: box.append(timed(lambda: count(N))))
    th.start(); th.join(); out = box[0]
elif mode == "forked":
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, json.dumps(timed(lambda: count(N))).encode()); os._exit(0)
    os.waitpid(pid, 0); out = json.loads(os.read(r, 100))
print(json.dumps(out))
"""
CELLS = {"cell serial": "serial", "cell threading@1": "threading", "cell multiprocessing@1": "multiprocessing"}


def probe(script: Path, mode: str, n: float) -> float:
    out = subprocess.run([sys.executable, str(script), mode, str(n)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def cells(out: Path, n: float) -> dict[str, float]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gilbench",
            "run",
            "--workloads",
            "count",
            "--variants",
            ",".join(CELLS.values()),
            "--workers",
            "1",
            "--param",
            f"iterations={n:.0f}",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--no-progress",
            "--no-report",
            "--out",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import pandas as pd

    frame = pd.read_csv(out / "latest" / "results.csv")
    return {name: float(frame[frame["variant"] == v]["compute_s"].iloc[-1]) for name, v in CELLS.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--iterations", type=float, default=2e7)
    args = ap.parse_args()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "probe.py"
        script.write_text(PROBE)
        for r in range(args.rounds):
            for mode in ("main", "main+idle", "thread", "forked", "halves"):
                times.setdefault(mode, []).append(probe(script, mode, args.iterations))
            for name, value in cells(Path(tmp) / f"cells{r}", args.iterations).items():
                times.setdefault(name, []).append(value)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in times.items()), flush=True)
    base = statistics.median(times["main"])
    print(f"\n{args.iterations:.0e} iterations, {args.rounds} rounds; median (min-max), relative to 'main':")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"  {name:<24} {m:.3f} s ({min(values):.3f}-{max(values):.3f})  {m / base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
