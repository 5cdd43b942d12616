"""pyperformance's benchmarks as gilbench workloads: the adapter that runs inside cells and workers.

A pyperformance benchmark is a script, `bm_NAME/run_benchmark.py`, that hands its timed function to pyperf's
`Runner` (`bench_func`, `bench_time_func`, `bench_async_func`). Here the script runs with a stand-in `pyperf`
module of gilbench's own, which *captures* what the script hands it (the function and its arguments) instead
of measuring; a gilbench task is then `calls` calls of the captured function (for a time function: one call
with `calls` as its loop count). Two modes:

- `as-written`: one copy of the benchmark's module per process, as pyperformance runs it; threads share it.
- `isolated`: a private copy of the module per thread (the script executed once per thread), so a benchmark
  that keeps its state in module globals (richards) can run in several threads at once.

The orchestrator finds the script in the installed pyperformance package (bench/suites/pyperformance.py) and
hands the cell its path, inside the workload's ref: `pyperformance:{"path": ..., "argv": [...], "mode": ...}`.
This module uses the standard library only: cells under other interpreters (given with --python) import it
without pyperformance or pyperf installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import sysconfig
import threading
import time
import types

PREFIX = "pyperformance:"
MODES = ("as-written", "isolated")

DESCRIPTION = "a pyperformance benchmark: real Python code, its timed function called `calls` times per run"

# `seconds`: about how long the whole run's calls take in one thread (the calibration's target, under the first
# --python); `calls`: the calls in all, split into tasks (0: chosen from `seconds` by a timed call); `tasks`: 0 is
# one task per worker (count's split), any other value fixes the number of tasks.
SIZES = {
    "smoke": {"seconds": 0.05, "calls": 0, "tasks": 0},
    "quick": {"seconds": 0.4, "calls": 0, "tasks": 0},
    "standard": {"seconds": 1.0, "calls": 0, "tasks": 0},
    "full": {"seconds": 4.0, "calls": 0, "tasks": 0},
}
WEAK_SCALING = "calls"


class Unavailable(Exception):
    """The benchmark cannot run as a gilbench workload here (a missing package, a command instead of a function)."""


def make_ref(path: str, argv: list[str], mode: str) -> str:
    return PREFIX + json.dumps({"path": path, "argv": list(argv), "mode": mode}, sort_keys=True)


def parse_ref(ref: str) -> dict:
    return json.loads(ref[len(PREFIX) :])


def flavour() -> str:
    """What a benchmark's results may depend on: the interpreter's version and build (expected results are per
    flavour, measured by a probe under each interpreter)."""
    return f"{sys.version}|{bool(sysconfig.get_config_var('Py_GIL_DISABLED'))}"


# ---------------------------------------------------------------- the stand-in for pyperf


class Captured:
    """One thing the script handed to the Runner."""

    def __init__(self, name, kind, func, args):
        self.name, self.kind, self.func, self.args = name, kind, func, args


class _Capture:
    """What one execution of a script handed to its Runner(s)."""

    def __init__(self, argv: list[str]):
        self.argv = argv
        self.items: list[Captured] = []


_current: _Capture | None = None  # the execution in progress (executions are serialised by _exec_lock)
_exec_lock = threading.RLock()


class Runner:
    """pyperf.Runner's surface as pyperformance's scripts use it: metadata, argparser, parse_args and the bench_*
    methods, which record instead of measuring."""

    def __init__(self, *args, add_cmdline_args=None, metadata=None, **kwargs):
        self.metadata = dict(metadata or {})
        self.argparser = argparse.ArgumentParser(prog="run_benchmark.py")
        self.args = None
        self._capture = _current

    def parse_args(self, args=None):
        if self.args is None:
            self.args = self.argparser.parse_args(self._capture.argv if args is None else args)
        return self.args

    def _add(self, name, kind, func, args):
        self.parse_args()
        self._capture.items.append(Captured(name, kind, func, args))

    def bench_func(self, name, func, *args, inner_loops=None, metadata=None):
        self._add(name, "func", func, args)

    def bench_time_func(self, name, time_func, *args, inner_loops=None, metadata=None):
        self._add(name, "time", time_func, args)

    def bench_async_func(self, name, func, *args, inner_loops=None, metadata=None):
        self._add(name, "async", func, args)

    def bench_command(self, name, command):
        raise Unavailable(
            f"{name!r} times a command in a subprocess (pyperf's bench_command), not a function gilbench can call"
        )


def stand_in() -> types.ModuleType:
    module = types.ModuleType("pyperf", "gilbench's stand-in for pyperf: captures what a benchmark hands its Runner")
    vars(module).update(
        Runner=Runner,
        perf_counter=time.perf_counter,
        python_implementation=lambda: sys.implementation.name.lower(),
        python_has_jit=lambda: False,
        __version__="2.11.0",  # the pyperf API this stands in for
    )
    return module


def execute(path: str, argv: list[str]) -> list[Captured]:
    """Run a benchmark script once as `__main__` with the stand-in pyperf; what it handed the Runner. Every call
    makes a new module namespace: the functions captured keep their own globals (a private copy of its state)."""
    import runpy

    global _current
    with _exec_lock:  # sys.modules, sys.argv and sys.path are the process's: one execution at a time
        saved = sys.modules.get("pyperf"), list(sys.argv), list(sys.path)
        capture = _Capture(list(argv))
        _current = capture
        sys.modules["pyperf"] = stand_in()
        sys.argv[:] = [path, *argv]
        sys.path.insert(0, os.path.dirname(path))  # as `python run_benchmark.py` has it
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as exc:  # argparse's error exit, or the script's own
            raise Unavailable(
                f"the benchmark script exited ({exc.code}) before handing a function to its Runner"
            ) from None
        finally:
            _current = None
            if saved[0] is None:
                sys.modules.pop("pyperf", None)
            else:
                sys.modules["pyperf"] = saved[0]
            sys.argv[:] = saved[1]
            sys.path[:] = saved[2]
    if not capture.items:
        raise Unavailable("the benchmark script handed no function to its Runner")
    return capture.items


def call(items: list[Captured], calls: int) -> list:
    """`calls` calls of each captured function, in the order the script handed them; the fingerprints of what the
    functions returned, counted ([[fingerprint, n], ...]); a time function's return value is a time, not a result."""
    seen: dict[str, int] = {}
    for item in items:
        if item.kind == "time":
            item.func(calls, *item.args)
        elif item.kind == "async":
            import asyncio

            async def repeat(item=item):
                for _ in range(calls):
                    await item.func(*item.args)

            asyncio.run(repeat())
        else:
            last, last_print = object(), ""
            for _ in range(calls):
                result = item.func(*item.args)
                if result is None:
                    continue
                if result is not last:  # the same object again: its fingerprint is not computed again
                    last, last_print = result, fingerprint(result)
                seen[last_print] = seen.get(last_print, 0) + 1
    return sorted([k, v] for k, v in seen.items())


def fingerprint(value) -> str:
    """A short digest of a result that is the same in every process (sets and dicts in a canonical order; objects
    of other types by their type alone), to compare results across threads, processes and cells."""
    return hashlib.sha1(_canonical(value, 0).encode()).hexdigest()[:12]


def _canonical(value, depth: int) -> str:
    if depth > 20:
        return "..."
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return type(value).__name__ + "[" + ",".join(_canonical(v, depth + 1) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "set{" + ",".join(sorted(_canonical(v, depth + 1) for v in value)) + "}"
    if isinstance(value, dict):
        items = sorted(_canonical(k, depth + 1) + ":" + _canonical(v, depth + 1) for k, v in value.items())
        return "dict{" + ",".join(items) + "}"
    return "<" + type(value).__module__ + "." + type(value).__qualname__ + ">"


# ---------------------------------------------------------------- the workload module for one benchmark


class Benchmark:
    """One benchmark in one mode: gilbench's workload protocol (SIZES, make_tasks, run_task, check)."""

    def __init__(self, ref: str):
        spec = parse_ref(ref)
        self.path, self.argv, self.mode = spec["path"], spec["argv"], spec["mode"]
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r} (accepted: {', '.join(MODES)})")
        self.name = os.path.basename(os.path.dirname(self.path)).removeprefix("bm_")
        self.shared: list[Captured] | None = None  # as written: the process's one copy
        self.spares: list[list[Captured]] = []  # isolated: copies made before the timing, one per thread
        self.local = threading.local()
        self.lock = threading.Lock()

    def load(self) -> list[Captured]:
        """Execute the script once (outside any task's timing: at load in every worker process)."""
        if self.shared is None:
            self.shared = execute(self.path, self.argv)
            if self.mode == "isolated":
                self.spares.append(self.shared)
        return self.shared

    def make_tasks(self, params, workers):
        self.load()
        n_tasks = min(params["tasks"] or workers, params["calls"])
        if self.mode == "isolated":  # a copy per thread that may run tasks, made here, before the timing
            while len(self.spares) < min(workers, n_tasks):
                self.spares.append(execute(self.path, self.argv))
        base, extra = divmod(params["calls"], n_tasks)
        return [base + (1 if i < extra else 0) for i in range(n_tasks)]

    def items(self) -> list[Captured]:
        if self.mode == "as-written":
            return self.load()
        mine = getattr(self.local, "items", None)
        if mine is None:
            with self.lock:
                mine = self.spares.pop() if self.spares else None
            if mine is None:  # a thread beyond the copies made before the timing (not in gilbench's variants)
                mine = execute(self.path, self.argv)
            self.local.items = mine
        return mine

    def run_task(self, calls):
        return call(self.items(), calls)

    def check(self, params, tasks, results):
        expected = (params.get("expected") or {}).get(flavour())
        prints = {fp for result in results for fp, _ in result}
        if expected is not None and prints - {expected}:
            raise ValueError(
                f"results differ from a single thread's: fingerprints {sorted(prints)}, expected {expected} "
                f"(the benchmark's function returned something else)"
            )
        if expected is None and len(prints) > 1:
            raise ValueError(f"results differ between calls: fingerprints {sorted(prints)}")

    def module(self) -> types.ModuleType:
        module = types.ModuleType(f"gilbench_pyperformance_{self.name}", __doc__)
        vars(module).update(
            DESCRIPTION=DESCRIPTION,
            SIZES=SIZES,
            WEAK_SCALING=WEAK_SCALING,
            make_tasks=self.make_tasks,
            run_task=self.run_task,
            check=self.check,
            BENCHMARK=self,
        )
        return module


def load(ref: str, eager: bool = True) -> types.ModuleType:
    """The workload module of a pyperformance ref (registry.load calls this in every cell and worker): the script
    is executed at once, outside the timing. eager=False (the orchestrator): nothing is executed."""
    bench = Benchmark(ref)
    if eager:
        bench.load()
    return bench.module()


# ---------------------------------------------------------------- the probe: availability, cost, expected results

PROBE_S = 0.1  # time spent calling a benchmark to measure one call
THREADS_S = 0.2  # the quick check of two threads sharing the as-written module


def probe_one(ref: str) -> dict:
    """Under this interpreter: can the benchmark run, how long one call takes, what a single thread's calls return,
    and whether two threads sharing its module (as written) fail or return something else."""
    bench = Benchmark(ref)
    try:
        items = bench.load()
    except Unavailable as exc:
        return {"ok": False, "reason": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - an import the interpreter lacks, or the script failing
        return {"ok": False, "reason": one_line(exc)}
    try:
        started = time.perf_counter()
        first = call(items, 1)  # the single thread's result (and, for a long call, its time)
        n, elapsed = 1, time.perf_counter() - started
        if elapsed < PROBE_S:  # a short call: time more of them, the first (warm-up) left out
            n, started = 0, time.perf_counter()
            while True:
                call(items, 1)
                n += 1
                elapsed = time.perf_counter() - started
                if elapsed >= PROBE_S or n >= 1000:
                    break
    except BaseException as exc:  # noqa: BLE001
        return {"ok": False, "reason": f"the benchmark failed when called: {one_line(exc)}"}
    prints = {fp for fp, _ in first}
    expected = next(iter(prints)) if len(prints) == 1 else None
    return {
        "ok": True,
        "per_call_s": elapsed / n,
        "expected": expected,
        "flavour": flavour(),
        "kinds": [item.kind for item in items],
        "functions": [item.name for item in items],
        "threads": threads_check(items, expected, elapsed / n),
    }


def threads_check(items: list[Captured], expected: str | None, per_call_s: float) -> str | None:
    """Two threads calling the one as-written copy at once, for about THREADS_S: None if nothing went wrong, else
    what did (a benchmark that keeps its state in module globals corrupts it, and may then loop forever: the
    threads are daemons, given a deadline, and the probe's process ends with os._exit after answering)."""
    problems: list[str] = []
    calls = max(1, min(50, int(THREADS_S / 2 / max(per_call_s, 1e-6))))
    barrier = threading.Barrier(2)

    def work():
        try:
            barrier.wait()
            for fp, _ in call(items, calls):
                if expected is not None and fp != expected:
                    problems.append("returned a different result than a single thread")
                    break
        except BaseException as exc:  # noqa: BLE001
            problems.append(one_line(exc))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + max(10.0, 30 * calls * per_call_s)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        return (
            f"two threads did not finish {calls} call(s) each in {max(10.0, 30 * calls * per_call_s):.0f} s: they hang"
        )
    return problems[0] if problems else None


def one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        text += f" (install it under this interpreter: {sys.executable} -m pip install {exc.name.split('.')[0]})"
    return text[:300]


def main(argv: list[str]) -> int:
    """python -P -m gilbench.workloads.pyperformance REF: the probe's answer, one JSON line; then the process ends at
    once (os._exit), threads a broken benchmark left looping included."""
    answer = probe_one(argv[0])
    print("GILBENCH-PROBE " + json.dumps(answer), flush=True)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
