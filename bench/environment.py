"""The environment a run ran in, collected by small functions that each fill one dict."""

from __future__ import annotations

import json
import os
import platform
import shlex
import socket
import stat
import subprocess
import sys
import sysconfig
import time
from importlib import metadata
from pathlib import Path

PACKAGES = ("Pillow", "numpy", "pandas", "matplotlib", "psutil", "dask", "distributed", "joblib", "pyperformance")
PACKAGE_DIR = Path(__file__).resolve().parent
# In the repository the package's folder is bench/ (mapped to `gilbench` by pyproject.toml);
# installed from a wheel it is site-packages/gilbench/, where git has nothing to say.
SOURCE_CHECKOUT = PACKAGE_DIR.parent if PACKAGE_DIR.name == "bench" else None


def collect_python(env: dict) -> None:
    env["python_version"] = platform.python_version()
    env["python_implementation"] = platform.python_implementation()
    env["python_executable"] = sys.executable
    env["free_threaded"] = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    check = getattr(sys, "_is_gil_enabled", None)
    env["gil_enabled"] = check() if check else True


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by a cgroup v2 (cpu.max) or v1 (cfs_quota_us) quota, None when unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, further limited by a cgroup quota."""
    if hasattr(os, "process_cpu_count"):  # Python >= 3.13
        count = os.process_cpu_count() or 1
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        count = max(1, min(count, int(quota + 0.5)))
    return count


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# How long the look at the machine before a run takes at the least: long enough for a few scheduler ticks on every
# CPU (100-1000 per second), short beside the run (a 3-second answer included). It overlaps the rest of the
# collection (BusyProbe), so a run waits only for what the collection does not already take.
BUSY_PROBE_S = 0.2


class BusyProbe:
    """What other programs (and the hypervisor) use while gilbench looks at the machine before a run, in percent
    of its CPUs. Started first and read last, so that the look overlaps the rest of the collection instead of
    adding to it: gilbench's own CPU meanwhile (this process, and its children: the native-pool probe, git) is
    left out, as the per-repetition accounting leaves it out (gilbench.accounting). Where that accounting is
    unavailable, psutil's reading of the whole machine over BUSY_PROBE_S, taken at the end."""

    def __init__(self) -> None:
        from . import accounting

        self.began = time.perf_counter()
        self.before = accounting.snapshot(tree=os.getpid()) if accounting.unavailable() is None else None

    def percent(self, cpus: int) -> float:
        from . import accounting

        usage = None
        if self.before is not None:
            time.sleep(max(0.0, BUSY_PROBE_S - (time.perf_counter() - self.began)))
            usage = accounting.between(self.before, accounting.snapshot(tree=os.getpid()))
        if usage is None or usage.other_cores != usage.other_cores:
            import psutil

            return round(psutil.cpu_percent(interval=BUSY_PROBE_S), 1)
        return round(100 * (usage.other_cores + usage.steal_cores) / max(1, cpus), 1)


def collect_cpu(env: dict) -> None:
    import psutil

    env["logical_cpus"] = os.cpu_count() or 1
    env["physical_cores"] = psutil.cpu_count(logical=False) or env["logical_cpus"]
    env["usable_cpus"] = usable_cpus()
    env["cpu_model"] = cpu_model()
    env["load_avg_1m"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0
    from . import accounting

    why = accounting.unavailable()
    env["machine_accounting"] = accounting.method() if why is None else UNAVAILABLE + why
    from .oslayer import thread_states_unavailable

    why = thread_states_unavailable()
    env["thread_states"] = "per thread from /proc (--trace)" if why is None else UNAVAILABLE + why


def collect_system(env: dict) -> None:
    env["host"] = socket.gethostname()
    env["os"] = f"{platform.system()} {platform.release()}"
    env["memory_gb"] = round(__import__("psutil").virtual_memory().total / 2**30, 1)


def package_versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ";".join(found)


def collect_packages(env: dict) -> None:
    env["packages"] = package_versions()


def harness_commit() -> str:
    """The git commit of a source checkout, else the installed distribution's version (`gilbench 0.2.0`)."""
    if SOURCE_CHECKOUT is not None and (SOURCE_CHECKOUT / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(SOURCE_CHECKOUT), "describe", "--always", "--dirty", "--abbrev=12"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.returncode == 0:
                return out.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    try:
        return f"gilbench {metadata.version('gilbench')}"
    except metadata.PackageNotFoundError:
        from . import __version__

        return f"gilbench {__version__} (not installed)"


# Run in a fresh interpreter, so that the orchestrator loads no native pool of its own: what a worker that imports
# NumPy finds. Prints JSON: the modules it imported and threadpoolctl's pools (null without threadpoolctl).
NATIVE_PROBE = """
import json
imported = []
try:
    import numpy
    imported.append("numpy")
except ImportError:
    pass
try:
    from threadpoolctl import threadpool_info
    pools = threadpool_info()
except ImportError:
    pools = None
print(json.dumps({"imported": imported, "pools": pools}))
"""
NATIVE_PROBE_TIMEOUT_S = 60  # importing NumPy from a cold disk can take seconds; a hung probe must not stop a run
POOL_FIELDS = ("internal_api", "user_api", "version", "num_threads", "threading_layer", "architecture", "prefix")


def start_native_probe() -> subprocess.Popen | None:
    """The native-pool probe's interpreter, started (collect_native_pools waits for it): it imports NumPy while
    the rest of the environment is collected."""
    try:
        return subprocess.Popen(
            [sys.executable, "-c", NATIVE_PROBE], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
    except OSError:
        return None


def collect_native_pools(env: dict, started: subprocess.Popen | None = None) -> None:
    """The native thread pools (OpenBLAS, MKL, BLIS, OpenMP) a worker gets by importing NumPy here, with the
    environment variables that set their sizes; `native_pools_note` says what was looked at, or why nothing.
    `started`: the probe's process from start_native_probe (else it is started here)."""
    from . import native

    env["native_thread_variables"] = native.variables()
    proc = started if started is not None else start_native_probe()
    probe = None
    if proc is not None:
        try:
            out, _ = proc.communicate(timeout=NATIVE_PROBE_TIMEOUT_S)
            probe = json.loads(out) if proc.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError):
            proc.kill()
            proc.communicate()
    if probe is None or probe["pools"] is None:
        env["native_pools"] = []
        env["native_pools_note"] = "unknown: threadpoolctl could not be run in this interpreter"
        return
    env["native_pools"] = [{k: pool.get(k) for k in POOL_FIELDS if k in pool} for pool in probe["pools"]]
    looked = "after importing " + ", ".join(probe["imported"]) if probe["imported"] else "NumPy is not installed"
    env["native_pools_note"] = f"{len(env['native_pools']) or 'none'} found ({looked})"


def pools_text(pools: list[dict]) -> str:
    """environment.json's native pools in one line: `openblas 0.3.27 (blas, pthreads): 2 threads; ...`."""
    return (
        "; ".join(
            f"{p.get('internal_api')} {p.get('version') or ''} ({p.get('user_api')}"
            + (f", {p['threading_layer']}" if p.get("threading_layer") else "")
            + f"): {p.get('num_threads')} threads"
            for p in pools
        )
        or "none"
    )


def collect_environment(meanwhile=None) -> dict:
    """The environment a run records. Its `interpreters` describes this interpreter alone (interpreter_build); a
    run with other interpreters (--python) lists them all, described under each (interpreters.describe_all).
    `meanwhile`: a function to call while the machine is looked at (BusyProbe leaves this process's CPU out)."""
    busy, pools = BusyProbe(), start_native_probe()  # both run while the rest is collected
    env: dict = {}
    for collector in (collect_python, collect_cpu, collect_system, collect_packages):
        collector(env)
    if meanwhile is not None:
        meanwhile()
    collect_native_pools(env, pools)
    env["harness_commit"] = harness_commit()
    env["interpreters"] = [{**interpreter_build(), "python": sys.executable}]
    env["cpu_busy_percent"] = busy.percent(env["logical_cpus"])
    return env


# How environment.json records a measure this machine cannot take (machine_accounting, thread_states): this, then why.
UNAVAILABLE = "unavailable: "


OTHERS, STATES = "other programs' CPU", "thread states"  # the measures a machine may lack (unmeasured's keys)


def unmeasured(env: dict, trace: bool) -> dict[str, str]:
    """What a run cannot measure on this machine (OTHERS, STATES) and why, one sentence each, from its
    environment.json: the terminal, the report and a notebook say each once; everything else is measured as usual.
    `trace`: whether the run asked for thread states (--trace)."""
    notes = {}
    accounting = str(env.get("machine_accounting", ""))
    if accounting.startswith(UNAVAILABLE):
        notes[OTHERS] = (
            f"{OTHERS} is not measured here ({accounting.removeprefix(UNAVAILABLE)}): no repetition can be marked "
            "disturbed or run again, and other_cores and steal_cores stay empty"
        )
    states = str(env.get("thread_states", ""))
    if trace and states.startswith(UNAVAILABLE):
        notes[STATES] = (
            f"{STATES} are not measured here ({states.removeprefix(UNAVAILABLE)}): --trace's extra repetitions run "
            "without a state timeline (no states chart; trace_summary.csv says why per cell)"
        )
    return notes


def warnings_for(env: dict, max_workers: int) -> list[str]:
    """Reasons the numbers may be disturbed; the run goes on regardless."""
    notes = []
    busy = env.get("cpu_busy_percent", 0.0)
    if busy > 25:
        notes.append(
            f"the machine is busy ({busy:.0f} % of its CPUs in use before the run started): timings will be noisy"
        )
    if max_workers > env["usable_cpus"]:
        notes.append(
            f"{max_workers} workers exceed the {env['usable_cpus']} usable CPUs: "
            "those cells are oversubscribed (expect no further speedup)"
        )
    return notes


# ---------------------------------------------------------------- what an interpreter is, and twins

# Configure options that change how fast an interpreter runs, each reported on its own line of a comparison
# (interpreter_differences' "optimizations") under the name people know it by.
OPTIMIZATIONS = {
    "--enable-optimizations": "PGO",
    "--with-lto": "LTO",
    "--enable-experimental-jit": "JIT",
    "--with-pydebug": "debug",
}
# The GIL: reported on its own line of a comparison ("GIL"), so left out of the configure arguments compared.
GIL_OPTION = "--disable-gil"
# Where an interpreter is installed says nothing of how it runs: twins built into two prefixes are still twins.
PLACE_OPTIONS = ("--prefix", "--exec-prefix")


def interpreter_build() -> dict:
    """What this interpreter is: version, implementation, GIL build or not, and how it was built.

    Stdlib only, and nothing from the rest of gilbench: it runs inside every interpreter of a run (through
    interpreters.describe), which may have none of gilbench's dependencies. The build is what sysconfig records:
    configure's arguments (CONFIG_ARGS, where PGO and LTO are asked for, with --enable-optimizations and
    --with-lto), the compiler named with its version as `sys.version` names it (the CC variable is only the
    command), and the optimization flags the interpreter was compiled with (OPT). A Python built without
    configure (Windows) has no CONFIG_ARGS: its configure arguments are "" and its optimizations None, unknown.
    """
    config_args = sysconfig.get_config_var("CONFIG_ARGS")
    return {
        "executable": sys.executable,
        "base_executable": getattr(sys, "_base_executable", sys.executable),  # a venv's interpreter
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "configure_args": config_args or "",
        "optimizations": optimizations(config_args) if config_args is not None else None,
        "compiler": platform.python_compiler(),
        "opt_flags": sysconfig.get_config_var("OPT") or "",
    }


def configure_options(configure_args: str) -> list[str]:
    """CONFIG_ARGS as a list: configure's arguments, each quoted in it ("'--prefix=/opt/py' '--enable-shared'")."""
    try:
        return shlex.split(configure_args)
    except ValueError:  # unbalanced quotes: the words as they stand
        return configure_args.split()


def optimizations(configure_args: str) -> list[str]:
    """The optimizations configure was asked for (OPTIMIZATIONS): ["PGO", "LTO"], ["LTO (thin)"], [] for none."""
    found = []
    for option in configure_options(configure_args):
        name, _, value = option.partition("=")
        label = OPTIMIZATIONS.get(name)
        if label and value != "no":
            found.append(label if value in ("", "yes") else f"{label} ({value})")
    return found


def build_options(configure_args: str) -> list[str]:
    """Configure's arguments that say how an interpreter was built and are not reported on their own line of a
    comparison: without the GIL option, the optimizations and the install prefix, whose folder is replaced by
    PREFIX wherever another argument names it (--libdir=PREFIX/lib, LDFLAGS=-Wl,-rpath,PREFIX/lib)."""
    options = configure_options(configure_args)
    prefix = next((o.partition("=")[2] for o in options if o.startswith("--prefix=")), "")
    kept = []
    for option in options:
        name = option.partition("=")[0]
        if name == GIL_OPTION or name in OPTIMIZATIONS or name in PLACE_OPTIONS:
            continue
        kept.append(option.replace(prefix, "PREFIX") if prefix else option)
    return kept


def _gil(info: dict):
    return None if "free_threaded" not in info else ("free-threaded" if info["free_threaded"] else "GIL")


def _build(info: dict):
    return None if "configure_args" not in info else " ".join(build_options(info["configure_args"]))


def optimizations_label(info: dict) -> str | None:
    """An interpreter's optimizations in a few letters: "PGO+LTO", "none", or None when unknown."""
    found = info.get("optimizations")
    return None if found is None else ("+".join(found) or "none")


# What interpreter_differences compares, in the order it reports: (what, the value it compares). A value None is
# unknown (a probe that failed, an older record): unknown against known counts as a difference.
COMPARED = (
    ("version", lambda info: info.get("version")),
    ("implementation", lambda info: info.get("implementation")),
    ("GIL", _gil),
    ("configure arguments", _build),
    ("compiler", lambda info: info.get("compiler")),
    ("optimizations", optimizations_label),
    ("optimization flags", lambda info: info.get("opt_flags")),
)
# The differences that are how an interpreter was built, as against which Python it is and whether it has a GIL.
BUILD = ("configure arguments", "compiler", "optimizations", "optimization flags")


def interpreter_differences(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """What differs between two interpreters (interpreter_build's dicts), as (what, a's value, b's value), in
    COMPARED's order. Twins differ in the GIL alone; 3.11.7 against 3.13.15t in version, GIL and build (BUILD)."""
    return [(what, view(a), view(b)) for what, view in COMPARED if view(a) != view(b)]


def are_twins(a: dict, b: dict) -> bool:
    """The same Python built the same way, one with the GIL and one without: the one pair whose difference in
    speed is the cost (or gain) of free threading alone."""
    known = all("error" not in info and info.get("version") for info in (a, b))
    return known and [what for what, _, _ in interpreter_differences(a, b)] == ["GIL"]


def twin_candidates(python: str, version: str, free_threaded: bool) -> list[str]:
    """Where the twin of `python` (of `version`, free-threaded or not) may be: an interpreter of the same minor
    version and the other kind (python3.13 for python3.13t, and the other way round) in its own folder or in the
    bin folder of a prefix beside its own. uv installs each build in a folder of its own, side by side
    (cpython-3.14.0-linux-x86_64-gnu and cpython-3.14.0+freethreaded-linux-x86_64-gnu); two builds from one
    source tree are installed side by side the same way (python-ft and python-gil in one folder). Beside the path
    as given and beside its real path (where a venv's python or a launcher links to). Existing executables only,
    each file once (links followed), `python` itself left out."""
    minor = ".".join(version.split(".")[:2])
    name = Path(python).name
    names = [f"python{minor}"] if free_threaded else [f"python{minor}t"]
    if free_threaded and name.endswith("t") and name[:-1] not in names:
        names.append(name[:-1])  # python3t -> python3
    folders: list[Path] = []
    for start in dict.fromkeys([os.path.abspath(python), os.path.realpath(python)]):
        bin_dir = Path(start).parent
        folders.append(bin_dir)
        try:
            folders += [prefix / bin_dir.name for prefix in sorted(bin_dir.parent.parent.iterdir())]
        except OSError:
            pass
    found, seen = [], {_identity(python)}
    for folder in dict.fromkeys(folders):
        for candidate in (folder / n for n in names):
            same = _identity(candidate)
            if same is not None and same not in seen and os.access(candidate, os.X_OK):
                seen.add(same)
                found.append(str(candidate))
    return found


def _identity(path) -> tuple[int, int] | None:
    """The file a path leads to, links of either kind followed (a free-threaded build installs python3.13 as a
    hard link to python3.13t); None when it is not a file."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


# ---------------------------------------------------------------- what differs between two runs (compare)

# What compare says differs between two runs' environments, in the order it says it: the keys of
# render.describe_run's dict. The interpreters' builds are compared by interpreter_differences (BUILD's lines).
RUN_ASPECTS = (
    "CPU model",
    "CPUs",
    "host",
    "OS",
    "interpreter",
    "interpreter build",
    "packages",
    "native threads",
    "start method",
    "size",
    "gilbench",
)
ABSENT = "absent"  # a package one run had and the other did not


def package_differences(a: str, b: str) -> tuple[str, str]:
    """Two runs' `packages` (name=version;...) cut to the packages whose versions differ, each side's versions
    (ABSENT where a side lacks one); ("", "") where none differ."""

    def versions(text: str) -> dict[str, str]:
        return dict(item.partition("=")[::2] for item in str(text).split(";") if item)

    va, vb = versions(a), versions(b)
    names = [n for n in dict.fromkeys([*va, *vb]) if va.get(n) != vb.get(n)]
    return (
        "; ".join(f"{n}={va.get(n, ABSENT)}" for n in names),
        "; ".join(f"{n}={vb.get(n, ABSENT)}" for n in names),
    )


def run_differences(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """What differs between two runs' environments (render.describe_run's dicts), as (what, a's value, b's value)
    in RUN_ASPECTS' order. Packages: only those whose versions differ. The interpreter's build (its `build`, an
    interpreter_build dict): each of BUILD's differences, where both runs recorded their builds."""
    found: list[tuple[str, object, object]] = []
    for what in RUN_ASPECTS:
        if what == "packages":
            pa, pb = package_differences(a.get(what, ""), b.get(what, ""))
            if pa or pb:
                found.append((what, pa, pb))
        elif what == "interpreter build":
            ba, bb = a.get("build") or {}, b.get("build") or {}
            if "configure_args" in ba and "configure_args" in bb:
                found += [(f"{what}: {w}", x, y) for w, x, y in interpreter_differences(ba, bb) if w in BUILD]
        elif a.get(what) != b.get(what):
            found.append((what, a.get(what), b.get(what)))
    return found
