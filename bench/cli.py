"""The command line: one function per subcommand, each callable from tests with plain arguments.

Every option is validated before anything runs or is written; bad input ends in one line
("gilbench: error: ...") and exit status 2.
"""

from __future__ import annotations

import argparse
import difflib
import multiprocessing
import os
import sys
from pathlib import Path

from bench import __version__
from bench.errors import UsageError

EXIT_OK, EXIT_FAILED_CELLS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# ---------------------------------------------------------------- parsing and validation


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
        raise UsageError(f"--workers {text!r}: empty entry (accepted: 'auto', 'reference' or positive integers like 1,2,4)")
    counts = []
    for part in parts:
        if not part.isdigit() or int(part) < 1:
            raise UsageError(f"--workers {text!r}: {part!r} is not a positive integer (accepted: 'auto', 'reference' or 1,2,4)")
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
        hits = [wl for wl in workloads if (not dot or wl.name == target) and pkey in next(iter(wl.module.SIZES.values()))]
        if not hits:
            accepted = sorted({k for wl in workloads for k in next(iter(wl.module.SIZES.values()))})
            raise UsageError(f"--param {item!r}: no selected workload has {pkey!r} (accepted: {', '.join(accepted)})")
        for wl in hits:
            overrides.setdefault(wl.name, {})[pkey] = value
    return overrides


def check_writable(folder: Path) -> None:
    folder = Path(folder)
    probe_dir = folder
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise UsageError(f"output folder {str(folder)!r}: {str(probe_dir)!r} is not a folder")
    import tempfile

    try:  # a real probe: os.access() says yes to root even where a write would fail
        with tempfile.TemporaryFile(dir=probe_dir, prefix=".gilbench-probe-") as fh:
            fh.write(b"\0" * 65536)  # a full disk fails here, not in the middle of a run
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise UsageError(f"output folder {str(folder)!r} is not writable ({exc.strerror})") from None
    if os.path.exists(folder / "latest") and not os.path.islink(folder / "latest"):
        raise UsageError(f"output folder {str(folder)!r} holds a 'latest' that is not gilbench's link; not touching it")


PIP_NAMES = {"PIL": "Pillow", "yaml": "PyYAML", "sklearn": "scikit-learn"}


def check_imports(python: str, workloads) -> None:
    """Every workload module must import under `python`; if not, say exactly what to install."""
    import json
    import subprocess

    from bench.environment import HARNESS_ROOT

    probe = (
        "import json, sys\nfrom bench import registry\nout = {}\n"
        "for ref in sys.argv[1:]:\n"
        "    try:\n        registry.load(ref)\n"
        "    except ModuleNotFoundError as e:\n        out[ref] = ['missing', e.name]\n"
        "    except Exception as e:\n        out[ref] = ['error', f'{type(e).__name__}: {e}']\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HARNESS_ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([python, "-c", probe, *[wl.ref for wl in workloads]], capture_output=True, text=True,
                         env=env, timeout=120)
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
                    f"install it with: {python} -m pip install {PIP_NAMES.get(top, top)}"
                )
            raise UsageError(f"--python {python!r} cannot load workload {wl.name!r}: {what}")


DASK_CONNECT_TIMEOUT = 5


def check_dask_scheduler(address: str, workers: int) -> None:
    """The scheduler answers within the connect timeout and has the worker threads asked for."""
    import logging

    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("--dask-scheduler needs the distributed package: pip install 'gilbench[distributed]'") from None
    from bench.variants import dask_threads

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--dask-scheduler {address!r} did not answer within {DASK_CONNECT_TIMEOUT} s ({reason})") from None
    try:
        threads = sum(dask_threads(client).values())
    finally:
        client.close()
    if threads < workers:
        raise UsageError(f"--dask-scheduler {address!r} has {threads} worker threads; --workers asks for up to {workers}")


def check_python(path: str) -> str:
    """An interpreter path that exists, runs, and is CPython >= 3.11."""
    import subprocess

    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise UsageError(f"--python {path!r} does not exist or is not executable")
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--python {path!r} does not run as Python: {exc}") from None
    version = out.stdout.strip()
    if out.returncode != 0 or not version.replace(".", "").isdigit():
        raise UsageError(f"--python {path!r} is not a Python interpreter")
    if tuple(map(int, version.split("."))) < (3, 11):
        raise UsageError(f"--python {path!r} is Python {version}; gilbench needs 3.11 or newer")
    return path


# ---------------------------------------------------------------- subcommands


def _resumed_args(run_dir: str):
    """The options a run was started with, read back from its folder, for --resume."""
    import json

    env_path = Path(run_dir) / "environment.json"
    try:
        env = json.loads(env_path.read_text())
        cli_args, seed = env["cli_args"], env["seed"]
    except (OSError, ValueError, KeyError):
        raise UsageError(f"--resume {run_dir!r} is not a gilbench run folder (no readable environment.json)") from None
    from bench import storage

    storage.load_results(run_dir)  # a folder whose CSV does not parse cannot be resumed
    args = build_parser().parse_args(["run", *cli_args, "--seed", str(seed)])
    args.resume = run_dir
    return args


def config_from_args(args):
    """Validate every run option (before anything runs or is written) and build the RunConfig."""
    from bench import environment, orchestrator, registry, variants

    workloads = [registry.resolve(n) for n in parse_names_raw(args.workloads, "workload")]
    pythons = [check_python(p) for p in args.python] if args.python else [sys.executable]
    for python in pythons:
        if python != sys.executable:
            check_imports(python, workloads)
    if args.variants.strip() == "all":  # every variant that every given interpreter can run
        can = [variants.availability(p) for p in pythons]
        wanted = [v for v in variants.VARIANTS if all(a.get(v) is None for a in can)]
    else:
        wanted = parse_names(args.variants, list(variants.VARIANTS), "variant")
    for python in pythons:
        unavailable = variants.availability(python)
        for v in wanted:
            if unavailable.get(v):
                raise UsageError(f"variant {v!r} cannot run under {python}: {unavailable[v]}")
    usable = environment.usable_cpus()
    workers = parse_workers(args.workers, usable)
    repeat = parse_positive(args.repeat, "--repeat")
    timeout = parse_positive(args.timeout, "--timeout", float)
    methods = multiprocessing.get_all_start_methods()
    if args.start_method not in methods:
        raise UsageError(f"--start-method {args.start_method!r} is not available here (accepted: {', '.join(methods)})")
    overrides = parse_params(args.param, workloads)
    for wl in workloads:  # unknown sizes and parameters fail here, before anything runs
        wl.params(args.size, overrides.get(wl.name))
    if args.images:
        from workloads.thumbnail import list_images

        try:
            list_images(args.images)
        except ValueError as exc:
            raise UsageError(f"--images: {exc}") from None
    child_env = {}
    if args.gil is not None:
        if args.gil not in ("0", "1"):
            raise UsageError(f"--gil {args.gil!r} is not 0 or 1 (PYTHON_GIL for every worker)")
        child_env["PYTHON_GIL"] = args.gil
    if args.dask_scheduler:
        if "dask" not in wanted:
            raise UsageError("--dask-scheduler is given but the dask variant is not selected (add it to --variants)")
        check_dask_scheduler(args.dask_scheduler, max(workers))
    check_writable(Path(args.out))
    return orchestrator.RunConfig(
        dask_scheduler=args.dask_scheduler,
        workloads=workloads, variants=wanted, workers=workers, size=args.size, overrides=overrides,
        repeat=repeat, start_method=args.start_method, timeout=timeout, out=Path(args.out), pythons=pythons,
        images_dir=args.images, seed=args.seed, progress=not args.no_progress, strict=args.strict,
        child_env=child_env, cli_args=recorded_args(args),
    )


def recorded_args(args) -> list[str]:
    """The run's options as CLI arguments, so --resume rebuilds exactly the same matrix."""
    out = ["--workloads", args.workloads, "--variants", args.variants, "--workers", args.workers, "--size", args.size,
           "--repeat", str(args.repeat), "--start-method", args.start_method, "--timeout", str(args.timeout),
           "--out", str(args.out)]
    for item in args.param:
        out += ["--param", item]
    for python in args.python or []:
        out += ["--python", python]
    if args.images:
        out += ["--images", os.path.abspath(args.images)]
    if args.strict:
        out.append("--strict")
    if args.gil is not None:
        out += ["--gil", args.gil]
    if args.dask_scheduler:
        out += ["--dask-scheduler", args.dask_scheduler]
    return out


def cmd_run(args) -> int:
    import signal

    from bench import environment, orchestrator

    if args.resume:
        args = _resumed_args(args.resume)
    config = config_from_args(args)
    env = environment.collect_environment()
    for note in environment.warnings_for(env, max(config.workers)):
        print(f"gilbench: warning: {note}", file=sys.stderr)

    def on_sigterm(signum, frame):  # SIGTERM stops a run the way Ctrl-C does
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    # A parent may hand us SIGINT ignored (non-interactive shells start background jobs that way);
    # Ctrl-C or `kill -INT` must still stop a run cleanly, so take the default handler back.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_dir, failed = orchestrator.execute(config, env, resume_dir=Path(args.resume) if args.resume else None)
    except orchestrator.Interrupted as stop:
        print(f"\ngilbench: interrupted; {stop.finished} of {stop.planned} repetitions finished and kept in "
              f"{stop.run_dir}/results.csv; finish with: gilbench run --resume {stop.run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as exc:  # a workload's prepare() rejected its inputs (e.g. --strict and a bad image)
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write results: {exc.strerror or exc} ({getattr(exc, 'filename', '') or args.out})") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    from bench import render

    try:
        analysed = render.analyse(run_dir)  # once: the table printed here is the one the report draws
    except UsageError as exc:
        analysed = None
        print(f"gilbench: nothing to summarise: {exc}", file=sys.stderr)
    if analysed is not None:
        print_summary(analysed.table)
    print(f"\nresults: {run_dir / 'results.csv'}  (tasks: {run_dir / 'tasks.csv'})")
    if analysed is not None and not args.no_report:
        try:
            paths = render.report(run_dir, analysed=analysed)
            print(f"report:  {paths[0]}  (and report.html)")
            print(f"charts:  {run_dir}/overview.png, scaling-*.png, speedup-*.png, timeline-*.png")
        except UsageError as exc:
            print(f"gilbench: no report: {exc}", file=sys.stderr)
    if failed:
        print(f"gilbench: {failed} repetition(s) failed; see the 'error' column of {run_dir / 'results.csv'}",
              file=sys.stderr)
        return EXIT_FAILED_CELLS
    return EXIT_OK


def parse_names_raw(text: str, what: str) -> list[str]:
    names = split_list(text)
    if names is None:
        raise UsageError(f"empty entry in the {what} list {text!r}")
    return names


def print_summary(table) -> None:
    from bench import analysis

    print()
    print(analysis.format_table(table))


def cmd_plot(args) -> int:
    from bench import render

    _, written = render.plot(args.run, args.out)
    for paths in written.values():
        for path in paths:
            print(path)
    return EXIT_OK


def cmd_report(args) -> int:
    from bench import render

    paths = render.report(args.run, args.out)
    print(f"report: {paths[0]}\n        {paths[1]}")
    print(f"charts: {paths[2].parent}/*.png, *.svg")
    return EXIT_OK


def cmd_compare(args) -> int:
    from bench import render

    paths = render.compare(args.runs, args.out)
    print(f"speedup ratios: {paths[0]}")
    print(f"chart: {paths[1]}")
    print(_read_csv_text(paths[0]))
    return EXIT_OK


def _read_csv_text(path) -> str:
    import pandas as pd

    return pd.read_csv(path).to_string(index=False, float_format=lambda v: f"{v:.2f}")


def cmd_import(args) -> int:
    from bench import pytest_door, render

    run_dir = pytest_door.import_json(args.json, args.out)
    print(f"imported into {run_dir / 'results.csv'}")
    if not args.no_report:
        paths = render.report(run_dir)
        print(f"report:  {paths[0]}  (and report.html)")
    return EXIT_OK


def cmd_list(args) -> int:
    from bench import registry, variants

    print("workloads:")
    for wl in registry.builtin_workloads():
        print(f"  {wl.name:<12} {wl.description}")
        standard = wl.module.SIZES.get("standard", next(iter(wl.module.SIZES.values())))
        print(f"  {'':<12} sizes: {', '.join(wl.module.SIZES)}; parameters: "
              + ", ".join(f"{k} (standard: {v})" for k, v in standard.items()))
    print("\nvariants (on this interpreter, Python %d.%d):" % sys.version_info[:2])
    for name, why in variants.availability(sys.executable).items():
        state = "available" if why is None else f"unavailable: {why}"
        print(f"  {name:<16} {variants.VARIANTS[name]}")
        print(f"  {'':<16} {state}")
    print("\nstart methods: " + ", ".join(multiprocessing.get_all_start_methods()))
    return EXIT_OK


def cmd_env(args) -> int:
    import json

    from bench import environment

    env = environment.collect_environment()
    if args.json:
        print(json.dumps(env, indent=2))
    else:
        width = max(map(len, env))
        for key, value in env.items():
            print(f"{key:<{width}}  {value}")
    return EXIT_OK


# ---------------------------------------------------------------- argparse


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other usage error
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gilbench", description="How does CPU-bound Python scale across threads and processes, here?")
    parser.add_argument("--version", action="version", version=f"gilbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the benchmark matrix and write CSV")
    run.add_argument("--workloads", default="count,thumbnail", help="comma list: names, module names or .py paths")
    run.add_argument("--variants", default="serial,threading,multiprocessing,thread-pool,process-pool,ceiling",
                     help="comma list, or 'all' (every variant the interpreters can run)")
    run.add_argument("--workers", default="auto",
                     help="'auto' (1, 2, 4, ... up to the usable CPUs), 'reference' (1, 2, 4, 6, 8, 12, 16, ... "
                          "up to the usable CPUs, plus twice that), or a comma list")
    run.add_argument("--size", default="standard", help="smoke, quick, standard or full")
    run.add_argument("--param", action="append", default=[], metavar="[WORKLOAD.]KEY=VALUE",
                     help="override one parameter of the size profile (repeatable), e.g. iterations=2e8")
    run.add_argument("--repeat", default="5", help="measured repetitions per cell, after one warm-up")
    run.add_argument("--start-method", default="fork", help="multiprocessing start method: fork, forkserver, spawn")
    run.add_argument("--timeout", default="300", help="seconds before a repetition is killed (default 300)")
    run.add_argument("--images", metavar="DIR", help="thumbnail your own images instead of generated photos")
    run.add_argument("--out", default="results", help="results folder (runs land in OUT/runs/<run id>)")
    run.add_argument("--python", metavar="PATH", action="append",
                     help="run the cells under this interpreter (repeatable: one set of cells per interpreter)")
    run.add_argument("--gil", metavar="0|1", help="set PYTHON_GIL for every cell and worker (free-threaded builds)")
    run.add_argument("--strict", action="store_true", help="stop at the first invalid input image instead of skipping it")
    run.add_argument("--dask-scheduler", metavar="ADDRESS",
                     help="run the dask variant on an existing cluster (e.g. tcp://host:8786) instead of a LocalCluster")
    run.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run with the options it was started with")
    run.add_argument("--seed", type=int, help="seed of the shuffled order (recorded either way)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-report", action="store_true", help="write only the CSVs, no charts or report")
    run.set_defaults(func=cmd_run)

    plot = sub.add_parser("plot", help="draw the charts (and summary.csv) of a run folder or results CSV")
    plot.add_argument("run", metavar="RUN", help="a run folder or its results.csv")
    plot.add_argument("--out", help="folder for the outputs (default: the run folder)")
    plot.set_defaults(func=cmd_plot)

    report = sub.add_parser("report", help="write report.md and report.html (and the charts) for a run")
    report.add_argument("run", metavar="RUN", help="a run folder or its results.csv")
    report.add_argument("--out", help="folder for the outputs (default: the run folder)")
    report.set_defaults(func=cmd_report)

    compare = sub.add_parser("compare", help="overlay runs from other machines or interpreters on one chart")
    compare.add_argument("runs", nargs="+", metavar="RUN")
    compare.add_argument("--out", default="results/compare", help="folder for compare.png/svg/csv")
    compare.set_defaults(func=cmd_compare)

    imp = sub.add_parser("import", help="turn pytest-benchmark JSON (make bench-pytest) into a gilbench run folder")
    imp.add_argument("json", metavar="PYTEST_BENCHMARK_JSON")
    imp.add_argument("--out", default="results", help="results folder (the run lands in OUT/runs/<run id>)")
    imp.add_argument("--no-report", action="store_true", help="write only the CSVs")
    imp.set_defaults(func=cmd_import)

    lst = sub.add_parser("list", help="workloads, variants, and which variants this interpreter can run")
    lst.set_defaults(func=cmd_list)

    env = sub.add_parser("env", help="the environment a run would record")
    env.add_argument("--json", action="store_true")
    env.set_defaults(func=cmd_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ngilbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `gilbench list | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
