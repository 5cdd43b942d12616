"""The thread-state sampler: what every thread of a cell is doing, read from the kernel, from outside.

    python -m gilbench.sampler ROOT_PID INTERVAL_S OUT.json

Started by the orchestrator (`--trace`) next to a cell's process, never inside it: a sampling thread in
the measured process would itself compete for the GIL it is meant to watch. Every INTERVAL_S it reads,
for the cell's process and each of its descendants, every thread's

- state letter from /proc/PID/task/TID/stat (R: on a CPU or waiting for one; S, D: blocked - in
  CPython a thread waiting for the GIL sleeps on a condition variable, so it shows S), and
- /proc/PID/task/TID/schedstat: nanoseconds on a CPU, and nanoseconds spent runnable in a run queue
  waiting for a CPU (the kernel adds a wait when it ends, that is when the thread gets its CPU).

It stops when the cell's process is gone or on SIGTERM, and writes the samples and its own CPU time
(so its cost can be stated) as JSON. Standard library only; Linux only (`available()` says why not).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

PROC = "/proc"


def available() -> str | None:
    """None where the per-thread files can be read; else why the state timeline is unavailable
    (gilbench.oslayer.thread_states_unavailable, which environment.json records for every run)."""
    from .oslayer import thread_states_unavailable

    return thread_states_unavailable()


def _read(path: str) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1024).decode()
    finally:
        os.close(fd)


def _children(pid: int) -> list[int]:
    """Child processes of every thread of pid (/proc/PID/task/TID/children)."""
    found = []
    try:
        for tid in os.listdir(f"{PROC}/{pid}/task"):
            try:
                found += [int(c) for c in _read(f"{PROC}/{pid}/task/{tid}/children").split()]
            except OSError:
                pass
    except OSError:
        pass
    return found


def descendants(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += _children(pid)
    return pids


class Reader:
    """Open files kept open and re-read with pread (the kernel regenerates a /proc file at offset 0): two system
    calls per file per reading instead of four, which is most of the sampler's cost."""

    def __init__(self) -> None:
        self.fds: dict[str, int] = {}

    def read(self, path: str) -> str:
        fd = self.fds.get(path)
        if fd is None:
            fd = self.fds[path] = os.open(path, os.O_RDONLY)
        try:
            data = os.pread(fd, 1024, 0)
        except OSError:
            self.forget(path)
            raise
        if not data:  # the thread has gone: an empty read of its file
            self.forget(path)
            raise OSError("gone")
        return data.decode()

    def forget(self, path: str) -> None:
        fd = self.fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for path in list(self.fds):
            self.forget(path)


def threads_of(pids: list[int]) -> list[tuple[int, int]]:
    found = []
    for pid in pids:
        try:
            found += [(pid, int(tid)) for tid in os.listdir(f"{PROC}/{pid}/task")]
        except OSError:
            continue
    return found


def sample_once(reader: Reader, threads: list[tuple[int, int]], now: float, out: list) -> None:
    for pid, tid in threads:
        base = f"{PROC}/{pid}/task/{tid}"
        try:
            stat = reader.read(base + "/stat")
            run, wait, _ = reader.read(base + "/schedstat").split()
        except (OSError, ValueError):
            continue  # the thread ended
        out.append((now, pid, tid, stat[stat.rfind(")") + 2], int(run), int(wait)))


def sample(root: int, interval: float, limit_s: float = 3600.0) -> dict:
    import resource  # here, not at the top: gilbench's modules import on Windows, which has no resource module

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    samples: list = []
    reader = Reader()
    threads: list = []
    begin = resource.getrusage(resource.RUSAGE_SELF)  # its own start-up (imports) is not sampling cost
    start = time.perf_counter()
    next_at = start
    ticks = 0
    while not stop and time.perf_counter() - start < limit_s:
        if ticks % 5 == 0:  # workers and threads appear at start-up: look for new ones every fifth reading
            threads = threads_of(descendants(root))
        now = time.perf_counter()  # CLOCK_MONOTONIC, the clock the cell's task records use
        sample_once(reader, threads, now, samples)
        if _gone(reader, root):
            break
        ticks += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    reader.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - begin.ru_utime - begin.ru_stime
    return {
        "interval_s": interval,
        "wall_s": time.perf_counter() - start,
        "cpu_s": cpu,
        "readings": ticks,
        "samples": samples,
    }


def _gone(reader: Reader, pid: int) -> bool:
    """The cell's process has exited (a zombie until the orchestrator reaps it, then no file at all)."""
    try:
        stat = reader.read(f"{PROC}/{pid}/stat")
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


def main(argv: list[str]) -> int:
    root, interval, out = int(argv[0]), float(argv[1]), argv[2]
    limit = float(argv[3]) if len(argv) > 3 else 3600.0
    data = sample(root, interval, limit)
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
