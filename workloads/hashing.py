"""SHA-256 over large in-memory buffers: the work is in C code that releases the GIL."""

import hashlib

DESCRIPTION = "hashlib.sha256 over large buffers: C code that releases the GIL, so threads scale like processes"

# tasks: how many buffers to hash; mb: size of each buffer (MiB); all tasks hash the same bytes.
SIZES = {
    "smoke": {"tasks": 8, "mb": 1},
    "quick": {"tasks": 16, "mb": 8},
    "standard": {"tasks": 32, "mb": 16},
    "full": {"tasks": 64, "mb": 64},
}
# --scaling weak: one worker's share is one profile's tasks (buffers hashed).
WEAK_SCALING = "tasks"

_buffers: dict = {}


def _buffer(mb):
    """Deterministic bytes, built once per process (outside any task's own timing)."""
    if mb not in _buffers:
        _buffers[mb] = bytes(range(256)) * (mb * 1024 * 1024 // 256)
    return _buffers[mb]


def make_tasks(params, workers):
    return [(i, params["mb"]) for i in range(params["tasks"])]


def run_task(task):
    _, mb = task
    # hashlib releases the GIL while it hashes any buffer over 2 KiB
    return hashlib.sha256(_buffer(mb)).hexdigest()


def check(params, tasks, results):
    expected = hashlib.sha256(_buffer(params["mb"])).hexdigest()
    wrong = [i for i, digest in enumerate(results) if digest != expected]
    if len(results) != len(tasks) or wrong:
        raise ValueError(f"{len(wrong)} wrong digests among {len(results)} results for {len(tasks)} tasks")
