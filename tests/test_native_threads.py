"""Native thread pools (issue 35): the CPU of BLAS's own threads is counted, the pools are recorded inside every
worker, and --native-threads limits them there."""

from __future__ import annotations

from dataclasses import replace

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


def _native_run(folder, pools="openblas=2", limit="leave", jitter=0.01):
    """Six paired blocks of a matmul-like run on 2 CPUs: serial 1.0 s whose process kept 2 cores busy (its Python
    thread 1), threads x2 no faster with the same 2 process cores, processes x2 slower at 2 process cores."""
    from tests.helpers import paired_block, write_run

    rows = []
    for r in range(1, 7):
        d = 1 + jitter * (r % 3 - 1)  # the block's drift, and a spread the tests can read
        block = paired_block(
            r,
            2,
            1.0,
            {"thread-pool": 1.0 * d, "process-pool": 1.6 * d},
            workload="matmul",
            native_threads=pools,
            native_limit=limit,
        )
        for row, process, python in zip(block, (2.0, 2.0, 1.98), (0.99, 1.05, 1.0), strict=True):
            busy = python + 0.01 * (r % 3)
            rows.append(
                replace(row, process_busy_cores=process + 0.02 * (r % 2), busy_cores=busy, cpu_s=busy * row.compute_s)
            )
    return write_run(folder, rows)


def test_the_summary_carries_the_process_busy_cores_as_a_mean_with_its_sd(tmp_path):
    from gilbench import analysis, storage

    table = analysis.summarize(storage.load_results(_native_run(tmp_path / "run")))
    serial = table[table["variant"] == "serial"].iloc[0]
    assert serial["process_busy_cores"] == pytest.approx(2.01, abs=0.005)
    assert (
        serial["process_busy_cores_sd"] > 0
        and serial["process_busy_cores_low"] < 2.01 < serial["process_busy_cores_high"]
    )
    assert serial["native_cores"] == pytest.approx(2.01 - 1.0, abs=0.01)
    assert serial["native_threads"] == "openblas=2" and serial["native_limit"] == "leave"


def test_the_report_names_native_threads_and_no_gil_where_the_cores_went_to_them(tmp_path):
    from gilbench import render

    written = render.report(_native_run(tmp_path / "run"), tmp_path / "out")
    text = written.report_md.read_text()
    assert "oversubscribed by native threads: 2 workers x native threads openblas=2 on 2 usable CPUs" in text
    assert "the work released the GIL, but the cores went to the library's own threads" in text
    for gil in ("took turns", "GIL is visible", "threads cannot overlap", "Threads kept up", "releases the GIL (C"):
        assert gil not in text, gil
    assert "its process kept 2.01" in text and "its Python thread 1.00: native threads openblas=2" in text


def test_no_native_finding_without_a_pool_of_more_than_one_thread(tmp_path):
    from gilbench import render

    text = render.report(_native_run(tmp_path / "run", pools="openblas=1", limit="1"), tmp_path / "out")
    said = text.report_md.read_text()
    assert "native threads openblas" not in said.replace("native threads openblas=1", "")
    assert "oversubscribed by native threads" not in said and "library's own threads" not in said


def test_compare_names_the_native_thread_setting_where_two_runs_differ(tmp_path):
    from gilbench import render
    from gilbench.report.compare import native_difference

    render.compare([_native_run(tmp_path / "a"), _native_run(tmp_path / "b", "openblas=1", "1")], tmp_path / "out")
    table = render.last_compare
    assert native_difference(table) == (
        "The runs differ in their native thread setting (--native-threads, the pools the workers saw) in 3 of 3 "
        "cells: leave (openblas=2) -> 1 (openblas=1)."
    )
    assert "(native threads leave (openblas=2) -> 1 (openblas=1))" in (tmp_path / "out" / "compare.md").read_text()
    render.compare([_native_run(tmp_path / "a"), _native_run(tmp_path / "c")], tmp_path / "same")
    assert native_difference(render.last_compare) == ""


def test_idle_workers_are_not_read_from_busy_cores_that_leave_the_native_threads_out(tmp_path):
    from gilbench import render

    text = render.report(_native_run(tmp_path / "run"), tmp_path / "out").report_md.read_text()
    assert "workers sat idle" not in text
    limited = render.report(_native_run(tmp_path / "one", "openblas=1", "1"), tmp_path / "o1").report_md.read_text()
    assert "native threads openblas=1 (limited to 1 by --native-threads): its process kept" in limited
