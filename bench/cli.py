"""The command line: one function per subcommand, each callable from tests with plain arguments.

Every option is validated before anything runs or is written (bench/options.py); bad input
ends in one line ("gilbench: error: ...") and exit status 2. The exit statuses:
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

from . import __version__
from .errors import RunError, UsageError
from .options import RunOptions

EXIT_OK = 0  # every repetition produced a checked measurement
EXIT_FAILED_CELLS = 1  # some repetitions failed; see the 'error' column
EXIT_USAGE = 2  # bad input: one line on stderr, nothing run or written
EXIT_RUN_ERROR = 3  # the run started but could not write its results; finished rows are kept
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; finish with --resume


def cmd_run(args) -> int:
    import signal

    from . import api, orchestrator

    def on_sigterm(signum, frame):  # SIGTERM stops a run the way Ctrl-C does
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    # A parent may hand us SIGINT ignored (non-interactive shells start background jobs that way);
    # Ctrl-C or `kill -INT` must still stop a run cleanly, so take the default handler back.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:  # the Python API's run, with this namespace's options
        run = api.execute(
            None if args.resume else RunOptions.from_namespace(args), resume=args.resume, log=say, write_report=False
        )
    except orchestrator.Interrupted as stop:
        print(f"\ngilbench: {stop}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    outcome, run_dir = run.outcome, run.folder
    assert outcome is not None and outcome.config is not None  # a run made here, not loaded
    config, failed = outcome.config, outcome.failed
    if not run.summarised:
        print(f"gilbench: nothing to summarise: {run.problem}", file=sys.stderr)
    else:  # the answer first; the report and its charts take longer (matplotlib), and come after it
        say(analysis_table(run.summary))
        for line in closing_lines(run.summary, config, outcome) + tutorial_lines(run.tutorial_check):
            print(f"gilbench: {line}", file=sys.stderr)
        for line in suite_lines(run._analysed, run_dir):
            print(f"gilbench: {line}", file=sys.stderr)
        if not config.no_report:
            run.write_report()
    say(f"\nresults: {run_dir / 'results.csv'}  (tasks: {run_dir / 'tasks.csv'})")
    if run.written is not None:
        say(f"report:  {run.written.report_md}  (and report.html)")
        pngs = sorted(p.name for p in run.written.pngs if p.exists())  # only what was drawn
        say(f"charts:  {run_dir}/" + (", ".join(pngs) if pngs else "(none)"))
    if config.keep_outputs is not None:
        say(f"outputs: {config.keep_outputs}/<workload>/<variant>-x<workers>  (each cell's latest repetition)")
    if outcome.disturbed:
        print(
            f"gilbench: {outcome.disturbed} repetition(s) were disturbed: other programs (or the hypervisor) took "
            f"more than {config.disturbance_threshold:g} cores, up to {outcome.most_other:.2f}; {outcome.rerun} "
            f"block(s) were run again at once"
            + (
                f", and {outcome.set_aside} block(s) were still disturbed after {config.reruns} re-runs: set aside "
                f"({sum(outcome.replaced.values())} replaced by new blocks), counted only where a cell has no clean "
                "block"
                if outcome.set_aside
                else ""
            )
            + f"; the disturbed blocks took {outcome.disturbed_s:.0f} s of the {outcome.measured_s:.0f} s of "
            "measuring.",
            file=sys.stderr,
        )
    if failed:
        print(
            f"gilbench: {failed} repetition(s) failed; see the 'error' column of {run_dir / 'results.csv'}",
            file=sys.stderr,
        )
        for line in failure_hints(run_dir):
            print(f"gilbench: {line}", file=sys.stderr)
        return EXIT_FAILED_CELLS
    return EXIT_OK


def closing_lines(table, config, outcome) -> list[str]:
    """What a user must know before trusting the table: the answers, the precision reached, the unstable cells."""
    from .report import closing

    found = closing.run_findings(
        table, config.precision, config.auto, config.repeat, config.budget, outcome.measured_s, outcome.planned_s
    )
    return closing.lines(found)


def tutorial_lines(checks: list[dict]) -> list[str]:
    """--check-against-tutorial, one line per interpreter and worker count: both speedups and their ratio."""
    from .report import closing

    return closing.lines(closing.tutorial_findings(checks))


def failure_hints(run_dir) -> list[str]:
    """Per workload that failed only under threads: it may share module state between tasks."""
    from . import storage
    from .report import closing

    try:
        frame = storage.load_results(run_dir)
    except (UsageError, OSError):
        return []
    return closing.lines(closing.failure_findings(frame))


def suite_lines(analysed, run_dir) -> list[str]:
    """A run with pyperformance benchmarks: where the spectrum is, and the benchmarks that are not thread-safe."""
    from .report import closing

    return closing.lines(closing.suite_findings(analysed.spectrum, run_dir / "spectrum.png"))


def analysis_table(table) -> str:
    from .report import closing

    return "\n" + closing.format_table(table)


def say(text: str) -> None:
    """Print to stdout; if the reader has gone (`gilbench run | head`), go on without it: the run still writes
    its report and exits with the status its results call for."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def cmd_plot(args) -> int:
    from . import render

    _, written = render.plot(args.run, args.out, fit_oversubscribed=args.fit_oversubscribed)
    for paths in written.values():
        for path in paths:
            print(path)
    return EXIT_OK


def cmd_report(args) -> int:
    from . import render

    written = render.report(args.run, args.out, fit_oversubscribed=args.fit_oversubscribed)
    print(f"report: {written.report_md}\n        {written.report_html}")
    print(f"charts: {written.summary.parent}/*.png, *.svg")
    return EXIT_OK


def cmd_compare(args) -> int:
    from . import render
    from .report.compare import compare_lines, pair_heading, pair_lines

    paths = render.compare(args.runs, args.out, args.baseline)
    table = render.last_compare  # the values compare.md was written from, not compare.csv's rounded ones
    assert table is not None  # compare() sets it
    for (run, base), part in table.groupby(["run", "base"], sort=False):
        print(f"{pair_heading(str(run), str(base))}:")
        print("\n".join("  " + line for line in pair_lines(table, str(run), str(base), part)))
        print("\n".join("  " + line for line in compare_lines(part)))
    print(f"\nverdicts: {paths[0]}  (and {paths[2].name})\nspeedups: {paths[1]}\nchart:    {paths[3]}")
    return EXIT_OK


def cmd_import(args) -> int:
    from . import pytest_door, render

    run_dir = pytest_door.import_json(args.json, args.out)
    print(f"imported into {run_dir / 'results.csv'}")
    if not args.no_report:
        written = render.report(run_dir)
        print(f"report:  {written.report_md}  (and report.html)")
    return EXIT_OK


def cmd_list(args) -> int:
    from . import registry, variants

    print("workloads:")
    for wl in registry.builtin_workloads():
        print(f"  {wl.name:<12} {wl.description}")
        standard = wl.module.SIZES.get("standard", next(iter(wl.module.SIZES.values())))
        print(
            f"  {'':<12} sizes: {', '.join(wl.module.SIZES)}; parameters: "
            + ", ".join(f"{k} (standard: {v})" for k, v in standard.items())
        )
    from .suites import pyperformance as suite

    print()
    for line in suite.listing():
        print(line)
    print(f"\nvariants (on this interpreter, Python {sys.version_info[0]}.{sys.version_info[1]}):")
    for name, why in variants.local_availability().items():
        state = "available" if why is None else f"unavailable: {why}"
        print(f"  {name:<16} {variants.VARIANTS[name].description}")
        print(f"  {'':<16} {state}")
    print("\nstart methods: " + ", ".join(multiprocessing.get_all_start_methods()))
    return EXIT_OK


def cmd_env(args) -> int:
    import json
    from itertools import combinations

    from . import environment, interpreters

    if args.twin_of:  # for make bench-ft: the twin's path, or nothing
        twin = interpreters.find_twin(interpreters.check_python(args.twin_of))
        if twin:
            print(twin)
        return EXIT_OK
    env = environment.collect_environment()
    env["interpreters"] = interpreters.describe_all([interpreters.check_python(p) for p in args.python])
    if args.json:
        print(json.dumps(env, indent=2))
        return EXIT_OK
    described = env.pop("interpreters")
    width = max(map(len, env))
    for key, value in env.items():
        print(f"{key:<{width}}  {environment.pools_text(value) if key == 'native_pools' else value}")
    for info in described:
        print(f"\ninterpreter {info['python']}")
        for line in _interpreter_lines(info):
            print(f"  {line}")
    if len(described) > 1:
        print()
    for a, b in combinations(described, 2):
        differences = environment.interpreter_differences(a, b)
        if environment.are_twins(a, b):
            print(f"{a['python']} and {b['python']} are twins: only the GIL differs")
        elif not differences:
            print(f"{a['python']} and {b['python']} are the same Python, built the same way")
        else:
            print(
                f"{a['python']} and {b['python']} differ in "
                + "; ".join(f"{w} ({_shown(x)} / {_shown(y)})" for w, x, y in differences)
            )
    return EXIT_OK


def _shown(value: object) -> str:
    """A compared value as `gilbench env` shows it: a missing one is unknown, an empty one (no configure arguments
    besides those reported on their own line) none."""
    return "unknown" if value is None else (str(value) or "none")


def _interpreter_lines(info: dict) -> list[str]:
    """`gilbench env`'s lines for one interpreter (environment.interpreter_build's dict)."""
    from . import environment

    if "error" in info:
        return [f"could not be described: {info['error']}"]
    lines = [
        f"{info['version']} {info['implementation']}, "
        + ("free-threaded" if info["free_threaded"] else "with the GIL"),
        f"compiler            {info['compiler']}",
        f"optimizations       {environment.optimizations_label(info) or 'unknown'}",
        f"optimization flags  {info['opt_flags']}",
        f"configure arguments {info['configure_args'] or 'unknown'}",
    ]
    if info["base_executable"] != info["executable"]:
        lines.append(f"made from           {info['base_executable']}")
    return lines


# ---------------------------------------------------------------- argparse


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other usage error
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gilbench", description="How does CPU-bound Python scale across threads and processes, here?")
    parser.add_argument("--version", action="version", version=f"gilbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the benchmark matrix and write CSV")
    RunOptions.add_arguments(run)  # every run option, from its one definition
    run.add_argument(
        "--resume", metavar="RUN_DIR", help="finish an interrupted run with the options it was started with"
    )
    run.set_defaults(func=cmd_run)

    plot = sub.add_parser("plot", help="draw the charts (and summary.csv) of a run folder or results CSV")
    plot.add_argument("run", metavar="RUN", help="a run folder or its results.csv")
    plot.add_argument("--out", help="folder for the outputs (default: the run folder)")
    plot.add_argument(
        "--fit-oversubscribed",
        action="store_true",
        help="fit the scaling laws to worker counts above the usable CPUs too (by default they are "
        "drawn and described as oversubscription, not fitted)",
    )
    plot.set_defaults(func=cmd_plot)

    report = sub.add_parser("report", help="write report.md and report.html (and the charts) for a run")
    report.add_argument("run", metavar="RUN", help="a run folder or its results.csv")
    report.add_argument("--out", help="folder for the outputs (default: the run folder)")
    report.add_argument(
        "--fit-oversubscribed",
        action="store_true",
        help="fit the scaling laws to worker counts above the usable CPUs too (by default they are "
        "drawn and described as oversubscription, not fitted)",
    )
    report.set_defaults(func=cmd_report)

    compare = sub.add_parser("compare", help="overlay runs from other machines or interpreters on one chart")
    compare.add_argument("runs", nargs="+", metavar="RUN")
    compare.add_argument("--out", default="results/compare", help="folder for compare.png/svg/csv")
    compare.add_argument(
        "--baseline",
        default="own",
        choices=("own", "first"),
        help="the chart's speedups: over each run's own serial (default), or over the first run's "
        "serial, so a slower single thread shows",
    )
    compare.set_defaults(func=cmd_compare)

    imp = sub.add_parser("import", help="turn pytest-benchmark JSON (make bench-pytest) into a gilbench run folder")
    imp.add_argument("json", metavar="PYTEST_BENCHMARK_JSON")
    imp.add_argument("--out", default="results", help="results folder (the run lands in OUT/runs/<run id>)")
    imp.add_argument("--no-report", action="store_true", help="write only the CSVs")
    imp.set_defaults(func=cmd_import)

    lst = sub.add_parser("list", help="workloads, variants, and which variants this interpreter can run")
    lst.set_defaults(func=cmd_list)

    env = sub.add_parser("env", help="the environment a run would record, and what each interpreter is")
    env.add_argument("--json", action="store_true")
    env.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="describe this interpreter too, as a run with --python PATH records it (repeatable); "
        "each pair is compared: twins differ in the GIL alone",
    )
    env.add_argument(
        "--twin-of",
        metavar="PATH",
        help="print the path of PATH's twin found beside it (the same version and build, the other GIL kind), "
        "or nothing",
    )
    env.set_defaults(func=cmd_env)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"gilbench: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.showwarning = _one_line_warning  # the README's one line, not Python's source location
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as exc:
        print(f"gilbench: error: {exc}", file=sys.stderr)
        return EXIT_RUN_ERROR
    except KeyboardInterrupt:
        print("\ngilbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `gilbench list | head`: the reader left; not an error of ours (`run` uses say())
        _silence_stdout()
        return EXIT_OK
