"""gilbench's Python API: what `gilbench run`, `report` and `compare` do, for notebooks and scripts.

    import gilbench

    run = gilbench.run(workloads="count", variants=["serial", "threading", "multiprocessing"],
                       workers=[1, 2], size="quick", repeat=3)
    run.summary                      # pandas DataFrame: one row per cell (speedup, busy cores, fits, ...)
    run.figure("speedup-count")      # a matplotlib Figure
    print(run.report())              # the report, as Markdown (also written to run.folder)
    gilbench.load("results/latest")  # a finished run, from its folder
    gilbench.compare(run_a, run_b)   # per cell: time ratio, interval, verdict

The command line is a thin shell over these functions: the same options (`RunConfig`'s, as keyword
arguments, as text or as Python values), the same checks, the same files. Errors come as one
exception type per kind of failure, with the CLI's one-line message:

- `gilbench.UsageError`: bad input; nothing was run or written.
- `gilbench.RunError`: a run that started could not finish (its results could not be written, or it
  was interrupted); every finished repetition is kept in its folder: `gilbench.run(resume=folder)`.

Repetitions that fail (a workload that raises, a worker that dies) do not raise: they are rows with
`ok` false in `run.results`, counted in `run.failed`, as `gilbench run` exits 1 for them.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import Field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RunError, UsageError
from .options import RunOptions, option_fields

if TYPE_CHECKING:
    from .render import Analysed, Written
    from .runner import Outcome

__all__ = ["Run", "RunOptions", "RunError", "UsageError", "compare", "load", "run"]


# run.summary's first columns, what a notebook shows before pandas' "...": the cell, its speedup with the interval,
# efficiency and busy cores; and its last, the long texts that would push them out of sight.
SUMMARY_FIRST = (
    "workload",
    "variant",
    "workers",
    "speedup",
    "speedup_low",
    "speedup_high",
    "efficiency",
    "busy_cores",
)
SUMMARY_LAST = ("params", "python_executable")


def answer_lines(table) -> list[str]:
    """Each workload's answer line, as the terminal words it after a run."""
    from .report import closing

    return closing.lines(closing.answer_findings(table))


class Run:
    """A run folder and what gilbench computes from it: tables as pandas DataFrames, charts as matplotlib Figures,
    the report. Everything is read from the folder's CSVs, so a loaded run and a fresh one are the same thing."""

    def __init__(
        self,
        folder,
        outcome: Outcome | None = None,
        analysed: Analysed | None = None,
        written: Written | None = None,
    ):
        self.folder = Path(folder)
        self.outcome = (
            outcome  # what the run did (counts, its options), for a run made in this session; None when loaded
        )
        self._analysed = analysed
        self.written = written  # the report and chart files, once written (by run() or report())
        self.problem = ""  # why there is no summary (every repetition failed), if so
        self._figures: dict | None = None

    def __repr__(self) -> str:
        return f"gilbench.Run({str(self.folder)!r})"

    def _repr_markdown_(self) -> str:  # what a notebook shows for a bare `run`: what it is, then its answers
        if not self.summarised:
            return f"**gilbench run** folder `{self.folder}`: {self.problem}"
        env = self.environment
        head = (
            f"**gilbench run** `{env.get('run_id', self.folder.name)}` on {env.get('host', '?')} "
            f"({env.get('usable_cpus', '?')} usable CPUs): {len(self.results)} repetitions, {self.failed} failed; "
            f"folder `{self.folder}`"
        )
        return "\n\n".join([head, *(f"- {line}" for line in self.answers)])

    def write_report(self) -> Written:
        """Write report.md, report.html, summary.csv and the charts into the run folder (as `gilbench report`)."""
        from . import render

        self.written = render.report(self.folder, analysed=self.analysed)
        return self.written

    @property
    def answers(self) -> list[str]:
        """The report's answer line of each workload (which variant to use, its speedup and interval, the reason)."""
        return answer_lines(self.analysed.table)

    @property
    def analysed(self) -> Analysed:
        """The run's tables, read and summarised once (a UsageError when there is nothing to summarise)."""
        from . import render

        if self._analysed is None:
            self._analysed = render.analyse(self.folder)
        return self._analysed

    @property
    def results(self):
        """results.csv: one row per repetition (warm-ups and failures included, flagged)."""
        from . import storage

        return storage.load_results(self.folder)

    @property
    def summary(self):
        """One row per cell: medians, intervals, speedup, efficiency, busy cores, Amdahl and USL fits (summary.csv's
        columns, what a reader looks at first in the first columns: SUMMARY_FIRST, ..., SUMMARY_LAST)."""
        table = self.analysed.table
        first = [c for c in SUMMARY_FIRST if c in table]
        last = [c for c in SUMMARY_LAST if c in table]
        return table[first + [c for c in table.columns if c not in first and c not in last] + last]

    @property
    def tasks(self):
        """tasks.csv: one row per task (worker, start, end, CPU time), or None."""
        return self.analysed.tasks

    @property
    def trace(self):
        """trace.csv of a run made with trace=True: every thread's states over time, or None."""
        return self.analysed.trace

    @property
    def trace_summary(self):
        """trace_summary.csv: per traced cell, the share of time running, waiting for a core, blocked; hand-offs/s."""
        return self.analysed.trace_summary

    @property
    def tutorial_check(self) -> list[dict]:
        """A run made with check_against_tutorial=True: per interpreter and worker count, the tutorial's own scripts'
        speedup, the multiprocessing cell's over the same blocks, their ratio and each stopwatch's (geometric mean,
        low, high, coverage); empty otherwise."""
        return self.analysed.tutorial

    @property
    def environment(self) -> dict:
        return self.analysed.env

    @property
    def summarised(self) -> bool:
        """Whether the run has a summary: False when every repetition failed (`problem` says why)."""
        if self._analysed is None and not self.problem:
            try:
                self.analysed  # noqa: B018 - reading it is the check
            except UsageError as exc:
                self.problem = str(exc)
        return self._analysed is not None

    @property
    def failed(self) -> int:
        """Repetitions that failed (see the `error` column of `results`)."""
        frame = self.results
        return int((~frame["ok"].astype(bool)).sum())

    def figures(self) -> dict:
        """Every chart of the run as a matplotlib Figure, by the name its file has: 'overview', 'speedup-count',
        'scaling-count', 'timeline-count', 'states-count' (with --trace), ... Nothing is written."""
        from . import render

        if self._figures is None:  # drawn once: figure(name) is called once per chart in a notebook
            self._figures = render.figures(self.analysed)
        return self._figures

    def figure(self, name: str):
        """One chart by name (see `figures`)."""
        found = self.figures()
        if name not in found:
            raise UsageError(f"run {self.folder.name!r} has no chart {name!r} (accepted: {', '.join(sorted(found))})")
        return found[name]

    def report(self) -> str:
        """Write report.md and report.html (and the charts) into the run folder; return the Markdown."""
        from . import render

        self.written = render.report(self.folder, analysed=self.analysed)
        return self.written.report_md.read_text()


def options_from(**given) -> RunOptions:
    """RunOptions from keyword arguments with Python values, taken as they are (`resolve()` checks them as it
    checks the command line's text); an unknown keyword is a TypeError, as for any call."""
    known = [f.name for f in option_fields()]
    for name in given:
        if name not in known:
            raise TypeError(
                f"gilbench.run() got an unexpected keyword argument {name!r} "
                f"(accepted: {', '.join(known)}, resume, log)"
            )
    return RunOptions(**given)


# What this process has said once of what a run cannot measure here (environment.unmeasured): a notebook makes several
# runs in one process, and a missing measure is said once, by the first run that lacks it.
SAID: set[str] = set()


def run(*, resume: str | Path | None = None, log: Callable[[str], None] = print, **options: Any) -> Run:
    """Run a benchmark matrix, as `gilbench run` does, and return the Run.

    Keyword arguments are `gilbench run`'s options (RunConfig's options; `help(gilbench.run)` lists them):
    workloads, variants, workers, size, scaling, variant_workers, param, repeat, warmup, python, trace, out, ...
    Each is given as the command line's text (workers="1,2,4") or as a Python value, checked as it is: lists as
    lists (workers=[1, 2, 4], variants=["serial", "threading"]), numbers as numbers (repeat=3, precision=0.05),
    folders as paths, and repeatable options as lists or dicts (param={"iterations": 2e8},
    variant_workers={"threading": [1, 4]}).
    `resume`: a run folder to finish with the options it was started with. `log`: where progress lines go.
    The progress bar is tqdm's, drawn in a terminal, or in a notebook with ipywidgets installed (its widget);
    elsewhere there is none. In a notebook, the returned Run shows the run and each workload's answer line.
    """
    return execute(None if resume is not None else options_from(**options), resume=resume, log=log)


def import_for_the_looks() -> None:
    """What the first look between blocks needs (pandas, scipy.special, the analysis: about 0.3 s on a 2-vCPU VM),
    imported while the machine is looked at before the run instead of between two blocks."""
    import pandas  # noqa: F401
    from scipy.special import stdtrit  # noqa: F401

    from . import analysis  # noqa: F401


def execute(
    run_options: RunOptions | None,
    *,
    resume: str | Path | None = None,
    log: Callable[[str], None] = print,
    write_report: bool = True,
) -> Run:
    """run() with its options already a RunOptions (as `gilbench run` parses them), or None with `resume`.
    `write_report` False: the caller writes the report and charts itself (`gilbench run` prints the answer first,
    then draws: the charts take longer than the answer)."""
    from . import environment, interpreters, orchestrator, render, storage
    from . import options as opts

    if resume is not None:
        run_options = RunOptions.read(resume)
        storage.load_results(resume)  # a folder whose CSV does not parse cannot be resumed
    if run_options is None:
        raise UsageError("no options and no run folder to resume (accepted: RunOptions, or resume=FOLDER)")
    config = opts.resolve(run_options)
    env = environment.collect_environment(meanwhile=import_for_the_looks)
    env["interpreters"] = interpreters.describe_all(config.python)  # what each interpreter of the run is
    most = max([*config.workers, *(n for counts in config.variant_workers.values() for n in counts)])
    for note in environment.warnings_for(env, most):
        print(f"gilbench: warning: {note}", file=sys.stderr)
    for note in environment.unmeasured(env, config.trace).values():
        if note not in SAID:  # once: a notebook's later runs do not say it again
            SAID.add(note)
            print(f"gilbench: {note}", file=sys.stderr)
    try:
        outcome = orchestrator.execute(config, env, log=log, resume_dir=Path(resume) if resume else None)
    except OSError as exc:
        where = getattr(exc, "filename", "") or config.out
        raise RunError(f"cannot write results: {exc.strerror or exc} ({where})") from None
    result = Run(outcome.run_dir, outcome)
    try:
        result._analysed = render.analyse(outcome.run_dir)  # once: the table shown is the one the report draws
    except UsageError as exc:
        result.problem = str(exc)  # nothing to summarise: every repetition failed
        return result
    if write_report and not config.no_report:
        result.write_report()
    return result


def keyword_type(f: Field) -> str:
    """A keyword's annotation: the option as the command line gives it (text, texts for a repeatable option, a bool
    for a flag); the Python values its check takes as well (workers=[1, 2], repeat=3) are in run()'s docstring."""
    default = f.metadata["default"]
    return "list[str]" if isinstance(default, list) else "str | None" if default is None else type(default).__name__


run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # help(gilbench.run) and editors list the options from their one definition
    [
        inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | Path | None"),
        inspect.Parameter("log", inspect.Parameter.KEYWORD_ONLY, default=print, annotation="Callable[[str], None]"),
    ]
    + [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.metadata["default"], annotation=keyword_type(f)
        )
        for f in option_fields()
    ],
    return_annotation="Run",
)


def load(path) -> Run:
    """A finished run, from its folder or its results.csv (a UsageError if it is neither)."""
    from . import storage

    results_csv = storage.resolve_run(path)
    result = Run(results_csv.parent)
    result.analysed  # noqa: B018 - validate now: a bad folder is an error here, not at first use
    return result


def compare(*runs, out="results/compare"):
    """Per cell present in every run: the time ratio to the first run, its interval and verdict, as a DataFrame;
    also writes compare.csv, compare.md, speedups.csv and compare.png into `out`, as `gilbench compare` does."""
    import pandas as pd

    from . import render

    if len(runs) < 1:
        raise UsageError("compare needs at least one run (accepted: Run objects, run folders, results.csv paths)")
    paths = render.compare([r.folder if isinstance(r, Run) else r for r in runs], out)
    return pd.read_csv(paths[0], keep_default_na=False)
