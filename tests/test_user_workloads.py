"""A user's own workload as a new user points at it: by plain name from its folder, and resumed from elsewhere."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from gilbench import registry
from gilbench.errors import UsageError

from tests.conftest import gilbench

SQUARES = (
    "SIZES = {'smoke': {'n': 10}}\n"
    "def make_tasks(params, workers): return [list(range(params['n']))[i::workers] for i in range(workers)]\n"
    "def run_task(task): return sum(x * x for x in task)\n"
    "def check(params, tasks, results): assert sum(results) == sum(x * x for x in range(params['n']))\n"
)


def test_a_plain_name_finds_the_py_file_in_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "squares.py").write_text(SQUARES)
    monkeypatch.chdir(tmp_path)
    wl = registry.resolve("squares")
    assert wl.name == "squares"
    assert wl.ref == str(tmp_path / "squares.py")
    assert wl.module.run_task([3]) == 9


def test_a_built_in_name_wins_over_a_file_of_that_name_and_says_so(tmp_path, monkeypatch):
    """The user's matmul.py is not measured under the name matmul: a warning says so and how to have it."""
    (tmp_path / "matmul.py").write_text(SQUARES)
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match=rf"matmul.py in {tmp_path} is not used \(give --workloads ./matmul.py"):
        assert registry.resolve("matmul").ref == "gilbench.workloads.matmul"
    assert registry.resolve("./matmul.py").ref == str(tmp_path / "matmul.py")


def test_a_built_in_name_with_no_file_of_that_name_warns_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert registry.resolve("count").ref == "gilbench.workloads.count"


def test_an_unknown_name_says_where_it_looked_and_what_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as raised:
        registry.resolve("solver")
    message = str(raised.value)
    assert f"no solver.py in {tmp_path}" in message
    assert "NAME for NAME.py in the current folder" in message and "dotted module name" in message


def test_a_missing_workload_file_names_the_folder_it_was_looked_for_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=f"workload file 'solver.py' does not exist in {tmp_path}$"):
        registry.resolve("solver.py")


def test_resume_from_another_folder_finds_the_workload_file(tmp_path):
    """The file is given by plain name from its folder; options.json records it absolute; --resume elsewhere works."""
    home, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / "squares.py").write_text(SQUARES)
    out = tmp_path / "runs"
    args = ["--variants", "serial", "--workers", "1", "--repeat", "1", "--warmup", "0", "--no-report"]
    started = gilbench("run", "--workloads", "squares", "--size", "smoke", "--out", out, *args, cwd=home)
    assert started.returncode == 0, started.stderr
    run_dir = (out / "latest").resolve()
    recorded = json.loads((run_dir / "options.json").read_text())
    assert recorded["workloads"] == str(home / "squares.py")
    resumed = gilbench("run", "--resume", run_dir, "--no-progress", "--no-report", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert "does not exist" not in resumed.stderr
    assert not os.path.exists(elsewhere / "squares.py")


def test_the_docs_name_every_built_in_workload_in_the_lookup_order():
    """docs/workloads.md's lookup order lists the built-ins a name is matched against first: all of them."""
    page = (Path(__file__).parent.parent / "docs" / "workloads.md").read_text()
    first = next(line for line in page.splitlines() if line.startswith("1. a built-in workload"))
    assert all(f"`{name}`" in first for name in registry.BUILTIN), first
