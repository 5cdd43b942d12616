"""The workload registry: built-in workloads by name, users' modules by .py path, plain or dotted name.

A workload is a plain module (see README.md, "Write your own workload"):

    DESCRIPTION = "one line: what this workload shows"
    SIZES = {"smoke": {...}, "standard": {...}}      # named profiles of parameters
    def make_tasks(params, workers): ...              # -> list of picklable task descriptions
    def run_task(task): ...                           # module-level: every executor can call it
    def check(params, tasks, results): ...            # raise if the results are wrong
    def prepare(params, cache_dir): ...               # optional: build inputs once, return extra params
    WEAK_SCALING = "iterations"                       # optional: the parameter that is the amount of work;
                                                      # --scaling weak gives each worker one profile's worth

A suite of workloads gilbench does not ship (pyperformance's benchmarks, `pyperformance:NAME`) is reached
through one table, SUITES, by the prefix of its names. The registry sits below the suites (a suite builds
Workloads and probes interpreters), so it names their modules and imports them on first use.

This module is imported by every worker (and by other interpreters given with --python),
so it uses the standard library only.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from types import ModuleType

from .errors import UsageError

BUILTIN = ("count", "thumbnail", "hashing", "sleep", "mandelbrot", "matmul")
SIZE_NAMES = ("smoke", "quick", "standard", "full")
REQUIRED = ("SIZES", "make_tasks", "run_task", "check")

# The pip name of a package whose import name differs from it, for the "install it with" hint of a workload whose
# import fails (in the registry, in a cell, under another interpreter).
PIP_NAMES = {"PIL": "Pillow", "yaml": "PyYAML", "sklearn": "scikit-learn"}


def install_command(python: str, missing: str) -> str:
    """How to install the package of a module that failed to import, under `python`."""
    top = missing.split(".")[0]
    return f"{python} -m pip install {PIP_NAMES.get(top, top)}"


@dataclass(frozen=True)
class Suite:
    """Where a suite's code is, as module names relative to this package: they import this module, not it them."""

    resolver: str  # on the orchestrator's side: its resolve(name) gives the Workload of `PREFIX + NAME`
    adapter: str  # in the cell: its load(ref) gives the workload module of a ref; standard library only


# The one dispatch point to suites, by the prefix that starts both a suite workload's name and its ref.
SUITES = {"pyperformance:": Suite(".suites.pyperformance", ".workloads.pyperformance")}


def suite_of(name: str) -> Suite | None:
    """The suite a workload name or ref belongs to, if any."""
    return next((suite for prefix, suite in SUITES.items() if name.startswith(prefix)), None)


_loaded: dict[str, ModuleType] = {}


@dataclass(frozen=True)
class Workload:
    name: str  # what the CLI, CSV and charts call it
    ref: str  # how a worker finds the module again: a dotted module name or a .py path
    module: ModuleType

    @property
    def description(self) -> str:
        return getattr(self.module, "DESCRIPTION", "") or (self.module.__doc__ or "").strip().split("\n")[0]

    @property
    def weak_parameter(self) -> str | None:
        """The parameter that holds the amount of work (WEAK_SCALING): --scaling weak multiplies it by N."""
        return getattr(self.module, "WEAK_SCALING", None)

    def params(self, size: str, overrides: dict[str, str] | None = None) -> dict:
        """The parameters of a size profile with the user's overrides, each coerced to the profile's type."""
        sizes = self.module.SIZES
        if size not in sizes:
            raise UsageError(f"workload {self.name!r} has no size {size!r} (accepted: {', '.join(sizes)})")
        params = dict(sizes[size])
        for key, text in (overrides or {}).items():
            if key not in params:
                raise UsageError(
                    f"workload {self.name!r} has no parameter {key!r} (accepted: {', '.join(params) or 'none'})"
                )
            zero_allowed = any(profile.get(key) == 0 for profile in sizes.values())
            params[key] = _coerce(self.name, key, text, params[key], zero_allowed)
        return params


def _coerce(workload: str, key: str, text: str, like, zero_allowed: bool = False):
    """A parameter's text as the profile's type. Counts are whole numbers >= 1, or >= 0 where a profile
    uses 0 (it means 'automatic' there, as count's `tasks: 0` does)."""
    low = 0 if zero_allowed else 1
    try:
        if isinstance(like, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if isinstance(like, int):
            value = float(text)  # accepts 2e8 as well as 200000000
        elif isinstance(like, float):
            value = float(text)
        else:
            return text
    except ValueError:
        kind = "a whole number" if isinstance(like, int) and not isinstance(like, bool) else type(like).__name__
        raise UsageError(
            f"parameter {key}={text!r} of workload {workload!r} is not {kind}"
            + (f" (accepted: a whole number >= {low})" if kind == "a whole number" else "")
        ) from None
    if isinstance(like, int):
        if value != value or value != int(value) or value < low:
            raise UsageError(
                f"parameter {key}={text!r} of workload {workload!r} is out of range "
                f"(accepted: a whole number >= {low}{', 0 meaning automatic' if low == 0 else ''})"
            )
        return int(value)
    if not value > 0 or value == float("inf"):
        raise UsageError(f"parameter {key}={text!r} of workload {workload!r} is out of range (accepted: a number > 0)")
    return value


def load(ref: str) -> ModuleType:
    """Import a workload module by dotted name or .py path, once per process (workers call this)."""
    module = _loaded.get(ref)
    if module is None:
        suite = suite_of(ref)
        if suite is not None:  # a suite's workload, e.g. a benchmark script of pyperformance run by path
            module = importlib.import_module(suite.adapter, __package__).load(ref)
        elif ref.endswith(".py"):
            name = "gilbench_user_" + os.path.splitext(os.path.basename(ref))[0]
            spec = importlib.util.spec_from_file_location(name, ref)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {ref}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(ref)
        _loaded[ref] = module
    return module


def accepted() -> str:
    """How a workload name is found, in resolve()'s order (docs/workloads.md says the same)."""
    return (
        ", ".join([*BUILTIN, *(f"{prefix}NAME" for prefix in SUITES)])
        + ", a .py file's path, NAME for NAME.py in the current folder, "
        + "or a dotted module name importable from the current folder"
    )


def user_file(name: str) -> str | None:
    """The absolute path of the user's workload file a name stands for, if it is one: a .py path, or a plain name
    with NAME.py in the current folder (not a built-in or suite name). Recorded absolute, so --resume from any
    folder finds the same file."""
    if suite_of(name) is not None or name in BUILTIN:
        return None
    if name.endswith(".py"):
        return os.path.abspath(name)
    if "." not in name and os.path.isfile(name + ".py"):
        return os.path.abspath(name + ".py")
    return None


def shadowed(name: str) -> str:
    """What is measured when the current folder holds NAME.py and NAME is a built-in: the built-in (the names'
    order, accepted()), and how to have the file instead; else a user who wrote matmul.py measures ours unawares."""
    return (
        f"{name!r} is gilbench's built-in workload: {name}.py in {os.getcwd()} is not used "
        f"(give --workloads ./{name}.py for it)"
    )


def resolve(name: str) -> Workload:
    """A workload by the first of accepted() that matches `name`: built-in name, a suite's name (pyperformance:NAME),
    path to a .py file, plain name of a .py file in the current folder, dotted module name."""
    suite = suite_of(name)
    if suite is not None:
        return importlib.import_module(suite.resolver, __package__).resolve(name)
    path = user_file(name)
    if name in BUILTIN:
        ref = f"gilbench.workloads.{name}"
        if os.path.isfile(name + ".py"):  # the user's file of a built-in's name: built-ins come first, say so
            warnings.warn(shadowed(name), stacklevel=2)
    elif path is not None:
        if not os.path.isfile(path):
            folder, file = os.path.split(path)
            raise UsageError(f"workload file {file!r} does not exist in {folder}")
        ref = path
        name = os.path.splitext(os.path.basename(path))[0]
    elif "." in name:
        ref = name
        if os.getcwd() not in sys.path:  # a user's dotted module, looked up after everything else (as in cells)
            sys.path.append(os.getcwd())
    else:
        close = difflib.get_close_matches(name, BUILTIN, n=3)
        hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
        raise UsageError(f"unknown workload {name!r}{hint}; no {name}.py in {os.getcwd()}; accepted: {accepted()}")
    try:
        module = load(ref)
    except UsageError:
        raise
    except Exception as exc:  # the user's module failed to import: say why, in one line
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name:  # a package the workload imports is not installed
            hint = f"; install it with: {install_command(sys.executable, exc.name)}"
        raise UsageError(f"cannot import workload {ref!r}: {type(exc).__name__}: {exc}{hint}") from None
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise UsageError(f"workload {ref!r} lacks {', '.join(missing)} (the protocol needs {', '.join(REQUIRED)})")
    return Workload(name=name, ref=ref, module=module)


def builtin_workloads() -> list[Workload]:
    return [resolve(name) for name in BUILTIN]
