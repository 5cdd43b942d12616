"""The lesson notebook (docs/lesson.ipynb): written from the cells below, and executed by a Jupyter kernel.

    python scripts/lesson.py write                 # docs/lesson.ipynb from this file, without outputs
    python scripts/lesson.py run [NOTEBOOK] [--out PATH] [--size quick]
                                                   # execute it top to bottom (nbclient), outputs kept

`make lesson` runs it into results/lesson/ (your machine's numbers); the committed notebook's outputs
come from `make lesson-refresh` on the project's 2-core VM. The cells read three environment
variables: GILBENCH_LESSON_SIZE (smoke, quick: the class), GILBENCH_PYTHON_FT (a free-threaded
python3.13t for part 5; skipped with a sentence without one), GILBENCH_LESSON_OUT (results folder).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "lesson.ipynb"

CELLS = [
    (
        "md",
        """# Teaching the GIL with gilbench: a lesson you can run

The 30-minute class of [`docs/teaching.md`](teaching.md), as a notebook: every table and chart
below is measured live, on the machine that runs it. The whole notebook takes about a minute of
compute at size `quick` on a 2-core laptop.

Run it with `make lesson` in a clone (it installs Jupyter and executes this notebook into
`results/lesson/`), or `pip install 'gilbench[lesson]'` and open it in Jupyter. The outputs you
see committed come from a run on the project's 2-vCPU Debian VM (CPython 3.11.7, and a
free-threaded 3.13.15t for part 5): your numbers will differ, the shapes are the lesson.""",
    ),
    (
        "code",
        """import os
import sys

import gilbench

SIZE = os.environ.get("GILBENCH_LESSON_SIZE", "quick")  # smoke: seconds; quick: the class
FT_PYTHON = os.environ.get("GILBENCH_PYTHON_FT", "")  # a free-threaded python3.13t, for part 5
GIL_TWIN = os.environ.get("GILBENCH_PYTHON_GIL", "")  # its GIL twin (the same Python built with the GIL), if any
OUT = os.environ.get("GILBENCH_LESSON_OUT", "lesson-results")  # where the runs are kept
print(f"gilbench {gilbench.__version__}, Python {sys.version.split()[0]}, "
      f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} usable CPUs, "
      f"size {SIZE}")""",
    ),
    (
        "md",
        """## 1. The puzzle (5 minutes)

The tutorial's code counts to N in a pure-Python loop: once in one thread; then split between
two threads; then between two processes.

```python
def count(n):
    result = 0
    for _ in range(n):
        result += 1
    return result
```

**Ask:** *two threads on two cores - how much faster than one?* Write a guess down before you
run the next cell. (It runs the loop as `serial`, `threading` and `multiprocessing` at 1, 2 and
4 workers, three times each, and once more with a sampler watching every thread.)""",
    ),
    (
        "code",
        """count_run = gilbench.run(workloads="count", variants=["serial", "threading", "multiprocessing"],
                         workers=[1, 2, 4], size=SIZE, repeat=3, trace=True, out=OUT)
count_run.summary[["variant", "workers", "median_s", "speedup", "busy_cores"]].sort_values(["variant", "workers"])""",
    ),
    (
        "md",
        """## 2. The answer: speedup and busy cores (8 minutes)

*Speedup* is the serial time over the time with N workers. *Busy cores* is the CPU time all
tasks used over the wall time: how many cores were really working.

**Ask:** *the operating system gave the program two threads and two cores. Why is only one
core busy?* The **Global Interpreter Lock**: only the thread that holds it runs Python code.

Where the workers are spawned (macOS and Windows by default), `multiprocessing` at this size can
be slower than `serial` although its processes keep both cores busy: each takes tens of
milliseconds to start, a large part of a loop this short (part 4 shows it).""",
    ),
    ("code", """count_run.figure("scaling-count")"""),
    (
        "md",
        """The task timeline: each bar is one task, in the row of the thread or process that ran it,
coloured by the share of its wall time it spent on a CPU. Threads: both rows span the whole
run at about half colour - they took turns. Processes: shorter, brighter bars side by side.""",
    ),
    ("code", """count_run.figure("timeline-count")"""),
    (
        "md",
        """Now watch the turn-taking itself. A separate process read every thread's state from the
kernel (`/proc`) every millisecond while the work ran: **green** running on a CPU, **grey**
blocked (here: waiting for the GIL), **orange** runnable but waiting for a core. Linux only:
macOS and Windows keep no such record, and there part 1's run said so and this chart is missing.

- `threading`: the rows alternate, in blocks of about 5 ms: CPython's switch interval
  (`sys.getswitchinterval()`), after which a waiting thread asks for the GIL.
- `multiprocessing`: every row green at once.
- 4 processes on 2 cores: no grey, but orange: nothing blocks them, there are just not enough cores.""",
    ),
    ("code", """count_run.figures().get("states-count", "no state timeline here (part 1's run said why)")"""),
    (
        "code",
        """count_run.trace_summary[["variant", "workers", "running_share", "waiting_share", "blocked_share",
                         "handoffs_per_s"]].sort_values(["variant", "workers"]).round(2)""",
    ),
    (
        "md",
        """## 3. Not all work holds the GIL (7 minutes)

Pillow's thumbnailing (open, blur, shrink, save) and `hashlib` do their heavy work in C and
release the GIL while they do. **Ask:** *will threads help here?*""",
    ),
    (
        "code",
        """c_run = gilbench.run(workloads=["thumbnail", "hashing"], variants=["serial", "threading", "multiprocessing"],
                     workers=[1, 2], size=SIZE, repeat=3, out=OUT)
c_run.figure("overview")""",
    ),
    (
        "md",
        """## 4. Processes are not free either (4 minutes)

A process has to be started, and its tasks and results pickled across. `startup_s` is the time
spent creating and stopping the workers; on short work it eats the whole speedup.""",
    ),
    (
        "code",
        """c_run.summary[["workload", "variant", "workers", "median_s", "startup_s", "startup_share", "speedup"]] \\
    .sort_values(["workload", "variant", "workers"]).round(3)""",
    ),
    (
        "md",
        """**Fork against spawn.** How a worker process starts is part of that cost. `fork` copies the
running program: quick, and the worker has everything the parent had. `spawn` starts a fresh
interpreter that imports the workload's module again: slower to start, and the work must live
in a module it can import (a function defined in this notebook cannot be sent). macOS and Windows
use `spawn` by default, Linux `fork` (before Python 3.14); `start_method=` (`--start-method`)
chooses. The same loop, started both ways where this machine has both:""",
    ),
    (
        "code",
        """import multiprocessing

import pandas as pd
from IPython.display import Image

methods = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]  # Windows: spawn only
starts = [gilbench.run(workloads="count", variants=["serial", "process-pool"], workers=[1, 2], size=SIZE,
                       repeat=3, start_method=m, out=OUT) for m in methods]
if len(starts) == 2:
    gilbench.compare(*starts, out=f"{OUT}/fork-spawn")  # one chart: the speedup curves of both runs
    display(Image(f"{OUT}/fork-spawn/compare.png"))
pd.concat([r.summary for r in starts])[["start_method", "variant", "workers", "median_s", "startup_s",
                                        "speedup"]].sort_values(["variant", "workers", "start_method"]).round(3)""",
    ),
    (
        "md",
        """## 5. The new answer: free-threaded Python (6 minutes)

CPython 3.13 can be built without the GIL (`python3.13t`). The same threads, the same loop:""",
    ),
    (
        "code",
        """if FT_PYTHON:
    ft_run = gilbench.run(workloads="count", variants=["serial", "threading"], workers=[1, 2], size=SIZE,
                          repeat=3, trace=True, python=[GIL_TWIN or sys.executable, FT_PYTHON], out=OUT)
    for name in sorted(ft_run.figures()):
        if name.startswith("states-"):
            display(ft_run.figure(name))
    section = ft_run.report().split("## GIL vs free-threaded")[1].split("\\n## ")[0]
    print("\\n".join(line[2:] for line in section.splitlines() if line.startswith("- ")))
else:
    print("No free-threaded interpreter was given, so this part is skipped. To get one: `uv python install 3.14t` "
          "(uv's builds), a distribution's package (e.g. python3.13-nogil on Ubuntu, python3.13-freethreading on "
          "Fedora), or CPython built from source with `./configure --disable-gil`. Then run the lesson again with "
          "`make lesson PYTHON_FT=/path/to/python3.14t` (or set GILBENCH_PYTHON_FT before starting Jupyter). "
          "A run of this part on a 2-core VM is in this repository: results/reference/debian-2core-vm-trace/report.md.")""",  # noqa: E501
    ),
    (
        "md",
        """**Ask:** *should everyone switch today?* Where part 5 ran, its first line says what the two
interpreters compare: only twins (the same Python version built the same way, with and without the
GIL: `make lesson PYTHON_FT=... PYTHON_TWIN=...`) measure the single-thread cost of free threading;
against another version or build the serial times measure that difference too. The answer also
depends on every extension module supporting free threading.

## 6. Why the curve bends: contention and coherency (optional)

gilbench fits two laws to each curve. Amdahl's: a serial fraction `p` that never runs in
parallel. The Universal Scalability Law: `sigma` (contention: work that queues, one worker at a
time - the GIL) and `kappa` (coherency: a cost every pair of workers pays; with `kappa > 0` the
curve peaks and falls). `law` says which describes the curve, `none` where neither does.""",
    ),
    (
        "code",
        """count_run.summary[count_run.summary["variant"] != "serial"].drop_duplicates("variant")[
    ["variant", "law", "amdahl_p", "usl_sigma", "usl_kappa", "usl_peak_workers"]].round(3)""",
    ),
    (
        "md",
        """## 7. What the GIL does not decide: native threads (5 minutes)

NumPy's matrix product runs in BLAS (OpenBLAS here), which releases the GIL and starts its own
pool of *native threads*, one per core. `busy_cores` counts the Python threads' CPU;
`process_busy_cores` counts the whole process, native threads included. `--native-threads`
(`native_threads=` here) limits the pools in every worker; `"leave,1"` measures the matrix as
the libraries set it and with one native thread, side by side, each with its own serial loop.

**Ask:** *the serial loop, one Python thread: how many cores does it keep busy?*""",
    ),
    (
        "code",
        """np_run = gilbench.run(workloads="matmul", variants=["serial", "thread-pool", "process-pool"], workers=[2],
                      size=SIZE, repeat=3, native_threads="leave,1", out=OUT)
np_run.summary[["native_setting", "variant", "workers", "median_s", "speedup", "busy_cores",
                "process_busy_cores", "native_threads"]].sort_values(["native_setting", "variant"]).round(3)""",
    ),
    (
        "md",
        """With the pools left as they are, the serial loop already keeps about as many cores busy as the
machine has: two processes of two BLAS threads each crowd two cores, and threads have no cores to
gain - the GIL is not what stops them, and the report says so. With one native thread each, the
threads and processes get the cores instead (spawned processes still pay their start-up: part 4).
The answer lines name the setting that won, and how it compares with the serial loop as you had it:""",
    ),
    (
        "code",
        """for line in np_run.answers:
    print(line)""",
    ),
    (
        "md",
        """## Questions to leave with

1. A web scraper spends 95 % of its time waiting for responses. Threads or processes?
   (Try `gilbench.run(workloads="sleep", ...)`.)
2. Threads under the GIL were blocked about half of the time at 2 workers. What share would you
   expect at 4 workers? Check `count_run.trace_summary`.
3. Which line on which chart would change first on a machine with 8 cores? Run this notebook
   there and compare with `gilbench.compare(run_here, run_there)`.""",
    ),
]


def write(path: Path = NOTEBOOK) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text) for kind, text in CELLS
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, str(path))
    return path


def run(path: Path, out: Path, size: str, cwd: Path, timeout: int = 600) -> Path:
    """Execute the notebook top to bottom with a real kernel; every cell must succeed (nbclient raises otherwise)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    cwd.mkdir(parents=True, exist_ok=True)  # the kernel starts there: in a fresh clone it does not exist yet
    os.environ["GILBENCH_LESSON_SIZE"] = size
    os.environ.setdefault("GILBENCH_LESSON_OUT", "lesson-results")
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("write")
    r = sub.add_parser("run")
    r.add_argument("notebook", nargs="?", default=str(NOTEBOOK))
    r.add_argument("--out", help="executed notebook (default: in place)")
    r.add_argument("--size", default=os.environ.get("GILBENCH_LESSON_SIZE", "quick"))
    args = ap.parse_args(argv)
    if args.command == "write":
        print(write())
        return 0
    out = Path(args.out) if args.out else Path(args.notebook)
    print(run(Path(args.notebook), out, args.size, cwd=out.resolve().parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
