"""pytest-benchmark JSON -> gilbench run folder: same schema, same numbers."""

import json
import os
import subprocess
import sys
from dataclasses import fields

import pytest
from gilbench import cli, storage
from gilbench.storage import ResultRow

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def pytest_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("pb") / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_benchmarks.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "count-serial-1 or count-process-pool-2",
            "--benchmark-enable",
            "--benchmark-only",
            "--gilbench-rounds",
            "3",
            "--gilbench-warmup-rounds",
            "1",
            f"--benchmark-json={out}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        # a pytest of its own, not a pytest-xdist worker (pytest-benchmark disables itself inside one)
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_import_writes_the_same_schema_and_numbers(pytest_json, tmp_path):
    data = json.loads(pytest_json.read_text())
    assert len(data["benchmarks"]) == 2
    assert cli.main(["import", str(pytest_json), "--out", str(tmp_path)]) == 0
    frame = storage.load_results(tmp_path / "latest")
    assert list(frame.columns) == [f.name for f in fields(ResultRow)]
    assert len(frame) == 2 * (3 + 1) and frame["ok"].all()
    assert set(frame["variant"]) == {"serial", "process-pool"}
    for bench in data["benchmarks"]:
        info = bench["extra_info"]["gilbench"]
        assert bench["stats"]["rounds"] == 3
        mine = frame[(frame["variant"] == info["variant"]) & (frame["workers"] == info["workers"])]
        assert sorted(mine["total_s"]) == pytest.approx(sorted(r["total_s"] for r in info["rows"]))
        assert mine["warmup"].sum() == 1
        # pytest-benchmark times the whole round (child process included): never less than the cell's own time
        measured = mine[~mine["warmup"]]["total_s"]
        assert bench["stats"]["min"] >= measured.min()
    assert (tmp_path / "latest" / "report.md").exists()
    assert storage.load_tasks(tmp_path / "latest")["task"].notna().all()


def test_import_rejects_what_is_not_pytest_benchmark_json(tmp_path, capsys):
    text = tmp_path / "notes.json"
    text.write_text("not json at all")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}))
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"machine_info": {}, "benchmarks": [{"name": "test_sort", "extra_info": {}}]}))
    for path, message in (
        (text, "is not JSON"),
        (other, "is not a pytest-benchmark JSON file"),
        (foreign, "holds no gilbench benchmarks"),
        (tmp_path / "missing.json", "does not exist"),
    ):
        assert cli.main(["import", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()
