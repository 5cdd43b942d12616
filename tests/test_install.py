"""gilbench as a user installs it: a wheel, a fresh virtual environment, run from a folder of their own.

The user's folder holds packages named like gilbench's repository folders (`bench/`, `workloads/`)
and like gilbench itself (`gilbench/`), each of which fails loudly if imported. Cells must not see
them, and an interpreter given with --python must see gilbench's code and its own packages, never
the tool environment's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from gilbench import storage

from tests.conftest import ROOT
from tests.helpers import ran_tasks
from tests.pythons import other_cpython

pytestmark = pytest.mark.slow

DECOY = "raise ImportError('the user\\'s own {name} package was imported instead of gilbench\\'s')\n"

# A workload that runs count's tasks and, in the cell process, fails if anything came from the
# tool environment (other than gilbench's own files, which a cell is meant to see).
PROBE = textwrap.dedent("""
    import os, sys
    from gilbench.workloads.count import SIZES, make_tasks, run_task
    from gilbench.workloads.count import check as count_check

    def check(params, tasks, results):
        count_check(params, tasks, results)
        tool = os.environ.get("GILBENCH_TOOL_ENV")
        if not tool:
            return
        paths = [p for p in sys.path if p.startswith(tool)]
        files = [getattr(m, "__file__", None) or "" for name, m in list(sys.modules.items())
                 if not name.startswith("gilbench")]
        files = [f for f in files if f.startswith(tool)]
        if paths or files:
            raise ValueError(f"loaded from the tool environment: {(paths + files)[:3]}")
""")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from this checkout, installed (not editable) into a fresh virtual environment."""
    base = tmp_path_factory.mktemp("install")
    wheel_dir = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheels = list(wheel_dir.glob("gilbench-*.whl"))
    assert len(wheels) == 1
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheels[0])],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"the package registry cannot be reached for the wheel's dependencies: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr[-2000:]
    return venv, wheels[0]


@pytest.fixture
def user_folder(tmp_path):
    """A user's project folder whose own packages shadow every name gilbench could be looked up by:
    bench/, workloads/ and gilbench/ in the working directory, bench/ and workloads/ on PYTHONPATH
    (a gilbench/ on PYTHONPATH would replace the gilbench command itself, as for any Python tool)."""
    for folder, names in ((tmp_path, ("bench", "workloads", "gilbench")), (tmp_path / "lib", ("bench", "workloads"))):
        for name in names:
            (folder / name).mkdir(parents=True)
            (folder / name / "__init__.py").write_text(DECOY.format(name=name))
        (folder / "workloads" / "count.py").write_text(DECOY.format(name="workloads.count"))
    (tmp_path / "probe.py").write_text(PROBE)
    return tmp_path


def wheel_version(wheel) -> str:
    """The Version field of the wheel's own METADATA."""
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return next(
            line.split(":", 1)[1].strip()
            for line in archive.read(meta).decode().splitlines()
            if line.startswith("Version:")
        )


def test_the_wheel_holds_one_distinctive_package(installed):
    import zipfile

    _, wheel = installed
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"gilbench"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "gilbench/workloads/count.py" in names and "gilbench/pytest_plugin.py" in names
    modules = {"gilbench/" + path.relative_to(ROOT / "bench").as_posix() for path in (ROOT / "bench").rglob("*.py")}
    assert modules - set(names) == set()  # subpackages too
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(meta).decode()
    assert "gilbench = gilbench.cli:main" in entry_points and "gilbench = gilbench.pytest_plugin" in entry_points


def test_pyproject_lists_every_subpackage():
    """An unlisted subpackage still reaches the wheel today, as package data with a setuptools warning that says it
    will not in a later release: the list is checked here, not by the wheel's contents."""
    import tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    bench = ROOT / "bench"
    found = {".".join(("gilbench", *init.parent.relative_to(bench).parts)) for init in bench.rglob("__init__.py")}
    assert found - set(listed) == set()


def test_installed_gilbench_runs_from_a_folder_that_shadows_its_names(installed, user_folder, no_stray_cells):
    venv, wheel = installed
    env = dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells, PYTHONPATH=str(user_folder / "lib"))
    proc = subprocess.run(
        [
            str(venv / "bin" / "gilbench"),
            "run",
            "--size",
            "smoke",
            "--repeat",
            "1",
            "--workers",
            "1,2",
            "--no-progress",
            "--out",
            "out",
        ],
        cwd=user_folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    frame = storage.load_results(user_folder / "out" / "latest")
    assert frame["ok"].all(), frame.loc[~frame["ok"], "error"].tolist()
    assert set(frame["workload"]) == {"count", "thumbnail"}
    assert (frame["harness_commit"] == f"gilbench {wheel_version(wheel)}").all()  # the package's metadata, not git


def test_another_interpreter_sees_gilbench_and_its_own_packages_only(installed, user_folder, no_stray_cells):
    """Another CPython: GILBENCH_PYTHON_313 or python3.12-3.14 on PATH, else the base interpreter of this test
    environment (tests/pythons.py); none of them may see the tool environment's packages."""
    venv, _ = installed
    other = other_cpython()
    assert other and not other.startswith(str(venv))
    env = dict(
        os.environ,
        GILBENCH_TEST_MARKER=no_stray_cells,
        GILBENCH_TOOL_ENV=str(venv),
        PYTHONPATH=str(user_folder / "lib"),
    )
    proc = subprocess.run(
        [
            str(venv / "bin" / "gilbench"),
            "run",
            "--python",
            other,
            "--workloads",
            "probe.py",
            "--variants",
            "serial,thread-pool,process-pool",
            "--workers",
            "2",
            "--size",
            "smoke",
            "--repeat",
            "1",
            "--no-progress",
            "--no-report",
            "--out",
            "out",
        ],
        cwd=user_folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    frame = storage.load_results(user_folder / "out" / "latest")
    assert frame["ok"].all(), frame.loc[~frame["ok"], "error"].tolist()
    version = subprocess.run(
        [other, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert set(frame["python_version"]) == {version} and set(frame["python_executable"]) == {other}


def test_the_probe_would_catch_a_leak(installed, user_folder, no_stray_cells):
    """The check above can fail: the tool environment's own interpreter does see the tool environment."""
    venv, _ = installed
    env = dict(os.environ, GILBENCH_TEST_MARKER=no_stray_cells, GILBENCH_TOOL_ENV=str(venv))
    proc = subprocess.run(
        [
            str(venv / "bin" / "gilbench"),
            "run",
            "--workloads",
            "probe.py",
            "--variants",
            "serial",
            "--size",
            "smoke",
            "--repeat",
            "1",
            "--no-progress",
            "--no-report",
            "--out",
            "out",
        ],
        cwd=user_folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1
    frame = ran_tasks(storage.load_results(user_folder / "out" / "latest"))
    assert not frame["ok"].any() and frame["error"].str.contains("loaded from the tool environment").all()
