"""Where does gilbench's speedup for the seed's experiment part from the tutorial's own two scripts? Decompose it.

    .venv/bin/python tests/benchmarks/tutorial_gap.py [--rounds 24] [--half 2.5e7] [--probes all|check|one]

The tutorial's scripts time themselves with perf_counter: the serial one calls `count(n)` twice in a
fresh interpreter's main thread; the parallel one times from before the first `multiprocessing.Process`
constructor to after the last join. Each probe below is one fresh interpreter; every round runs every
probe once, in a new random order, so the machine's drift falls on all of them alike. Each probe is
compared with its tutorial script by the per-round ratio (paired): geometric mean and a 95 % Student's
t interval on the log ratios, the statistics gilbench's own speedups use.

Serial probes (against `tut-serial`, two calls of n):
  tut-serial-one      the tutorial's script, one call of 2n (gilbench's serial cell's split)
  tut-serial-idle     the tutorial's script with an idle thread blocked in os.read (the cell's old watchdog)
  tut-serial-imports  the tutorial's script after importing gilbench's cell modules (layout of the process)
  cell-serial         gilbench's serial cell as `gilbench run` starts it (its total_s)
  cell-serial-halves  gilbench's serial cell given two tasks of n
Parallel probes (against `tut-par`):
  tut-par-idle        the tutorial's script, its parent holding an idle thread
  tut-par-imports     the tutorial's script after importing gilbench's cell modules
  cell-mp             gilbench's multiprocessing cell at 2 workers (its total_s, and its phases)
`--probes check` runs only tut-serial, tut-par, cell-serial and cell-mp: the seed's experiment, both ways.
`--probes one` runs each program's loop of 2n in its own main thread and in one forked child: tut-serial and
tut-child (the tutorial's script, one Process), cell-serial and cell-mp-one (gilbench's multiprocessing cell at 1
worker, against gilbench's serial cell): the fork's context without the parallelism.
`--other DIR` adds cell-serial@other and cell-mp@other: the same cells from another gilbench (DIR holds its
`gilbench` package, e.g. links to an older checkout's bench/ files and workloads/), side by side in the same
rounds: before and after a change, free of the machine's drift between days.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from gilbench import interpreters, storage
from gilbench.protocol import CellResult, CellSpec

SCRIPT = r"""
import json, os, sys, threading, time
if "imports" in sys.argv:  # what a gilbench cell has imported before it runs its variant
    import gilbench.cell, gilbench.variants, gilbench.protocol, gilbench.registry, gilbench.workloads.count
if "idle" in sys.argv:  # an idle thread blocked in os.read, as a cell's watchdog thread was
    r, w = os.pipe()
    threading.Thread(target=os.read, args=(r, 1), daemon=True).start()
N = int(float(sys.argv[1]))


def count(n):
    result = 0
    for _ in range(n):
        result += 1


if __name__ == "__main__":
    if "child" in sys.argv:  # the whole 2n in one forked child: the fork's context without the parallelism
        from multiprocessing import Process
        start = time.perf_counter()
        p = Process(target=count, args=(2 * N,))
        p.start()
        p.join()
    elif "parallel" in sys.argv:
        from multiprocessing import Process
        start = time.perf_counter()
        p1 = Process(target=count, args=(N,))
        p2 = Process(target=count, args=(N,))
        p1.start()
        p2.start()
        p1.join()
        p2.join()
    elif "one" in sys.argv:
        start = time.perf_counter()
        count(2 * N)
    else:
        start = time.perf_counter()
        count(N)
        count(N)
    print(json.dumps({"total_s": time.perf_counter() - start}))
"""

# probe -> (kind, arguments); kind "script" runs SCRIPT, "cell" runs a gilbench cell
PROBES = {
    "tut-serial": ("script", []),
    "tut-serial-one": ("script", ["one"]),
    "tut-serial-idle": ("script", ["idle"]),
    "tut-serial-imports": ("script", ["imports"]),
    "cell-serial": ("cell", {"variant": "serial", "workers": 1, "tasks": 0}),
    "cell-serial-halves": ("cell", {"variant": "serial", "workers": 1, "tasks": 2}),
    "tut-par": ("script", ["parallel"]),
    "tut-par-idle": ("script", ["parallel", "idle"]),
    "tut-par-imports": ("script", ["parallel", "imports"]),
    "cell-mp": ("cell", {"variant": "multiprocessing", "workers": 2, "tasks": 0}),
}
CHECK = ["tut-serial", "tut-par", "cell-serial", "cell-mp"]
REFERENCE = {name: "tut-par" if ("par" in name or name == "cell-mp") else "tut-serial" for name in PROBES}
# One worker: the loop in a single forked child against the same program's own main thread.
PROBES["tut-child"] = ("script", ["child"])
PROBES["cell-mp-one"] = ("cell", {"variant": "multiprocessing", "workers": 1, "tasks": 0})
REFERENCE.update({"tut-child": "tut-serial", "cell-mp-one": "cell-serial"})
ONE_ONLY = ["tut-child", "cell-mp-one"]  # run only with --probes one
ONE = ["tut-serial", "tut-child", "cell-serial", "cell-mp-one"]


def run_script(path: Path, half: int, args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-P", str(path), str(half), *args],
        check=True,
        capture_output=True,
        text=True,
        env=interpreters.child_env(),
    )
    return json.loads(out.stdout)


def run_cell(
    tmp: Path, half: int, variant: str, workers: int, tasks: int, root: str | None = None, driver: Path | None = None
) -> dict:
    """One repetition of a gilbench cell, started exactly as the orchestrator starts it (its own session).
    `driver`: a script run in place of `-m gilbench.cell`, with the same arguments (a cell with a part swapped)."""
    spec = CellSpec(
        workload_ref="gilbench.workloads.count",
        params={"iterations": 2 * half, "tasks": tasks},
        variant=variant,
        workers=workers,
        start_method="fork",
        scratch_dir=str(tmp),
    )
    spec_path, result_path = tmp / "spec.json", tmp / "result.json"
    storage.atomic_write(spec_path, spec.to_json())
    lifeline_read, lifeline_write = os.pipe()  # as the orchestrator does: the cell's lifeline
    try:
        subprocess.run(
            (
                interpreters.module_command(sys.executable, "gilbench.cell")
                if driver is None
                else [sys.executable, "-P", str(driver)]
            )
            + [str(spec_path), str(result_path), str(lifeline_read)],
            check=True,
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            pass_fds=(lifeline_read,),
            env=interpreters.child_env() if root is None else dict(os.environ, PYTHONPATH=root),
            start_new_session=True,
        )
    finally:
        os.close(lifeline_read)
        os.close(lifeline_write)
    result = CellResult.from_json(result_path.read_text())
    if not result.ok:
        raise RuntimeError(result.error)
    starts = [r.start_s for r in result.task_records]
    ends = [r.end_s for r in result.task_records]
    return {
        "total_s": result.total_s,
        "until_first_task_s": min(starts),
        "tasks_s": max(ends) - min(starts),
        "after_last_task_s": result.total_s - max(ends),
        "task_walls": [r.end_s - r.start_s for r in sorted(result.task_records, key=lambda r: r.task)],
    }


def paired(ratios: list[float]) -> tuple[float, float, float]:
    """Geometric mean of per-round ratios and its 95 % t interval (the statistic of gilbench's speedups)."""
    from scipy import stats

    logs = [math.log(r) for r in ratios]
    mean, n = statistics.fmean(logs), len(logs)
    half = stats.t.ppf(0.975, n - 1) * statistics.stdev(logs) / math.sqrt(n) if n > 1 else math.inf
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def order_interval(values: list[float]) -> tuple[float, float, float]:
    """Median and its distribution-free ~95 % interval (order statistics of the binomial)."""
    from scipy import stats

    ordered, n = sorted(values), len(values)
    lo = max(int(stats.binom.ppf(0.025, n, 0.5)) - 1, 0)
    hi = min(n - lo - 1, n - 1)
    return statistics.median(ordered), ordered[lo], ordered[hi]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--half", type=float, default=2.5e7, help="iterations per half (the tutorial: 1e8)")
    parser.add_argument("--probes", choices=["all", "check", "one"], default="all")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write every reading here")
    parser.add_argument("--other", help="a folder holding another gilbench package: its cells run beside")
    args = parser.parse_args()
    half = int(args.half)
    names = {"all": [n for n in PROBES if n not in ONE_ONLY], "check": CHECK, "one": ONE}[args.probes]
    if args.other:
        for name in ("cell-serial", "cell-mp"):
            PROBES[f"{name}@other"] = (PROBES[name][0], {**PROBES[name][1], "root": os.path.abspath(args.other)})
            REFERENCE[f"{name}@other"] = REFERENCE[name]
            names.append(f"{name}@other")
    rng = random.Random(args.seed)
    readings: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="gilbench-gap-") as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "tutorial.py"
        script.write_text(SCRIPT)
        for r in range(args.rounds):
            order = names[:]
            rng.shuffle(order)
            for name in order:
                kind, how = PROBES[name]
                readings[name].append(
                    run_script(script, half, how) if kind == "script" else run_cell(tmp, half, **how)  # type: ignore[arg-type]
                )
            print(
                f"round {r + 1}: " + ", ".join(f"{name} {readings[name][-1]['total_s']:.3f}" for name in names),
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"half": half, "rounds": args.rounds, "readings": readings}, indent=1))
    total = {name: [x["total_s"] for x in readings[name]] for name in names}
    print(f"\n{args.rounds} rounds, 2 x {half:.3g} iterations, {sys.executable} ({sys.version.split()[0]})")
    print("probe                 median s   vs its tutorial script: geomean [95 % t interval] of per-round ratios")
    for name in names:
        line = f"{name:<20} {statistics.median(total[name]):8.3f}"
        ref = REFERENCE[name]
        if ref != name and ref in total:
            g, lo, hi = paired([a / b for a, b in zip(total[name], total[ref], strict=True)])
            line += f"   {g:.3f}x [{lo:.3f}-{hi:.3f}] of {ref}"
        print(line)
    if args.probes == "one":
        return 0  # no speedups: each program's one forked child against its own main thread, above
    if "cell-mp" in readings:
        for phase in ("until_first_task_s", "tasks_s", "after_last_task_s"):
            values = [x[phase] for x in readings["cell-mp"]]
            print(f"  cell-mp {phase}: median {statistics.median(values):.4f} s")
    tut = [a / b for a, b in zip(total["tut-serial"], total["tut-par"], strict=True)]
    cell = [a / b for a, b in zip(total["cell-serial"], total["cell-mp"], strict=True)]
    print(
        f"speedup, tutorial's scripts: median {order_interval(tut)[0]:.3f}x; "
        f"gilbench's cells: {order_interval(cell)[0]:.3f}x"
    )
    ratio = [c / t for c, t in zip(cell, tut, strict=True)]
    med, lo, hi = order_interval(ratio)
    g, glo, ghi = paired(ratio)
    print(
        f"gilbench's speedup / the tutorial's, per round: median {med:.3f} [{lo:.3f}-{hi:.3f}] (order statistics), "
        f"geomean {g:.3f} [{glo:.3f}-{ghi:.3f}] (t)"
    )
    if args.other:
        other = [a / b for a, b in zip(total["cell-serial@other"], total["cell-mp@other"], strict=True)]
        g, glo, ghi = paired([c / t for c, t in zip(other, tut, strict=True)])
        print(
            f"the other gilbench's speedup / the tutorial's: geomean {g:.3f} [{glo:.3f}-{ghi:.3f}] (t), median "
            f"{order_interval([c / t for c, t in zip(other, tut, strict=True)])[0]:.3f}"
        )
    for cell_name, tut_name in (("cell-serial", "tut-serial"), ("cell-mp", "tut-par")):
        per_round = [a / b for a, b in zip(total[cell_name], total[tut_name], strict=True)]
        med, lo, hi = order_interval(per_round)
        print(f"stopwatch {cell_name} / {tut_name}: median {med:.3f} [{lo:.3f}-{hi:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
