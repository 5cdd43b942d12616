"""What else the machine did during a repetition: CPU used by other programs, and taken by the hypervisor.

Linux only. Other programs' CPU is read per process: every process's own and reaped children's CPU time
(/proc/PID/stat: utime, stime, cutime, cstime, in ticks of 1/USER_HZ), summed over the processes outside
gilbench's tree, before and after the repetition:

    other_cores = sum over other processes of their CPU time's increase / wall time
    steal_cores = the all-CPU steal counter's increase (/proc/stat) / wall time

A process that ended meanwhile is counted by its parent's cutime/cstime, which grows by the whole life of
the child: so its CPU time before the repetition is taken off again. Kernel threads (interrupts, the
scheduler's helpers) are not other programs, and neither is interrupt time in /proc/stat: those rise with
the cell's own wake-ups (GIL hand-offs between many threads), and an earlier rule that counted all busy
time but gilbench's own marked GIL-bound threading at 16 workers disturbed on every attempt. gilbench's
own tree (this process, the cell, its workers, a sampler) is left out by leaving out this process: the
cell and everything it starts are its descendants, whose time lands in this process's cutime.

The counters move in ticks, so a difference can be off by about one tick per process that ran;
`resolution_cores` says what one tick is over the repetition. A repetition is disturbed when other programs
and steal took more than the threshold plus that resolution, the threshold scaled by the cores the cell
left spare (`threshold_cores`): on 16 CPUs a serial cell shares the machine with whatever else runs on the
15 cores it does not use. Where the accounting cannot be read `unavailable()` says why, and the columns stay empty.

On macOS and Windows (and on Linux with GILBENCH_PORTABLE=1) the same readings come from psutil
(gilbench.oslayer.other_processes): every process's CPU time, in the same ticks, less this process's live tree.
Two things it cannot see there: reaped children's time (a program that started and ended during a repetition goes
uncounted) and steal, which only Linux keeps (0 elsewhere).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass

from . import oslayer

STAT = "/proc/stat"
USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") and "SC_CLK_TCK" in os.sysconf_names else 100


def unavailable() -> str | None:
    """None where machine accounting works here, else the reason it does not."""
    if not oslayer.linux():
        try:
            import psutil  # noqa: F401 - a dependency of gilbench: missing only in a broken install
        except ImportError:
            return f"machine accounting needs psutil on {sys.platform} (pip install psutil)"
        return None
    try:
        with open(STAT) as fh:
            fields = fh.readline().split()
    except OSError as exc:
        return f"no {STAT} ({exc.strerror}): machine accounting needs Linux"
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return f"{STAT} has no all-CPU line with a steal column"
    return None


def method() -> str:
    """How other programs' CPU is read here, for environment.json."""
    if oslayer.linux():
        return f"per repetition: /proc (every other process's CPU time, all CPUs' steal), resolution 1/{USER_HZ} s"
    return (
        "per repetition: psutil (every other process's CPU time; no reaped children's time"
        f"{'' if sys.platform.startswith('linux') else ', no steal counter'}), resolution 1/{USER_HZ} s"
    )


@dataclass(frozen=True)
class Snapshot:
    steal_s: float
    others: dict  # pid -> (own ticks, reaped children's ticks) of every process outside gilbench's tree
    at: float  # time.perf_counter()


@dataclass(frozen=True)
class Usage:
    other_cores: float  # CPU used by other programs during the repetition, in cores
    steal_cores: float  # CPU the hypervisor took, in cores
    resolution_cores: float  # one tick over the repetition's wall time: differences below it are noise


PF_KTHREAD = 0x00200000  # /proc/PID/stat flags: a kernel thread


def _processes(tree: int | None = None, session: int | None = None) -> dict:
    """Own and reaped-children CPU ticks of every user-space process but this one (and so its tree), or, with
    `tree`, but every live process descending from that process id (a test suite leaves out its own workers and
    the runs they start, which are alive while it reads). `session`: a cell's session (its pid: the cell starts a
    session of its own), left out too: workers the cell's end left behind (joblib's loky workers) are killed with
    its group and reparented before they are reaped; a zombie keeps its CPU time, which would read as another
    program's."""
    me, out, parents = os.getpid(), {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
            fields = data[data.rindex(b")") + 2 :].split()  # after "pid (comm) ": the name may hold spaces
            if int(fields[6]) & PF_KTHREAD or (session is not None and int(fields[3]) == session):
                continue
            out[int(name)] = (int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
            parents[int(name)] = int(fields[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended while being read
    if tree is not None:
        for pid in [p for p in out if oslayer.descends(p, {tree}, parents)]:
            del out[pid]
    return out


def snapshot(tree: int | None = None, session: int | None = None) -> Snapshot | None:
    """The counters now; `tree`: a process id whose live descendants are not other programs; `session`: a cell's
    session, whose processes are not either, live or not yet reaped (see _processes)."""
    if not oslayer.linux():  # psutil; a process of the cell's session is left out by its session id (POSIX)
        return Snapshot(oslayer.steal_s(), oslayer.other_processes(tree, USER_HZ, session), time.perf_counter())
    try:
        with open(STAT) as fh:
            fields = fh.readline().split()
        steal = int(fields[8])
        others = _processes(tree, session)
    except (OSError, ValueError, IndexError):
        return None
    return Snapshot(steal / USER_HZ, others, time.perf_counter())


def other_ticks(before: dict, after: dict) -> int:
    """CPU ticks other processes used between two readings (see the module's docstring for ended processes)."""
    ticks = 0
    for pid, (own, kids) in after.items():
        was_own, was_kids = before.get(pid, (0, 0))
        ticks += max(0, own + kids - was_own - was_kids)  # a pid reused meanwhile cannot count negative
    for pid, (own, kids) in before.items():
        if pid not in after:  # ended: its parent's cutime took its whole life; its time before is not this repetition's
            ticks -= own + kids
    return max(0, ticks)


def between(before: Snapshot | None, after: Snapshot | None) -> Usage:
    nan = math.nan
    if before is None or after is None or after.at <= before.at:
        return Usage(nan, nan, nan)
    wall = after.at - before.at
    other = other_ticks(before.others, after.others) / USER_HZ
    return Usage(other / wall, (after.steal_s - before.steal_s) / wall, 1 / USER_HZ / wall)


def threshold_cores(threshold: float, workers: int, usable_cpus: int) -> float:
    """The threshold, scaled by the cores the cell leaves spare (at least 1): other programs on cores the cell
    does not use take nothing from it, so a busy daemon on a 16-CPU machine does not disturb a 1-worker cell."""
    spare = max(1, usable_cpus - max(1, workers))
    return threshold * spare


def is_disturbed(usage: Usage, threshold_cores: float) -> bool:
    """Other programs or the hypervisor took more than the threshold, beyond what the ticks can resolve."""
    taken = usage.other_cores + usage.steal_cores
    return taken == taken and taken > threshold_cores + usage.resolution_cores
