"""Waiting, not computing: each task sleeps, the way a network or disk call waits."""

import time

DESCRIPTION = "I/O-bound stand-in (time.sleep): waiting releases the GIL, so threads scale past the CPU count"

# tasks: how many waits; delay_s: how long each one waits.
SIZES = {
    "smoke": {"tasks": 8, "delay_s": 0.01},
    "quick": {"tasks": 16, "delay_s": 0.02},
    "standard": {"tasks": 32, "delay_s": 0.03},
    "full": {"tasks": 64, "delay_s": 0.1},
}

# --scaling weak: one worker's share is one profile's sleeps.
WEAK_SCALING = "tasks"


def make_tasks(params, workers):
    return [(i, params["delay_s"]) for i in range(params["tasks"])]


def run_task(task):
    index, delay = task
    time.sleep(delay)
    return index


def check(params, tasks, results):
    if sorted(results) != list(range(len(tasks))):
        raise ValueError(f"got {len(results)} results for {len(tasks)} waits, or some twice")
