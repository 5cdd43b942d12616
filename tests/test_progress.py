"""The progress bar is drawn only where it reads as one bar: a terminal (or a notebook with ipywidgets)."""

from __future__ import annotations

import os
import select
import subprocess
import sys

import pytest

from tests.conftest import ROOT

RUN = ["run", "--workloads", "count", "--variants", "serial", "--workers", "1", "--repeat", "2", "--size", "smoke"]


def run_with_stderr(stderr, out, extra=()):
    return subprocess.Popen(
        [sys.executable, "-m", "gilbench", *RUN, "--reruns", "0", "--no-report", "--out", str(out), *extra],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        cwd=ROOT,
    )


def test_no_bar_when_stderr_is_a_file(tmp_path):
    log = tmp_path / "stderr.txt"
    with open(log, "w") as fh:
        assert run_with_stderr(fh, tmp_path / "o").wait(timeout=300) == 0
    text = log.read_text()
    assert "\r" not in text, text  # no redrawn bar frames
    assert "rep/s" not in text and "| 0/" not in text
    lines = text.splitlines()
    assert lines and all(line.startswith("gilbench: ") for line in lines), text  # no line glued onto a bar


def test_a_terminal_still_gets_the_bar(tmp_path):
    """The other side of the rule, so the test above cannot pass by drawing no bar anywhere."""
    pty = pytest.importorskip("pty", reason="a pseudo-terminal needs POSIX")
    leader, follower = pty.openpty()
    proc = run_with_stderr(follower, tmp_path / "o")
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    assert b"\r" in seen and b"rep" in seen, seen[-2000:]
