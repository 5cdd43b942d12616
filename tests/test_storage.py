import math
import multiprocessing
from dataclasses import fields, replace

import pytest
from gilbench import storage
from gilbench.errors import UsageError
from gilbench.storage import ResultRow, TaskRow


def make_row(**changes):
    values = {}
    for f in fields(ResultRow):
        values[f.name] = {"int": 1, "float": 0.5, "bool": True, "str": "x"}[f.type]
    values.update(workload="count", size="smoke", variant="serial", params='{"a": 1}', error="")
    values.update(changes)
    return ResultRow(**values)


def test_header_is_the_dataclass_fields(tmp_path):
    path = tmp_path / "results.csv"
    storage.append_rows(path, [], ResultRow)
    assert path.read_text().strip().split(",") == [f.name for f in fields(ResultRow)]


def test_round_trip_keeps_types_and_values(tmp_path):
    path = tmp_path / "results.csv"
    rows = [make_row(repeat=i, total_s=0.1 * (i + 1), error='has "quotes", commas') for i in range(3)]
    rows.append(make_row(ok=False, total_s=math.nan, warmup=False))
    storage.append_rows(path, rows, ResultRow)
    frame = storage.load_results(path)
    assert list(frame.columns) == storage.header(ResultRow)
    assert frame["repeat"].tolist() == [0, 1, 2, 1]
    assert frame["total_s"].iloc[:3].tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert math.isnan(frame["total_s"].iloc[3])
    assert frame["ok"].tolist() == [True, True, True, False]
    assert frame["error"].iloc[0] == 'has "quotes", commas'
    assert frame["params"].iloc[0] == '{"a": 1}'


def _append_many(path, start):
    for i in range(50):
        storage.append_rows(path, [make_row(repeat=start + i)], ResultRow)


def test_concurrent_appends_never_tear_rows(tmp_path):
    path = tmp_path / "results.csv"
    procs = [multiprocessing.get_context("fork").Process(target=_append_many, args=(path, k * 1000)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    frame = storage.load_results(path)
    assert sorted(frame["repeat"]) == sorted(k * 1000 + i for k in range(4) for i in range(50))


def test_malformed_inputs_give_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="neither a run folder nor a results CSV"):
        storage.load_results(tmp_path / "missing.csv")
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    with pytest.raises(UsageError, match="not a CSV file"):
        storage.load_results(binary)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="not a gilbench"):
        storage.load_results(other)
    partial = tmp_path / "partial.csv"
    partial.write_text("run_id,workload,total_s\nx,count,1\n")
    with pytest.raises(UsageError, match="lacks the column"):
        storage.load_results(partial)
    bad = tmp_path / "bad.csv"
    storage.append_rows(bad, [make_row()], ResultRow)
    bad.write_text(bad.read_text().replace(",0.5,", ",fast,", 1))
    with pytest.raises(UsageError, match="holds a non-number \\('fast'\\)"):
        storage.load_results(bad)


def test_task_rows(tmp_path):
    path = tmp_path / "tasks.csv"
    row = TaskRow(
        "r",
        "count",
        "smoke",
        "threading",
        2,
        1,
        2,
        False,
        1,
        0,
        "/usr/bin/python3",
        10,
        11,
        "h",
        0.0,
        1.0,
        1.0,
        0.5,
        0.5,
    )
    storage.append_rows(path, [row, replace(row, task=1)], TaskRow)
    frame = storage.load_results(path, TaskRow)
    assert frame["task"].tolist() == [0, 1]


def test_a_torn_last_line_is_dropped_with_a_one_line_warning(tmp_path, capsys):
    """What a crash mid-write leaves: the loader drops the torn row and warns; on the terminal the warning is one
    line, not a Python warning with its source."""
    from gilbench import cli

    from tests.helpers import gil_run

    run = gil_run(tmp_path / "run")
    rows = len(storage.load_results(run))
    with open(run / "results.csv", "a") as fh:
        fh.write("r1,2026-01-01,count")  # an interrupted write: no newline
    with pytest.warns(UserWarning, match="torn last line"):
        assert len(storage.load_results(run)) == rows
    assert cli.main(["plot", str(run)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("gilbench: warning: ") and "torn last line" in err
    assert "UserWarning" not in err and len(err.strip().splitlines()) == 1
