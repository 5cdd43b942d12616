"""The one definition of `gilbench run`'s options: their names, types, defaults, help, and validation.

Each option is one field of `RunConfig`: its name, the type of its checked value (`config.precision`: a float), its
default (as the text a user would type), its help, and the function that checks and converts it (`parse`, whose
return type mypy matches with the field's). The command-line parser, `gilbench.run()`'s keyword arguments,
`RunOptions` (the options as given, which the run folder's options.json records and `--resume` reads back) and
environment.json's resolved `config` are all built from these fields, so a new option is one new field here, plus
its use. `resolve()` checks every option before anything runs or is written and returns the frozen `RunConfig` the
orchestrator executes.

A parse takes an option as a user gives it: text from the command line, or a Python value from `gilbench.run()`
(`workers=[1, 2]`, `repeat=3`, `param={"iterations": 2e8}`), and says what is wrong in the command line's words.
"""

from __future__ import annotations

import difflib
import json
import math
import multiprocessing
import os
import sys
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from . import blocks, native
from . import variants as _variants
from .errors import UsageError
from .registry import Workload
from .storage import OPTIONS_FILE

SCALINGS = ("strong", "weak")

# ---------------------------------------------------------------- given values: text or Python values


def shown(given: Any) -> str:
    """A given value as the command line would have had it, for messages: lists joined with commas."""
    if isinstance(given, dict):
        return ",".join(f"{k}={shown(v)}" for k, v in given.items())
    if isinstance(given, (list, tuple)):
        return ",".join(map(str, given))
    return str(given)


def entries(given: Any) -> list:
    """A comma list's entries (text, stripped), or a list's or a single value's as they are."""
    if isinstance(given, str):
        return [part.strip() for part in given.split(",")]
    if isinstance(given, (list, tuple)):
        return [v.strip() if isinstance(v, str) else v for v in given]
    return [given]


def repeated(given: Any) -> list:
    """A repeatable option's items: one value or a list of them."""
    if given is None:
        return []
    return list(given) if isinstance(given, (list, tuple)) else [given]


def is_auto(given: Any) -> bool:
    return isinstance(given, str) and given.strip() == "auto"


# ---------------------------------------------------------------- validation of single options


def split_list(given: Any) -> list[str] | None:
    """A comma list (or a list of names) without duplicates, or None when it is empty or has an empty entry."""
    names = [str(n) for n in entries(given)]
    if not names or any(not n for n in names):
        return None
    return list(dict.fromkeys(names))


def parse_names(given: Any, accepted, what: str) -> list[str]:
    names = split_list(given)
    if names is None:
        raise UsageError(f"empty name in {what} list {shown(given)!r} (accepted: {', '.join(accepted)})")
    for name in names:
        if name not in accepted:
            close = difflib.get_close_matches(name, accepted, n=2)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            raise UsageError(f"unknown {what} {name!r}{hint}; accepted: {', '.join(accepted)}")
    return names


REFERENCE_COUNTS = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def whole(value: Any) -> int | None:
    """A whole number given as an int or as digits, else None (a bool is not a number of anything)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def parse_workers(given: Any, usable: int) -> list[int]:
    """'auto' -> 1, 2, 4, ... up to the usable CPUs, plus that count itself;
    'reference' -> 1, 2, 4, 6, 8, 12, 16, ... up to the usable CPUs, plus that count and twice it
    (oversubscribed); else a comma list (or a list) of positive integers."""
    if isinstance(given, str) and given.strip() == "reference":
        return sorted({n for n in REFERENCE_COUNTS if n <= usable} | {usable, 2 * usable})
    if is_auto(given):
        counts, n = [], 1
        while n < usable:
            counts.append(n)
            n *= 2
        return sorted(set(counts) | {usable})
    parts = entries(given)
    if not parts or any(p == "" for p in parts):
        raise UsageError(
            f"--workers {shown(given)!r}: empty entry (accepted: 'auto', 'reference' or positive integers like 1,2,4)"
        )
    counts = []
    for part in parts:
        count = whole(part)
        if count is None or count < 1:
            raise UsageError(
                f"--workers {shown(given)!r}: {str(part)!r} is not a positive integer "
                "(accepted: 'auto', 'reference' or 1,2,4)"
            )
        counts.append(count)
    return sorted(set(counts))


def parse_positive(given: Any, option: str, kind: Callable[[Any], Any] = int):
    try:
        value = None if isinstance(given, bool) else kind(given)
    except (ValueError, TypeError):
        value = None
    if value is None or not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"{option} {shown(given)!r} is not a positive {'integer' if kind is int else 'number'}")
    return value


def param_items(given: Any) -> list[tuple[str, str, Any]]:
    """--param's items as (as given, key, value): 'KEY=VALUE' texts, or a dict {KEY: value}."""
    if isinstance(given, dict):
        return [(f"{k}={v}", str(k), v) for k, v in given.items()]
    items = []
    for item in repeated(given):
        key, sep, value = str(item).partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--param {item!r} is not KEY=VALUE or WORKLOAD.KEY=VALUE")
        items.append((str(item), key, value))
    return items


def parse_params(given: Any, workloads) -> dict[str, dict[str, Any]]:
    """--param KEY=VALUE (every selected workload that has KEY) or WORKLOAD.KEY=VALUE."""
    overrides: dict[str, dict[str, Any]] = {}
    names = {wl.name for wl in workloads}
    for item, key, value in param_items(given):
        target, dot, pkey = key.rpartition(".")
        if dot and target not in names:
            raise UsageError(f"--param {item!r}: workload {target!r} is not selected ({', '.join(sorted(names))})")
        hits = [
            wl for wl in workloads if (not dot or wl.name == target) and pkey in next(iter(wl.module.SIZES.values()))
        ]
        if not hits:
            accepted = sorted({k for wl in workloads for k in next(iter(wl.module.SIZES.values()))})
            raise UsageError(f"--param {item!r}: no selected workload has {pkey!r} (accepted: {', '.join(accepted)})")
        for wl in hits:
            overrides.setdefault(wl.name, {})[pkey] = value
    return overrides


DASK_CONNECT_TIMEOUT = 5


def check_dask_scheduler(address: str, workers: int) -> None:
    """The scheduler answers within the connect timeout and has the worker threads asked for."""
    import logging

    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError(
            "--dask-scheduler needs the distributed package: pip install 'gilbench[distributed]'"
        ) from None
    from .variants import dask_threads

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"--dask-scheduler {address!r} did not answer within {DASK_CONNECT_TIMEOUT} s ({reason})"
        ) from None
    try:
        threads = sum(dask_threads(client).values())
    finally:
        client.close()
    if threads < workers:
        raise UsageError(
            f"--dask-scheduler {address!r} has {threads} worker threads; --workers asks for up to {workers}"
        )


# ---------------------------------------------------------------- each option's parse: (given, earlier, flag) -> value
# `given` is the option as a user gives it (text or a Python value; a list for a repeatable option; a bool for a
# flag); `earlier` holds the options above it in RunConfig, already checked; `flag` is the option's name on the
# command line, for messages. A parse raises UsageError for bad input.


def _workloads(given: Any, earlier: dict, flag: str) -> list[Workload]:
    from . import registry

    names = split_list(given)
    if names is None:
        raise UsageError(f"empty entry in the workload list {shown(given)!r}")
    if any(n.startswith("pyperformance:") for n in names):
        from .suites import pyperformance as suite

        names = suite.expand(names, registry.BUILTIN)
    return [registry.resolve(n) for n in names]


def _python(given: Any, earlier: dict, flag: str) -> list[str]:
    from . import interpreters

    paths = [os.fspath(p) for p in repeated(given)]
    pythons = interpreters.check_pythons(paths) if paths else [sys.executable]
    for python in pythons:
        if not interpreters.is_this(python):
            interpreters.check_imports(python, earlier["workloads"])
    return pythons


def _variants_of(given: Any, earlier: dict, flag: str) -> list[str]:
    from . import interpreters

    can = {p: interpreters.availability(p) for p in earlier["python"]}
    if isinstance(given, str) and given.strip() == "all":  # every variant that every given interpreter can run
        wanted = [v for v in _variants.VARIANTS if all(a.get(v) is None for a in can.values())]
    else:
        wanted = parse_names(given, list(_variants.VARIANTS), "variant")
    for python, unavailable in can.items():
        for v in wanted:
            if unavailable.get(v):
                raise UsageError(f"variant {v!r} cannot run under {python}: {unavailable[v]}")
    return wanted


def _workers(given: Any, earlier: dict, flag: str) -> list[int]:
    from . import environment

    return parse_workers(given, environment.usable_cpus())


def _size(given: Any, earlier: dict, flag: str) -> str:
    for wl in earlier["workloads"]:  # an unknown size fails here, before anything runs
        wl.params(given)
    return given


def _scaling(given: Any, earlier: dict, flag: str) -> str:
    if given not in SCALINGS:
        raise UsageError(f"--scaling {shown(given)!r} is not one of {', '.join(SCALINGS)}")
    if given == "weak":
        for wl in earlier["workloads"]:
            if not wl.weak_parameter:
                raise UsageError(
                    f"workload {wl.name!r} does not say what one worker's share of work is (set "
                    "WEAK_SCALING = '<parameter>' in its module), so --scaling weak cannot grow it"
                )
            if not isinstance(wl.params(earlier["size"]).get(wl.weak_parameter), (int, float)):
                raise UsageError(
                    f"workload {wl.name!r}: WEAK_SCALING names {wl.weak_parameter!r}, which is not a "
                    f"numeric parameter of its size profile {earlier['size']!r}"
                )
    return given


def _variant_workers(given: Any, earlier: dict, flag: str) -> dict[str, list[int]]:
    from . import environment

    if isinstance(given, dict):  # {VARIANT: counts}
        pairs = [(f"{name}={shown(counts)}", str(name), counts) for name, counts in given.items()]
    else:  # VARIANT=LIST texts
        pairs = []
        for item in repeated(given):
            name, sep, counts = str(item).partition("=")
            pairs.append((str(item), name if sep else "", counts))
    counts_of = {}
    for item, name, counts in pairs:
        if name.strip() not in earlier["variants"]:
            raise UsageError(
                f"--variant-workers {item!r} is not VARIANT=LIST with a selected variant "
                f"(accepted: {', '.join(earlier['variants'])})"
            )
        counts_of[name.strip()] = parse_workers(counts, environment.usable_cpus())
    return counts_of


def _param(given: Any, earlier: dict, flag: str) -> dict[str, dict[str, Any]]:
    overrides = parse_params(given, earlier["workloads"])
    for wl in earlier["workloads"]:  # unknown parameters and bad values fail here, before anything runs
        wl.params(earlier["size"], overrides.get(wl.name))
    return overrides


def _repeat(given: Any, earlier: dict, flag: str) -> int:
    """Blocks per worker count planned from the start: with 'auto', the pilot's (RunConfig.auto says which)."""
    if is_auto(given):
        return blocks.PILOT_BLOCKS
    count = whole(given)
    if count is None:
        raise UsageError(f"--repeat {shown(given)!r} is not a positive integer or 'auto'")
    return parse_positive(count, "--repeat")


# How --repeat auto stops (environment.json's config): a look after the pilot and after every round, each cell's
# interval widened for the looks (analysis.SEQUENTIAL_FACTOR). A sized run without it was sized by the two-stage rule.
SEQUENTIAL_STOP = "sequential"
LIGHT = "light"  # --warmup's default: one round, whole for cells of several workers, dry for 1-worker cells


def _warmup(given: Any, earlier: dict, flag: str) -> int | str:
    if str(given).strip().lower() == LIGHT:
        return LIGHT
    count = whole(given)
    if count is None or count < 0:
        raise UsageError(f"{flag} {shown(given)!r} is not 'light' or a whole number (accepted: light, 0, 1, 2, ...)")
    return count


def _positive_number(given: Any, earlier: dict, flag: str) -> float:
    return parse_positive(given, flag, float)


def _whole(what: str) -> Callable[[Any, dict, str], int]:
    def parse(given: Any, earlier: dict, flag: str) -> int:
        count = whole(given)
        if count is None or count < 0:
            raise UsageError(f"{flag} {shown(given)!r} is not a whole number{what} (accepted: 0, 1, 2, ...)")
        return count

    return parse


def _cores(given: Any, earlier: dict, flag: str) -> float:
    try:
        threshold = math.nan if isinstance(given, bool) else float(given)
    except (ValueError, TypeError):
        threshold = math.nan
    if not threshold >= 0 or threshold == math.inf:
        raise UsageError(f"--disturbance-threshold {shown(given)!r} is not a number of cores >= 0 (e.g. 0.1)")
    return threshold


# What a student's own code gets from multiprocessing without choosing: the first of get_all_start_methods() is the
# platform's default (spawn on macOS and Windows; fork on Linux before 3.14, forkserver from 3.14), read without
# get_start_method(), which would fix the orchestrator's own context as a side effect.
PLATFORM_START_METHOD = multiprocessing.get_all_start_methods()[0]
# GILBENCH_START_METHOD replaces that default (a class's machines set once; `make test-platforms` runs the core
# tests under spawn with it); --start-method still wins, and each row records the method it ran with.
START_METHOD_VARIABLE = "GILBENCH_START_METHOD"
DEFAULT_START_METHOD = os.environ.get(START_METHOD_VARIABLE) or PLATFORM_START_METHOD


def _start_method(given: Any, earlier: dict, flag: str) -> str:
    methods = multiprocessing.get_all_start_methods()
    if given not in methods:
        source = f" (from {START_METHOD_VARIABLE})" if given == os.environ.get(START_METHOD_VARIABLE) else ""
        raise UsageError(
            f"--start-method {shown(given)!r}{source} is not available here (accepted: {', '.join(methods)})"
        )
    return given


def _native_threads(given: Any, earlier: dict, flag: str) -> str:
    """`leave`, `auto` or a thread count >= 1, as text (auto is resolved per cell: usable CPUs // workers); a comma
    list of them measures the matrix at each setting, side by side (`leave,1`), the list kept as given."""
    parts = [p.strip() for p in given.split(",")] if isinstance(given, str) and "," in given else [given]
    settings = [_native_setting(p, flag) for p in parts]
    if len(set(settings)) != len(settings):
        raise UsageError(f"{flag} {shown(given)!r} names a setting twice (accepted: distinct N, 'auto', 'leave')")
    return ",".join(settings)


def _native_setting(given: Any, flag: str) -> str:
    text = str(given).strip().lower()
    count = whole(given)
    if text in (native.LEAVE, native.AUTO):
        return text
    if count is None or count < 1:
        raise UsageError(f"{flag} {shown(given)!r} is not a thread count >= 1, 'auto' or 'leave' (or a comma list)")
    return str(count)


def _images(given: Any, earlier: dict, flag: str) -> str | None:
    if not given:
        return None
    folder = os.fspath(given)
    # gilbench.workloads is this repository's workloads/ folder (pyproject.toml's package-dir), which mypy,
    # reading bench/ as a package of its own, cannot follow
    from .workloads.thumbnail import list_images  # type: ignore[import-not-found,unused-ignore]

    try:
        list_images(folder)
    except ValueError as exc:
        raise UsageError(f"--images: {exc}") from None
    return folder


def _out(given: Any, earlier: dict, flag: str) -> Path:
    from . import storage

    storage.check_writable(Path(given))
    return Path(given)


def _keep_outputs(given: Any, earlier: dict, flag: str) -> Path | None:
    from . import storage

    if not given:
        return None
    keep = Path(given)
    if keep.exists() and not keep.is_dir():
        raise UsageError(f"--keep-outputs {str(keep)!r} is a file, not a folder (accepted: a folder, new or existing)")
    storage.check_writable(keep)
    return keep


def _gil(given: Any, earlier: dict, flag: str) -> str | None:
    """PYTHON_GIL's value for every worker: '0' or '1' (the numbers 0 and 1 from the API too)."""
    if given is None:
        return None
    value = whole(given)
    if value not in (0, 1) or (isinstance(given, str) and given not in ("0", "1")):
        raise UsageError(f"--gil {shown(given)!r} is not 0 or 1 (PYTHON_GIL for every worker)")
    return str(value)


def _dask_scheduler(given: Any, earlier: dict, flag: str) -> str | None:
    if given:
        if "dask" not in earlier["variants"]:
            raise UsageError("--dask-scheduler is given but the dask variant is not selected (add it to --variants)")
        check_dask_scheduler(given, max(earlier["workers"]))
    return given


def _seed(given: Any, earlier: dict, flag: str) -> int | None:
    if given is None:
        return None
    try:
        if isinstance(given, float):
            raise ValueError
        return int(given)
    except (ValueError, TypeError):
        raise UsageError(f"--seed {shown(given)!r} is not an integer") from None


def _check_against_tutorial(given: Any, earlier: dict, flag: str) -> bool:
    if given:
        from . import tutorial

        if earlier["scaling"] == "weak":
            raise UsageError(f"{flag} compares the same work both ways: it needs --scaling strong")
        tutorial.check_selected([wl.name for wl in earlier["workloads"]], earlier["variants"], earlier["workers"])
    return bool(given)


def _flag(given: Any, earlier: dict, flag: str) -> bool:
    return bool(given)


T = TypeVar("T")


def option(default: Any, help: str, metavar: str | None = None, *, parse: Callable[[Any, dict, str], T]) -> T:
    """One option, a field of RunConfig: its default as a user would type it, its help, and its parse, whose
    return type is the field's (so mypy checks each option's type against its parse)."""
    return field(metadata={"default": default, "help": help, "metavar": metavar, "parse": parse})


def option_fields() -> list[Field]:
    """RunConfig's options, in their order (the fields with a parse; the others are not options)."""
    return [f for f in fields(RunConfig) if "parse" in f.metadata]


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def default_of(f: Field) -> Any:
    default = f.metadata["default"]
    return list(default) if isinstance(default, list) else default


class RunOptions:
    """The options of one run as given: on the command line (text), to the Python API (Python values), or read
    back from a run folder's options.json. One value per option of RunConfig, by the option's name (an option not
    given, or given as None, has its default); `resolve()` checks them and makes the RunConfig."""

    def __init__(self, **given: Any) -> None:
        known = option_fields()
        unknown = sorted(set(given) - {f.name for f in known})
        if unknown:
            raise TypeError(
                f"RunOptions got an unexpected keyword argument {unknown[0]!r} "
                f"(accepted: {', '.join(f.name for f in known)})"
            )
        self.given: dict[str, Any] = {
            f.name: given[f.name] if given.get(f.name) is not None else default_of(f) for f in known
        }

    def __getattr__(self, name: str) -> Any:  # an option as given: text or a Python value, not checked yet
        given = self.__dict__.get("given")
        if given is None or name not in given:
            raise AttributeError(f"RunOptions has no option {name!r}")
        return given[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunOptions) and other.given == self.given

    def __repr__(self) -> str:
        return f"RunOptions({', '.join(f'{k}={v!r}' for k, v in self.given.items())})"

    @staticmethod
    def add_arguments(parser) -> None:
        for f in option_fields():
            default = default_of(f)
            help_text = f.metadata["help"] + (f" (default: {default})" if default not in (None, False, []) else "")
            if isinstance(default, bool):
                parser.add_argument(flag_of(f.name), action="store_true", help=help_text)
            elif isinstance(default, list):
                parser.add_argument(
                    flag_of(f.name), action="append", default=None, metavar=f.metadata["metavar"], help=help_text
                )
            else:
                parser.add_argument(flag_of(f.name), default=default, metavar=f.metadata["metavar"], help=help_text)

    @classmethod
    def from_namespace(cls, args) -> RunOptions:
        return cls(**{f.name: getattr(args, f.name) for f in option_fields()})  # None: the option's default

    def recorded(self) -> dict:
        """The options as JSON, with relative paths made absolute, so a resume from any folder finds the same files."""
        from . import interpreters, registry

        data = dict(self.given)
        for key in ("out", "images", "keep_outputs"):
            if data[key]:
                data[key] = os.path.abspath(data[key])
        data["python"] = [interpreters.find_python(os.fspath(p)) for p in repeated(data["python"])]
        names = split_list(data["workloads"])
        if names:  # a user's workload file by its absolute path; built-in, suite and module names as given
            in_suite = any(registry.suite_of(n) for n in names)  # a bare name there may be the suite's (expand)
            absolute = [(registry.user_file(n) if n.endswith(".py") or not in_suite else None) or n for n in names]
            data["workloads"] = absolute if isinstance(data["workloads"], (list, tuple)) else ",".join(absolute)
        return data

    @classmethod
    def read(cls, run_dir) -> RunOptions:
        """The options a run was started with, from its folder (for --resume)."""
        path = Path(run_dir) / OPTIONS_FILE
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            raise UsageError(
                f"--resume {str(run_dir)!r} is not a gilbench run folder (no readable {OPTIONS_FILE})"
            ) from None


def _cache_dir() -> Path:
    return Path(os.environ.get("GILBENCH_CACHE", Path.home() / ".cache" / "gilbench"))


@dataclass(frozen=True)
class RunConfig:
    """A run's options, checked and resolved (by `resolve()`, once): what the orchestrator executes.

    Every field made with `option()` is one option, its one definition: the name, the checked value's type,
    the default, help and check. The order matters: a parse sees the options above it already checked (the
    variants see the interpreters, the sizes the workloads). The fields after them are not options: what the
    run was given, and what it finds out before it starts."""

    workloads: list[Workload] = option(
        "count,thumbnail",
        "comma list: names, pyperformance:NAME (pyperformance's benchmarks), module names or .py paths",
        parse=_workloads,
    )
    python: list[str] = option(
        [],
        "run the cells under this interpreter (repeatable: one set of cells per interpreter)",
        "PATH",
        parse=_python,
    )
    variants: list[str] = option(
        ",".join(_variants.default_variants()),
        "comma list, or 'all' (every variant the interpreters can run)",
        parse=_variants_of,
    )
    workers: list[int] = option(
        "auto",
        "'auto' (1, 2, 4, ... up to the usable CPUs), 'reference' (1, 2, 4, 6, 8, 12, 16, "
        "... up to the usable CPUs, plus twice that), or a comma list",
        parse=_workers,
    )
    size: str = option("standard", "smoke, quick, standard or full", parse=_size)
    scaling: str = option(
        "strong",
        "strong: the same total work at every worker count (does it get faster?); "
        "weak: one size profile of work per worker (with more cores, can I do more "
        "work in the same time?)",
        parse=_scaling,
    )
    variant_workers: dict[str, list[int]] = option(
        [],
        "worker counts for one variant instead of --workers (repeatable), e.g. threading=1,4,16",
        "VARIANT=LIST",
        parse=_variant_workers,
    )
    param: dict[str, dict[str, Any]] = option(
        [],
        "override one parameter of the size profile (repeatable), e.g. iterations=2e8",
        "[WORKLOAD.]KEY=VALUE",
        parse=_param,
    )
    repeat: int = option(
        "auto",
        "paired blocks per worker count (each: the serial baseline and every variant at that "
        f"count, back to back, in random order); 'auto': a pilot of {blocks.PILOT_BLOCKS} blocks, then as many as "
        "each speedup needs to reach --precision, within --budget",
        parse=_repeat,
    )
    precision: float = option(
        "0.10",
        "the relative half-width (95 %%) every speedup interval should reach: with --repeat "
        "auto it sizes the run, with a number it is reported as met or not",
        parse=_positive_number,
    )
    budget: float = option(
        "180",
        "seconds of measuring: with --repeat auto no round of blocks starts that would end past it, and with "
        "either no replacement for a block set aside (disturbed through its re-runs)",
        "SECONDS",
        parse=_positive_number,
    )
    warmup: int | str = option(
        "light",
        "warm-up before the measured blocks (recorded, flagged, left out of the statistics): 'light', one round in "
        "which the cells of several workers run whole and each 1-worker cell's process starts, imports and makes "
        "its tasks, and stops before the timed region; N, N rounds of whole repetitions; 0 for none",
        "light|N",
        parse=_warmup,
    )
    disturbance_threshold: float = option(
        "0.1",
        "a repetition during which other programs and the hypervisor took "
        "more than this many cores is marked disturbed and run again",
        "CORES",
        parse=_cores,
    )
    reruns: int = option(
        "2",
        "how many times a disturbed repetition's block is run again at once before it is set aside (and "
        "replaced by a new block while --budget lasts); 0 runs nothing again",
        "N",
        parse=_whole(""),
    )
    start_method: str = option(
        DEFAULT_START_METHOD,
        "multiprocessing start method: fork, forkserver, spawn (default: the platform's, as a program that does not "
        f"choose gets, or {START_METHOD_VARIABLE}; fork stays available where the platform has it)",
        parse=_start_method,
    )
    native_threads: str = option(
        native.LEAVE,
        "native thread pools (OpenBLAS, MKL, OpenMP) in every worker: 'leave' them as they are (recorded), "
        "limit them to N threads, or 'auto' (usable CPUs // workers); a comma list (e.g. leave,1) measures the "
        "matrix at each setting side by side, each with its own serial baseline",
        "N|auto|leave[,...]",
        parse=_native_threads,
    )
    timeout: float = option("300", "seconds before a repetition is killed", parse=_positive_number)
    images: str | None = option(None, "thumbnail your own images instead of generated photos", "DIR", parse=_images)
    out: Path = option("results", "results folder (runs land in OUT/runs/<run id>)", parse=_out)
    keep_outputs: Path | None = option(
        None,
        "keep what each cell's workload wrote (the thumbnails, ...), from the cell's "
        "latest repetition, in DIR/<workload>/<variant>-x<workers>, to check the work "
        "(copied after the cell ends, outside the timing)",
        "DIR",
        parse=_keep_outputs,
    )
    gil: str | None = option(None, "set PYTHON_GIL for every cell and worker (free-threaded builds)", "0|1", parse=_gil)
    strict: bool = option(False, "stop at the first invalid input image instead of skipping it", parse=_flag)
    dask_scheduler: str | None = option(
        None,
        "run the dask variant on an existing cluster (e.g. tcp://host:8786) instead of a LocalCluster",
        "ADDRESS",
        parse=_dask_scheduler,
    )
    seed: int | None = option(None, "seed of the shuffled order (recorded either way)", parse=_seed)
    trace: bool = option(
        False,
        "after the measured rounds, one more repetition per cell with a sampler reading every "
        "thread's state (running, waiting for a core, blocked) from /proc: the state timeline "
        "(Linux; not counted in the statistics)",
        parse=_flag,
    )
    check_against_tutorial: bool = option(
        False,
        "run the classic tutorial's own two scripts (the count loop called N times; N processes started and "
        "joined) inside the count workload's paired blocks at 2+ workers, and compare their speedup with the "
        "multiprocessing cell's in the report",
        parse=_check_against_tutorial,
    )
    no_progress: bool = option(False, "no progress bar", parse=_flag)
    no_report: bool = option(False, "write only the CSVs, no charts or report", parse=_flag)

    # not options:
    given: RunOptions = field(default_factory=RunOptions)  # the options as given (options.json, --resume)
    cache_dir: Path = field(default_factory=_cache_dir)  # prepared inputs (generated photos, ...), kept between runs
    # pyperformance workloads (bench/suites/pyperformance.py), found by probing them before the run:
    unavailable: dict = field(default_factory=dict)  # (workload, python) -> why it cannot run there (not run)
    cell_timeouts: dict = field(default_factory=dict)  # workload -> seconds after which its repetition has hung
    # workload -> (interpreter, what went wrong): the probe found two threads sharing its module break it
    not_thread_safe: dict = field(default_factory=dict)

    @property
    def auto(self) -> bool:
        """--repeat auto: more blocks while some cell misses the precision and the budget lasts."""
        return is_auto(self.given.repeat)

    @property
    def warmup_rounds(self) -> int:
        """Rounds of warm-up blocks: --warmup N, or the one light round."""
        return 1 if self.warmup == LIGHT else int(self.warmup)

    def dry_warmup(self, workers: int) -> bool:
        """Whether a warm-up repetition of a cell of `workers` stops before the timed region (CellSpec.dry): with
        --warmup light, a 1-worker cell's. Its process start and imports are what a warm-up is for; a cell of
        several workers runs whole, because the first run that busies every core after an idle spell can run slow
        on a VM (docs/measuring.md)."""
        return self.warmup == LIGHT and workers == 1

    @property
    def child_env(self) -> dict[str, str]:
        """What every cell and worker gets in its environment: PYTHON_GIL with --gil."""
        return {"PYTHON_GIL": self.gil} if self.gil is not None else {}

    def recorded(self) -> dict:
        """The options as resolved, for environment.json (the report reads them)."""

        def plain(value):
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, Workload):
                return value.name
            if isinstance(value, list):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        return {
            **{f.name: plain(getattr(self, f.name)) for f in option_fields()},
            "repeat_auto": self.auto,
            "child_env": self.child_env,
            "paired_blocks": True,
            "pilot_blocks": blocks.PILOT_BLOCKS if self.auto else None,
            "stop_rule": SEQUENTIAL_STOP if self.auto else None,
        }


def resolve(options: RunOptions) -> RunConfig:
    """Check every option, in RunConfig's order, with its own parse (before anything runs or is written)."""
    values: dict[str, Any] = {}
    for f in option_fields():
        values[f.name] = f.metadata["parse"](options.given[f.name], values, flag_of(f.name))
    found: dict[str, Any] = {}
    if any(wl.ref.startswith("pyperformance:") for wl in values["workloads"]):
        from .suites import pyperformance as suite

        counts = [
            n
            for v in values["variants"]
            for n in _variants.worker_counts(v, values["variant_workers"].get(v, values["workers"]))
        ]
        values["workloads"], found["unavailable"], found["cell_timeouts"], found["not_thread_safe"] = suite.prepare_run(
            values["workloads"], values["python"], values["size"], values["param"], max(counts)
        )
    return RunConfig(**values, given=options, **found)
