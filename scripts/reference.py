#!/usr/bin/env python3
"""`make reference`: every 2-core reference, measured in sequence on the machine this runs on.

    python scripts/reference.py --label NAME [--root results/reference] [--parts all|matrix,weak,...]
        [--ft PATH/python3.13t] [--twin PATH/python3.13|none] [--precision 0.10] [-- EXTRA gilbench run ARGS]

Each part is one `gilbench run` into a scratch folder (emptied before every part), copied to ROOT/NAME-SUFFIX
when it ends, replacing what was there, and made light as the committed references are (no report.html, no SVG
but the overview's: `gilbench report FOLDER` redraws them from the CSVs). A part that fails leaves its folder as
it was and the next part runs; a part whose prerequisite is missing (no free-threaded interpreter, no GIL twin,
no NumPy) is skipped with the reason. The closing table says, per part, what happened, its wall time and folder.

`--native-threads leave,1` measures the whole matrix at both settings, so the NumPy workload (the one whose
native thread pools the option limits) is a part of its own: the others would be measured twice for nothing.
Extra arguments go last on every part's command line, so they win (a rehearsal: `--size smoke --repeat 2`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "results" / ".reference-work"  # the scratch folder of every part (git ignores it)
FT_VENV = ROOT / ".venv-ft"  # the interpreters' environments, shared with `make bench-ft`
GIL_VENV = ROOT / ".venv-gil"
MADE_FROM = ".made-from"  # in an environment: the interpreter it was made from, so another one remakes it
TWIN_PACKAGES = ["Pillow"]  # what the twins' workloads import (thumbnail); pyperformance:cpu imports nothing

# every part, the twins' too
COMMON = ["--repeat", "auto", "--no-progress"]
WORKERS = ["--workers", "1,2,4"]  # 4: oversubscribed on 2 cores, as the references always were
GIL_WORKLOADS = "count,thumbnail,hashing,sleep,mandelbrot"  # every built-in workload but the NumPy one
NATIVE_WORKLOAD = "matmul"  # the built-in workload with native thread pools, at its default and limited to 1
TWIN_VARIANTS = "serial,threading,thread-pool,process-pool,ceiling"


@dataclass(frozen=True)
class Part:
    """One reference: what it runs, under which interpreters, and for how long it may measure."""

    name: str  # what --parts names
    suffix: str  # its folder: LABEL + suffix
    args: tuple[str, ...]
    budget_s: int  # --budget: seconds of measuring after the pilot's rounds (which always run)
    interpreters: str = "project"  # project: this one; twins: the free-threaded one and its GIL twin;
    # project+ft: this one, and the free-threaded one where it is given
    native: bool = False  # needs NumPy in this project's environment
    drop: tuple[str, ...] = ()  # chart prefixes left out of the folder and the report (drawn again by gilbench report)
    compare: bool = False  # also `gilbench compare` the run (the GIL against no GIL chart)

    def folder(self, root: Path, label: str) -> Path:
        return root / f"{label}{self.suffix}"


PARTS = (
    Part("matrix", "", ("--workloads", GIL_WORKLOADS, "--variants", "all", *WORKERS), budget_s=480),
    Part(
        "native",
        "-matmul",
        ("--workloads", NATIVE_WORKLOAD, "--variants", "all", *WORKERS, "--native-threads", "leave,1"),
        budget_s=180,
        native=True,
    ),
    Part(
        "ft",
        "-ft",
        ("--workloads", "count,thumbnail", "--variants", TWIN_VARIANTS, *WORKERS),
        budget_s=360,
        interpreters="twins",
        compare=True,
    ),
    Part("weak", "-weak", ("--workloads", "count,thumbnail", "--scaling", "weak", *WORKERS), budget_s=150),
    Part(
        "trace",
        "-trace",
        ("--workloads", "count", "--variants", "serial,threading,multiprocessing", *WORKERS, "--trace"),
        budget_s=90,
        interpreters="project+ft",
    ),
    Part(
        "pyperformance",
        "-pyperformance",
        (
            "--workloads",
            "pyperformance:cpu",
            "--variants",
            "serial,thread-pool,process-pool",
            "--workers",
            "2",  # the spectrum's speedups; the pilot alone is 35 benchmarks x 2 interpreters x 5 blocks
            "--size",
            "quick",
            "--param",
            "seconds=0.2",
        ),
        budget_s=300,
        interpreters="twins",
        drop=("timeline-", "scaling-", "speedup-"),  # a chart per benchmark: the spectrum says it on one
    ),
)


def select(names: str) -> list[Part]:
    """The parts --parts names, in the order they run (PARTS's), or a one-line error naming the bad one."""
    if names.strip() in ("", "all"):
        return list(PARTS)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {p.name for p in PARTS}
    for name in wanted:
        if name not in known:
            raise ValueError(f"unknown part {name!r}: choose from all, {', '.join(p.name for p in PARTS)}")
    return [p for p in PARTS if p.name in wanted]


@dataclass
class Outcome:
    part: Part
    status: str  # measured, failed (...), skipped: reason
    wall_s: float
    folder: Path | None  # where it was written; None when nothing was

    @property
    def measured(self) -> bool:
        return self.status.startswith("measured")


def summary(outcomes: Sequence[Outcome]) -> str:
    """The closing table: part, status, wall time, folder."""
    rows = [("part", "status", "wall", "folder")]
    for o in outcomes:
        wall = f"{o.wall_s // 60:.0f} min {o.wall_s % 60:02.0f} s" if o.wall_s >= 60 else f"{o.wall_s:.0f} s"
        rows.append((o.part.name, o.status, wall, str(o.folder) if o.folder else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3] for r in rows]
    done = sum(o.measured for o in outcomes)
    lines.append(f"{done} of {len(outcomes)} parts measured")
    return "\n".join(lines)


def status_of(returncode: int) -> str:
    """gilbench run's exit status, as the table says it (bench/cli.py: 1 is failed cells, the run's rows kept)."""
    if returncode == 0:
        return "measured"
    if returncode == 1:
        return "measured, some cells failed (exit 1: the report lists them)"
    return f"failed (exit {returncode})"


def slim(folder: Path, drop: Sequence[str]) -> None:
    """Keep the repository light: report.html embeds the PNGs again, and gilbench report redraws every chart."""
    for path in folder.rglob("*"):
        heavy = path.name == "report.html" or (path.suffix == ".svg" and path.name != "overview.svg")
        if path.is_file() and (heavy or path.name.startswith(tuple(drop))):
            path.unlink()
    report = folder / "report.md"
    if drop and report.exists():
        kept = [
            ln
            for ln in report.read_text().splitlines(keepends=True)
            if not ln.startswith(tuple(f"![{d}" for d in drop))
        ]
        report.write_text("".join(kept))


def run(cmd: Sequence[str]) -> int:
    print("$ " + shlex.join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def free_threaded(python: str) -> str | None:
    """Why `python` cannot be the free-threaded interpreter, or None when it can."""
    probe = "import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var('Py_GIL_DISABLED') else 3)"
    try:
        rc = subprocess.run([python, "-c", probe], capture_output=True).returncode
    except OSError as exc:
        return f"PYTHON_FT={python} cannot run ({exc.strerror})"
    return None if rc == 0 else f"PYTHON_FT={python} is not a free-threaded build"


def environment(python: str, folder: Path) -> Path:
    """An environment made from `python` with what the workloads import, remade when made from another."""
    made_from = folder / MADE_FROM
    if not (made_from.exists() and made_from.read_text().strip() == python):
        shutil.rmtree(folder, ignore_errors=True)
        for cmd in (
            [python, "-m", "venv", str(folder)],
            [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", *TWIN_PACKAGES],
        ):
            if run(cmd) != 0:
                raise RuntimeError(f"could not make {folder.name} from {python}")
        made_from.write_text(python + "\n")
    return folder / "bin" / "python"


@dataclass
class Interpreters:
    """What the parts run under, or why the free-threaded ones are missing."""

    ft: Path | None = None
    twin: Path | None = None
    ft_missing: str = ""  # why ft is None
    twin_missing: str = ""  # why twin is None

    @classmethod
    def find(cls, ft: str, twin: str, gilbench: Path) -> Interpreters:
        if not ft:
            return cls(ft_missing="no free-threaded interpreter (PYTHON_FT=)", twin_missing="no PYTHON_FT to pair with")
        why = free_threaded(ft)
        if why:
            return cls(ft_missing=why, twin_missing=why)
        found = cls()
        try:
            found.ft = environment(ft, FT_VENV)
        except RuntimeError as exc:
            return cls(ft_missing=str(exc), twin_missing=str(exc))
        if twin == "none":
            found.twin_missing = "no GIL twin (PYTHON_TWIN=none)"
            return found
        if not twin:
            twin = subprocess.run(
                [str(gilbench), "env", "--twin-of", ft], capture_output=True, text=True
            ).stdout.strip()
            if not twin:
                found.twin_missing = (
                    f"no GIL twin of PYTHON_FT={ft} (gilbench env --twin-of found none; give PYTHON_TWIN=)"
                )
                return found
        try:
            found.twin = environment(twin, GIL_VENV)
        except RuntimeError as exc:
            found.twin_missing = str(exc)
        return found


def pythons(part: Part, found: Interpreters) -> list[str] | str:
    """The --python options of a part, or why it cannot run."""
    if part.interpreters == "twins":
        if found.ft is None:
            return found.ft_missing
        if found.twin is None:
            return found.twin_missing
        return ["--python", str(found.twin), "--python", str(found.ft)]
    if part.interpreters == "project+ft" and found.ft is not None:
        return ["--python", sys.executable, "--python", str(found.ft)]
    return []


def has_numpy() -> bool:
    return subprocess.run([sys.executable, "-c", "import numpy"], capture_output=True).returncode == 0


def measure(part: Part, command: list[str], folder: Path, runner: Callable[[Sequence[str]], int]) -> str:
    """Run one part into WORK, then replace its folder with it; the status for the table."""
    shutil.rmtree(WORK, ignore_errors=True)
    returncode = runner(command)
    status = status_of(returncode)
    latest = WORK / "latest"
    if not status.startswith("measured"):
        return status
    if not latest.exists():
        return f"failed (exit {returncode} but no run folder in {WORK.name})"
    if part.compare:
        gilbench = command[0]
        runner([gilbench, "compare", str(latest), "--out", str(latest / "compare")])
    try:
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(latest.resolve(), folder, symlinks=False)
        slim(folder, part.drop)
    except OSError as exc:  # the next part still runs
        return f"failed (writing {folder}: {exc.strerror or exc})"
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--label", required=True, help="folder name of the first part; the others add a suffix")
    parser.add_argument("--root", type=Path, default=ROOT / "results" / "reference")
    parser.add_argument("--parts", default="all", help=f"all, or a comma list of: {', '.join(p.name for p in PARTS)}")
    parser.add_argument("--ft", default="", help="the free-threaded interpreter (PYTHON_FT)")
    parser.add_argument("--twin", default="", help="its GIL twin (PYTHON_TWIN); empty: found beside it; none: none")
    parser.add_argument("--precision", default="0.10", help="gilbench run --precision for every part")
    parser.add_argument("extra", nargs="*", help="more gilbench run options, last on every part's command line")
    args = parser.parse_args(argv)
    try:
        parts = select(args.parts)
    except ValueError as exc:
        parser.exit(2, f"reference.py: error: {exc}\n")
    gil = os.environ.get("PYTHON_GIL", "")
    if gil not in ("", "0", "1"):  # make exports its command line's variables: every free-threaded cell would die
        parser.exit(
            2, f"reference.py: error: PYTHON_GIL={gil} is CPython's own (0 or 1): name the GIL twin PYTHON_TWIN\n"
        )

    gilbench = Path(sys.executable).parent / "gilbench"
    needs_ft = any(p.interpreters != "project" for p in parts)
    found = Interpreters.find(args.ft, args.twin, gilbench) if needs_ft else Interpreters()
    outcomes = []
    for part in parts:
        started = time.perf_counter()
        folder = part.folder(args.root, args.label)
        print(f"\n== reference part {part.name}: {folder}", flush=True)
        interpreters = pythons(part, found)
        if isinstance(interpreters, str):
            status, written = f"skipped: {interpreters}", None
        elif part.native and not has_numpy():
            status, written = f"skipped: NumPy is not installed under {sys.executable}", None
        else:
            command = [str(gilbench), "run", *part.args, *COMMON, "--budget", str(part.budget_s)]
            command += ["--precision", args.precision, *interpreters, "--out", str(WORK), *args.extra]
            status = measure(part, command, folder, run)
            written = folder if status.startswith("measured") else None
        print(f"== reference part {part.name}: {status}", flush=True)
        outcomes.append(Outcome(part, status, time.perf_counter() - started, written))
    shutil.rmtree(WORK, ignore_errors=True)
    print("\n" + summary(outcomes))
    return 1 if any(o.status.startswith("failed") for o in outcomes) else 0  # a skipped part is no failure


if __name__ == "__main__":
    sys.exit(main())
