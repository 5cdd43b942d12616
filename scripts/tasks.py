"""What `make lint`, `make test` and `make test-platforms` do, as one Python program: Windows has no make.

    python scripts/tasks.py lint                     # ruff check, ruff format --check, mypy, lint-imports
    python scripts/tasks.py test [PYTEST_ARGS...]    # lint, then the test suite (pytest -n auto)
    python scripts/tasks.py test-platforms           # the core tests with the portable layer forced, then spawn

The Makefile's targets call it, so the commands are written once. It runs the tools of the Python that runs it
(the Makefile's .venv; on a CI runner, the Python the workflow set up with `pip install -e '.[test,lint,...]'`).
TEST_WORKERS (default auto) is pytest-xdist's worker count, as for make.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["bench", "workloads", "tests", "scripts"]
# The core tests again as macOS and Windows run them (docs/development.md, "Linux, macOS and Windows"): a run,
# killed and hung cells, Ctrl-C and resume, gilbench itself killed, and the accounting catching a burner.
CORE_TESTS = [
    "tests/test_faults.py",
    "tests/test_oslayer.py",
    "tests/test_disturbance.py::test_a_cpu_burner_marks_the_repetitions_it_overlapped_and_they_run_again",
]
# Each pass of test-platforms: the variable it sets, and its value.
PLATFORM_PASSES = [("GILBENCH_PORTABLE", "1"), ("GILBENCH_START_METHOD", "spawn")]


def tool(name: str) -> str:
    """A console script installed beside this Python (bin/ on POSIX, Scripts/ on Windows)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"{name} is not installed beside {sys.executable} (pip install -e '.[test,lint]')")
    return found


def call(command: list[str], **env: str) -> None:
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env})
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def pytest(args: list[str], **env: str) -> None:
    call([sys.executable, "-m", "pytest", "-n", os.environ.get("TEST_WORKERS", "auto"), *args], **env)


def lint() -> None:
    call([sys.executable, "-m", "ruff", "check", *SOURCES])
    call([sys.executable, "-m", "ruff", "format", "--check", *SOURCES])
    call([sys.executable, "-m", "mypy"])
    # import-linter without its cache: the graph takes a fraction of a second, and no cache folder lands in the tree
    call([tool("lint-imports"), "--no-cache", "--no-logo"])


def main(argv: list[str]) -> int:
    usage = f"usage: {sys.executable} {__file__} lint | test [PYTEST_ARGS...] | test-platforms [PYTEST_ARGS...]"
    if not argv or argv[0] not in ("lint", "test", "test-platforms"):
        print(usage, file=sys.stderr)
        return 2
    task, rest = argv[0], argv[1:]
    if task == "lint":
        lint()
    elif task == "test":
        lint()
        pytest(rest)
    else:
        for name, value in PLATFORM_PASSES:
            pytest([*rest, *CORE_TESTS], **{name: value})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
