"""The cell runner: one repetition of one cell, in a fresh process of its own.

    python -m bench.cell SPEC.json RESULT.json

The orchestrator starts this in a new session (its own process group) so that a timeout or
Ctrl-C can kill it together with every worker it started. It reads the cell's spec, runs the
variant over the workload's tasks, checks the results *outside* the timed region, and writes
one JSON result. Standard library only, so it runs under any interpreter given with --python.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import sysconfig
import time
import traceback
from dataclasses import asdict


def interpreter_info() -> dict:
    from bench.variants import gil_enabled

    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_enabled(),
    }


def run_cell(spec: dict) -> dict:
    from bench import registry, variants

    module = registry.load(spec["workload_ref"])
    params = dict(spec["params"], scratch_dir=spec["scratch_dir"])
    tasks = module.make_tasks(params, spec["workers"])
    if not tasks:
        raise ValueError("the workload made no tasks")
    runner = variants.RUNNERS[spec["variant"]]
    ex = runner(spec["workload_ref"], tasks, spec["workers"], spec["start_method"], **spec.get("options", {}))
    if len(ex.records) != len(tasks):
        raise ValueError(f"{len(ex.records)} of {len(tasks)} tasks reported back")
    module.check(params, tasks, ex.results)  # a wrong result fails the cell, never counts as fast

    total_s = ex.t_end - ex.t0
    compute_s = max(0.0, ex.last_result - ex.first_start)
    peak_by_pid = {os.getpid(): resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    for rec in ex.records:
        peak_by_pid[rec.pid] = max(peak_by_pid.get(rec.pid, 0), rec.peak_rss_kb)
    gil_states = {rec.gil_enabled for rec in ex.records}
    return {
        "ok": True,
        "error": "",
        "tasks": len(tasks),
        "chunksize": ex.chunksize,
        "startup_s": total_s - compute_s,
        "compute_s": compute_s,
        "total_s": total_s,
        "cpu_s": sum(rec.cpu_s for rec in ex.records),
        "peak_rss_mb": sum(peak_by_pid.values()) / 1024,
        "worker_processes": len({rec.pid for rec in ex.records}),
        "worker_gil_enabled": all(s is not False for s in gil_states),
        "task_records": [
            dict(asdict(rec), start=rec.start - ex.t0, end=rec.end - ex.t0) for rec in ex.records
        ],
    }


def start_watchdog(fd: int) -> None:
    """Kill this cell's whole process group if the orchestrator dies (even by SIGKILL).

    The orchestrator holds the write end of a pipe; when it dies the kernel closes it and the
    read below returns. The thread sleeps in read() without the GIL, so it costs the measured
    work nothing.
    """
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
    with open(spec_path) as fh:
        spec = json.load(fh)
    started = time.time()
    try:
        result = run_cell(spec)
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a failed cell with its reason
        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
        result = {"ok": False, "error": message[:500]}
    result.update(interpreter_info(), wall_started=started)
    tmp = result_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
