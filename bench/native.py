"""Native thread pools (OpenBLAS, MKL, BLIS, OpenMP) under the Python threads and processes a variant starts.

NumPy and the libraries under it release the GIL and run pools of native threads of their own; a task's own CPU
time (`time.thread_time`) does not see them, and workers x native threads can oversubscribe the cores. This
module finds the pools inside a worker (threadpoolctl, optional: a --python interpreter without it records
`unknown`), limits them (`--native-threads`), and names the environment variables that set them.
Standard library only at import time: the cell and its workers import it under any interpreter.
"""

from __future__ import annotations

import os
import threading

# The variables the common native pools read when their library loads (threadpoolctl's documentation lists
# the same): setting them before the imports limits pools that load later, in this process and in every child.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# How the cell tells its workers (threads, forked, spawned or pooled processes) the limit to apply: an
# environment variable reaches every kind of worker without a change to any variant's arguments.
LIMIT_VARIABLE = "GILBENCH_NATIVE_THREADS"
LEAVE = "leave"  # --native-threads leave: record the pools, change nothing
AUTO = "auto"  # --native-threads auto: usable CPUs // workers, at least 1
NONE_FOUND = "none"  # no native pool loaded in the worker
UNKNOWN = "unknown"  # threadpoolctl is not importable where the worker runs

# Parts of the file names of the libraries threadpoolctl knows: where none is mapped into the process (Linux's
# /proc/self/maps says so in well under a millisecond), there is no pool, and threadpoolctl's import (about 12 ms,
# paid by every spawned worker before its first task) is skipped.
POOL_LIBRARIES = ("openblas", "mkl_rt", "blis", "gomp", "iomp", "libomp", "flexiblas", "vcomp", "accelerate")
_done = threading.local()  # per thread: OpenMP's limit is a per-thread setting, so each worker thread applies it


def setting_words(setting: str) -> str:
    """A --native-threads setting in words (a cell's applied limit, or a run's setting as given): `1` -> `native
    threads limited to 1`, `leave` -> `native threads left as they were`: the report's, the terminal's and the
    plan's."""
    if setting == LEAVE:
        return "native threads left as they were"
    if setting == AUTO:
        return f"native threads limited to usable CPUs / workers ({AUTO})"
    return f"native threads limited to {setting}"


def settings(option: str) -> list[str]:
    """--native-threads's settings, in the order given (`leave,1` -> ['leave', '1'])."""
    return option.split(",")


def reference_setting(settings) -> str:
    """The --native-threads setting every other one is compared with: `leave` (the pools as the libraries and the
    environment set them: what the user has without gilbench), else the first one measured."""
    settings = list(dict.fromkeys(settings))
    return LEAVE if LEAVE in settings else settings[0]


def limit_for(setting: str, workers: int, usable_cpus: int) -> int | None:
    """The thread count a cell's pools are limited to, or None for `leave`."""
    if setting == LEAVE:
        return None
    if setting == AUTO:
        return max(1, usable_cpus // max(1, workers))
    return int(setting)


def setting_text(limit: int | None) -> str:
    """A limit as results.csv records it: the number, or `leave`."""
    return LEAVE if limit is None else str(limit)


def set_limit_variables(limit: int) -> None:
    """Before the workload's imports: every pool loaded later, here or in a child process, starts limited."""
    for name in (*THREAD_VARIABLES, LIMIT_VARIABLE):
        os.environ[name] = str(limit)


def none_mapped() -> bool:
    """True where this process has certainly loaded no pool library (Linux); False where it may have."""
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read()
    except OSError:
        return False
    return not any(name in maps for name in POOL_LIBRARIES)


def pools() -> list[dict] | None:
    """threadpoolctl's description of each native pool loaded in this process; None without threadpoolctl."""
    if none_mapped():
        return []
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    try:
        return threadpool_info()
    except Exception:  # noqa: BLE001 - e.g. ctypes refused in a subinterpreter: the pools stay unknown
        return None


def summary(found: list[dict] | None) -> str:
    """One compact text: `openblas=2;openmp=2` (library=threads, each distinct pool once), `none` or `unknown`."""
    if found is None:
        return UNKNOWN
    parts = list(dict.fromkeys(f"{p.get('internal_api', '?')}={p.get('num_threads', '?')}" for p in found))
    return ";".join(parts) or NONE_FOUND


def apply_limit(limit: int) -> None:
    """Limit every pool loaded in this process (OpenMP's: for the calling thread) to `limit` threads."""
    if none_mapped():
        return  # nothing loaded yet: the environment variables the cell set limit what loads later
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return  # the environment variables set by the cell still limit pools that load after them
    threadpool_limits(limits=limit)


def worker_pools() -> str:
    """In a worker, before its first task is timed: apply the cell's limit (once per thread) and say what pools
    this worker has, after the workload's imports."""
    if getattr(_done, "pid", None) != os.getpid():  # a forked child inherits the forking thread's locals
        limit = os.environ.get(LIMIT_VARIABLE)
        if limit:
            apply_limit(int(limit))
        _done.summary, _done.pid = summary(pools()), os.getpid()
        _done.tids = native_thread_ids() if _done.summary not in (NONE_FOUND, UNKNOWN) else ()
    return _done.summary


def worker_native_tids() -> tuple[int, ...]:
    """The native thread ids worker_pools() found in this worker (after it ran in this thread)."""
    return getattr(_done, "tids", ())


def native_thread_ids() -> tuple[int, ...]:
    """The threads of this process that no Python thread is: the native pools' (OpenBLAS, OpenMP). Their names do
    not tell them apart (on Linux an OpenBLAS thread's /proc/PID/task/TID/comm is the interpreter's, `python`, as
    a Python thread's is), but the interpreter knows its own threads' kernel ids (threading.enumerate()); read
    after the pools loaded, every other thread of the process is native. Empty off Linux."""
    try:
        tids = {int(t) for t in os.listdir(f"/proc/{os.getpid()}/task")}
    except OSError:
        return ()
    python = {t.native_id for t in threading.enumerate()}
    return tuple(sorted(tids - python))


def variables() -> dict[str, str]:
    """The thread-count variables set in this environment (unset ones left out)."""
    return {name: os.environ[name] for name in THREAD_VARIABLES if name in os.environ}


def combined(summaries) -> str:
    """The distinct worker summaries of one repetition, `|` between workers that saw different pools."""
    return " | ".join(dict.fromkeys(s for s in summaries if s)) or UNKNOWN
