import json
import os
import platform
import sys
import sysconfig
from pathlib import Path

from gilbench import environment, interpreters


def test_collect_environment_has_every_recorded_field():
    env = environment.collect_environment()
    for key in (
        "python_version",
        "free_threaded",
        "gil_enabled",
        "logical_cpus",
        "physical_cores",
        "usable_cpus",
        "cpu_model",
        "load_avg_1m",
        "host",
        "os",
        "packages",
        "harness_commit",
    ):
        assert key in env, key
    assert 1 <= env["usable_cpus"] <= env["logical_cpus"]
    assert 1 <= env["physical_cores"] <= env["logical_cpus"]
    assert "Pillow=" in env["packages"]


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert environment.cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert environment.cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert environment.cgroup_cpu_quota(tmp_path) == 2.0


def test_usable_cpus_follows_affinity():
    original = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(original)})
        assert environment.usable_cpus() == 1
    finally:
        os.sched_setaffinity(0, original)


def test_warnings_for_busy_machine_and_oversubscription():
    env = {"cpu_busy_percent": 80.0, "usable_cpus": 2}
    notes = environment.warnings_for(env, 4)
    assert any("busy (80 % of its CPUs" in n for n in notes) and any(
        "4 workers exceed the 2 usable CPUs" in n for n in notes
    )
    assert environment.warnings_for({"cpu_busy_percent": 3.0, "usable_cpus": 2}, 2) == []


def test_interpreter_build_describes_this_interpreter():
    info = environment.interpreter_build()
    assert info["version"] == platform.python_version() and info["implementation"] == "CPython"
    assert info["free_threaded"] == bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert isinstance(info["configure_args"], str) and isinstance(info["compiler"], str)
    assert info["configure_args"] == (sysconfig.get_config_var("CONFIG_ARGS") or "")
    assert info["optimizations"] is None or isinstance(info["optimizations"], list)
    json.dumps(info)  # it travels from a child interpreter as JSON, and lands in environment.json


def test_this_interpreter_first_then_every_other_once(tmp_path):
    env = environment.collect_environment()
    assert [i["python"] for i in env["interpreters"]] == [sys.executable]
    assert env["interpreters"][0]["version"] == env["python_version"]
    other = fake_python(tmp_path / "bin" / "python3.13t", build("3.13.15", True, "/pythons/python-ft"))
    described = interpreters.describe_all([sys.executable, str(other), str(other)])
    assert [i["python"] for i in described] == [sys.executable, str(other)]
    assert described[1]["free_threaded"] and described[1]["version"] == "3.13.15"


def test_an_interpreter_that_cannot_be_described_says_why(tmp_path):
    broken = tmp_path / "python3.13"
    broken.write_text("#!/bin/sh\necho 'no such thing' >&2; exit 3\n")
    broken.chmod(0o755)
    info = interpreters.describe(str(broken))
    assert info == {"python": str(broken), "error": "no such thing"}
    assert not environment.are_twins(info, info | {"free_threaded": True})


def test_optimizations_are_read_from_the_configure_arguments():
    assert environment.optimizations("'--enable-optimizations' '--with-lto' '--prefix=/x'") == ["PGO", "LTO"]
    assert environment.optimizations("'--with-lto=thin' '--enable-experimental-jit=no'") == ["LTO (thin)"]
    assert environment.optimizations("'--prefix=/x'") == []


def build(version: str, free_threaded: bool, prefix: str, *options: str, opt="-DNDEBUG -g -O3 -Wall") -> dict:
    """An interpreter_build() dict as a source build into `prefix` records it."""
    args = [*(["--disable-gil"] if free_threaded else []), f"--prefix={prefix}", *options]
    configure_args = " ".join(f"'{a}'" for a in args)
    return {
        "python": f"{prefix}/bin/python{version[:4]}{'t' if free_threaded else ''}",
        "version": version,
        "implementation": "CPython",
        "free_threaded": free_threaded,
        "configure_args": configure_args,
        "optimizations": environment.optimizations(configure_args),
        "compiler": "GCC 12.2.0",
        "opt_flags": opt,
    }


def test_twins_differ_in_the_gil_alone_wherever_they_are_installed():
    shared = ("--enable-shared", "LDFLAGS=-Wl,-rpath,{}/lib")
    gil = build("3.13.15", False, "/pythons/python-gil", shared[0], shared[1].format("/pythons/python-gil"))
    ft = build("3.13.15", True, "/pythons/python-ft", shared[0], shared[1].format("/pythons/python-ft"))
    assert environment.interpreter_differences(gil, ft) == [("GIL", "GIL", "free-threaded")]
    assert environment.are_twins(gil, ft) and environment.are_twins(ft, gil)
    assert not environment.are_twins(gil, gil)  # the same interpreter twice is no pair
    pgo = build("3.13.15", False, "/pythons/python-gil", "--enable-optimizations", *shared[:1])
    assert [w for w, _, _ in environment.interpreter_differences(pgo, ft)] == [
        "GIL",
        "configure arguments",
        "optimizations",
    ]


def test_311_against_313t_differs_in_version_and_build():
    old = build("3.11.7", False, "/pyenv/versions/3.11.7", "--enable-shared", opt="-DNDEBUG -g -fwrapv -O3 -Wall")
    ft = build("3.13.15", True, "/pythons/python-ft")
    differences = environment.interpreter_differences(old, ft)
    assert differences == [
        ("version", "3.11.7", "3.13.15"),
        ("GIL", "GIL", "free-threaded"),
        ("configure arguments", "--enable-shared", ""),
        ("optimization flags", "-DNDEBUG -g -fwrapv -O3 -Wall", "-DNDEBUG -g -O3 -Wall"),
    ]
    assert {w for w, _, _ in differences} & set(environment.BUILD) and not environment.are_twins(old, ft)


def fake_python(path: Path, info: dict) -> Path:
    """A script that answers gilbench's probe as an interpreter described by `info` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{json.dumps(info)}'\n")
    path.chmod(0o755)
    return path


def test_the_twin_is_found_beside_a_free_threaded_python(tmp_path):
    opt = tmp_path / "opt"
    ft = fake_python(opt / "python-ft" / "bin" / "python3.13t", build("3.13.15", True, "/pythons/python-ft"))
    (opt / "python-ft" / "bin" / "python3.13").hardlink_to(ft)  # as a free-threaded install links it: not a twin
    other = build("3.13.15", False, "/pythons/python-a", "--enable-optimizations")  # sorted first, but built otherwise
    fake_python(opt / "python-a" / "bin" / "python3.13", other)
    gil = fake_python(opt / "python-gil" / "bin" / "python3.13", build("3.13.15", False, "/pythons/python-gil"))
    fake_python(opt / "python-gil" / "bin" / "python3.12", build("3.12.8", False, "/pythons/python-gil"))
    assert environment.twin_candidates(str(ft), "3.13.15", True) == [
        str(opt / "python-a" / "bin" / "python3.13"),
        str(gil),
    ]
    assert interpreters.find_twin(str(ft)) == str(gil)
    assert interpreters.find_twin(str(gil)) == str(ft)  # and the other way round
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(ft)  # a venv's python: looked for beside the interpreter it links to
    assert interpreters.find_twin(str(venv / "python")) == str(gil)
    (opt / "python-gil" / "bin" / "python3.13").unlink()
    assert interpreters.find_twin(str(ft)) is None
