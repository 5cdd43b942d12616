import os

from gilbench import environment


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
