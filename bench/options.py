"""The one definition of `gilbench run`'s options: their names, defaults, help, and validation.

Each option is one field of `RunOptions`: its name, its default (as the text a user would type), its help, and
the function that checks and converts it (`parse`). The command-line parser, `gilbench.run()`'s keyword
arguments, the run folder's options.json (which `--resume` reads back) and environment.json's resolved `config`
are all built from these fields, so a new option is one new field here, plus its use. `resolve()` checks every
option before anything runs or is written and returns the `RunConfig` the orchestrator executes: there an
option's checked value is an attribute of the same name (`config.precision`, a float).
"""

from __future__ import annotations

import difflib
import json
import math
import multiprocessing
import os
import sys
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import blocks
from . import variants as _variants
from .errors import UsageError
from .registry import Workload
from .storage import OPTIONS_FILE

SCALINGS = ("strong", "weak")

# ---------------------------------------------------------------- validation of single options


def split_list(text: str) -> list[str] | None:
    """A comma list without duplicates, or None when it is empty or has an empty entry."""
    names = [n.strip() for n in text.split(",")]
    if not text.strip() or any(not n for n in names):
        return None
    return list(dict.fromkeys(names))


def parse_names(text: str, accepted, what: str) -> list[str]:
    names = split_list(text)
    if names is None:
        raise UsageError(f"empty name in {what} list {text!r} (accepted: {', '.join(accepted)})")
    for name in names:
        if name not in accepted:
            close = difflib.get_close_matches(name, accepted, n=2)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            raise UsageError(f"unknown {what} {name!r}{hint}; accepted: {', '.join(accepted)}")
    return names


REFERENCE_COUNTS = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def parse_workers(text: str, usable: int) -> list[int]:
    """'auto' -> 1, 2, 4, ... up to the usable CPUs, plus that count itself;
    'reference' -> 1, 2, 4, 6, 8, 12, 16, ... up to the usable CPUs, plus that count and twice it
    (oversubscribed); else a comma list of positive integers."""
    if text.strip() == "reference":
        return sorted({n for n in REFERENCE_COUNTS if n <= usable} | {usable, 2 * usable})
    if text.strip() == "auto":
        counts, n = [], 1
        while n < usable:
            counts.append(n)
            n *= 2
        return sorted(set(counts) | {usable})
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise UsageError(
            f"--workers {text!r}: empty entry (accepted: 'auto', 'reference' or positive integers like 1,2,4)"
        )
    counts = []
    for part in parts:
        if not part.isdigit() or int(part) < 1:
            raise UsageError(
                f"--workers {text!r}: {part!r} is not a positive integer (accepted: 'auto', 'reference' or 1,2,4)"
            )
        counts.append(int(part))
    return sorted(set(counts))


def parse_positive(text: str, option: str, kind=int):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"{option} {text!r} is not a positive {'integer' if kind is int else 'number'}")
    return value


def parse_params(items: list[str], workloads) -> dict[str, dict[str, str]]:
    """--param KEY=VALUE (every selected workload that has KEY) or WORKLOAD.KEY=VALUE."""
    overrides: dict[str, dict[str, str]] = {}
    names = {wl.name for wl in workloads}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--param {item!r} is not KEY=VALUE or WORKLOAD.KEY=VALUE")
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


# ---------------------------------------------------------------- the whole run


# ---------------------------------------------------------------- each option's parse: (given, earlier) -> value
# `given` is the option as a user gives it (text, a list of texts for a repeatable option, a bool for a flag);
# `earlier` holds the options above it in RunOptions, already checked; `flag` is the option's name on the command
# line, for messages. A parse raises UsageError for bad input.


def _workloads(text: str, earlier: dict, flag: str) -> list[Workload]:
    from . import registry

    names = split_list(text)
    if names is None:
        raise UsageError(f"empty entry in the workload list {text!r}")
    if any(n.startswith("pyperformance:") for n in names):
        from .suites import pyperformance as suite

        names = suite.expand(names, registry.BUILTIN)
    return [registry.resolve(n) for n in names]


def _python(paths: list[str], earlier: dict, flag: str) -> list[str]:
    from . import interpreters

    pythons = [interpreters.check_python(p) for p in paths] if paths else [sys.executable]
    for python in pythons:
        if not interpreters.is_this(python):
            interpreters.check_imports(python, earlier["workloads"])
    return pythons


def _variants_of(text: str, earlier: dict, flag: str) -> list[str]:
    from . import interpreters

    can = {p: interpreters.availability(p) for p in earlier["python"]}
    if text.strip() == "all":  # every variant that every given interpreter can run
        wanted = [v for v in _variants.VARIANTS if all(a.get(v) is None for a in can.values())]
    else:
        wanted = parse_names(text, list(_variants.VARIANTS), "variant")
    for python, unavailable in can.items():
        for v in wanted:
            if unavailable.get(v):
                raise UsageError(f"variant {v!r} cannot run under {python}: {unavailable[v]}")
    return wanted


def _workers(text: str, earlier: dict, flag: str) -> list[int]:
    from . import environment

    return parse_workers(text, environment.usable_cpus())


def _size(text: str, earlier: dict, flag: str) -> str:
    for wl in earlier["workloads"]:  # an unknown size fails here, before anything runs
        wl.params(text)
    return text


def _scaling(text: str, earlier: dict, flag: str) -> str:
    if text not in SCALINGS:
        raise UsageError(f"--scaling {text!r} is not one of {', '.join(SCALINGS)}")
    if text == "weak":
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
    return text


def _variant_workers(items: list[str], earlier: dict, flag: str) -> dict[str, list[int]]:
    from . import environment

    counts_of = {}
    for item in items:
        name, sep, counts = item.partition("=")
        if not sep or name.strip() not in earlier["variants"]:
            raise UsageError(
                f"--variant-workers {item!r} is not VARIANT=LIST with a selected variant "
                f"(accepted: {', '.join(earlier['variants'])})"
            )
        counts_of[name.strip()] = parse_workers(counts, environment.usable_cpus())
    return counts_of


def _param(items: list[str], earlier: dict, flag: str) -> dict[str, dict[str, str]]:
    overrides = parse_params(items, earlier["workloads"])
    for wl in earlier["workloads"]:  # unknown parameters and bad values fail here, before anything runs
        wl.params(earlier["size"], overrides.get(wl.name))
    return overrides


def _repeat(text: str, earlier: dict, flag: str) -> int:
    """Blocks per worker count planned from the start: with 'auto', the pilot's (RunConfig.auto says which)."""
    if text.strip() == "auto":
        return blocks.PILOT_BLOCKS
    if not text.strip().isdigit():
        raise UsageError(f"--repeat {text!r} is not a positive integer or 'auto'")
    return parse_positive(text, "--repeat")


def _positive(kind: type) -> Callable[[str, dict, str], Any]:
    def parse(text: str, earlier: dict, flag: str) -> Any:
        return parse_positive(text, flag, kind)

    return parse


def _whole(what: str) -> Callable[[str, dict, str], int]:
    def parse(text: str, earlier: dict, flag: str) -> int:
        if not text.strip().isdigit():
            raise UsageError(f"{flag} {text!r} is not a whole number{what} (accepted: 0, 1, 2, ...)")
        return int(text)

    return parse


def _cores(text: str, earlier: dict, flag: str) -> float:
    try:
        threshold = float(text)
    except ValueError:
        threshold = math.nan
    if not threshold >= 0 or threshold == math.inf:
        raise UsageError(f"--disturbance-threshold {text!r} is not a number of cores >= 0 (e.g. 0.1)")
    return threshold


def _start_method(text: str, earlier: dict, flag: str) -> str:
    methods = multiprocessing.get_all_start_methods()
    if text not in methods:
        raise UsageError(f"--start-method {text!r} is not available here (accepted: {', '.join(methods)})")
    return text


def _images(text: str | None, earlier: dict, flag: str) -> str | None:
    if text:
        # gilbench.workloads is this repository's workloads/ folder (pyproject.toml's package-dir), which mypy,
        # reading bench/ as a package of its own, cannot follow
        from .workloads.thumbnail import list_images  # type: ignore[import-not-found,unused-ignore]

        try:
            list_images(text)
        except ValueError as exc:
            raise UsageError(f"--images: {exc}") from None
    return text


def _out(text: str, earlier: dict, flag: str) -> Path:
    from . import storage

    storage.check_writable(Path(text))
    return Path(text)


def _keep_outputs(text: str | None, earlier: dict, flag: str) -> Path | None:
    from . import storage

    if not text:
        return None
    keep = Path(text)
    if keep.exists() and not keep.is_dir():
        raise UsageError(f"--keep-outputs {str(keep)!r} is a file, not a folder (accepted: a folder, new or existing)")
    storage.check_writable(keep)
    return keep


def _gil(text: str | None, earlier: dict, flag: str) -> str | None:
    if text is not None and text not in ("0", "1"):
        raise UsageError(f"--gil {text!r} is not 0 or 1 (PYTHON_GIL for every worker)")
    return text


def _dask_scheduler(address: str | None, earlier: dict, flag: str) -> str | None:
    if address:
        if "dask" not in earlier["variants"]:
            raise UsageError("--dask-scheduler is given but the dask variant is not selected (add it to --variants)")
        check_dask_scheduler(address, max(earlier["workers"]))
    return address


def _seed(text: str | None, earlier: dict, flag: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--seed {text!r} is not an integer") from None


def _check_against_tutorial(given: bool, earlier: dict, flag: str) -> bool:
    if given:
        from . import tutorial

        if earlier["scaling"] == "weak":
            raise UsageError(f"{flag} compares the same work both ways: it needs --scaling strong")
        tutorial.check_selected([wl.name for wl in earlier["workloads"]], earlier["variants"], earlier["workers"])
    return given


def _opt(default, help: str, metavar: str | None = None, parse: Callable[..., Any] | None = None):
    """One option: its default as a user would type it, its help, and its parse (None: the value as given)."""
    meta = {"help": help, "metavar": metavar, "parse": parse}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunOptions:
    """The options of one run, as given on the command line (or to the Python API). The order matters: a parse
    sees the options above it already checked (the variants see the interpreters, the sizes the workloads)."""

    workloads: str = _opt(
        "count,thumbnail",
        "comma list: names, pyperformance:NAME (pyperformance's benchmarks), module names or .py paths",
        parse=_workloads,
    )
    python: list = _opt(
        [],
        "run the cells under this interpreter (repeatable: one set of cells per interpreter)",
        "PATH",
        parse=_python,
    )
    variants: str = _opt(
        ",".join(_variants.default_variants()),
        "comma list, or 'all' (every variant the interpreters can run)",
        parse=_variants_of,
    )
    workers: str = _opt(
        "auto",
        "'auto' (1, 2, 4, ... up to the usable CPUs), 'reference' (1, 2, 4, 6, 8, 12, 16, "
        "... up to the usable CPUs, plus twice that), or a comma list",
        parse=_workers,
    )
    size: str = _opt("standard", "smoke, quick, standard or full", parse=_size)
    scaling: str = _opt(
        "strong",
        "strong: the same total work at every worker count (does it get faster?); "
        "weak: one size profile of work per worker (with more cores, can I do more "
        "work in the same time?)",
        parse=_scaling,
    )
    variant_workers: list = _opt(
        [],
        "worker counts for one variant instead of --workers (repeatable), e.g. threading=1,4,16",
        "VARIANT=LIST",
        parse=_variant_workers,
    )
    param: list = _opt(
        [],
        "override one parameter of the size profile (repeatable), e.g. iterations=2e8",
        "[WORKLOAD.]KEY=VALUE",
        parse=_param,
    )
    repeat: str = _opt(
        "auto",
        "paired blocks per worker count (each: the serial baseline and every variant at that "
        "count, back to back, in random order); 'auto': a pilot of 6 blocks, then as many as "
        "each speedup needs to reach --precision, within --budget",
        parse=_repeat,
    )
    precision: str = _opt(
        "0.10",
        "the relative half-width (95 %%) every speedup interval should reach: with --repeat "
        "auto it sizes the run, with a number it is reported as met or not",
        parse=_positive(float),
    )
    budget: str = _opt(
        "180",
        "with --repeat auto: seconds of measuring; no round of blocks starts that would end past it",
        "SECONDS",
        parse=_positive(float),
    )
    warmup: str = _opt(
        "1",
        "warm-up repetitions per cell, before the measured ones (recorded, flagged, left out "
        "of the statistics); 0 for none",
        parse=_whole(" of repetitions"),
    )
    disturbance_threshold: str = _opt(
        "0.1",
        "a repetition during which other programs and the hypervisor took "
        "more than this many cores is marked disturbed and run again",
        "CORES",
        parse=_cores,
    )
    reruns: str = _opt(
        "2",
        "how many times a disturbed repetition is run again before it is kept, marked",
        "N",
        parse=_whole(""),
    )
    start_method: str = _opt("fork", "multiprocessing start method: fork, forkserver, spawn", parse=_start_method)
    timeout: str = _opt("300", "seconds before a repetition is killed", parse=_positive(float))
    images: str | None = _opt(None, "thumbnail your own images instead of generated photos", "DIR", parse=_images)
    out: str = _opt("results", "results folder (runs land in OUT/runs/<run id>)", parse=_out)
    keep_outputs: str | None = _opt(
        None,
        "keep what each cell's workload wrote (the thumbnails, ...), from the cell's "
        "latest repetition, in DIR/<workload>/<variant>-x<workers>, to check the work "
        "(copied after the cell ends, outside the timing)",
        "DIR",
        parse=_keep_outputs,
    )
    gil: str | None = _opt(None, "set PYTHON_GIL for every cell and worker (free-threaded builds)", "0|1", parse=_gil)
    strict: bool = _opt(False, "stop at the first invalid input image instead of skipping it")
    dask_scheduler: str | None = _opt(
        None,
        "run the dask variant on an existing cluster (e.g. tcp://host:8786) instead of a LocalCluster",
        "ADDRESS",
        parse=_dask_scheduler,
    )
    seed: str | None = _opt(None, "seed of the shuffled order (recorded either way)", parse=_seed)
    trace: bool = _opt(
        False,
        "after the measured rounds, one more repetition per cell with a sampler reading every "
        "thread's state (running, waiting for a core, blocked) from /proc: the state timeline "
        "(Linux; not counted in the statistics)",
    )
    check_against_tutorial: bool = _opt(
        False,
        "run the classic tutorial's own two scripts (the count loop called N times; N processes started and "
        "joined) inside the count workload's paired blocks at 2+ workers, and compare their speedup with the "
        "multiprocessing cell's in the report",
        parse=_check_against_tutorial,
    )
    no_progress: bool = _opt(False, "no progress bar")
    no_report: bool = _opt(False, "write only the CSVs, no charts or report")

    @classmethod
    def add_arguments(cls, parser) -> None:
        for f in fields(cls):
            flag = "--" + f.name.replace("_", "-")
            default = f.default if f.default_factory is MISSING else f.default_factory()
            help_text = f.metadata["help"] + (f" (default: {default})" if default not in (None, False, []) else "")
            if isinstance(default, bool):
                parser.add_argument(flag, action="store_true", help=help_text)
            elif isinstance(default, list):
                parser.add_argument(flag, action="append", default=None, metavar=f.metadata["metavar"], help=help_text)
            else:
                parser.add_argument(flag, default=default, metavar=f.metadata["metavar"], help=help_text)

    @classmethod
    def from_namespace(cls, args) -> RunOptions:
        given = {f.name: getattr(args, f.name) for f in fields(cls)}
        return cls(**{k: v for k, v in given.items() if v is not None})  # absent: the field's own default

    def recorded(self) -> dict:
        """The options with relative paths made absolute, so a resume from any folder finds the same files."""
        data = asdict(self)
        for key in ("out", "images", "keep_outputs"):
            if data[key]:
                data[key] = os.path.abspath(data[key])
        data["python"] = [os.path.abspath(p) if os.sep in p else p for p in data["python"]]
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


@dataclass
class RunConfig:
    """A run's options, checked and resolved: what the orchestrator executes.

    Every option is an attribute of the same name holding its parsed value (`config.workloads`: Workload objects,
    `config.python`: interpreter paths, `config.precision`: a float, ...). The few properties below are derived
    from an option, never defined a second time."""

    options: RunOptions
    values: dict[str, Any]  # option name -> its parsed value
    cache_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("GILBENCH_CACHE", Path.home() / ".cache" / "gilbench"))
    )
    # pyperformance workloads (bench/suite.py), found by probing them before the run, not options:
    unavailable: dict = field(default_factory=dict)  # (workload, python) -> why it cannot run there (not run)
    cell_timeouts: dict = field(default_factory=dict)  # workload -> seconds after which its repetition has hung

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")
        if values is None or name not in values:
            raise AttributeError(f"RunConfig has no option {name!r}")
        return values[name]

    @property
    def auto(self) -> bool:
        """--repeat auto: more blocks while some cell misses the precision and the budget lasts."""
        return self.options.repeat.strip() == "auto"

    @property
    def child_env(self) -> dict[str, str]:
        """What every cell and worker gets in its environment: PYTHON_GIL with --gil."""
        return {"PYTHON_GIL": self.values["gil"]} if self.values["gil"] is not None else {}

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
            **{name: plain(value) for name, value in self.values.items()},
            "repeat_auto": self.auto,
            "child_env": self.child_env,
            "paired_blocks": True,
            "pilot_blocks": blocks.PILOT_BLOCKS if self.auto else None,
        }


def resolve(options: RunOptions) -> RunConfig:
    """Check every option, in RunOptions' order, with its own parse (before anything runs or is written)."""
    values: dict[str, Any] = {}
    for f in fields(RunOptions):
        parse = f.metadata["parse"]
        given = getattr(options, f.name)
        values[f.name] = given if parse is None else parse(given, values, "--" + f.name.replace("_", "-"))
    config = RunConfig(options, values)
    if any(wl.ref.startswith("pyperformance:") for wl in values["workloads"]):
        from .suites import pyperformance as suite

        counts = [
            n
            for v in values["variants"]
            for n in _variants.worker_counts(v, values["variant_workers"].get(v, values["workers"]))
        ]
        values["workloads"], config.unavailable, config.cell_timeouts = suite.prepare_run(
            values["workloads"], values["python"], values["size"], values["param"], max(counts)
        )
    return config
