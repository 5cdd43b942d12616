"""Every child interpreter gilbench starts (cells, probes, `--python` checks) is started here.

A child must find gilbench's own modules and nothing else in their place: not a `bench/`,
`workloads/` or `gilbench/` in the user's working directory or PYTHONPATH, and, for another
interpreter given with --python, not the packages of the environment gilbench is installed in
(built for another Python). So a child is started with `-P` (no working directory or script
folder on sys.path) and a PYTHONPATH whose first entry is a folder holding one entry, `gilbench`,
linked to this package's own files; the interpreter's own site-packages follow as usual.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from . import environment, registry
from .errors import UsageError

_root: Path | None = None


def package_root() -> Path:
    """A folder whose only entry is `gilbench`: this package, with its workloads, and nothing beside it.

    Made once per process. It links to the files themselves, so it works the same for a wheel
    install (gilbench/ with workloads/ inside) and for an editable install of the repository
    (bench/ and workloads/ mapped into one package).
    """
    global _root
    if _root is None or not _root.is_dir():
        from . import workloads

        here = Path(__file__).resolve().parent
        root = Path(tempfile.mkdtemp(prefix="gilbench-path-"))
        package = root / "gilbench"
        package.mkdir()
        for entry in here.iterdir():
            if entry.name not in ("__pycache__", "workloads"):
                (package / entry.name).symlink_to(entry)
        (package / "workloads").symlink_to(Path(workloads.__path__[0]).resolve())
        atexit.register(shutil.rmtree, root, True)
        _root = root
    return _root


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment, with gilbench's own folder first on every child's path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_root()), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def module_command(python: str, module: str, *args: str) -> list[str]:
    """`python -P -m gilbench.X ARGS`: -P keeps the working directory off sys.path (Python >= 3.11)."""
    return [python, "-P", "-m", module, *args]


def probe(python: str, code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a few lines under `python`, with gilbench importable as it is in a cell."""
    return subprocess.run(
        [python, "-P", "-c", code, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


PYTHON_ACCEPTED = "accepted: a path to a Python interpreter, or a name found on PATH such as python3.13t"


def find_python(given: str) -> str:
    """The absolute path of an interpreter given as a path, or as a bare name looked up on PATH as a shell would
    (`--python python3.13t`). Not realpath: a venv's python is a link that must stay itself."""
    if os.sep in given or (os.altsep and os.altsep in given):
        if not os.path.isfile(given) or not os.access(given, os.X_OK):
            raise UsageError(f"--python {given!r} does not exist or is not executable ({PYTHON_ACCEPTED})")
        return os.path.abspath(given)
    found = shutil.which(given)
    if found is None:
        raise UsageError(f"--python {given!r} is not found on PATH ({PYTHON_ACCEPTED})")
    return os.path.abspath(found)


# What an interpreter says of itself, a line each: its version, then what makes it that interpreter: its binary
# (links resolved) and its prefix (a venv shares its base's binary yet sees other packages).
_IDENTITY = (
    "import os, sys; print('%d.%d' % sys.version_info[:2], os.path.realpath(sys.executable), sys.prefix, sep='\\n')"
)


def check_python(given: str) -> str:
    """The absolute path of an interpreter (a path, or a name on PATH) that exists, runs, and is CPython >= 3.11."""
    return _checked(given)[0]


def _checked(given: str) -> tuple[str, str, str]:
    """check_python's path, and what makes the interpreter itself: its binary (links resolved) and its prefix."""
    path = find_python(given)
    try:
        out = subprocess.run(
            [path, "-c", _IDENTITY], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--python {path!r} does not run as Python: {exc}") from None
    lines = out.stdout.strip().splitlines()
    version = lines[0] if lines else ""
    if out.returncode != 0 or not version.replace(".", "").isdigit():
        raise UsageError(f"--python {path!r} is not a Python interpreter")
    if tuple(map(int, version.split("."))) < (3, 11):
        raise UsageError(f"--python {path!r} is Python {version}; gilbench needs 3.11 or newer")
    if len(lines) != 3:
        raise UsageError(f"--python {path!r} is not a Python interpreter")
    return path, lines[1], lines[2]


def check_pythons(given: list[str]) -> list[str]:
    """check_python of each, refusing one interpreter given twice under two names (`--python python3.11 --python
    python3`, where python3 links to python3.11): its cells would be measured twice under one label."""
    seen: dict[tuple[str, str], str] = {}
    paths = []
    for name in given:
        path, binary, prefix = _checked(name)
        if (binary, prefix) in seen:
            raise UsageError(
                f"--python {name!r} ({path}) is the same interpreter as --python {seen[binary, prefix]!r} "
                f"({binary}); give each interpreter once"
            )
        seen[binary, prefix] = name
        paths.append(path)
    return paths


def is_this(python: str) -> bool:
    """The interpreter running gilbench. Not realpath: a venv's python links to its base interpreter's binary,
    yet sees other packages."""
    return os.path.abspath(python) == os.path.abspath(sys.executable)


def availability(python: str | None = None) -> dict[str, str | None]:
    """Variant name -> None when it can run under `python` (default: this one), else the reason it cannot."""
    from . import variants

    if python is None or is_this(python):
        return variants.local_availability()
    out = probe(
        python, "import json; from gilbench.variants import local_availability as a; print(json.dumps(a()))", timeout=60
    )
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["it failed to start"])[-1]
        return {name: f"{python} cannot run gilbench's cell runner: {reason}" for name in variants.VARIANTS}
    return json.loads(out.stdout)


_IMPORT_PROBE = """\
import json, os, sys
from gilbench import registry
sys.path.append(os.getcwd())  # users' dotted workload modules, after everything else
out = {}
for ref in sys.argv[1:]:
    try:
        registry.load(ref)
    except ModuleNotFoundError as e:
        out[ref] = ['missing', e.name]
    except Exception as e:
        out[ref] = ['error', f'{type(e).__name__}: {e}']
print(json.dumps(out))
"""


def check_imports(python: str, workloads) -> None:
    """Every workload module must import under `python`; if not, say exactly what to install."""
    workloads = [wl for wl in workloads if registry.suite_of(wl.ref) is None]  # a suite probes its own
    if not workloads:
        return
    out = probe(python, _IMPORT_PROBE, *[wl.ref for wl in workloads])
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"--python {python!r} cannot run gilbench's cell runner: {last}")
    problems = json.loads(out.stdout.strip().splitlines()[-1])
    for wl in workloads:
        if wl.ref in problems:
            kind, what = problems[wl.ref]
            if kind == "missing":
                top = (what or "").split(".")[0]
                raise UsageError(
                    f"--python {python!r} cannot import {top!r} for workload {wl.name!r}; "
                    f"install it with: {registry.install_command(python, top)}"
                )
            raise UsageError(f"--python {python!r} cannot load workload {wl.name!r}: {what}")


# ---------------------------------------------------------------- what each interpreter is

# Run under another interpreter: only the stdlib and gilbench's environment module, which needs nothing else.
_DESCRIBE = "import json; from gilbench.environment import interpreter_build; print(json.dumps(interpreter_build()))"
DESCRIBE_TIMEOUT_S = 60  # a cold start of an interpreter on a busy machine, with room to spare


def describe(python: str) -> dict:
    """environment.interpreter_build() of `python`, run under it (in this process when it is this interpreter),
    with the path as given under "python" (as results.csv's python_executable names it). It does not raise: an
    interpreter that cannot be probed is {"python": ..., "error": why}."""
    if is_this(python):
        return {**environment.interpreter_build(), "python": python}
    try:
        out = probe(python, _DESCRIBE, timeout=DESCRIBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"python": python, "error": str(exc)}
    if out.returncode != 0:
        return {"python": python, "error": (out.stderr.strip().splitlines() or ["it failed to start"])[-1]}
    try:
        return {**json.loads(out.stdout.strip().splitlines()[-1]), "python": python}
    except (ValueError, IndexError):
        return {"python": python, "error": f"unreadable answer: {out.stdout.strip()[-200:]!r}"}


def describe_all(pythons: Iterable[str] = ()) -> list[dict]:
    """environment.json's `interpreters` for a run under `pythons`: this interpreter first (it runs gilbench, and
    the cells when no --python is given), then each of `pythons` that is another, once."""
    described = [describe(sys.executable)]
    seen = {os.path.abspath(sys.executable)}
    for python in pythons:
        if os.path.abspath(python) not in seen:
            seen.add(os.path.abspath(python))
            described.append(describe(python))
    return described


def find_twin(python: str) -> str | None:
    """The twin of `python` (environment.are_twins) found beside it (environment.twin_candidates): its GIL build
    for a free-threaded one, its free-threaded build for a GIL one; None when there is none there."""
    this = describe(python)
    if "error" in this:
        return None
    for candidate in environment.twin_candidates(python, this["version"], this["free_threaded"]):
        if environment.are_twins(this, describe(candidate)):
            return candidate
    return None
