"""Variants: the ways of executing a workload's tasks. Runs inside the cell process.

Every variant calls the same instrumented task function, so every variant yields the same
per-task record (pid, thread, start and end on CLOCK_MONOTONIC, the task's own CPU time).
Standard library only: this module is imported by other interpreters given with --python.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from . import native, oslayer, registry
from .protocol import TaskRecord


@dataclass(frozen=True)
class Variant:
    """Everything gilbench knows about one way of running tasks; every other module reads it from here."""

    name: str  # as the CLI, CSV and charts spell it
    description: str  # one line, for `gilbench list` and the report
    runner: Callable  # (ref, tasks, workers, start_method, **options) -> Execution, inside the cell process
    family: str  # "serial", "threads", "processes" or "interpreters": what the report says about it
    colour: str  # Okabe-Ito, distinguishable with every common colour-vision deficiency
    marker: str
    default: bool = False  # in `gilbench run`'s default --variants
    fixed_workers: int | None = None  # runs at this worker count only, whatever --workers says
    ceiling: bool = False  # the machine's measured limit: drawn as a reference, not as a variant line
    requires: str | None = None  # an importable module it needs (the reason it is unavailable without it)

    def __post_init__(self):  # a mistyped family would silently drop the variant from the report's sentences
        if self.family not in FAMILIES:
            raise ValueError(f"variant {self.name!r}: family {self.family!r} is not one of {', '.join(FAMILIES)}")


FAMILIES = ("serial", "threads", "processes", "interpreters")
EXTRAS = "pip install 'gilbench[distributed]'"


def interpreter_pool_class():
    """InterpreterPoolExecutor from the standard library (3.14+) or the PEP 734 backport (3.13)."""
    try:
        from concurrent.futures import InterpreterPoolExecutor

        return InterpreterPoolExecutor
    except ImportError:
        pass
    for backport in ("interpreters_backport", "interpreters_backports"):  # 0.5 and earlier names
        try:
            module = __import__(f"{backport}.concurrent.futures", fromlist=["InterpreterPoolExecutor"])
            return module.InterpreterPoolExecutor
        except (ImportError, AttributeError):
            continue
    return None


def local_availability() -> dict[str, str | None]:
    """Variant name -> None when this interpreter can run it, else the reason it cannot."""
    import importlib.util

    found: dict[str, str | None] = {name: None for name in VARIANTS}
    for name, variant in VARIANTS.items():
        if variant.requires and importlib.util.find_spec(variant.requires) is None:
            found[name] = f"needs the {variant.requires} package: {EXTRAS}"
    if interpreter_pool_class() is None:
        found["interpreter-pool"] = (
            f"needs Python >= 3.14, or 3.13 with the backport (pip install interpreters-pep-734); "
            f"this is {sys.version.split()[0]}"
        )
    return found


class WorkerDied(RuntimeError):
    """A worker process ended without delivering its results."""


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@dataclass
class Execution:
    t0: float
    t_end: float
    first_start: float
    last_result: float
    results: list
    records: list[TaskRecord]
    chunksize: int = 1
    workers_seen: dict = field(default_factory=dict)


def gil_enabled() -> bool | None:
    check = getattr(sys, "_is_gil_enabled", None)
    return check() if check else True


def peak_rss_kb() -> int:
    """This process's peak resident memory in KiB (gilbench.oslayer says how each platform reads it)."""
    return oslayer.peak_rss_kb()


class TaskFailed(Exception):
    """A task of the workload raised: which task, the exception in one line, where in the workload's code, and the
    full traceback. Only strings and an int, so it pickles across every executor."""

    def __init__(self, index: int, summary: str, where: str, trace: str):
        super().__init__(index, summary, where, trace)
        self.index, self.summary, self.where, self.trace = index, summary, where, trace

    def __str__(self) -> str:
        return f"{self.summary} (task {self.index}" + (f", at {self.where}" if self.where else "") + ")"

    @classmethod
    def of(cls, index: int, exc: BaseException) -> TaskFailed:
        here = os.path.dirname(os.path.abspath(__file__))
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if not os.path.abspath(f.filename).startswith(here)
        ]
        where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
        summary = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
        return cls(index, summary, where, "".join(traceback.format_exception(exc)))


def instrumented(ref: str, index: int, task):
    """Run one task and time it from inside its worker. Module-level, so every executor can call it."""
    run_task = registry.load(ref).run_task
    pools = native.worker_pools()  # after the workload's imports, before the clock: the limit applied, pools named
    cpu0 = time.thread_time()
    wall_start = time.time()
    start = time.perf_counter()
    try:
        result = run_task(task)
    except Exception as exc:  # noqa: BLE001 - the task's own failure, with its index and traceback
        raise TaskFailed.of(index, exc) from None
    end = time.perf_counter()
    cpu = time.thread_time() - cpu0
    rec = TaskRecord(
        task=index,
        pid=os.getpid(),
        thread_id=threading.get_native_id(),
        host=_hostname(),
        start_s=start,
        end_s=end,
        cpu_s=cpu,
        peak_rss_kb=peak_rss_kb(),
        gil_enabled=gil_enabled(),
        wall_start=wall_start,
        native_threads=pools,
        native_tids=native.worker_native_tids(),
    )
    return result, rec


_host = None


def _hostname() -> str:
    global _host
    if _host is None:
        import socket

        _host = socket.gethostname()
    return _host


def static_slices(n_tasks: int, workers: int) -> list[range]:
    """Contiguous, near-equal slices of the task indices, one per worker (some may be empty)."""
    base, extra = divmod(n_tasks, workers)
    slices, start = [], 0
    for w in range(workers):
        size = base + (1 if w < extra else 0)
        slices.append(range(start, start + size))
        start += size
    return slices


def _finish(t0, results_by_index, records, last_result, chunksize=1) -> Execution:
    t_end = time.perf_counter()
    first_start = min((r.start_s for r in records), default=t0)
    ordered = [results_by_index[i] for i in sorted(results_by_index)]
    return Execution(t0, t_end, first_start, last_result, ordered, records, chunksize)


def run_serial(ref, tasks, workers, start_method, **options) -> Execution:
    t0 = time.perf_counter()
    results, records = {}, []
    for i, task in enumerate(tasks):
        results[i], rec = instrumented(ref, i, task)
        records.append(rec)
    return _finish(t0, results, records, time.perf_counter())


def run_threading(ref, tasks, workers, start_method, **options) -> Execution:
    results, records, errors = {}, [], []
    done_at = []

    def work(indices):
        try:
            for i in indices:
                results[i], rec = instrumented(ref, i, tasks[i])
                records.append(rec)
        except BaseException as exc:  # noqa: BLE001 - reported after join, with its traceback
            errors.append(exc)
        done_at.append(time.perf_counter())

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(s,)) for s in static_slices(len(tasks), workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return _finish(t0, results, records, max(done_at))


def _process_worker(conn, ref, indices, tasks):
    try:
        out = [instrumented(ref, i, t) for i, t in zip(indices, tasks, strict=True)]
        conn.send(("ok", list(indices), out))
    except TaskFailed as exc:
        conn.send(("failed", exc.args))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which fails the cell
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        conn.close()


def processes(start_method: str):
    """multiprocessing's context for the start method, with multiprocessing.connection imported: what the process
    variants use, imported by each before its clock starts (a serial cell's process never imports them)."""
    import multiprocessing
    import multiprocessing.connection  # noqa: F401 - _collect's wait, inside the timed region

    return multiprocessing.get_context(start_method)


def _collect(pending: dict, results: dict, records: list) -> float | None:
    """Receive every worker's message (`pending`: a worker's Connection -> its Process); a worker that exits without
    one fails the cell with its exit status."""
    from multiprocessing.connection import Connection, wait  # imported before the clock started: processes()

    last_result = None
    while pending:
        ready = wait(list(pending) + [p.sentinel for p in pending.values()])
        for conn in [r for r in ready if isinstance(r, Connection) and r in pending]:
            try:
                message = conn.recv()
            except EOFError:
                proc = pending[conn]
                proc.join()
                raise WorkerDied(f"worker pid {proc.pid} died: {describe_exit(proc.exitcode)}") from None
            last_result = time.perf_counter()
            if message[0] == "failed":
                raise TaskFailed(*message[1])
            if message[0] == "error":
                raise RuntimeError(message[1])
            for i, (result, rec) in zip(message[1], message[2], strict=True):
                results[i] = result
                records.append(rec)
            del pending[conn]
        for conn, proc in list(pending.items()):
            if proc.sentinel in ready and not conn.poll():
                proc.join()
                raise WorkerDied(f"worker pid {proc.pid} died: {describe_exit(proc.exitcode)}")
    return last_result


def _reap(procs) -> None:
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join()


def _run_processes(ref, tasks, slices, start_method) -> Execution:
    """One multiprocessing.Process per slice of task indices, all started, then joined."""
    ctx = processes(start_method)
    t0 = time.perf_counter()
    procs, readers = [], {}
    for indices in slices:
        reader, writer = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_process_worker, args=(writer, ref, indices, [tasks[i] for i in indices]))
        procs.append(p)
        readers[reader] = (p, writer)
    for p, writer in readers.values():
        p.start()
        writer.close()  # the child holds its own copy: a worker that dies now reads as EOF here
    readers = {reader: p for reader, (p, _) in readers.items()}
    results: dict[int, object] = {}
    records: list[TaskRecord] = []
    try:
        last_result = _collect(dict(readers), results, records) or t0
        for p in procs:
            p.join()
    finally:
        _reap(procs)
    return _finish(t0, results, records, last_result)


def run_multiprocessing(ref, tasks, workers, start_method, **options) -> Execution:
    return _run_processes(ref, tasks, static_slices(len(tasks), workers), start_method)


def run_process_per_task(ref, tasks, workers, start_method, **options) -> Execution:
    """The tutorial's practical example: one process per task (per image), all started, then joined."""
    return _run_processes(ref, tasks, [range(i, i + 1) for i in range(len(tasks))], start_method)


def _run_in_executor(executor_class, ref, tasks, workers) -> Execution:
    """A concurrent.futures executor whose creation and shutdown are part of the repetition."""
    t0 = time.perf_counter()
    with executor_class(max_workers=workers) as pool:
        results, records = {}, []
        for i, (result, rec) in enumerate(pool.map(instrumented, [ref] * len(tasks), range(len(tasks)), tasks)):
            results[i] = result
            records.append(rec)
        last_result = time.perf_counter()
    return _finish(t0, results, records, last_result)


def run_thread_pool(ref, tasks, workers, start_method, **options) -> Execution:
    from concurrent.futures import ThreadPoolExecutor

    return _run_in_executor(ThreadPoolExecutor, ref, tasks, workers)


def chunksize_for(n_tasks: int, workers: int) -> int:
    # multiprocessing.Pool.map's rule: about four chunks per worker, so the pool can balance load
    # without paying one round trip per task.
    return max(1, -(-n_tasks // (4 * workers)))


def run_process_pool(ref, tasks, workers, start_method, **options) -> Execution:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunksize, context = chunksize_for(len(tasks), workers), processes(start_method)
    t0 = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        results, records = {}, []
        outcomes = pool.map(instrumented, [ref] * len(tasks), range(len(tasks)), tasks, chunksize=chunksize)
        for i, (result, rec) in enumerate(outcomes):
            results[i] = result
            records.append(rec)
        last_result = time.perf_counter()
    except BrokenProcessPool:
        # The pool SIGTERMs the survivors once one worker dies, but our exception can arrive before it
        # has reaped them: take the list, wait for the shutdown, then read the final exit codes.
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=True, cancel_futures=True)
        dead = [p for p in procs if p.exitcode not in (None, 0, -signal.SIGTERM)] or [
            p for p in procs if p.exitcode not in (None, 0)
        ]
        reason = "; ".join(f"worker pid {p.pid} died: {describe_exit(p.exitcode)}" for p in dead)
        raise WorkerDied(reason or "a worker of the process pool died abruptly") from None
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return _finish(t0, results, records, last_result, chunksize)


def _ceiling_worker(conn, barrier, ref, indices, tasks):
    try:
        registry.load(ref)  # imports happen before the barrier: they are not part of the work
        barrier.wait()
        out = [instrumented(ref, i, t) for i, t in zip(indices, tasks, strict=True)]  # results stay here until the end
        conn.send(("ok", list(indices), out))
    except TaskFailed as exc:
        conn.send(("failed", exc.args))
    except BaseException as exc:  # noqa: BLE001
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        conn.close()


def run_ceiling(ref, tasks, workers, start_method, **options) -> Execution:
    """What this machine can give N processes doing 1/N of the work each, with nothing in the way.

    The processes start, import, and wait at a barrier; the clock runs from the first task's
    start to the last task's end, measured inside the workers. No pool, no IPC, no start-up in
    the timed region, so total_s == compute_s and start-up is zero by construction.
    """
    ctx = processes(start_method)
    slices = [s for s in static_slices(len(tasks), workers) if len(s)]
    barrier = ctx.Barrier(len(slices))
    procs, pending = [], {}
    for indices in slices:
        reader, writer = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_ceiling_worker, args=(writer, barrier, ref, indices, [tasks[i] for i in indices]))
        procs.append(p)
        pending[reader] = (p, writer)
    for p, writer in pending.values():
        p.start()
        writer.close()
    started = {reader: p for reader, (p, _) in pending.items()}
    results: dict[int, object] = {}
    records: list[TaskRecord] = []
    try:
        _collect(started, results, records)
        for p in procs:
            p.join()
    finally:
        _reap(procs)
    first = min(r.start_s for r in records)
    last = max(r.end_s for r in records)
    return Execution(first, last, first, last, [results[i] for i in sorted(results)], records)


def run_interpreter_pool(ref, tasks, workers, start_method, **options) -> Execution:
    """Subinterpreters (PEP 734): threads of one process, each running its own interpreter with its own GIL.

    The callable and its arguments are pickled into each interpreter, which imports the
    workload module itself; a module that cannot load in a subinterpreter fails the cell
    with the import error, which is the finding.
    """
    pool_class = interpreter_pool_class()
    if pool_class is None:
        raise RuntimeError(local_availability()["interpreter-pool"])
    return _run_in_executor(pool_class, ref, tasks, workers)


def run_joblib(ref, tasks, workers, start_method, **options) -> Execution:
    """joblib.Parallel with its default backend (loky: reusable worker processes)."""
    from joblib import Parallel, delayed

    t0 = time.perf_counter()
    outcomes = Parallel(n_jobs=workers)(delayed(instrumented)(ref, i, t) for i, t in enumerate(tasks))
    last_result = time.perf_counter()
    try:  # loky keeps its workers for reuse; this cell is done with them
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    except Exception:  # noqa: BLE001 - the cell's process group is swept afterwards anyway
        pass
    results = {i: r for i, (r, _) in enumerate(outcomes)}
    return _finish(t0, results, [rec for _, rec in outcomes], last_result)


def dask_threads(client) -> dict[str, int]:
    """Worker address -> threads, as the scheduler sees them."""
    return {addr: info.get("nthreads", 1) for addr, info in client.scheduler_info()["workers"].items()}


def run_dask(
    ref, tasks, workers, start_method, scheduler: str | None = None, connect_timeout: float = 10, **options
) -> Execution:
    """dask.distributed: a LocalCluster of `workers` single-threaded processes (its start-up counted), or
    `workers` threads of the cluster at `scheduler`. Task records come back with their host."""
    import logging

    from dask.distributed import Client, LocalCluster

    t0 = time.perf_counter()
    wall0 = time.time()
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout=connect_timeout)
        threads = dask_threads(client)
        chosen, have = [], 0
        for addr, n in sorted(threads.items()):
            if have >= workers:
                break
            chosen.append(addr)
            have += n
        if have < workers:
            client.close()
            raise RuntimeError(
                f"the cluster at {scheduler} has {sum(threads.values())} worker threads; {workers} asked"
            )
        if have > workers:
            client.close()
            raise RuntimeError(f"cannot pick exactly {workers} threads from the cluster's workers {threads}")
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        client = Client(cluster)
        chosen = None
    try:
        futures = client.map(instrumented, [ref] * len(tasks), range(len(tasks)), tasks, pure=False, workers=chosen)
        outcomes = client.gather(futures)
        last_result = time.perf_counter()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    records = [rec for _, rec in outcomes]
    for rec in records:  # other hosts' monotonic clocks are unrelated to ours: place tasks by wall clock
        duration = rec.end_s - rec.start_s
        rec.start_s = t0 + (rec.wall_start - wall0)
        rec.end_s = rec.start_s + duration
    results = {i: r for i, (r, _) in enumerate(outcomes)}
    return _finish(t0, results, records, last_result)


# The one definition of every variant. The order is the order of tables, legends and `gilbench list`.
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "serial",
            "a plain loop in one thread (the baseline)",
            run_serial,
            "serial",
            "#000000",
            "*",
            default=True,
            fixed_workers=1,
        ),
        Variant(
            "threading",
            "N threading.Thread objects, each given a static slice of the tasks (the tutorial's code)",
            run_threading,
            "threads",
            "#E69F00",
            "o",
            default=True,
        ),
        Variant(
            "multiprocessing",
            "N multiprocessing.Process objects, each given a static slice of the tasks (the tutorial's code)",
            run_multiprocessing,
            "processes",
            "#56B4E9",
            "^",
            default=True,
        ),
        Variant(
            "process-per-task",
            "one multiprocessing.Process per task, all started, then joined, whatever --workers "
            "says (the tutorial's thumbnail example: a process per image)",
            run_process_per_task,
            "processes",
            "#882255",
            "p",
        ),
        Variant(
            "thread-pool",
            "concurrent.futures.ThreadPoolExecutor, tasks handed out dynamically",
            run_thread_pool,
            "threads",
            "#D55E00",
            "s",
            default=True,
        ),
        Variant(
            "process-pool",
            "concurrent.futures.ProcessPoolExecutor, tasks handed out dynamically in chunks",
            run_process_pool,
            "processes",
            "#0072B2",
            "D",
            default=True,
        ),
        Variant(
            "interpreter-pool",
            "concurrent.futures.InterpreterPoolExecutor: N subinterpreters, each with its own GIL, in one process",
            run_interpreter_pool,
            "interpreters",
            "#009E73",
            "v",
        ),
        Variant(
            "dask",
            "dask.distributed: a LocalCluster of N single-threaded worker processes, or N threads of an "
            "existing cluster",
            run_dask,
            "processes",
            "#CC79A7",
            "P",
            requires="distributed",
        ),
        # black: serial is never drawn as a line, and Okabe-Ito's yellow vanishes on white
        Variant(
            "joblib",
            "joblib.Parallel(n_jobs=N) with its default (loky) process backend",
            run_joblib,
            "processes",
            "#000000",
            "X",
            requires="joblib",
        ),
        Variant(
            "ceiling",
            "the machine's limit: N independent processes, each 1/N of the work, timed from a barrier, no IPC",
            run_ceiling,
            "processes",
            "#444444",
            "_",
            default=True,
            ceiling=True,
        ),
    )
}


def default_variants() -> list[str]:
    return [name for name, v in VARIANTS.items() if v.default]


def in_family(family: str) -> set[str]:
    """The names of the variants of one family (ceiling excluded: it is the machine, not a way to run code)."""
    return {name for name, v in VARIANTS.items() if v.family == family and not v.ceiling}


def worker_counts(variant: str, requested: list[int]) -> list[int]:
    """The worker counts a variant runs at: its fixed count, or every requested one."""
    fixed = VARIANTS[variant].fixed_workers
    return [fixed] if fixed is not None else list(requested)
