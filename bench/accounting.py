"""What else the machine did during a repetition: CPU used by other programs, and taken by the hypervisor.

Linux only. The all-CPU line of /proc/stat counts the time every CPU spent busy (user, nice,
system, irq, softirq) and the time the hypervisor took from this VM (steal), in ticks of
1/USER_HZ. gilbench's own process tree is measured exactly by rusage: this process
(RUSAGE_SELF) and every child it has waited for, with the children those waited for
(RUSAGE_CHILDREN) - the cell and all its workers. What is left is other programs:

    other_cores = (busy_all_cpus - gilbench's own CPU) / wall time
    steal_cores = steal / wall time

The counters move in ticks, so a difference can be off by about one tick (10 ms at USER_HZ 100);
`resolution_cores` says what that is over the repetition, and a repetition is called disturbed
only above threshold + resolution. Elsewhere `unavailable()` says why, and the columns stay empty.
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass

STAT = "/proc/stat"
USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") and "SC_CLK_TCK" in os.sysconf_names else 100


def unavailable() -> str | None:
    """None where machine accounting works here, else the reason it does not."""
    try:
        with open(STAT) as fh:
            fields = fh.readline().split()
    except OSError as exc:
        return f"no {STAT} ({exc.strerror}): machine accounting needs Linux"
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return f"{STAT} has no all-CPU line with a steal column"
    return None


@dataclass(frozen=True)
class Snapshot:
    busy_s: float  # all CPUs: user + nice + system + irq + softirq
    steal_s: float
    own_s: float  # this process and its waited-for descendants, user + system
    at: float  # time.perf_counter()


@dataclass(frozen=True)
class Usage:
    other_cores: float  # CPU used by other programs during the repetition, in cores
    steal_cores: float  # CPU the hypervisor took, in cores
    resolution_cores: float  # one tick over the repetition's wall time: differences below it are noise


def _own_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def snapshot() -> Snapshot | None:
    try:
        with open(STAT) as fh:
            fields = fh.readline().split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    except (OSError, ValueError):
        return None
    return Snapshot((user + nice + system + irq + softirq) / USER_HZ, steal / USER_HZ, _own_s(), time.perf_counter())


def between(before: Snapshot | None, after: Snapshot | None) -> Usage:
    nan = math.nan
    if before is None or after is None or after.at <= before.at:
        return Usage(nan, nan, nan)
    wall = after.at - before.at
    other = (after.busy_s - before.busy_s) - (after.own_s - before.own_s)
    return Usage(max(0.0, other) / wall, (after.steal_s - before.steal_s) / wall, 1 / USER_HZ / wall)


def is_disturbed(usage: Usage, threshold_cores: float) -> bool:
    """Other programs or the hypervisor took more than the threshold, beyond what the ticks can resolve."""
    taken = usage.other_cores + usage.steal_cores
    return taken == taken and taken > threshold_cores + usage.resolution_cores
