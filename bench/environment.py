"""The environment a run ran in, collected by small functions that each fill one dict."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import sysconfig
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


def collect_cpu(env: dict) -> None:
    import psutil

    env["logical_cpus"] = os.cpu_count() or 1
    env["physical_cores"] = psutil.cpu_count(logical=False) or env["logical_cpus"]
    env["usable_cpus"] = usable_cpus()
    env["cpu_model"] = cpu_model()
    env["load_avg_1m"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0
    # What other programs use right now (the load average still counts a run that just ended).
    env["cpu_busy_percent"] = round(psutil.cpu_percent(interval=0.5), 1)
    from . import accounting

    why = accounting.unavailable()
    env["machine_accounting"] = (
        (
            "per repetition: /proc/stat (all CPUs, steal) minus gilbench's own rusage, "
            f"resolution 1/{accounting.USER_HZ} s"
        )
        if why is None
        else f"unavailable: {why}"
    )


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


def collect_native_pools(env: dict) -> None:
    """The native thread pools (OpenBLAS, MKL, BLIS, OpenMP) a worker gets by importing NumPy here, with the
    environment variables that set their sizes; `native_pools_note` says what was looked at, or why nothing."""
    from . import native

    env["native_thread_variables"] = native.variables()
    try:
        out = subprocess.run(
            [sys.executable, "-c", NATIVE_PROBE], capture_output=True, text=True, timeout=NATIVE_PROBE_TIMEOUT_S
        )
        probe = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        probe = None
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


def collect_environment() -> dict:
    env: dict = {}
    for collector in (collect_python, collect_cpu, collect_system, collect_packages, collect_native_pools):
        collector(env)
    env["harness_commit"] = harness_commit()
    return env


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
