"""The pytest-benchmark front door: the same cells, measured by the same cell runner.

tests/test_benchmarks.py parametrizes over the registry and calls `measure_cell` through
`benchmark.pedantic`; each round is one repetition run by `runner.run_repetition` in a
fresh child process, exactly as `gilbench run` does. The cell's own rows (ResultRow and
TaskRow, the CSV schema) travel in `extra_info["gilbench"]`, so `gilbench import` writes the
same results.csv. pytest-benchmark's own timings (min/mean/... in its table and JSON) are of
the whole round and so include starting the child process and its imports; the imported CSV
carries the cell's own startup_s/compute_s/total_s.
"""

from __future__ import annotations

import functools
import json
import os
import socket
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path

from . import storage
from .errors import UsageError
from .storage import ResultRow, TaskRow

SCHEMA = "gilbench-pytest/1"


@functools.lru_cache(maxsize=1)
def session_environment() -> dict:
    """Collected once per pytest process (it samples CPU use for half a second)."""
    from . import environment

    return environment.collect_environment()


def all_cases(size: str):
    """(workload, variant, workers) for every built-in workload and every variant available here."""
    from . import registry, variants

    available = [v for v, why in variants.local_availability().items() if why is None]
    cases = []
    for name in registry.BUILTIN:
        for variant in available:
            for workers in variants.worker_counts(variant, [1, 2]):
                cases.append((name, variant, workers))
    return cases


class CellBench:
    """A callable for benchmark.pedantic: each call is one repetition of one cell, in a child process."""

    def __init__(self, workload: str, variant: str, workers: int, size: str, warmup_rounds: int, run_id: str):
        from . import inputs, options, plan, registry

        self.wl = registry.resolve(workload)
        import tempfile

        # nothing is written by a front-door cell: probe a folder that is writable, not the user's working folder
        self.config = options.resolve(
            options.RunOptions(
                workloads=workload,
                variants=variant,
                workers=str(workers),
                size=size,
                no_progress=True,
                no_report=True,
                out=tempfile.gettempdir(),
            )
        )
        prepared, found = plan.prepare_inputs(self.config)
        self.cell = plan.build_cells(self.config, inputs.recorded(found))[0]
        self.prepared = prepared[self.wl.name]
        self.env = session_environment()
        self.warmup_rounds, self.run_id = warmup_rounds, run_id
        self.rows: list[ResultRow] = []
        self.task_rows: list[TaskRow] = []
        self.calls = 0

    def __call__(self) -> ResultRow:
        from . import runner
        from .blocks import Repetition

        warmup = self.calls < self.warmup_rounds
        repeat = 0 if warmup else self.calls - self.warmup_rounds + 1
        self.calls += 1
        rep = Repetition(self.cell, repeat, 0)  # block_workers 0: pytest-benchmark's rounds are not paired
        started = datetime.now(UTC).isoformat(timespec="seconds")
        result, usage = runner.run_repetition(self.cell, self.prepared, self.config)
        row, tasks = runner.make_rows(self.run_id, rep, result, self.env, started, self.config, usage)
        self.rows.append(row)
        self.task_rows.extend(tasks)
        return row

    def extra_info(self) -> dict:
        first = self.rows[-1]
        return {
            "schema": SCHEMA,
            "workload": self.cell.workload,
            "size": self.cell.size,
            "variant": self.cell.variant,
            "workers": self.cell.workers,
            "startup_s": first.startup_s,
            "cpu_s": first.cpu_s,
            "busy_cores": first.busy_cores,
            "gil_enabled": first.gil_enabled,
            "free_threaded": first.free_threaded,
            "python_version": first.python_version,
            "usable_cpus": first.usable_cpus,
            "rows": [asdict(r) for r in self.rows],
            "tasks": [asdict(t) for t in self.task_rows],
            "environment": self.env,
        }


def new_run_id() -> str:
    return (
        f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{socket.gethostname().split('.')[0]}-pytest-{os.urandom(2).hex()}"
    )


def import_json(path, out="results") -> Path:
    """pytest-benchmark JSON -> a run folder with results.csv and tasks.csv of gilbench's schema."""
    from . import run_folder

    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{str(path)!r} is not JSON: {exc}") from None
    if not isinstance(data, dict) or "benchmarks" not in data or "machine_info" not in data:
        raise UsageError(f"{str(path)!r} is not a pytest-benchmark JSON file (no 'benchmarks' and 'machine_info')")
    ours = [b for b in data["benchmarks"] if (b.get("extra_info") or {}).get("gilbench", {}).get("schema") == SCHEMA]
    if not ours:
        raise UsageError(f"{str(path)!r} holds no gilbench benchmarks (run them with: make bench-pytest)")
    known_r, known_t = {f.name for f in fields(ResultRow)}, {f.name for f in fields(TaskRow)}
    rows, tasks = [], []
    for bench in ours:
        info = bench["extra_info"]["gilbench"]
        try:
            rows += [
                ResultRow(**{"scaling": "strong", "scale": 1, **{k: v for k, v in r.items() if k in known_r}})
                for r in info["rows"]
            ]  # JSON from before weak scaling: strong, as it was
            tasks += [TaskRow(**{k: v for k, v in t.items() if k in known_t}) for t in info["tasks"]]
        except (KeyError, TypeError) as exc:
            raise UsageError(
                f"{str(path)!r}: benchmark {bench.get('name')!r} has malformed gilbench rows ({exc})"
            ) from None
    storage.check_writable(Path(out))
    run_id, run_dir = run_folder.new_run_dir(Path(out))
    env = dict(ours[0]["extra_info"]["gilbench"].get("environment", {}))
    env.update(
        run_id=run_id,
        source=str(Path(path).resolve()),
        front_door="pytest-benchmark",
        config={
            "size": rows[0].size if rows else "",
            "repeat": max((r.repeat for r in rows), default=0),
            "start_method": rows[0].start_method if rows else "",
        },
    )
    storage.atomic_write(run_dir / storage.ENVIRONMENT, json.dumps(env, indent=2))
    storage.append_rows(
        run_dir / storage.RESULTS, [r.__class__(**{**asdict(r), "run_id": run_id}) for r in rows], ResultRow
    )
    storage.append_rows(
        run_dir / storage.TASKS, [t.__class__(**{**asdict(t), "run_id": run_id}) for t in tasks], TaskRow
    )
    run_folder.point_latest(Path(out), run_dir)
    return run_dir
