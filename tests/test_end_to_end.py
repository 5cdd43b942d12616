"""A real `gilbench run` at smoke size through every variant, as a user runs it."""

import json
import multiprocessing

import pytest
from gilbench import storage
from gilbench.options import DEFAULT_START_METHOD
from gilbench.variants import local_availability as availability

VARIANTS = [v for v, why in availability().items() if why is None]  # what this interpreter can run
ALL = ",".join(VARIANTS)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    from tests.conftest import gilbench

    out = tmp_path_factory.mktemp("results")
    proc = gilbench(
        "run",
        "--size",
        "smoke",
        "--variants",
        ALL,
        "--workers",
        "1,2",
        "--repeat",
        "2",
        "--out",
        out,
        "--no-progress",
        "--seed",
        "7",
    )
    return proc, out


def test_run_succeeds_and_prints_a_summary(smoke_run):
    proc, out = smoke_run
    assert proc.returncode == 0, proc.stderr
    assert "speedup" in proc.stdout and "busy_cores" in proc.stdout
    assert "results: " in proc.stdout


def test_results_have_every_cell_and_repetition(smoke_run):
    _, out = smoke_run
    frame = storage.load_results(out / "latest")
    # two workloads; paired blocks at 1 and 2 workers, each with the serial cell and the other variants
    repetitions_per_round = 2 * 2 * len(VARIANTS)
    reruns = frame[frame["attempt"] > 1]  # repetitions another program disturbed were run again
    disturbed = frame[frame["disturbed"]]
    # a disturbed repetition re-runs its whole block: at most one re-run block per disturbed repetition
    rerun_blocks = reruns.drop_duplicates(["workload", "block_workers", "repeat", "attempt"])
    assert len(rerun_blocks) <= len(disturbed[~disturbed["warmup"]]), disturbed[["variant", "other_cores"]].to_string()
    frame = frame[frame["attempt"] == 1]
    assert len(frame) == repetitions_per_round * 3  # one warm-up + two measured blocks
    assert frame["ok"].all(), frame[~frame["ok"]]["error"].tolist()
    assert set(frame["variant"]) == set(VARIANTS)
    assert (frame["warmup"] == (frame["repeat"] == 0)).all()
    assert (
        frame.groupby(["workload", "variant", "workers", "block_workers"])["repeat"].apply(sorted).map(tuple)
        == (0, 1, 2)
    ).all()
    assert (
        frame.loc[frame["variant"] != "serial", "block_workers"] == frame.loc[frame["variant"] != "serial", "workers"]
    ).all()
    assert sorted(set(frame.loc[frame["variant"] == "serial", "block_workers"])) == [1, 2]  # serial in every block
    # --warmup light: a 1-worker cell's warm-up stops before the timed region (no times, no task ran); a cell of
    # several workers warms up whole
    dry = frame["warmup"] & (frame["workers"] == 1)
    assert dry.any() and frame.loc[dry, "total_s"].isna().all() and (frame.loc[dry, "tasks"] == 0).all()
    frame = frame[~dry]
    assert frame.loc[frame["warmup"], "total_s"].notna().all() and (frame["workers"] > 1)[frame["warmup"]].all()
    assert (frame["total_s"] - frame["startup_s"] - frame["compute_s"]).abs().max() < 1e-6
    assert (frame["busy_cores"] > 0).all() and (frame["peak_rss_mb"] > 0).all()
    assert (frame["start_method"] == DEFAULT_START_METHOD).all()  # the platform's, unless GILBENCH_START_METHOD
    assert frame["run_id"].nunique() == 1
    procs = frame[frame["variant"].isin(["multiprocessing", "ceiling"])]  # static slices: a process per worker
    assert (procs["worker_processes"] == procs["workers"]).all()
    pool = frame[frame["variant"] == "process-pool"]  # a pool's first ready worker may take both smoke tasks
    assert ((pool["worker_processes"] >= 1) & (pool["worker_processes"] <= pool["workers"])).all()


def test_tasks_csv_matches_results(smoke_run):
    _, out = smoke_run
    frame = storage.load_results(out / "latest")
    tasks = storage.load_tasks(out / "latest")
    key = ["workload", "variant", "workers", "block_workers", "repeat", "attempt"]
    per_rep = tasks.groupby(key).size()
    expected = frame[frame["tasks"] > 0].set_index(key)["tasks"]  # a dry warm-up ran none
    assert set(per_rep.index) == set(expected.index)
    assert (per_rep.reindex(expected.index) == expected).all()
    assert ((tasks["cpu_share"] > 0) & (tasks["cpu_share"] <= 1.2)).all()


def test_ceiling_times_only_the_work(smoke_run):
    _, out = smoke_run
    frame = storage.load_results(out / "latest")
    ceiling = frame[(frame["variant"] == "ceiling") & ~frame["warmup"]]
    assert (ceiling["startup_s"].abs() < 1e-9).all() and (ceiling["total_s"] == ceiling["compute_s"]).all()


def test_run_writes_summary_charts_and_report(smoke_run):
    _, out = smoke_run
    latest = out / "latest"
    for name in (
        "summary.csv",
        "report.md",
        "report.html",
        "overview.png",
        "scaling-count.png",
        "timeline-thumbnail.png",
    ):
        assert (latest / name).exists(), name


def test_run_folder_layout_and_latest_link(smoke_run):
    _, out = smoke_run
    latest = out / "latest"
    assert latest.is_symlink() and latest.resolve().parent == (out / "runs").resolve()
    env = json.loads((latest / storage.ENVIRONMENT).read_text())
    assert env["config"]["repeat"] == 2 and "seed" in env


def test_the_default_start_method_is_the_platforms_or_the_settings(tmp_path):
    """What a program that does not choose gets (the first of get_all_start_methods()); GILBENCH_START_METHOD
    replaces it, and a method the platform lacks is refused naming the setting."""
    import os
    import subprocess
    import sys

    code = "from gilbench.options import DEFAULT_START_METHOD as d; print(d)"
    env = {k: v for k, v in os.environ.items() if k != "GILBENCH_START_METHOD"}
    read = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert read.stdout.strip() == multiprocessing.get_all_start_methods()[0]
    env["GILBENCH_START_METHOD"] = "spawn"
    read = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert read.stdout.strip() == "spawn"
    env["GILBENCH_START_METHOD"] = "vfork"
    bad = subprocess.run(
        [sys.executable, "-m", "gilbench", "run", "--out", str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "--start-method 'vfork' (from GILBENCH_START_METHOD) is not available here (accepted: " in bad.stderr


@pytest.mark.parametrize(
    "method",
    [m for m in multiprocessing.get_all_start_methods()[1:]],  # each but the default
)
def test_other_start_methods_are_used_and_recorded(method, tmp_path, run_cli):
    proc = run_cli(
        "run",
        "--size",
        "smoke",
        "--workloads",
        "count",
        "--variants",
        "multiprocessing,process-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--start-method",
        method,
        "--out",
        tmp_path,
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "latest")
    assert frame["ok"].all() and (frame["start_method"] == method).all()


def test_user_workload_by_path(tmp_path, run_cli):
    path = tmp_path / "squares.py"
    path.write_text(
        "DESCRIPTION = 'sum of squares'\n"
        "SIZES = {'smoke': {'n': 2000}}\n"
        "def make_tasks(params, workers): return [range(i, params['n'], workers) for i in range(workers)]\n"
        "def run_task(r): return sum(x * x for x in r)\n"
        "def check(params, tasks, results): assert sum(results) == sum(x * x for x in range(params['n']))\n"
    )
    proc = run_cli(
        "run",
        "--size",
        "smoke",
        "--workloads",
        path,
        "--variants",
        "serial,process-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--start-method",
        "spawn",
        "--out",
        tmp_path / "o",
        "--no-progress",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(tmp_path / "o" / "latest")
    assert frame["ok"].all() and set(frame["workload"]) == {"squares"}
