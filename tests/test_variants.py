import os
from dataclasses import replace

import pytest
from gilbench import cell, variants
from gilbench.protocol import CellResult, CellSpec, ProtocolError

REF = "gilbench.workloads.count"


# dask and joblib start helper processes (a cluster, loky's resource tracker) that outlive a call made
# in this very process; they are exercised through the CLI, in a cell, in tests/test_distributed.py.
IN_PROCESS = [v for v in variants.VARIANTS if v not in ("dask", "joblib")]


@pytest.mark.parametrize("variant", IN_PROCESS)
@pytest.mark.parametrize("workers", [1, 2])
def test_every_variant_runs_every_task_once(variant, workers):
    why = variants.local_availability()[variant]
    if why:
        pytest.skip(f"{variant}: {why}")
    tasks = [1000, 2000, 3000, 4000]
    ex = variants.VARIANTS[variant].runner(REF, tasks, workers, "fork")
    assert ex.results == tasks
    assert sorted(r.task for r in ex.records) == [0, 1, 2, 3]
    assert ex.t0 <= ex.first_start <= ex.last_result <= ex.t_end
    for rec in ex.records:
        assert ex.t0 <= rec.start_s <= rec.end_s <= ex.t_end  # one clock, across processes
        assert rec.cpu_s >= 0 and rec.peak_rss_kb > 0
    pids = {r.pid for r in ex.records}
    if variants.VARIANTS[variant].family == "processes":
        expected = len(tasks) if variant == "process-per-task" else workers  # one process per task, by design
        assert os.getpid() not in pids
        if variant == "process-pool":  # the pool's first ready worker may take every tiny task before the others
            assert 1 <= len(pids) <= expected  # are up (seen on a busy machine)
        else:
            assert len(pids) == expected
    else:
        assert pids == {os.getpid()}
    if variant in ("threading", "multiprocessing"):  # static slices: worker k runs tasks of slice k
        workers_of = {}
        for rec in ex.records:
            workers_of.setdefault((rec.pid, rec.thread_id), []).append(rec.task)
        assert sorted(workers_of.values()) == [list(s) for s in variants.static_slices(4, workers)]


def test_static_slices_cover_every_task_once():
    assert [list(s) for s in variants.static_slices(5, 2)] == [[0, 1, 2], [3, 4]]
    assert [list(s) for s in variants.static_slices(2, 3)] == [[0], [1], []]


def test_chunksize_rule():
    assert variants.chunksize_for(2, 2) == 1
    assert variants.chunksize_for(100, 2) == 13


def spec(tmp_path, variant="serial", workers=2, iterations=1000):
    return CellSpec(
        workload_ref=REF,
        params={"iterations": iterations, "tasks": 0},
        variant=variant,
        workers=workers,
        start_method="fork",
        scratch_dir=str(tmp_path),
    )


def test_cell_result_fields_are_consistent(tmp_path):
    result = cell.run_cell(spec(tmp_path, "threading"))
    assert result.ok and result.tasks == 2
    assert result.total_s == pytest.approx(result.startup_s + result.compute_s)
    assert result.compute_s > 0 and result.cpu_s > 0 and result.peak_rss_mb > 1
    assert len(result.task_records) == 2
    result = replace(result, wall_started=1.0)  # (NaN, the unset default, never equals itself)
    assert CellResult.from_json(result.to_json()) == result  # the message survives its trip as JSON


def test_the_cell_message_is_strict_and_versioned(tmp_path):
    text = spec(tmp_path).to_json()
    assert CellSpec.from_json(text) == spec(tmp_path)
    with pytest.raises(ProtocolError, match="unknown field"):
        CellSpec.from_json(text.replace('"variant"', '"variannt"'))
    with pytest.raises(ProtocolError, match="version 99"):
        CellResult.from_json(replace(CellResult.failed("x"), version=99).to_json())
    failed = CellResult.from_json(CellResult.failed("boom").to_json())
    assert not failed.ok and failed.error == "boom" and failed.total_s != failed.total_s  # NaN: no timing


def test_a_variant_that_skips_work_is_caught(tmp_path, monkeypatch):
    real = variants.VARIANTS["serial"].runner

    def lazy(ref, tasks, workers, method):  # "runs" only the first task
        return real(ref, tasks[:1], workers, method)

    monkeypatch.setitem(variants.VARIANTS, "serial", replace(variants.VARIANTS["serial"], runner=lazy))
    with pytest.raises(ValueError, match="1 of 2 tasks reported back"):
        cell.run_cell(spec(tmp_path))


def test_a_variant_that_returns_wrong_results_is_caught(tmp_path, monkeypatch):
    real = variants.VARIANTS["serial"].runner

    def wrong(ref, tasks, workers, method):
        ex = real(ref, tasks, workers, method)
        ex.results[0] -= 1
        return ex

    monkeypatch.setitem(variants.VARIANTS, "serial", replace(variants.VARIANTS["serial"], runner=wrong))
    with pytest.raises(ValueError, match="counted 999 iterations, expected 1000"):
        cell.run_cell(spec(tmp_path))
