"""The cell runner: one repetition of one cell, in a fresh process of its own.

    python -P -m gilbench.cell SPEC.json RESULT.json [WATCH_FD]

The orchestrator starts this in a new session (its own process group) so that a timeout or
Ctrl-C can kill it together with every worker it started. It reads a `CellSpec`, runs the
variant over the workload's tasks, checks the results *outside* the timed region, and writes
one `CellResult`. Standard library only, so it runs under any interpreter given with --python.
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
import time
import traceback
from dataclasses import replace

from .oslayer import process_cpu_s  # this process and its joined children, every thread: native ones too
from .protocol import CellResult, CellSpec


def interpreter_info() -> dict:
    from .variants import gil_enabled

    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_enabled(),
    }


def run_cell(spec: CellSpec) -> CellResult:
    from . import native, registry, variants

    if spec.native_threads is not None:  # before the workload's imports: pools that load later start limited
        native.set_limit_variables(spec.native_threads)
    for folder in spec.search_path:  # users' dotted workload modules, after gilbench and the stdlib
        if folder not in sys.path:
            sys.path.append(folder)
    module = registry.load(spec.workload_ref)
    params = dict(spec.params, scratch_dir=spec.scratch_dir)
    tasks = module.make_tasks(params, spec.workers)
    if not tasks:
        raise ValueError("the workload made no tasks")
    runner = variants.VARIANTS[spec.variant].runner
    native.worker_pools()  # outside the timing: the limit on the pools loaded here (forked workers inherit it)
    if spec.dry:  # a dry warm-up (--warmup light): the files this process loads are now in the page cache
        return CellResult(ok=True)  # no task ran: no times, no task records
    cpu0, wall0 = process_cpu_s(), time.perf_counter()
    ex = runner(spec.workload_ref, tasks, spec.workers, spec.start_method, **spec.options)
    process_cpu, process_wall = process_cpu_s() - cpu0, time.perf_counter() - wall0
    if len(ex.records) != len(tasks):
        raise ValueError(f"{len(ex.records)} of {len(tasks)} tasks reported back")
    module.check(params, tasks, ex.results)  # a wrong result fails the cell, never counts as fast

    total_s = ex.t_end - ex.t0
    compute_s = max(0.0, ex.last_result - ex.first_start)
    peak_by_pid = {os.getpid(): variants.peak_rss_kb()}
    for rec in ex.records:
        peak_by_pid[rec.pid] = max(peak_by_pid.get(rec.pid, 0), rec.peak_rss_kb)
    return CellResult(
        ok=True,
        tasks=len(tasks),
        chunksize=ex.chunksize,
        startup_s=total_s - compute_s,
        compute_s=compute_s,
        total_s=total_s,
        cpu_s=sum(rec.cpu_s for rec in ex.records),
        process_cpu_s=process_cpu,
        process_wall_s=process_wall,
        peak_rss_mb=sum(peak_by_pid.values()) / 1024,
        worker_processes=len({rec.pid for rec in ex.records}),
        worker_gil_enabled=all(rec.gil_enabled is not False for rec in ex.records),
        task_records=[replace(rec, start_s=rec.start_s - ex.t0, end_s=rec.end_s - ex.t0) for rec in ex.records],
        origin_s=ex.t0,
        native_threads=native.combined(rec.native_threads for rec in ex.records),
    )


def failure_text(exc: BaseException) -> str:
    """One line: the exception (a task's with its index and place), and what to install where an import is missing."""
    from .registry import PIP_NAMES
    from .variants import TaskFailed

    text = str(exc) if isinstance(exc, TaskFailed) else f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    missing = (
        exc.summary.split("'")[1]
        if isinstance(exc, TaskFailed) and exc.summary.startswith("ModuleNotFoundError: No module named '")
        else getattr(exc, "name", None)
        if isinstance(exc, ModuleNotFoundError)
        else None
    )
    if missing:
        top = missing.split(".")[0]
        text += f"; install it with: {sys.executable} -m pip install {PIP_NAMES.get(top, top)}"
    return text


WATCHDOG_SHELL = "/bin/sh"
# Reads its standard input (the lifeline) until end of file, then kills its process group: the cell's.
WATCHDOG_SCRIPT = "while read -r _; do :; done; kill -9 0"


def start_watchdog(fd: int) -> None:
    """Kill this cell's whole process group if the orchestrator dies (even by SIGKILL): POSIX's lifeline, given
    only by a POSIX orchestrator (gilbench.oslayer.Lifeline; the portable one watches from outside the cell).

    The orchestrator holds the write end of a pipe; when it dies the kernel closes it and a read of the other end
    returns. A small shell process of the cell's process group does that read, not a thread of the cell: the
    measured process then holds exactly the threads its variant starts, as the tutorial's scripts do. An idle
    thread beside a pure-Python loop has shifted the loop's speed by up to 15-20 % either way on the project's VM
    (docs/measuring.md), a bias of the serial baseline alone. Where no /bin/sh exists, a thread does the read.
    """
    import subprocess

    try:
        subprocess.Popen(
            [WATCHDOG_SHELL, "-c", WATCHDOG_SCRIPT],
            stdin=fd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        os.close(fd)
        return
    except OSError:
        pass
    import signal
    import threading

    def watch():
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="gilbench-watchdog", daemon=True).start()


def main(argv: list[str]) -> int:
    spec_path, result_path = argv[:2]
    if len(argv) > 2:
        start_watchdog(int(argv[2]))
    started = time.time()
    try:
        with open(spec_path) as fh:
            spec = CellSpec.from_json(fh.read())
        result = run_cell(spec)
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a failed cell with its reason
        traceback.print_exc()
        result = CellResult.failed(failure_text(exc), getattr(exc, "trace", "") or traceback.format_exc())
    result = replace(result, **interpreter_info(), wall_started=started)
    from .oslayer import atomic_write  # not storage's: the cell imports no more than it needs

    atomic_write(result_path, result.to_json())
    reap_helpers()
    return 0


# multiprocessing's helper processes, stopped in this order: the fork server holds the resource tracker's pipe.
HELPERS = (("multiprocessing.forkserver", "_forkserver"), ("multiprocessing.resource_tracker", "_resource_tracker"))


def reap_helpers() -> None:
    """Stop and wait for the helper processes multiprocessing started in this cell (the fork server; the resource
    tracker of spawn and forkserver). Left alone they end just after the cell, as orphans of no one's, and the
    machine accounting counted their start-up as another program's CPU: every process cell under spawn was marked
    disturbed. Waited for here, their time is this cell's reaped children's: gilbench's own. Their `_stop` is
    private API (present since 3.8, used by CPython's own tests); where another interpreter lacks it, nothing."""
    for module_name, attr in HELPERS:
        stop = getattr(getattr(sys.modules.get(module_name), attr, None), "_stop", None)
        if stop is not None:
            try:
                stop()
            except Exception:  # noqa: BLE001 - the result is written; a helper that will not stop changes nothing
                pass


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # The result is written and multiprocessing's helpers are reaped: the interpreter's teardown (about 10 ms of
    # freeing what the process is about to lose anyway) would only be more time between repetitions.
    os._exit(code)
