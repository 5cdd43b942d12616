"""Other interpreters for the tests, found as a user finds them: a path given in an environment variable, or a
command on PATH. Nothing here knows a home folder or a machine of this project.

- GILBENCH_PYTHON_FT: a free-threaded CPython (python3.13t, python3.14t); .ci/run sets it.
- GILBENCH_PYTHON_GIL: its GIL twin (the same version and build, with the GIL); .ci/run sets it. Else a twin is
  looked for beside the free-threaded one, as `make bench-ft` looks (gilbench env --twin-of).
- GILBENCH_PYTHON_313: a CPython 3.13 (the interpreters-pep-734 backport test; also "another CPython").

Each candidate is run once and answers with its own sys.executable, so a launcher on PATH (a pyenv shim, a
wrapper script) that cannot start the interpreter is passed over, and the tests name the real binary.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys

import pytest

_PROBE = (
    "import json, sys, sysconfig; print(json.dumps([sys.executable, list(sys.version_info[:2]), "
    "bool(sysconfig.get_config_var('Py_GIL_DISABLED'))]))"
)


@functools.cache
def describe(command: str):
    """(executable, (major, minor), free_threaded) of the interpreter `command` starts, or None if it does not."""
    path = command if os.sep in command else shutil.which(command)
    if not path or not os.access(path, os.X_OK):
        return None
    try:
        out = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        executable, version, free = json.loads(out.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError):
        return None
    return (executable, tuple(version), free) if out.returncode == 0 else None


def _first(candidates, accept):
    for candidate in candidates:
        found = describe(candidate) if candidate else None
        if found and accept(*found):
            return found[0]
    return None


def _this_version(version):
    return tuple(version) == tuple(sys.version_info[:2])


@functools.cache
def free_threaded() -> str | None:
    return _first(
        [os.environ.get("GILBENCH_PYTHON_FT", ""), "python3.14t", "python3.13t"],
        lambda exe, version, free: free and version >= (3, 13),
    )


@functools.cache
def cpython_313() -> str | None:
    return _first(
        [os.environ.get("GILBENCH_PYTHON_313", ""), "python3.13"],
        lambda exe, version, free: version == (3, 13) and not free,
    )


@functools.cache
def other_cpython() -> str:
    """Another CPython (>= 3.11, with the GIL) than the one running the tests: another version where one is found;
    else the base interpreter this environment was made from, which does not see the environment's packages."""
    found = _first(
        [os.environ.get("GILBENCH_PYTHON_313", ""), "python3.13", "python3.12", "python3.14"],
        lambda exe, version, free: version >= (3, 11) and not free and not _this_version(version),
    )
    if found:
        return found
    base = getattr(sys, "_base_executable", "") or sys.executable
    return _first(
        [base, os.path.join(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")],
        lambda exe, version, free: not free,
    )


@functools.cache
def gil_twin() -> str | None:
    """The GIL twin of the free-threaded Python: GILBENCH_PYTHON_GIL if it is its twin, else one found beside it."""
    from gilbench import environment, interpreters

    ft = free_threaded()
    if ft is None:
        return None
    command = os.environ.get("GILBENCH_PYTHON_GIL", "")
    given = describe(command) if command else None
    if given and environment.are_twins(interpreters.describe(ft), interpreters.describe(given[0])):
        return given[0]
    return interpreters.find_twin(ft)


FT = free_threaded()
NO_FT = (
    "no free-threaded Python (set GILBENCH_PYTHON_FT, or put python3.13t or python3.14t on PATH; .ci/run builds one)"
)
needs_ft = pytest.mark.skipif(FT is None, reason=NO_FT)
TWIN = gil_twin()
needs_twins = pytest.mark.skipif(
    TWIN is None,
    reason=NO_FT
    if FT is None
    else f"no GIL twin of {FT} (the same version and build with the GIL): set GILBENCH_PYTHON_GIL, or install "
    "it beside the free-threaded one; .ci/run builds both",
)
