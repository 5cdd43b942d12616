"""Native thread pools (issue 35): the CPU of BLAS's own threads is counted, the pools are recorded inside every
worker, and --native-threads limits them there."""

from __future__ import annotations

import pytest
from gilbench import environment, native, options, plan, runner
from gilbench.errors import UsageError
from gilbench.workloads import matmul  # type: ignore[import-not-found,unused-ignore]

WITHIN = 0.10  # the bound: process busy cores within 10 % of the native threads the work was given
ROUNDS = 48  # standard's rounds: about 0.3 s of serial matmul on a 2-core VM, many ticks of CPU accounting


def repetition(tmp_path, workload="matmul", variant="serial", workers=1, **given):
    """One repetition of one cell, as a run makes it: (its CellResult, its row's native_limit)."""
    config = options.resolve(
        options.RunOptions(
            workloads=workload, variants=variant, workers=str(workers), size="quick", out=str(tmp_path), **given
        )
    )
    cell = next(c for c in plan.build_cells(config) if c.variant == variant)
    result, _ = runner.run_repetition(cell, {}, config)
    assert result.ok, result.error
    return result, native.setting_text(runner.native_limit(cell, config))


@pytest.mark.quiet
@pytest.mark.parametrize("threads", [2, 1])
def test_blas_threads_are_counted_in_the_process_busy_cores(tmp_path, threads):
    if environment.usable_cpus() < threads:
        pytest.skip(f"needs {threads} usable CPUs")
    result, limit = repetition(tmp_path, native_threads=str(threads), param=[f"rounds={ROUNDS}"])
    busy = result.process_cpu_s / result.process_wall_s
    assert abs(busy - threads) <= WITHIN * threads, (busy, result.native_threads)
    python_busy = result.cpu_s / result.compute_s
    assert python_busy <= 1 + WITHIN, python_busy  # the Python thread's own CPU leaves the BLAS threads out
    assert result.native_threads == f"openblas={threads}" or f"={threads}" in result.native_threads
    assert limit == str(threads)


@pytest.mark.parametrize("variant", ["thread-pool", "process-pool", "multiprocessing"])
def test_the_limit_is_seen_inside_every_worker(tmp_path, variant):
    result, limit = repetition(tmp_path, variant=variant, workers=2, native_threads="1", start_method="spawn")
    pools = {rec.native_threads for rec in result.task_records}
    assert pools and all(p != native.NONE_FOUND and p.endswith("=1") for p in pools), pools
    assert {rec.pid for rec in result.task_records} != set() and limit == "1"


def test_leave_records_the_pools_and_changes_nothing(tmp_path):
    result, limit = repetition(tmp_path)
    assert limit == native.LEAVE
    assert "openblas=" in result.native_threads or "mkl=" in result.native_threads, result.native_threads


def test_a_run_without_numpy_records_no_pools(tmp_path):
    result, _ = repetition(tmp_path, workload="count")
    assert result.native_threads == native.NONE_FOUND
    assert all(rec.native_threads == native.NONE_FOUND for rec in result.task_records)


def test_environment_lists_the_pools_numpy_brings():
    env: dict = {}
    environment.collect_native_pools(env)
    assert any(p["user_api"] == "blas" and p["num_threads"] >= 1 and p["version"] for p in env["native_pools"])
    assert "after importing numpy" in env["native_pools_note"]
    assert "threads" in environment.pools_text(env["native_pools"])


def test_the_option_accepts_a_count_auto_or_leave_and_nothing_else():
    parse = next(f for f in options.option_fields() if f.name == "native_threads").metadata["parse"]
    assert [parse(v, {}, "--native-threads") for v in ("leave", "auto", "3", 2)] == ["leave", "auto", "3", "2"]
    for bad in ("0", "-1", "many", True):
        with pytest.raises(UsageError, match="--native-threads"):
            parse(bad, {}, "--native-threads")
    assert native.limit_for("auto", 2, 8) == 4 and native.limit_for("auto", 16, 8) == 1
    assert native.limit_for("leave", 2, 8) is None and native.limit_for("3", 2, 8) == 3


def test_matmul_fails_a_wrong_result():
    params = matmul.SIZES["smoke"]
    tasks = matmul.make_tasks(params, 2)
    results = [matmul.run_task(t) for t in tasks]
    matmul.check(params, tasks, results)
    with pytest.raises(ValueError, match="expected"):
        matmul.check(params, tasks, [results[0], results[1] + 1.0])
