"""Other interpreters: validation, GIL state seen in the workers, subinterpreters.

Free-threaded tests run when an interpreter is found (GILBENCH_PYTHON_FT, or python3.13t/python3.14t on
PATH; tests/pythons.py) and are skipped with the reason otherwise; .ci/run builds one. Those that set it against a
GIL build use its GIL twin (GILBENCH_PYTHON_GIL, or one found beside it), skipped likewise; .ci/run builds it too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest
from gilbench import cli, environment, interpreters, storage

from tests.conftest import gilbench
from tests.helpers import ran_tasks
from tests.pythons import FT, TWIN, cpython_313, needs_ft, needs_twins


def test_missing_interpreter(capsys):
    assert cli.main(["run", "--python", "/no/such/python3.13t"]) == 2
    assert "--python '/no/such/python3.13t' does not exist or is not executable" in capsys.readouterr().err


def test_not_python(tmp_path, capsys):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    assert cli.main(["run", "--python", str(fake), "--out", str(tmp_path / "o")]) == 2
    assert "is not a Python interpreter" in capsys.readouterr().err


def test_too_old_python(tmp_path, capsys):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9\n")  # answers the version probe like a 3.9 would
    fake.chmod(0o755)
    assert cli.main(["run", "--python", str(fake), "--out", str(tmp_path / "o")]) == 2
    assert "is Python 3.9; gilbench needs 3.11 or newer" in capsys.readouterr().err


def test_interpreter_lacking_a_workload_module_is_told_what_to_install(tmp_path, capsys):
    # a venv without Pillow, made from this very interpreter
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    assert cli.main(["run", "--python", python, "--workloads", "thumbnail", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"cannot import 'PIL' for workload 'thumbnail'; install it with: {python} -m pip install Pillow" in err
    assert not (tmp_path / "o").exists()


def test_this_interpreter_records_the_gil(tmp_path):
    proc = gilbench(
        "run",
        "--workloads",
        "count",
        "--variants",
        "serial,thread-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert (frame["free_threaded"] == ft).all() and (frame["gil_enabled"] == (not ft)).all()
    described = json.loads((tmp_path / "latest" / storage.ENVIRONMENT).read_text())["interpreters"]
    assert [i["python"] for i in described] == [sys.executable] and described[0]["free_threaded"] == ft


def test_env_describes_each_interpreter_and_compares_them():
    out = gilbench("env", "--python", sys.executable)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\ninterpreter ") == 1 and "configure arguments" in out.stdout
    twin = gilbench("env", "--twin-of", sys.executable).stdout.strip()  # nothing, unless a true twin is beside it
    assert not twin or environment.are_twins(interpreters.describe(sys.executable), interpreters.describe(twin))
    missing = gilbench("env", "--python", "/no/such/python3")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


@needs_ft
def test_free_threaded_interpreter_runs_threads_without_the_gil(tmp_path):
    proc = gilbench(
        "run",
        "--python",
        FT,
        "--workloads",
        "count",
        "--variants",
        "serial,thread-pool,process-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    assert frame["free_threaded"].all() and not frame["gil_enabled"].any()
    assert (frame["python_executable"] == FT).all() and (frame["python_gil_env"] == "").all()
    assert frame["python_version"].str.startswith("3.1").all()


@needs_ft
def test_python_gil_1_is_passed_to_workers_and_recorded(tmp_path):
    proc = gilbench(
        "run",
        "--python",
        FT,
        "--gil",
        "1",
        "--workloads",
        "count",
        "--variants",
        "thread-pool,process-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    assert frame["free_threaded"].all() and frame["gil_enabled"].all() and (frame["python_gil_env"] == "1").all()


@needs_twins
def test_env_names_the_twins_and_finds_the_twin():
    out = gilbench("env", "--python", TWIN, "--python", FT)
    assert out.returncode == 0, out.stderr
    assert f"{TWIN} and {FT} are twins: only the GIL differs" in out.stdout
    found = gilbench("env", "--twin-of", FT).stdout.strip()  # GILBENCH_PYTHON_GIL may name one found elsewhere
    assert not found or environment.are_twins(interpreters.describe(FT), interpreters.describe(found))


@needs_twins
def test_a_twin_run_records_both_builds_in_environment_json(tmp_path):
    proc = gilbench(
        "run",
        "--python",
        TWIN,
        "--python",
        FT,
        "--workloads",
        "count",
        "--variants",
        "serial",
        "--workers",
        "1",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    described = json.loads((tmp_path / "latest" / storage.ENVIRONMENT).read_text())["interpreters"]
    by_path = {i["python"]: i for i in described}
    assert {TWIN, FT} <= set(by_path) and all(by_path[p]["configure_args"] for p in (TWIN, FT))
    assert environment.are_twins(by_path[TWIN], by_path[FT])
    frame = storage.load_results(tmp_path / "latest")
    assert set(frame["python_executable"]) == {TWIN, FT}  # the rows name the interpreters as environment.json does


LEGACY_EXTENSION = r"""
#include <Python.h>
/* No Py_mod_gil slot: a free-threaded interpreter turns the GIL back on when this is imported. */
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "gilbench_legacy", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_gilbench_legacy(void) { return PyModule_Create(&def); }
"""


@needs_ft
def test_gil_silently_re_enabled_by_an_extension_is_detected(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("needs gcc to build a C extension without free-threading support")
    include = subprocess.run(
        [FT, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    suffix = subprocess.run(
        [FT, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / "legacy.c").write_text(LEGACY_EXTENSION)
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            f"-I{include}",
            str(tmp_path / "legacy.c"),
            "-o",
            str(tmp_path / f"gilbench_legacy{suffix}"),
        ],
        check=True,
    )
    workload = tmp_path / "legacy_count.py"
    workload.write_text(
        "import sysconfig\n"
        "if sysconfig.get_config_var('Py_GIL_DISABLED'):  # built for the free-threaded interpreter only\n"
        "    import gilbench_legacy  # re-enables the GIL\n"
        "from gilbench.workloads.count import SIZES, make_tasks, run_task, check\n"
    )
    proc = gilbench(
        "run",
        "--python",
        FT,
        "--workloads",
        workload,
        "--variants",
        "serial,thread-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path / "o",
        "--no-progress",
        env={"PYTHONPATH": f"{tmp_path}"},
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "o" / "latest")
    assert frame["free_threaded"].all() and frame["gil_enabled"].all()  # seen inside the workers
    assert "GIL re-enabled" in (tmp_path / "o" / "latest" / "report.md").read_text()


@pytest.fixture(scope="module")
def py313_with_backport(tmp_path_factory):
    base = cpython_313()
    if base is None:
        pytest.skip(
            "no Python 3.13 found (set GILBENCH_PYTHON_313, or put python3.13 on PATH) for the "
            "interpreters-pep-734 backport"
        )
    venv = tmp_path_factory.mktemp("py313") / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "interpreters-pep-734"],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        pytest.skip(f"could not install interpreters-pep-734 for {base}: {pip.stderr.strip().splitlines()[-1:]}")
    return str(venv / "bin" / "python")


def test_interpreter_pool_unavailable_here_says_why(capsys):
    from gilbench import variants

    why = variants.local_availability()["interpreter-pool"]
    if sys.version_info >= (3, 14):
        pytest.skip("this interpreter has InterpreterPoolExecutor")
    assert "needs Python >= 3.14, or 3.13 with the backport" in why
    assert cli.main(["list"]) == 0
    assert "unavailable: needs Python >= 3.14" in capsys.readouterr().out


def test_interpreter_pool_under_313_with_the_backport(py313_with_backport, tmp_path):
    proc = gilbench(
        "run",
        "--python",
        py313_with_backport,
        "--workloads",
        "count,hashing",
        "--variants",
        "serial,interpreter-pool",
        "--workers",
        "1,2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--out",
        tmp_path,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    pool = frame[frame["variant"] == "interpreter-pool"]
    assert len(pool) == 2 * 2 * 2 and pool["ok"].all()
    assert (ran_tasks(pool)["worker_processes"] == 1).all()  # subinterpreters: one process
    tasks = storage.load_tasks(tmp_path / "latest")
    two = tasks[(tasks["variant"] == "interpreter-pool") & (tasks["workers"] == 2) & ~tasks["warmup"]]
    assert two.groupby(["workload"])["thread_id"].nunique().min() >= 1


def test_python_by_name_is_found_on_path_and_recorded_absolute(tmp_path, monkeypatch):
    """`--python python3` as a shell would find it: the name on PATH, recorded as the absolute path found."""
    from gilbench import interpreters
    from gilbench.options import RunOptions

    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python-under-test").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    found = interpreters.check_python("python-under-test")
    assert found == str(folder / "python-under-test")
    recorded = RunOptions(python=["python-under-test"]).recorded()
    assert recorded["python"] == [str(folder / "python-under-test")]


def test_one_interpreter_under_two_names_is_refused(tmp_path, monkeypatch, capsys):
    """`--python python3.11 --python python3` where both are one interpreter: its cells would run twice under one
    label (3.11.7 twice, one chart file for both): one line naming both, exit 2, nothing run."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("py-one", "py-same"):
        (folder / name).symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "o"
    assert cli.main(["run", "--python", "py-one", "--python", "py-same", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"--python 'py-same' ({folder / 'py-same'}) is the same interpreter as --python 'py-one'" in err
    assert not out.exists()


def test_python_name_not_on_path_says_what_is_accepted(capsys):
    assert cli.main(["run", "--python", "no-such-python3.99"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--python 'no-such-python3.99' is not found on PATH" in err
    assert "accepted: a path to a Python interpreter, or a name found on PATH" in err
