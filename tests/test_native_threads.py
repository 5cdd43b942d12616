"""Native thread pools (issue 35): the CPU of BLAS's own threads is counted, the pools are recorded inside every
worker, and --native-threads limits them there."""

from __future__ import annotations

import re
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


def _native_rows(pools="openblas=2", limit="leave", jitter=0.01) -> list:
    """Six paired blocks of a matmul-like run on 2 CPUs: serial 1.0 s whose process kept 2 cores busy (its Python
    thread 1), threads x2 no faster with the same 2 process cores, processes x2 slower at 2 process cores."""
    from tests.helpers import paired_block

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
            native_setting=limit,
        )
        for row, process, python in zip(block, (2.0, 2.0, 1.98), (0.99, 1.05, 1.0), strict=True):
            busy = python + 0.01 * (r % 3)
            rows.append(
                replace(row, process_busy_cores=process + 0.02 * (r % 2), busy_cores=busy, cpu_s=busy * row.compute_s)
            )
    return rows


def _native_run(folder, pools="openblas=2", limit="leave", jitter=0.01):
    from tests.helpers import write_run

    return write_run(folder, _native_rows(pools, limit, jitter))


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


def test_two_settings_in_one_run_are_cells_of_their_own_each_over_its_own_serial_cell():
    parse = next(f for f in options.option_fields() if f.name == "native_threads").metadata["parse"]
    assert parse("leave, 1", {}, "--native-threads") == "leave,1"
    with pytest.raises(UsageError, match="names a setting twice"):
        parse("1,1", {}, "--native-threads")
    config = options.resolve(
        options.RunOptions(workloads="matmul", variants="serial,thread-pool", workers="2", native_threads="leave,1")
    )
    cells = plan.build_cells(config)
    assert sorted((c.variant, c.native) for c in cells) == [
        ("serial", "1"),
        ("serial", "leave"),
        ("thread-pool", "1"),
        ("thread-pool", "leave"),
    ]
    from gilbench import blocks

    groups = blocks.groups(cells)
    assert {(g.native, g.serial.native, tuple(m.native for m in g.members)) for g in groups} == {
        ("leave", "leave", ("leave",)),
        ("1", "1", ("1",)),
    }
    assert len({blocks.cell_key(c) for c in cells}) == len(cells)


def _two_settings_run(folder):
    """One run at --native-threads leave,1: `leave` as _native_rows; at 1, serial 1.3 s and the pools ~0.7 s."""
    from tests.helpers import write_run

    leave = _native_rows()
    one = []
    for r in leave:
        seconds = {"serial": 1.3, "thread-pool": 0.7, "process-pool": 0.72}[r.variant] * (1 + 0.01 * (r.repeat % 3))
        busy = 1.0 if r.variant == "serial" else 1.9
        one.append(
            replace(
                r,
                native_setting="1",
                native_limit="1",
                native_threads="openblas=1",
                total_s=seconds,
                compute_s=seconds,
                cpu_s=busy * seconds,
                busy_cores=busy,
                process_busy_cores=busy,
            )
        )
    return write_run(folder / "both", leave + one)


def test_the_answer_names_the_setting_that_beat_the_default_serial_loop(tmp_path):
    from gilbench import analysis, render, storage

    run = _two_settings_run(tmp_path)
    table = analysis.summarize(storage.load_results(run))
    limited = table[(table["native_setting"] == "1") & (table["variant"] == "thread-pool")].iloc[0]
    assert limited["across_setting"] == "leave"
    assert limited["across_low"] < 1.0 / (0.7 * 1.01) < limited["across_high"]  # leave serial 1.0 s, this ~0.707 s
    assert table[table["native_setting"] == "leave"]["across_speedup"].isna().all()
    text = render.report(run, tmp_path / "out").report_md.read_text()
    assert "## matmul - Python 3.11.7, size smoke, --native-threads 1" in text
    assert re.search(
        r"\*\*Use thread-pool x2 with native threads limited to 1 \(--native-threads\): [\d.]+x \[[\d.-]+\]\*\*, "
        r"1\.4\dx \[[\d.-]+\] over the serial loop at --native-threads leave: limit the native threads to 1 and use "
        r"thread-pool x2",
        text,
    ), text


@pytest.mark.quiet
def test_the_trace_shows_the_blas_threads_as_native_threads(tmp_path):
    from gilbench import finish, inputs, sampler

    if sampler.available() or environment.usable_cpus() < 2:
        pytest.skip(sampler.available() or "needs 2 usable CPUs")
    config = options.resolve(
        options.RunOptions(
            workloads="matmul",
            variants="serial",
            size="quick",
            out=str(tmp_path),
            native_threads="2",
            param=["rounds=8"],
        )
    )
    prepared, found = plan.prepare_inputs(config)
    cell = plan.build_cells(config, inputs.recorded(found))[0]
    rows, summary = finish.trace_cell("r1", cell, prepared["matmul"], config, 0.005)
    native = {(r.pid, r.thread_id) for r in rows if r.native}
    workers = {(r.pid, r.thread_id) for r in rows if r.worker}
    assert len(native) == 1 and not native & workers, (native, workers)  # OpenBLAS at 2: the caller and one more
    assert summary.native_threads == 1 and summary.native_running_share > 0.5  # the serial loop kept it busy


def test_the_native_threads_of_a_process_are_the_ones_python_does_not_know():
    import threading

    tids = native.native_thread_ids()
    assert threading.get_native_id() not in tids
    assert all(t.native_id not in tids for t in threading.enumerate())


def test_one_setting_keeps_the_file_names_and_several_settings_name_theirs(tmp_path):
    """The chart files' suffix: a run at one native-thread setting (under two interpreters) names no setting, as
    before --native-threads had several; a run at leave,1 names each setting, and nothing else."""
    from gilbench import analysis, charts, render, storage

    from tests.helpers import paired_block, write_run

    rows = []
    for exe, version, ft in (("/usr/bin/python3.11", "3.11.7", False), ("/usr/bin/python3.13t", "3.13.15", True)):
        same = dict(python_executable=exe, python_version=version, free_threaded=ft, gil_enabled=not ft)
        for i in range(1, 4):
            rows += paired_block(i, 2, 1.0, {"process-pool": 0.6}, workload="matmul", **same)
    one = analysis.summarize(storage.load_results(write_run(tmp_path / "one", rows)))
    assert [p.attrs["suffix"] for p in charts.groups(one)] == ["-py3.11.7-fork", "-py3.13.15t-fork"]
    both = analysis.summarize(storage.load_results(_two_settings_run(tmp_path)))
    assert [p.attrs["suffix"] for p in charts.groups(both)] == ["-native-leave", "-native-1"]
    names = {p.name for p in render.report(tmp_path / "both", tmp_path / "out").charts}
    assert {"scaling-matmul-native-leave.png", "scaling-matmul-native-1.png"} <= names, names


def test_the_terminal_names_each_setting_of_a_run_of_several_in_words(tmp_path):
    from gilbench import analysis, storage
    from gilbench.report import closing

    table = analysis.summarize(storage.load_results(_two_settings_run(tmp_path)))
    lines = closing.lines(closing.answer_findings(table))
    assert [line.split(":")[0] for line in lines] == [
        "matmul (native threads left as they were)",
        "matmul (native threads limited to 1)",
    ], lines
    one = analysis.summarize(storage.load_results(_native_run(tmp_path / "one")))
    assert [line.split(":")[0] for line in closing.lines(closing.answer_findings(one))] == ["matmul"]
    settings = [line.split()[1] for line in closing.format_table(table).splitlines()[1:]]
    assert settings == ["leave"] * 3 + ["1"] * 3, settings  # the reference setting first, as the answers


def test_the_tutorial_scripts_run_beside_the_reference_settings_blocks_only():
    from gilbench import tutorial

    assert tutorial.applies("count", 2, "leave", "leave")
    assert tutorial.applies("count", 2, "leave", "1,leave") and not tutorial.applies("count", 2, "1", "1,leave")
    assert tutorial.applies("count", 2, "2", "2,1") and not tutorial.applies("count", 2, "1", "2,1")
    assert not tutorial.applies("count", 1, "leave", "leave") and not tutorial.applies("matmul", 2, "leave", "leave")


def test_the_plan_names_a_groups_native_setting_in_the_reports_words(tmp_path):
    from gilbench import blocks, options, plan

    config = options.resolve(
        options.RunOptions(
            workloads="matmul", variants="serial,thread-pool", workers="2", native_threads="leave,1", out=str(tmp_path)
        )
    )
    labels = sorted(g.label for g in blocks.groups(plan.build_cells(config)))
    assert labels == ["matmul at 2 workers", "matmul at 2 workers with native threads limited to 1"], labels
