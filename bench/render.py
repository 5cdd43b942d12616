"""From a run's CSVs to what people look at: summary.csv, charts and the report.

Everything is computed and validated before anything is written, and each file is replaced
atomically, so a failure leaves the previous outputs as they were.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import storage
from .errors import UsageError
from .options import SEQUENTIAL_STOP

if TYPE_CHECKING:  # pandas is imported when a run is analysed, not when gilbench starts
    import pandas as pd


@dataclass
class Analysed:
    results_csv: Path
    out: Path
    frame: pd.DataFrame  # results.csv
    table: pd.DataFrame  # summary.csv: one row per cell
    tasks: pd.DataFrame | None  # tasks.csv
    env: dict
    missing: list[str]
    trace: pd.DataFrame | None = None  # trace.csv and trace_summary.csv of a run made with --trace
    trace_summary: pd.DataFrame | None = None
    tutorial: list = field(default_factory=list)  # --check-against-tutorial: analysis.tutorial_check's rows
    unavailable: pd.DataFrame | None = None  # unavailable.csv: workloads that could not run under an interpreter
    spectrum: pd.DataFrame | None = None  # over a run with pyperformance workloads (bench/spectrum.py)


@dataclass
class Written:
    """The files `report` wrote."""

    report_md: Path
    report_html: Path
    summary: Path  # summary.csv
    charts: list[Path]  # every chart file, .png and .svg

    @property
    def pngs(self) -> list[Path]:
        return [p for p in self.charts if p.suffix == ".png"]


def analyse(target, out=None, fit_oversubscribed: bool = False) -> Analysed:
    from . import analysis

    results_csv = storage.resolve_run(target)
    frame = storage.load_results(results_csv)
    if frame.empty:
        raise UsageError(f"{str(results_csv)!r} holds no rows")
    run_dir = results_csv.parent
    env = _environment(run_dir, frame)
    table = analysis.summarize(
        frame, fit_oversubscribed=fit_oversubscribed, pilot=pilot_blocks(env), two_stage=two_stage(env)
    )
    if table.empty:
        raise UsageError(f"{str(results_csv)!r} holds no successful measured repetitions (all failed or warm-up)")
    tasks = None
    tasks_csv = run_dir / storage.TASKS
    if tasks_csv.exists():
        try:
            tasks = storage.load_results(tasks_csv, storage.TaskRow)
        except UsageError as exc:
            warnings.warn(f"ignoring the task timeline: {exc}", stacklevel=2)
    from .report import balance, budget, context

    table = balance.join(table, tasks)  # from tasks.csv: waiting threads, uneven work, a ceiling that is one
    # every claim the report may make, under one error budget for the whole run
    table = budget.decide(table, context.context_claims(table, frame))
    out = Path(out) if out else run_dir
    if not out.exists() and os.access(out.parent, os.W_OK):
        out.mkdir(parents=True)
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise UsageError(f"cannot write the outputs to {str(out)!r} (not a writable folder); give --out DIR")
    trace, trace_summary = None, None
    try:
        trace, trace_summary = storage.load_trace(run_dir)
    except UsageError as exc:
        warnings.warn(f"ignoring the state timeline: {exc}", stacklevel=2)
    tutorial = []
    try:
        scripts = storage.load_tutorial(run_dir)
        if scripts is not None:
            tutorial = analysis.tutorial_check(frame, scripts)
    except UsageError as exc:
        warnings.warn(f"ignoring the tutorial's scripts: {exc}", stacklevel=2)
    unavailable = None
    try:
        unavailable = storage.load_unavailable(run_dir)
    except UsageError as exc:
        warnings.warn(f"ignoring unavailable.csv: {exc}", stacklevel=2)
    from . import spectrum
    from .report import pairs

    twins = pairs.twin_pythons(env, table)
    found = spectrum.build(table, frame, unavailable, trace_summary, twins) if spectrum.wanted(table) else None
    return Analysed(
        results_csv,
        out,
        frame,
        table,
        tasks,
        env,
        analysis.missing_baselines(table),
        trace,
        trace_summary,
        tutorial,
        unavailable,
        found,
    )


ENVIRONMENT_COLUMNS = (  # what a results.csv on its own says about its machine and interpreter
    "host",
    "cpu_model",
    "logical_cpus",
    "physical_cores",
    "usable_cpus",
    "os",
    "python_version",
    "free_threaded",
    "gil_enabled",
    "harness_commit",
    "packages",
)


def pilot_blocks(env: dict) -> int:
    """The blocks before the first look of a run sized by --repeat auto, from environment.json; 0 otherwise."""
    config = env.get("config") or {}
    return int(config.get("pilot_blocks") or 0) if config.get("repeat_auto") else 0


def two_stage(env: dict) -> bool:
    """Whether a run sized by --repeat auto was sized by an older gilbench's two-stage rule (its environment.json
    names no stop rule): its intervals are computed as it was sized (analysis.paired_interval)."""
    config = env.get("config") or {}
    return bool(config.get("repeat_auto")) and config.get("stop_rule") != SEQUENTIAL_STOP


def _environment(run_dir: Path, frame) -> dict:
    """environment.json, or a CSV's own environment columns where the folder has none; with --repeat auto's plan
    (made after the pilot, and what it cost) where the folder has one."""
    try:
        env = json.loads((run_dir / storage.ENVIRONMENT).read_text())
    except (OSError, ValueError):
        first = frame.iloc[0]
        env = {k: first[k] for k in ENVIRONMENT_COLUMNS}
    try:
        env["plan"] = json.loads((run_dir / storage.PLAN_FILE).read_text())
    except (OSError, ValueError):
        pass
    return env


def write_summary(a: Analysed) -> Path:
    return storage.atomic_write(
        a.out / storage.SUMMARY, None, lambda tmp: a.table.to_csv(tmp, index=False, float_format="%.6g")
    )


def plot(
    target, out=None, analysed: Analysed | None = None, fit_oversubscribed: bool = False
) -> tuple[Analysed, dict[str, list[Path]]]:
    a = analysed or analyse(target, out, fit_oversubscribed)
    return a, {"summary": [write_summary(a)], **draw(a)}


def figures(a: Analysed) -> dict:
    """Every chart of a run as a matplotlib Figure, by file stem ('overview', 'speedup-count', ...); nothing written."""
    from . import charts

    with charts.collect() as found:
        draw(a)
    return found


OVERVIEW_MOST = 6  # workload-and-interpreter groups drawn on the overview when the run also has a spectrum


def draw(a: Analysed) -> dict[str, list[Path]]:
    """The charts of a run, per workload (and interpreter): the files written, by report key."""
    from . import charts

    written = {}
    drawable = a.table[a.table["speedup"].notna()]
    # with many benchmarks the spectrum is the overview: a page of two panels per workload and interpreter is not
    if not drawable.empty and (a.spectrum is None or len(charts.groups(drawable)) <= OVERVIEW_MOST):
        written["overview"] = charts.chart_overview(drawable, a.out)
    if a.spectrum is not None:
        from . import spectrum

        written["spectrum"] = spectrum.chart(a.spectrum, a.out)
    several = a.table["native_setting"].nunique() > 1  # --native-threads leave,1: a timeline per setting
    for part in charts.groups(a.table):
        key = part["workload"].iloc[0] + part.attrs.get("suffix", "")
        tasks_part = None
        if a.tasks is not None:
            row = part.iloc[0]
            tasks_part = a.tasks[
                (a.tasks["workload"] == row["workload"])
                & (a.tasks["size"] == row["size"])
                & (a.tasks["python_executable"] == row["python_executable"])
                & ((a.tasks["native_setting"] == row["native_setting"]) | (not several))
            ]
        if part["speedup"].notna().any():
            written[key] = charts.chart_workload(part, tasks_part, a.out)
        else:
            written[key] = []
        if a.trace_summary is not None:
            row = part.iloc[0]
            mine = _same_cell(a.trace_summary, row)
            if not mine.empty:
                written[key] += charts.chart_states(
                    mine,
                    _same_cell(a.trace, row) if a.trace is not None else None,
                    a.out,
                    key,
                    charts.group_label(part),
                    int(row["usable_cpus"]),
                )
    return written


def _same_cell(frame, row):
    """The rows of `frame` for the workload, size and interpreter of `row`."""
    return frame[
        (frame["workload"] == row["workload"])
        & (frame["size"] == row["size"])
        & (frame["python_executable"] == row["python_executable"])
    ]


def report(target, out=None, analysed: Analysed | None = None, fit_oversubscribed: bool = False) -> Written:
    from . import report as rep

    a, charts_written = plot(target, out, analysed, fit_oversubscribed)
    pngs = {k: [p for p in v if p.suffix == ".png"] for k, v in charts_written.items() if k != "summary"}
    charts_shown: dict[str, Path | list[Path]] = {
        k: (v[0] if k in ("overview", "spectrum") else v) for k, v in pngs.items() if v
    }
    blocks = rep.build_blocks(
        a.table,
        a.env,
        charts_shown,
        a.missing,
        str(a.results_csv),
        a.tasks,
        a.trace_summary,
        a.tutorial,
        a.spectrum,
        a.frame,
    )
    markdown = storage.atomic_write(a.out / "report.md", rep.to_markdown(blocks, a.out))
    html = storage.atomic_write(a.out / "report.html", rep.to_html(blocks))
    charts = [p for k, v in charts_written.items() if k != "summary" for p in v]
    return Written(markdown, html, charts_written["summary"][0], charts)


def run_label(frame) -> str:
    row = frame.iloc[0]
    return f"{row['host']}, {_interpreter(row)}"


def _interpreter(row) -> str:
    """`Python 3.13.15t (GIL off)`: an interpreter as compare and the charts name it."""
    ft = bool(row["free_threaded"])
    gil = "GIL off" if ft and not bool(row["gil_enabled"]) else "GIL on"
    return f"Python {row['python_version']}{'t' if ft else ''} ({gil})"


def describe_run(frame, env: dict) -> dict:
    """What one run (one interpreter and start method of it) ran on, by environment.RUN_ASPECTS: from its rows (each
    records the machine and interpreter) and its environment.json (the interpreter's build, native thread
    variables); with `run`, its id and start, for a label where nothing else tells runs apart."""
    from .analysis import NO_POOLS
    from .report.pairs import build_of

    row = frame.iloc[0]
    native = [
        *(f"pools {v}" for v in dict.fromkeys(frame["native_threads"].astype(str)) if v not in NO_POOLS),
        *(f"--native-threads {v}" for v in dict.fromkeys(frame["native_limit"].astype(str)) if v),
        *(f"{k}={v}" for k, v in (env.get("native_thread_variables") or {}).items()),
    ]
    return {
        "CPU model": str(row["cpu_model"]) or "unknown",
        "CPUs": f"{int(row['usable_cpus'])} usable of {int(row['logical_cpus'])}",
        "host": str(row["host"]),
        "OS": str(row["os"]),
        "interpreter": _interpreter(row),
        "build": build_of(env, str(row["python_executable"]), str(row["python_version"])),
        "packages": str(row["packages"]),
        "native threads": "; ".join(native) or "not recorded",
        "start method": str(row["start_method"]),
        "size": ", ".join(sorted(set(frame["size"].astype(str)))),
        "gilbench": str(row["harness_commit"]),
        "run": f"run {row['run_id']} ({str(row['timestamp'])[:16].replace('T', ' ')})",
    }


LABELLED_BY = ("CPU model", "CPUs", "host", "interpreter", "start method", "size")  # a compared run's label's parts


def run_labels(sides: list[dict]) -> list[str]:
    """Each compared run named by what tells it apart from the others (describe_run's dicts): the CPU model, the
    CPUs, the interpreter, ... where they differ; the run id where nothing else does (or still two are alike)."""
    differ = [what for what in LABELLED_BY if len({side[what] for side in sides}) > 1]
    shown = {"CPUs": lambda v: v.split()[0] + " CPUs"}
    labels = [", ".join(shown.get(w, str)(side[w]) for w in differ) for side in sides]
    return [
        label if label and labels.count(label) == 1 else ", ".join(filter(None, [label, side["run"]]))
        for label, side in zip(labels, sides, strict=True)
    ]


def compare(targets: list, out, baseline: str = "own") -> list[Path]:
    """Overlay runs on one chart per workload both share; per cell, the time ratio to the first run given with its
    interval and a verdict (compare.csv, compare.md), after what differs between the runs' environments; and the
    speedup curves side by side (speedups.csv). Runs keep the order given (within one run, its interpreters in the
    order it ran them)."""
    import pandas as pd

    from . import analysis, charts

    tables, sides, frames = [], [], []
    builds: list[dict] = []  # every interpreter's build the runs recorded (environment.json's interpreters)
    for target in targets:
        frame = storage.load_results(target)
        env = _environment(storage.resolve_run(target).parent, frame)
        builds += env.get("interpreters") or []
        table = analysis.summarize(frame, pilot=pilot_blocks(env), two_stage=two_stage(env))
        if table.empty or table["speedup"].isna().all():
            raise UsageError(f"{str(target)!r} has no successful serial baseline to compare speedups")
        for (exe, method), part in table.groupby(["python_executable", "start_method"], sort=False):
            mine = frame[(frame["python_executable"] == exe) & (frame["start_method"] == method)]
            tables.append(part)
            frames.append(mine)
            sides.append(describe_run(mine, env))
    if len(tables) < 2:
        raise UsageError("compare needs at least two runs, or one run made under two or more interpreters (--python)")
    labels = run_labels(sides)
    verdicts, compared = _verdicts(frames, labels, {"interpreters": builds})
    if not verdicts:
        raise UsageError(
            "the runs have no cell in common (same workload, size, parameters, variant and workers): nothing to "
            "compare; " + _nothing_shared(frames)
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"compare --out {str(out)!r} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if baseline not in BASELINES:
        raise UsageError(f"--baseline {baseline!r} is not one of {', '.join(BASELINES)}")
    table = pd.concat(verdicts)
    written = charts.chart_compare([_shared(t, table) for t in tables], labels, out, baseline)
    table.attrs["pairs"] = compared  # (run, base): what the two interpreters compare besides the GIL
    from . import environment

    # (run, base): what differs between their environments, said before the verdicts
    table.attrs["environments"] = {
        (label, labels[0]): environment.run_differences(sides[0], side)
        for label, side in zip(labels[1:], sides[1:], strict=True)
    }
    path = storage.atomic_write(
        out / "compare.csv",
        None,
        lambda tmp: table.drop(columns=["params"]).to_csv(tmp, index=False, float_format="%.4g"),
    )
    keyed = []
    for t, label in zip(tables, labels, strict=True):
        t = t[["workload", "variant", "workers", "speedup"]].copy()
        t["run"] = label
        keyed.append(t)
    wide = pd.concat(keyed).pivot_table(index=["workload", "variant", "workers"], columns="run", values="speedup")
    speedups = storage.atomic_write(
        out / "speedups.csv", None, lambda tmp: wide.reset_index().to_csv(tmp, index=False, float_format="%.4g")
    )
    from .report.compare import compare_markdown

    storage.atomic_write(out / "compare.md", compare_markdown(table))
    global last_compare  # the table itself, so the terminal quotes what compare.md quotes (not the CSV's rounding)
    last_compare = table
    return [path, speedups, out / "compare.md", *written]


COMPARED_CELL = ["workload", "size", "params", "scaling", "variant", "workers"]  # analysis.compare_cells' keys


def _shared(table, verdicts):
    """A run's summary rows of the cells compared (in every run's verdicts), each workload's serial cell kept as
    the speedups' baseline: what compare's chart draws."""
    from .analysis import BASELINE_VARIANT

    cells = verdicts[COMPARED_CELL].drop_duplicates()
    kept = table.merge(cells, on=COMPARED_CELL, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    workloads = set(cells["workload"])
    serial = (table["variant"] == BASELINE_VARIANT) & table["workload"].isin(workloads)
    return table[kept | serial.to_numpy()]


def _nothing_shared(frames: list) -> str:
    """Why two runs share no cell, in a few words: no workload in common, or the workloads they share ran at
    other sizes or parameters."""
    first, other = frames[0], frames[1]
    common = [w for w in dict.fromkeys(first["workload"]) if w in set(other["workload"])]
    if not common:
        return (
            f"the first ran {', '.join(dict.fromkeys(first['workload']))}, "
            f"the second {', '.join(dict.fromkeys(other['workload']))}"
        )
    w = common[0]

    def how(f):
        part = f[f["workload"] == w]
        return " or ".join(f"size {s} {p}" for s, p in dict.fromkeys(zip(part["size"], part["params"], strict=True)))

    return f"{w} ran at {how(first)} in the first and at {how(other)} in the second"


def _verdicts(frames: list, labels: list[str], env: dict) -> tuple[list, dict]:
    """Per run after the first: its cells' verdicts against the first run's, and what the two interpreters compare
    besides the GIL where one is a GIL build and the other free-threaded ((run, base): a pairs finding)."""
    from . import analysis

    verdicts, compared = [], {}
    for frame, label in zip(frames[1:], labels[1:], strict=True):
        cells = analysis.compare_cells(frames[0], frame)
        if not cells.empty:
            cells.insert(0, "run", label)
            cells.insert(1, "base", labels[0])
            verdicts.append(cells)
            found = interpreter_pair(env, frames[0], frame)
            if found is not None:
                compared[(label, labels[0])] = found
    return verdicts, compared


def interpreter_pair(env: dict, base, other):
    """Where one side of a comparison ran a GIL build and the other a free-threaded one: what they compare besides
    the GIL (a finding of bench/report/pairs.py), else None."""
    from .report import pairs

    sides = {
        bool(f["free_threaded"].iloc[0]): (f["python_executable"].iloc[0], f["python_version"].iloc[0])
        for f in (base, other)
    }
    return pairs.pair(env, sides[False], sides[True]) if len(sides) == 2 else None


last_compare: pd.DataFrame | None = None
BASELINES = ("own", "first")  # compare's chart: each run's own serial, or the first run's
