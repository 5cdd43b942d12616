"""The one message format between the orchestrator and a cell process, typed and versioned.

The parent writes a `CellSpec` as JSON; the cell writes back a `CellResult` (also for a
failure: `ok` false and `error` set). pyperf's `Run` is the model: a field that is missing,
unknown, or of a version this code does not read is an error here, never a silent NaN later.
A task's `TaskRecord` is made inside the worker and travels unchanged to its tasks.csv row.
Standard library only: other interpreters given with --python import this module.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

VERSION = 1


class ProtocolError(ValueError):
    """A message between parent and cell does not have the agreed shape."""


def _strict(cls, data: dict, what: str) -> dict:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    missing = sorted(f.name for f in fields(cls) if f.name not in data and _required(f))
    if unknown or missing:
        raise ProtocolError(f"{what}: unknown field(s) {unknown}, missing field(s) {missing}")
    return data


def _required(f) -> bool:
    from dataclasses import MISSING

    return f.default is MISSING and f.default_factory is MISSING


def _check_version(data: dict, what: str) -> None:
    if data.get("version") != VERSION:
        raise ProtocolError(f"{what} has version {data.get('version')!r}; this gilbench reads version {VERSION}")


class _Message:
    """JSON in and out, versioned and strict, for the two messages below (pyperf's _as_json / _json_load)."""

    KIND = "message"

    def to_json(self) -> str:
        return json.dumps(asdict(self))  # type: ignore[call-overload]  # a mixin: every subclass is a dataclass

    @classmethod
    def _load(cls, text: str) -> dict:
        data = json.loads(text)
        _check_version(data, cls.KIND)
        return _strict(cls, data, cls.KIND)


@dataclass(frozen=True)
class CellSpec(_Message):
    """What one repetition of one cell must do."""

    workload_ref: str  # a dotted module name or a .py path
    params: dict  # the workload's effective parameters, with what prepare() added
    variant: str
    workers: int
    start_method: str
    scratch_dir: str
    search_path: list = field(default_factory=list)  # appended to sys.path for users' dotted workload modules
    options: dict = field(default_factory=dict)  # variant options (e.g. the dask scheduler address)
    native_threads: int | None = None  # limit the native pools (BLAS, OpenMP) to this many threads; None: leave them
    dry: bool = False  # a dry warm-up: start, import, make the tasks, and stop before the timed region
    version: int = VERSION
    KIND = "cell spec"

    @classmethod
    def from_json(cls, text: str) -> CellSpec:
        return cls(**cls._load(text))


@dataclass
class TaskRecord:
    """One task, timed inside its worker. Its fields are the per-task columns of tasks.csv."""

    task: int  # the task's index in the workload's task list
    pid: int
    thread_id: int  # threading.get_native_id(): the kernel's thread id
    host: str
    start_s: float  # time.perf_counter() (CLOCK_MONOTONIC); made relative to the repetition's start by the cell
    end_s: float
    cpu_s: float  # time.thread_time() delta: the task's own CPU time, not its wait for the GIL or a core
    peak_rss_kb: int  # the worker's peak resident set so far (VmHWM on Linux, else ru_maxrss)
    gil_enabled: bool | None
    wall_start: float  # time.time() at the start: comparable across machines (to NTP's accuracy)
    native_threads: str = ""  # the worker's native pools after the workload's imports: `openblas=2;openmp=2`, `none`
    native_tids: tuple = ()  # the kernel ids of the worker process's native threads (--trace names them as such)


NAN = math.nan


@dataclass
class CellResult(_Message):
    """What a cell sends back: its timings and task records, or why it failed."""

    ok: bool
    error: str = ""
    tasks: int = 0
    chunksize: int = 0
    startup_s: float = NAN
    compute_s: float = NAN
    total_s: float = NAN
    cpu_s: float = NAN
    process_cpu_s: float = NAN  # the cell process's CPU and its joined children's, every thread: native ones too
    process_wall_s: float = NAN  # the wall time over which process_cpu_s was measured
    peak_rss_mb: float = NAN
    worker_processes: int = 0
    worker_gil_enabled: bool | None = None  # False if any worker ran with the GIL off
    task_records: list = field(default_factory=list)  # TaskRecord
    native_threads: str = ""  # the workers' native pools (bench/native.py's summary; `|` between differing workers)
    python_version: str = ""
    python_implementation: str = ""
    python_executable: str = ""
    free_threaded: bool = False
    gil_enabled: bool | None = None  # in the cell process itself
    wall_started: float = NAN
    origin_s: float = NAN  # time.perf_counter() when the repetition started: task times are relative to it
    traceback: str = ""  # a failure's full traceback (the orchestrator keeps it in the run folder)
    timed_out: bool = False  # set by the parent, which killed the cell for running past --timeout
    version: int = VERSION

    KIND = "cell result"

    def gil_seen(self) -> bool:
        """Was the GIL on where the work ran: in the workers, as they reported it, else in the cell process."""
        return bool(self.worker_gil_enabled if self.worker_gil_enabled is not None else self.gil_enabled is not False)

    @classmethod
    def failed(cls, error: str, traceback: str = "", timed_out: bool = False) -> CellResult:
        return cls(ok=False, error=error[:500], traceback=traceback, timed_out=timed_out)

    @classmethod
    def from_json(cls, text: str) -> CellResult:
        data = cls._load(text)
        records = [_task_record(r) for r in data.pop("task_records", [])]
        return cls(**data, task_records=records)


def _task_record(data: dict) -> TaskRecord:
    """A task record from JSON, its native thread ids a tuple again (JSON has lists only)."""
    fields = _strict(TaskRecord, data, "task record")
    return TaskRecord(**{**fields, "native_tids": tuple(fields.get("native_tids", ()))})
