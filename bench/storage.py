"""Results storage: the CSV schema, atomic appends, loading and validation.

The schema is the dataclasses below: their fields are the CSV header, in order, and the
README documents each one. Every repetition's rows are written with a single write() on an
O_APPEND descriptor, so an interrupted run (Ctrl-C, SIGKILL) keeps every finished row and the
file always parses; a torn final line (no newline) is dropped on load with a warning.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from .errors import UsageError
from .oslayer import atomic_write as atomic_write  # storage.atomic_write for its callers; in oslayer for the light cell

RESULTS = "results.csv"
TASKS = "tasks.csv"
TRACE = "trace.csv"
TRACE_SUMMARY = "trace_summary.csv"
TUTORIAL = "tutorial.csv"
SUMMARY = "summary.csv"
ENVIRONMENT = "environment.json"
UNAVAILABLE = "unavailable.csv"
OPTIONS_FILE = "options.json"  # the run options as given, which --resume reads back
PLAN_FILE = "plan.json"  # the pilot's plan: blocks per group, predicted and spent time


@dataclass(frozen=True)
class ResultRow:
    """One repetition of one cell."""

    run_id: str
    timestamp: str  # ISO 8601, UTC, when the repetition started
    workload: str
    size: str
    params: str  # the workload's effective parameters, as JSON (weak scaling: one worker's share)
    scaling: str  # strong (a fixed total of work) or weak (a fixed share per worker: the total grows with N)
    scale: int  # shares of work the cell did: 1, or under weak scaling its worker count
    variant: str
    workers: int
    tasks: int
    chunksize: int
    repeat: int  # the block's number within its group: 0, -1, ... warm-ups, 1..N measured
    block_workers: (
        int  # the worker count of the paired block the repetition ran in (serial: the block's N); 0: unpaired
    )
    warmup: bool
    startup_s: float
    compute_s: float
    total_s: float
    cpu_s: float
    busy_cores: float  # cpu_s / compute_s: the Python worker threads' cores
    process_cpu_s: float  # CPU of the cell's process tree (every thread, native pools too; joined children)
    process_busy_cores: float  # process_cpu_s over the wall time it was measured in: the cores the work really used
    peak_rss_mb: float
    worker_processes: int
    other_cores: float  # CPU other programs used during the repetition, in cores (empty where unmeasured)
    steal_cores: float  # CPU the hypervisor took from this VM during the repetition, in cores
    disturbed: bool  # other programs + steal above --disturbance-threshold: left out of the statistics
    attempt: int  # 1, or 2, 3, ... for the re-runs of a disturbed repetition
    ok: bool
    error: str
    host: str
    python_version: str
    python_implementation: str
    python_executable: str
    free_threaded: bool
    gil_enabled: bool  # as seen inside the workers, after the workload's imports
    python_gil_env: str  # PYTHON_GIL as passed to the cell, empty when unset
    start_method: str
    logical_cpus: int
    physical_cores: int
    usable_cpus: int
    cpu_model: str
    load_avg_1m: float
    os: str
    harness_commit: str
    packages: str  # name=version;... of the packages the workloads use
    native_threads: str  # the workers' native thread pools: `openblas=2;openmp=2`, `none`, `unknown`
    native_limit: str  # --native-threads as applied to this cell: a thread count, or `leave`
    native_setting: str  # the cell's --native-threads setting as given (`leave`, `auto`, a count): part of its key


@dataclass(frozen=True)
class TaskRow:
    """One task of one repetition (for timelines and GIL-wait analysis)."""

    run_id: str
    workload: str
    size: str
    variant: str
    workers: int
    repeat: int
    block_workers: int  # as in results.csv: which block a serial repetition belongs to
    warmup: bool
    attempt: int  # as in results.csv: the re-runs of a disturbed repetition have their own tasks
    task: int
    python_executable: str  # the interpreter that ran the cell (one run may use several)
    pid: int
    thread_id: int
    host: str
    start_s: float  # seconds since the repetition started, on CLOCK_MONOTONIC
    end_s: float
    wall_s: float
    cpu_s: float  # the task's own CPU time (time.thread_time)
    cpu_share: float  # cpu_s / wall_s; 1 - cpu_share is time spent waiting (for the GIL, I/O, a core)
    # the cell's --native-threads setting (results.csv's): a run of several has a timeline per setting; `leave` (the
    # default) in tasks of older versions and in pytest-benchmark JSON written before the column
    native_setting: str = "leave"


@dataclass(frozen=True)
class TracedCell:
    """The first columns of both --trace files: which cell was traced."""

    run_id: str
    workload: str
    size: str
    variant: str
    workers: int
    python_executable: str


@dataclass(frozen=True)
class TraceRow(TracedCell):
    """One stretch of one thread in one state, in the traced repetition of a cell (--trace)."""

    pid: int
    thread_id: int  # the kernel's thread id, as in tasks.csv
    worker: bool  # the thread ran tasks (False: the cell's main thread, a pool's helper threads)
    native: bool  # a native pool's thread (OpenBLAS, OpenMP): no Python thread of its process
    state: str  # running, waiting for a core, blocked
    start_s: float  # seconds since the repetition started, as in tasks.csv
    end_s: float


@dataclass(frozen=True)
class TraceSummaryRow(TracedCell):
    """One traced repetition: where its worker threads' time went, between the first task's start and the last's end."""

    python_version: str
    free_threaded: bool
    gil_enabled: bool
    ok: bool  # the traced repetition itself succeeded
    unavailable: str  # why there is no state timeline (empty when there is one)
    switch_interval_s: float  # sys.getswitchinterval() of the interpreter
    interval_s: float  # the sampler's interval (a fifth of the switch interval)
    samples: int  # readings of one thread, all threads together
    threads: int  # worker threads seen
    compute_s: float  # the window: first task start to last task end
    running_share: float
    waiting_share: float  # runnable, waiting in a run queue for a core
    blocked_share: float  # waiting for the GIL, a lock, I/O, a sleep
    handoffs_per_s: float  # a worker thread going from blocked to running, per second
    native_threads: int  # native pools' threads seen (TraceRow.native)
    native_running_share: float  # of the native threads' time in the window, running (NaN: none seen)
    sampler_cpu_s: float  # the sampler's own CPU time
    sampler_cpu_share: float  # of one core, over the sampler's wall time


@dataclass(frozen=True)
class TutorialRow:
    """One run of one of the tutorial's own two scripts, inside a paired block of the count cells
    (--check-against-tutorial): what the tutorial's stopwatch read for the same work."""

    run_id: str
    timestamp: str  # ISO 8601, UTC, when the script started
    workload: str  # the cells it stands beside: count
    size: str
    python_executable: str
    block_workers: int  # the block it ran in, as in results.csv
    repeat: int
    attempt: int
    warmup: bool
    script: str  # serial (N calls, one after another) or parallel (N processes)
    share: int  # iterations per call (serial) or per process (parallel)
    total_s: float  # the script's own stopwatch (perf_counter around the calls, or constructors to the last join)
    ok: bool
    error: str


@dataclass(frozen=True)
class UnavailableRow:
    """A workload that cannot run under one interpreter of the run (a pyperformance benchmark whose imports fail
    there, say): its cells were not run, never faked."""

    run_id: str
    workload: str
    python_executable: str
    reason: str


def load_unavailable(run_dir):
    """unavailable.csv of a run, or None."""
    path = Path(run_dir) / UNAVAILABLE
    return load_results(path, UnavailableRow) if path.exists() else None


def file_stem(name: str) -> str:
    """A workload's name as part of a file name: `pyperformance:richards@isolated` -> `pyperformance-richards-isolated`
    (a colon would read as a URL scheme in the report's links, and some file systems refuse it)."""
    import re

    return re.sub(r"[^A-Za-z0-9._+-]", "-", name)


def task_row(
    record,
    *,
    run_id,
    workload,
    size,
    variant,
    workers,
    repeat,
    block_workers,
    warmup,
    attempt,
    python_executable,
    host,
    native_setting,
):
    """A worker's TaskRecord as its tasks.csv row: the record's fields and the cell it belongs to."""
    wall_s = record.end_s - record.start_s
    return TaskRow(
        run_id=run_id,
        workload=workload,
        size=size,
        variant=variant,
        workers=workers,
        repeat=repeat,
        block_workers=block_workers,
        warmup=warmup,
        attempt=attempt,
        task=record.task,
        python_executable=python_executable,
        pid=record.pid,
        thread_id=record.thread_id,
        host=record.host or host,
        start_s=record.start_s,
        end_s=record.end_s,
        wall_s=wall_s,
        cpu_s=record.cpu_s,
        cpu_share=record.cpu_s / wall_s if wall_s > 0 else float("nan"),
        native_setting=native_setting,
    )


def check_writable(folder: Path) -> None:
    """A real write probe of the output folder (or the first part of it that exists): one line if it fails."""
    import tempfile

    folder = Path(folder)
    probe_dir = folder
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise UsageError(f"output folder {str(folder)!r}: {str(probe_dir)!r} is not a folder")
    try:  # os.access() says yes to root even where a write would fail
        with tempfile.TemporaryFile(dir=probe_dir, prefix=".gilbench-probe-") as fh:
            fh.write(b"\0" * 65536)  # a full disk fails here, not in the middle of a run
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise UsageError(f"output folder {str(folder)!r} is not writable ({exc.strerror})") from None
    if os.path.exists(folder / "latest") and not os.path.islink(folder / "latest"):
        raise UsageError(f"output folder {str(folder)!r} holds a 'latest' that is not gilbench's link; not touching it")


def header(row_type) -> list[str]:
    return [f.name for f in fields(row_type)]


# Columns added after the first CSVs were written: a file without them loads with these values.
# Columns an older gilbench's CSV lacks, filled in as they would have been then (block_workers 0: measured in
# rounds, not paired blocks, so its speedups fall back to the unpaired intervals).
ADDED_COLUMNS = {
    "other_cores": "",
    "steal_cores": "",
    "disturbed": "False",
    "attempt": "1",
    "scaling": "strong",
    "scale": "1",
    "block_workers": "0",
    "process_cpu_s": "",
    "process_busy_cores": "",
    "native_threads": "",
    "native_limit": "leave",
    "native_setting": "leave",
}
ADDED_TASK_COLUMNS = {"attempt": "1", "block_workers": "0", "native_setting": "leave"}
ADDED_TRACE_COLUMNS = {"native": "False"}  # traced before native threads were named: none was
ADDED_TRACE_SUMMARY_COLUMNS = {"native_threads": "0", "native_running_share": ""}


def _encode(rows) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(v) for v in astuple(row)])
    return buf.getvalue().encode()


def _cell(value):
    if isinstance(value, float):
        if value != value:
            return ""  # NaN: a failed repetition has no timing
        return repr(round(float(value), 9))  # float(): a numpy float's repr is 'np.float64(...)' under numpy 2
    return value


def append_rows(path: Path, rows: list, row_type) -> None:
    """Append rows with one write() (creating the file with its header first), then fsync."""
    path = Path(path)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(",".join(header(row_type)) + "\n")
        try:  # unlike atomic_write, create-if-absent: a link never replaces a file another run made
            os.link(tmp, path)  # no reader ever sees a file without its header
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if not rows:
        return
    data = _encode(rows)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve_run(target: str | os.PathLike) -> Path:
    """A run folder or a results.csv -> the results.csv path, or a one-line error."""
    path = Path(target)
    if path.is_dir():
        path = path / RESULTS
    if not path.exists():
        raise UsageError(f"{str(target)!r} is neither a run folder nor a results CSV (no such file)")
    return path


def load_results(target, row_type=ResultRow):
    """Load and validate a results (or tasks) CSV into a pandas DataFrame."""
    import pandas as pd

    path = resolve_run(target) if row_type is ResultRow else Path(target)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    if b"\0" in raw[:4096]:
        raise UsageError(f"{str(path)!r} is not a CSV file (binary content)")
    text = raw.decode("utf-8", errors="replace")
    if text and not text.endswith("\n"):
        cut = text.rfind("\n") + 1
        warnings.warn(
            f"{path}: dropped a torn last line ({len(text) - cut} bytes) left by an interrupted write", stacklevel=2
        )
        text = text[:cut]
    first = text.split("\n", 1)[0]
    columns = next(csv.reader([first]), []) if first else []
    missing = [c for c in header(row_type) if c not in columns]
    fill = {
        ResultRow: ADDED_COLUMNS,
        TaskRow: ADDED_TASK_COLUMNS,
        TraceRow: ADDED_TRACE_COLUMNS,
        TraceSummaryRow: ADDED_TRACE_SUMMARY_COLUMNS,
    }.get(row_type, {})
    added = [c for c in missing if c in fill]
    missing = [c for c in missing if c not in added]
    if not columns or len(missing) == len(header(row_type)) - len(added):
        raise UsageError(f"{str(path)!r} is not a gilbench {row_type.__name__} CSV (no gilbench header)")
    if missing:
        raise UsageError(f"{str(path)!r} lacks the column(s) {', '.join(missing)}")
    try:
        text_columns = {f.name: str for f in fields(row_type) if f.type == "str" and f.name in columns}
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype=text_columns)
        for column in added:  # an older gilbench's CSV: filled in as it would have been then
            frame[column] = fill[column]
            frame[column] = frame[column].replace("", float("nan"))
    except Exception as exc:  # noqa: BLE001 - pandas' parser errors vary; one line is what the user needs
        raise UsageError(f"{str(path)!r} does not parse as CSV: {str(exc).splitlines()[0]}") from None
    for f in fields(row_type):
        if f.type in ("int", "float"):
            bad = pd.to_numeric(frame[f.name], errors="coerce").isna() & frame[f.name].notna()
            if bad.any():
                raise UsageError(f"{str(path)!r}: column {f.name} holds a non-number ({frame[f.name][bad].iloc[0]!r})")
            frame[f.name] = pd.to_numeric(frame[f.name])
        elif f.type == "bool":
            frame[f.name] = frame[f.name].map(_as_bool)
        elif f.type == "str":
            frame[f.name] = frame[f.name].fillna("")
    return frame


def _as_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def load_trace(run_dir):
    """(trace.csv, trace_summary.csv) of a run traced with --trace, or (None, None)."""
    run_dir = Path(run_dir)
    if not (run_dir / TRACE_SUMMARY).exists():
        return None, None
    trace = load_results(run_dir / TRACE, TraceRow) if (run_dir / TRACE).exists() else None
    return trace, load_results(run_dir / TRACE_SUMMARY, TraceSummaryRow)


def load_tasks(run_dir):
    path = Path(run_dir) / TASKS
    if not path.exists():
        return None
    return load_results(path, TaskRow)


def load_tutorial(run_dir):
    """tutorial.csv of a run made with --check-against-tutorial, or None."""
    path = Path(run_dir) / TUTORIAL
    return load_results(path, TutorialRow) if path.exists() else None
