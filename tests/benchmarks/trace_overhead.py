"""What does the --trace sampler cost? The same cells with and without it, alternated.

    .venv/bin/python tests/benchmarks/trace_overhead.py [--rounds 8] [--size standard]

For count at 2 workers (threading and multiprocessing), each round runs one repetition without
the sampler and one with it (the order alternates from round to round), through the orchestrator
exactly as `gilbench run` and `gilbench run --trace` do. Prints the median total_s of each, their
ratio, and the sampler's own CPU time as a share of one core (from its getrusage, start-up
excluded). A benchmark, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--size", default="standard")
    args = ap.parse_args()
    from gilbench import inputs, options, plan, runner, states

    config = options.resolve(
        options.RunOptions(
            workloads="count",
            variants="threading,multiprocessing",
            workers="2",
            size=args.size,
            out=tempfile.gettempdir(),
        )
    )
    prepared, found = plan.prepare_inputs(config)
    cells = plan.build_cells(config, inputs.recorded(found))
    interval = states.sampling_interval(sys.getswitchinterval())
    times = {(c.variant, traced): [] for c in cells for traced in (False, True)}
    shares = {c.variant: [] for c in cells}
    for r in range(args.rounds):
        for cell in cells:
            for traced in (False, True) if r % 2 == 0 else (True, False):
                with tempfile.TemporaryDirectory() as scratch:
                    path = str(Path(scratch) / "samples.json")
                    result, _ = runner.run_repetition(
                        cell, prepared["count"], config, (interval, path) if traced else None
                    )
                    assert result.ok, result.error
                    times[(cell.variant, traced)].append(result.total_s)
                    if traced:
                        data = json.loads(Path(path).read_text())
                        shares[cell.variant].append(data["cpu_s"] / data["wall_s"])
    print(f"count ({args.size}), 2 workers, {args.rounds} rounds alternated; sampler every {interval * 1000:.1f} ms")
    for cell in cells:
        plain = statistics.median(times[(cell.variant, False)])
        traced = statistics.median(times[(cell.variant, True)])
        print(
            f"  {cell.variant:16s} without {plain:.3f} s   with sampler {traced:.3f} s   ratio {traced / plain:.3f}"
            f"   sampler CPU {statistics.median(shares[cell.variant]):.1%} of one core"
            f" (range {min(shares[cell.variant]):.1%}-{max(shares[cell.variant]):.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
