"""The one definition of `gilbench run`'s options: their names, defaults, help, and validation.

`RunOptions` holds the options as a user gives them (text); the command-line parser is built
from its fields, so a new option is one new field here. `resolve()` checks every option before
anything runs or is written and returns the `RunConfig` the orchestrator executes. A run
folder keeps its options (options.json), and `--resume` reads them back from there.
"""

from __future__ import annotations

import difflib
import json
import math
import multiprocessing
import os
import sys
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from . import blocks
from . import variants as _variants
from .errors import UsageError
from .registry import Workload

OPTIONS_FILE = "options.json"
SCALINGS = ("strong", "weak")


def _opt(default, help: str, metavar: str | None = None):
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, "metavar": metavar})
    return field(default=default, metadata={"help": help, "metavar": metavar})


@dataclass(frozen=True)
class RunOptions:
    """The options of one run, as given on the command line (or to the Python API)."""

    workloads: str = _opt("count,thumbnail", "comma list: names, module names or .py paths")
    variants: str = _opt(
        ",".join(_variants.default_variants()), "comma list, or 'all' (every variant the interpreters can run)"
    )
    workers: str = _opt(
        "auto",
        "'auto' (1, 2, 4, ... up to the usable CPUs), 'reference' (1, 2, 4, 6, 8, 12, 16, "
        "... up to the usable CPUs, plus twice that), or a comma list",
    )
    size: str = _opt("standard", "smoke, quick, standard or full")
    scaling: str = _opt(
        "strong",
        "strong: the same total work at every worker count (does it get faster?); "
        "weak: one size profile of work per worker (with more cores, can I do more "
        "work in the same time?)",
    )
    variant_workers: list = _opt(
        [], "worker counts for one variant instead of --workers (repeatable), e.g. threading=1,4,16", "VARIANT=LIST"
    )
    param: list = _opt(
        [], "override one parameter of the size profile (repeatable), e.g. iterations=2e8", "[WORKLOAD.]KEY=VALUE"
    )
    repeat: str = _opt(
        "auto",
        "paired blocks per worker count (each: the serial baseline and every variant at that "
        "count, back to back, in random order); 'auto': a pilot of 6 blocks, then as many as "
        "each speedup needs to reach --precision, within --budget",
    )
    precision: str = _opt(
        "0.10",
        "the relative half-width (95 %%) every speedup interval should reach: with --repeat "
        "auto it sizes the run, with a number it is reported as met or not",
    )
    budget: str = _opt(
        "180", "with --repeat auto: seconds of measuring; no round of blocks starts that would end past it", "SECONDS"
    )
    warmup: str = _opt(
        "1",
        "warm-up repetitions per cell, before the measured ones (recorded, flagged, left out "
        "of the statistics); 0 for none",
    )
    disturbance_threshold: str = _opt(
        "0.1",
        "a repetition during which other programs and the hypervisor took "
        "more than this many cores is marked disturbed and run again",
        "CORES",
    )
    reruns: str = _opt("2", "how many times a disturbed repetition is run again before it is kept, marked", "N")
    start_method: str = _opt("fork", "multiprocessing start method: fork, forkserver, spawn")
    timeout: str = _opt("300", "seconds before a repetition is killed")
    images: str | None = _opt(None, "thumbnail your own images instead of generated photos", "DIR")
    out: str = _opt("results", "results folder (runs land in OUT/runs/<run id>)")
    keep_outputs: str | None = _opt(
        None,
        "keep what each cell's workload wrote (the thumbnails, ...), from the cell's "
        "latest repetition, in DIR/<workload>/<variant>-x<workers>, to check the work "
        "(copied after the cell ends, outside the timing)",
        "DIR",
    )
    python: list = _opt(
        [], "run the cells under this interpreter (repeatable: one set of cells per interpreter)", "PATH"
    )
    gil: str | None = _opt(None, "set PYTHON_GIL for every cell and worker (free-threaded builds)", "0|1")
    strict: bool = _opt(False, "stop at the first invalid input image instead of skipping it")
    dask_scheduler: str | None = _opt(
        None, "run the dask variant on an existing cluster (e.g. tcp://host:8786) instead of a LocalCluster", "ADDRESS"
    )
    seed: str | None = _opt(None, "seed of the shuffled order (recorded either way)")
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
    )
    no_progress: bool = _opt(False, "no progress bar")
    no_report: bool = _opt(False, "write only the CSVs, no charts or report")

    @classmethod
    def add_arguments(cls, parser) -> None:
        for f in fields(cls):
            flag = "--" + f.name.replace("_", "-")
            default = f.default if f.default is not MISSING else f.default_factory()
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
    """A run's options, checked and resolved: what the orchestrator executes."""

    options: RunOptions
    workloads: list[Workload]
    variants: list[str]
    workers: list[int]
    size: str
    scaling: str  # strong or weak
    overrides: dict[str, dict[str, str]]  # workload -> {param: text}
    repeat: int  # blocks per group planned from the start (with auto: the pilot)
    auto: bool  # --repeat auto: more blocks while some cell misses the precision and the budget lasts
    precision: float
    budget_s: float
    warmup: int
    variant_workers: dict[str, list[int]]  # variant -> its own worker counts
    disturbance_threshold: float  # cores of other programs + steal above which a repetition is disturbed
    reruns: int  # re-runs of a disturbed repetition
    start_method: str
    timeout: float
    out: Path
    pythons: list[str]
    images_dir: str | None
    seed: int | None
    progress: bool
    strict: bool
    child_env: dict[str, str]  # e.g. PYTHON_GIL for every cell
    dask_scheduler: str | None
    trace: bool = False
    check_against_tutorial: bool = False  # the tutorial's scripts inside the count blocks (bench/tutorial.py)
    keep_outputs: Path | None = None  # where each cell's workload outputs are copied (--keep-outputs)
    cache_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("GILBENCH_CACHE", Path.home() / ".cache" / "gilbench"))
    )


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


def resolve(options: RunOptions) -> RunConfig:
    """Validate every option (before anything runs or is written) and build the RunConfig."""
    from . import environment, interpreters, registry, storage

    names = split_list(options.workloads)
    if names is None:
        raise UsageError(f"empty entry in the workload list {options.workloads!r}")
    workloads = [registry.resolve(n) for n in names]
    pythons = [interpreters.check_python(p) for p in options.python] if options.python else [sys.executable]
    for python in pythons:
        if not interpreters.is_this(python):
            interpreters.check_imports(python, workloads)
    can = {p: interpreters.availability(p) for p in pythons}
    if options.variants.strip() == "all":  # every variant that every given interpreter can run
        wanted = [v for v in _variants.VARIANTS if all(a.get(v) is None for a in can.values())]
    else:
        wanted = parse_names(options.variants, list(_variants.VARIANTS), "variant")
    for python, unavailable in can.items():
        for v in wanted:
            if unavailable.get(v):
                raise UsageError(f"variant {v!r} cannot run under {python}: {unavailable[v]}")
    workers = parse_workers(options.workers, environment.usable_cpus())
    auto = options.repeat.strip() == "auto"
    if not auto and not options.repeat.strip().isdigit():
        raise UsageError(f"--repeat {options.repeat!r} is not a positive integer or 'auto'")
    repeat = blocks.PILOT_BLOCKS if auto else parse_positive(options.repeat, "--repeat")
    precision = parse_positive(options.precision, "--precision", float)
    budget_s = parse_positive(options.budget, "--budget", float)
    if not options.warmup.strip().isdigit():
        raise UsageError(f"--warmup {options.warmup!r} is not a whole number of repetitions (accepted: 0, 1, 2, ...)")
    warmup = int(options.warmup)
    try:
        threshold = float(options.disturbance_threshold)
    except ValueError:
        threshold = math.nan
    if not threshold >= 0 or threshold == math.inf:
        raise UsageError(
            f"--disturbance-threshold {options.disturbance_threshold!r} is not a number of cores >= 0 (e.g. 0.1)"
        )
    if not options.reruns.strip().isdigit():
        raise UsageError(f"--reruns {options.reruns!r} is not a whole number (accepted: 0, 1, 2, ...)")
    variant_workers = {}
    for item in options.variant_workers:
        name, sep, counts = item.partition("=")
        if not sep or name.strip() not in wanted:
            raise UsageError(
                f"--variant-workers {item!r} is not VARIANT=LIST with a selected variant "
                f"(accepted: {', '.join(wanted)})"
            )
        variant_workers[name.strip()] = parse_workers(counts, environment.usable_cpus())
    timeout = parse_positive(options.timeout, "--timeout", float)
    methods = multiprocessing.get_all_start_methods()
    if options.start_method not in methods:
        raise UsageError(
            f"--start-method {options.start_method!r} is not available here (accepted: {', '.join(methods)})"
        )
    if options.scaling not in SCALINGS:
        raise UsageError(f"--scaling {options.scaling!r} is not one of {', '.join(SCALINGS)}")
    if options.scaling == "weak":
        for wl in workloads:
            if not wl.weak_parameter:
                raise UsageError(
                    f"workload {wl.name!r} does not say what one worker's share of work is (set "
                    "WEAK_SCALING = '<parameter>' in its module), so --scaling weak cannot grow it"
                )
            if not isinstance(wl.params(options.size).get(wl.weak_parameter), (int, float)):
                raise UsageError(
                    f"workload {wl.name!r}: WEAK_SCALING names {wl.weak_parameter!r}, which is not a "
                    f"numeric parameter of its size profile {options.size!r}"
                )
    overrides = parse_params(options.param, workloads)
    for wl in workloads:  # unknown sizes and parameters fail here, before anything runs
        wl.params(options.size, overrides.get(wl.name))
    if options.images:
        from .workloads.thumbnail import list_images

        try:
            list_images(options.images)
        except ValueError as exc:
            raise UsageError(f"--images: {exc}") from None
    child_env = {}
    if options.gil is not None:
        if options.gil not in ("0", "1"):
            raise UsageError(f"--gil {options.gil!r} is not 0 or 1 (PYTHON_GIL for every worker)")
        child_env["PYTHON_GIL"] = options.gil
    seed = None
    if options.seed is not None:
        try:
            seed = int(options.seed)
        except ValueError:
            raise UsageError(f"--seed {options.seed!r} is not an integer") from None
    if options.dask_scheduler:
        if "dask" not in wanted:
            raise UsageError("--dask-scheduler is given but the dask variant is not selected (add it to --variants)")
        check_dask_scheduler(options.dask_scheduler, max(workers))
    if options.check_against_tutorial:
        from . import tutorial

        if options.scaling == "weak":
            raise UsageError("--check-against-tutorial compares the same work both ways: it needs --scaling strong")
        tutorial.check_selected([wl.name for wl in workloads], wanted, workers)
    storage.check_writable(Path(options.out))
    keep = None
    if options.keep_outputs:
        keep = Path(options.keep_outputs)
        if keep.exists() and not keep.is_dir():
            raise UsageError(
                f"--keep-outputs {str(keep)!r} is a file, not a folder (accepted: a folder, new or existing)"
            )
        storage.check_writable(keep)
    return RunConfig(
        options=options,
        workloads=workloads,
        variants=wanted,
        workers=workers,
        size=options.size,
        scaling=options.scaling,
        overrides=overrides,
        repeat=repeat,
        auto=auto,
        precision=precision,
        budget_s=budget_s,
        warmup=warmup,
        variant_workers=variant_workers,
        disturbance_threshold=threshold,
        reruns=int(options.reruns),
        start_method=options.start_method,
        timeout=timeout,
        out=Path(options.out),
        pythons=pythons,
        images_dir=options.images,
        seed=seed,
        progress=not options.no_progress,
        strict=options.strict,
        child_env=child_env,
        dask_scheduler=options.dask_scheduler,
        trace=options.trace,
        check_against_tutorial=options.check_against_tutorial,
        keep_outputs=keep,
    )
