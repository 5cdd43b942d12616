"""The pyperformance suite as gilbench workloads, on the orchestrator's side (the registry's SUITES names it).

`--workloads pyperformance:nbody,richards` (a name after `pyperformance:` in the list is a pyperformance
benchmark too, until a built-in workload, a path or a module name) or a group, `pyperformance:cpu`.
`pyperformance:richards@isolated` runs it with a private copy of its module per thread.

Here: finding each benchmark's script in the installed pyperformance package (its MANIFEST and metadata
files), probing every benchmark under every interpreter of the run (available or not and why, one call's
time, what a single thread returns, whether two threads sharing its module as written go wrong), and
choosing the calls from the probe. The cells run the script by path with gilbench's own stand-in for pyperf
(workloads/pyperformance.py): an interpreter given with --python needs neither pyperformance nor pyperf.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import interpreters
from ..errors import UsageError
from ..registry import Workload

# gilbench.workloads is this repository's workloads/ folder (pyproject.toml's package-dir), which mypy, reading
# bench/ as a package, cannot follow
from ..workloads import pyperformance as adapter  # type: ignore[import-not-found,unused-ignore]

PREFIX = adapter.PREFIX
ISOLATED = "@isolated"
EXTRA = "pip install 'gilbench[pyperformance]'"

# pyperformance:cpu: CPU-bound benchmarks of pure Python and the standard library, each a function gilbench can
# call, needing no package beyond pyperf, no network, server, subprocess or file system work. Those missing from
# the installed pyperformance are left out. Not here: pprint (one call takes seconds), pickle_pure_python and
# unpickle_pure_python (they need a process that has not imported pickle yet, and every gilbench cell has).
CPU = (
    "chaos",
    "comprehensions",
    "coroutines",
    "deepcopy",
    "deltablue",
    "fannkuch",
    "float",
    "generators",
    "go",
    "hexiom",
    "json_dumps",
    "json_loads",
    "meteor_contest",
    "nbody",
    "nqueens",
    "pickle",
    "pidigits",
    "pyflate",
    "raytrace",
    "regex_compile",
    "regex_dna",
    "regex_effbot",
    "regex_v8",
    "richards",
    "richards_super",
    "scimark",
    "spectral_norm",
    "telco",
    "unpack_sequence",
    "unpickle",
    "xml_etree",
)
GROUPS = {"cpu": CPU}


@dataclass(frozen=True)
class Bench:
    name: str
    path: str  # its run_benchmark.py
    argv: tuple[str, ...]  # pyperformance's extra_opts for it
    dependencies: tuple[str, ...]  # besides pyperf


DIR_ENV = "GILBENCH_PYPERFORMANCE_DIR"  # a folder laid out as pyperformance's (MANIFEST, bm_NAME/), instead of it


def data_dir() -> Path:
    if os.environ.get(DIR_ENV):
        folder = Path(os.environ[DIR_ENV]).resolve()
        if not (folder / "MANIFEST").is_file():
            raise UsageError(f"{DIR_ENV}={str(folder)!r} holds no MANIFEST (a folder laid out as pyperformance's)")
        return folder
    try:
        import pyperformance  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise UsageError(f"pyperformance workloads need the pyperformance package: {EXTRA}") from None
    return Path(pyperformance.__file__).resolve().parent / "data-files" / "benchmarks"


_catalogue: dict[str, Bench] | None = None


def catalogue() -> dict[str, Bench]:
    """Every benchmark of the installed pyperformance, by name, from its MANIFEST and metadata files."""
    global _catalogue
    if _catalogue is None:
        import tomllib

        root = data_dir()
        found = {}
        section = None
        for line in (root / "MANIFEST").read_text().splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("["):
                section = line
                continue
            parts = line.split()
            if section != "[benchmarks]" or not parts or parts == ["name", "metafile"]:
                continue
            name, metafile = parts[0], (parts[1:] or ["<local>"])[0]
            base = metafile.removeprefix("<local").removesuffix(">").lstrip(":") or name
            meta = root / f"bm_{base}" / ("pyproject.toml" if base == name else f"bm_{name}.toml")
            script = root / f"bm_{base}" / "run_benchmark.py"
            try:
                data = tomllib.loads(meta.read_text())
            except (OSError, ValueError):
                data = {}
            base_meta = {}
            if base != name:
                try:
                    base_meta = tomllib.loads((root / f"bm_{base}" / "pyproject.toml").read_text())
                except (OSError, ValueError):
                    pass
            tool = data.get("tool", {}).get("pyperformance", {})
            deps = data.get("project", {}).get("dependencies") or base_meta.get("project", {}).get("dependencies", [])
            found[name] = Bench(
                name,
                str(script),
                tuple(tool.get("extra_opts", [])),
                tuple(d for d in deps if d != "pyperf"),
            )
        _catalogue = found
    return _catalogue


def is_suite_name(name: str) -> bool:
    return name.startswith(PREFIX)


def plain_name(name: str) -> str:
    """A workload as people name it: a pyperformance benchmark without the suite's prefix (json_loads, go@isolated);
    any other workload as it is."""
    return name[len(PREFIX) :] if is_suite_name(name) else name


def expand(names: list[str], builtin: tuple[str, ...]) -> list[str]:
    """`pyperformance:a,b,c` -> `pyperformance:a`, `pyperformance:b`, ...: a bare name after a pyperformance one
    belongs to the suite, until a built-in workload, a path or a dotted module name. Groups become their members."""
    out, in_suite = [], False
    for name in names:
        if is_suite_name(name):
            in_suite, bare = True, name[len(PREFIX) :]
        elif in_suite and name not in builtin and not any(c in name for c in "./\\:"):
            bare = name
        else:
            in_suite = False
            out.append(name)
            continue
        base, _, mode = bare.partition("@")
        if base in GROUPS:
            known = catalogue()
            out += [PREFIX + member + (f"@{mode}" if mode else "") for member in GROUPS[base] if member in known]
        else:
            out.append(PREFIX + bare)
    return list(dict.fromkeys(out))  # once each, in order


def resolve(name: str) -> Workload:
    """A Workload for `pyperformance:NAME[@isolated]`; nothing of the benchmark is executed here."""
    bare = name[len(PREFIX) :]
    base, at, mode = bare.partition("@")
    if at and mode != "isolated":
        raise UsageError(f"workload {name!r}: unknown mode {mode!r} (accepted: {PREFIX}{base}@isolated)")
    known = catalogue()
    if base not in known:
        close = difflib.get_close_matches(base, list(known) + list(GROUPS), n=3)
        hint = f" (did you mean {' or '.join(repr(PREFIX + c) for c in close)}?)" if close else ""
        raise UsageError(
            f"unknown pyperformance benchmark {base!r}{hint}; accepted: a name from `gilbench list --pyperformance` "
            f"or the group {', '.join(PREFIX + g for g in GROUPS)}"
        )
    bench = known[base]
    ref = adapter.make_ref(bench.path, list(bench.argv), "isolated" if mode else "as-written")
    return Workload(name=PREFIX + bare, ref=ref, module=adapter.load(ref, eager=False))


def base_name(workload: str) -> str:
    """pyperformance:richards@isolated -> pyperformance:richards."""
    return workload.split("@")[0]


def isolated_name(workload: str) -> str:
    return base_name(workload) + ISOLATED


def is_isolated(workload: str) -> bool:
    return workload.endswith(ISOLATED)


# ---------------------------------------------------------------- probing under each interpreter


@dataclass
class Probed:
    """What the probes found, per workload name: under which interpreters it cannot run and why, its calls."""

    unavailable: dict  # (workload, python) -> reason
    answers: dict  # (workload, python) -> the probe's answer
    not_thread_safe: dict  # workload -> (python, what went wrong) from the quick two-thread check


def probe(python: str, ref: str, timeout: float = 300) -> dict:
    """The probe's answer for one benchmark under one interpreter, in a process of its own (a benchmark's imports
    and module state cannot touch the next one's, and a broken one cannot hold the others up)."""
    try:
        out = interpreters.probe(
            python,
            "import sys; from gilbench.workloads.pyperformance import main; sys.exit(main(sys.argv[1:]))",
            ref,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "reason": f"probing it took more than {timeout:g} s"}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("GILBENCH-PROBE "):
            return json.loads(line[len("GILBENCH-PROBE ") :])
    last = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
    return {"ok": False, "reason": f"the probe failed: {last}"}


def probe_all(workloads, pythons: list[str], log=None) -> Probed:
    suite = [wl for wl in workloads if is_suite_name(wl.name)]
    found = Probed({}, {}, {})
    if not suite:
        return found
    if log:
        log(f"probing {len(suite)} pyperformance benchmark(s) under {len(pythons)} interpreter(s)")
    for python in pythons:
        answers = {ref: probe(python, ref) for ref in dict.fromkeys(wl.ref for wl in suite)}
        for wl in suite:
            answer = answers[wl.ref]
            found.answers[(wl.name, python)] = answer
            if not answer["ok"]:
                found.unavailable[(wl.name, python)] = answer["reason"]
            elif answer.get("threads") and not is_isolated(wl.name):
                found.not_thread_safe.setdefault(wl.name, (python, answer["threads"]))
    return found


def round_calls(x: float) -> int:
    """To the nearest (on a log scale) of 1, 2, 5, 10, 20, 50, ...: the same count from run to run on one machine,
    so runs compare (`gilbench compare` pairs cells of equal parameters)."""
    if x <= 1:
        return 1
    exponent = math.floor(math.log10(x))
    steps = [s * 10**exponent for s in (1, 2, 5, 10)]
    return int(min(steps, key=lambda s: abs(math.log(s / x))))


def cell_timeout(wl, found: Probed, pythons: list[str], calls: int) -> float:
    """A repetition of this benchmark that takes 20 times its expected time under the slowest interpreter, plus 30 s
    for start-up, has hung (a benchmark as written whose shared state two threads corrupted can loop forever)."""
    per_call = [a["per_call_s"] for p in pythons if (a := found.answers.get((wl.name, p), {})).get("ok")]
    return float(math.ceil(30.0 + 20 * calls * max(per_call, default=1.0)))


def choose_calls(wl, found: Probed, pythons: list[str], seconds: float, least: int) -> tuple[int, str | None]:
    """Calls in all for `seconds` of one thread's work under the first interpreter that can run it (so every
    interpreter does the same work), at least one per task; and the interpreter measured."""
    for python in pythons:
        answer = found.answers.get((wl.name, python), {})
        if answer.get("ok"):
            return max(least, round_calls(seconds / max(answer["per_call_s"], 1e-9))), python
    return least, None


def expected(wl, found: Probed, pythons: list[str]) -> dict:
    """What a single thread's calls return, per interpreter flavour: each cell checks its results against it."""
    out = {}
    for python in pythons:
        answer = found.answers.get((wl.name, python), {})
        if answer.get("ok") and answer.get("expected"):
            out[answer["flavour"]] = answer["expected"]
    return out


def describe(name: str, calls: int, answer: dict, python: str | None, seconds: float) -> str:
    if python is None:
        return f"{name}: unavailable under every interpreter given"
    per = answer["per_call_s"]
    kind = "loops of its time function" if answer["kinds"] == ["time"] else "calls"
    return (
        f"{name}: {calls} {kind} in all (one took {per * 1e3:.3g} ms under {python}; "
        f"chosen for about {seconds:g} s in one thread)"
    )


def installed_version() -> str:
    if os.environ.get(DIR_ENV):
        return f"benchmarks from {os.environ[DIR_ENV]}"
    try:
        from importlib import metadata

        return metadata.version("pyperformance")
    except Exception:  # noqa: BLE001
        return ""


def listing() -> list[str]:
    """`gilbench list`'s lines for the suite (empty when pyperformance is not installed)."""
    try:
        known = catalogue()
    except UsageError:
        return [f"pyperformance benchmarks: not installed ({EXTRA})"]
    import textwrap

    lines = [f"pyperformance {installed_version()} benchmarks ({PREFIX}NAME, {PREFIX}NAME@isolated):"]
    wrap = lambda text: textwrap.wrap(text, 110, initial_indent="  ", subsequent_indent="      ")  # noqa: E731
    for group, members in GROUPS.items():
        lines += wrap(f"{PREFIX}{group}: " + ", ".join(m for m in members if m in known))
    lines += wrap("all: " + ", ".join(sorted(known)))
    return lines


def env_note() -> dict:
    return {"pyperformance": installed_version(), "python": sys.executable, "data_files": str(data_dir())}


def unavailable_reason_short(reason: str) -> str:
    return reason if len(reason) < 160 else reason[:157] + "..."


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def say(line: str) -> None:
    print(f"gilbench: {line}", file=sys.stderr)


def prepare_run(workloads, pythons: list[str], size: str, overrides: dict, most_workers: int):
    """Before a run: probe every pyperformance workload under every interpreter; add the isolated mode of each one
    that two threads sharing its module broke (so the run shows both answers); choose each one's calls (unless
    --param calls=N says); hand each cell what a single thread returns. Returns the workloads and, per (workload,
    interpreter) that cannot run, why: those cells are not run, and the run says so; per workload, the time
    after which one of its repetitions has hung; and per workload two threads sharing its module broke, (interpreter,
    what went wrong): its thread cells' failures are then expected, and the run says so once."""
    found = probe_all(workloads, pythons, say)
    names = [wl.name for wl in workloads]
    added = []
    for name, (python, what) in found.not_thread_safe.items():
        twin = isolated_name(name)
        say(
            f"{name} is not thread-safe as written: two threads sharing its module went wrong under {python} "
            f"({what}); it shares module state. Adding {twin}: a private copy of its module per thread"
            if twin not in names
            else f"{name} is not thread-safe as written (two threads under {python}: {what}); {twin} is in the run"
        )
        if twin not in names:
            added.append(resolve(twin))
    for wl in added:  # the same script: the probe's answers hold for it
        for python in pythons:
            found.answers[(wl.name, python)] = found.answers[(base_name(wl.name), python)]
            if (base_name(wl.name), python) in found.unavailable:
                found.unavailable[(wl.name, python)] = found.unavailable[(base_name(wl.name), python)]
    out, timeouts = [], {}
    for wl in workloads:
        out.append(wl)
        out += [a for a in added if base_name(a.name) == wl.name]
    for wl in out:
        if not is_suite_name(wl.name):
            continue
        params = wl.params(size, overrides.get(wl.name))
        calls, python = choose_calls(wl, found, pythons, params["seconds"], most_workers)
        if params["calls"]:  # --param calls=N
            calls = params["calls"]
        else:
            overrides.setdefault(wl.name, {})["calls"] = str(calls)
        timeouts[wl.name] = cell_timeout(wl, found, pythons, calls)
        if not is_isolated(wl.name) and python is not None:
            say(describe(wl.name, calls, found.answers[(wl.name, python)], python, params["seconds"]))
        wanted = expected(wl, found, pythons)
        wl.module.prepare = lambda params, cache_dir, wanted=wanted: {"expected": wanted}
    for (name, python), reason in found.unavailable.items():
        say(f"{name} is unavailable under {python}: {reason}; its cells there are not run")
    if all((wl.name, p) in found.unavailable for wl in out for p in pythons):
        raise UsageError("no workload can run under the interpreters given (each reason is above)")
    return out, found.unavailable, timeouts, found.not_thread_safe


def skipped_variant(workload: str, family: str) -> bool:
    """The isolated mode differs from the benchmark as written only where threads share a process: in a process
    of its own the module is already private, so its process cells would repeat the as-written ones."""
    return is_isolated(workload) and family in ("processes", "interpreters")
