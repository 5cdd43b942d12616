"""compare: which runs it puts side by side, in which order, and how it names them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from gilbench import charts, environment, render
from gilbench.cli import main as cli_main

from tests.helpers import gil_run, row, write_run

AMD, INTEL = "AMD EPYC 7B13", "Intel(R) Xeon(R) Processor"


def test_compare_keeps_the_order_given_and_labels_what_tells_runs_apart(tmp_path):
    a = gil_run(tmp_path / "a")
    b = gil_run(tmp_path / "b")
    for folder, run_id in ((a, "run-A"), (b, "run-B")):  # same host, same Python: only the run tells them apart
        text = (folder / "results.csv").read_text().replace("r1,", f"{run_id},")
        (folder / "results.csv").write_text(text)
    paths = render.compare([b, a], tmp_path / "cmp")
    table = pd.read_csv(paths[0])
    assert table["base"].nunique() == 1 and table["base"].iloc[0].startswith("run run-B")
    assert "run run-A" in table["run"].iloc[0]  # the first given is the base
    assert "hostA" not in table["base"].iloc[0]  # what the runs share names neither
    said = (tmp_path / "cmp" / "compare.md").read_text()
    assert "## run run-B" in said and "(base) -> run run-A" in said  # in the order the command took them
    assert "environments are alike" in said


def _run(folder, cpu, workloads=("count",), run_id="r1", **changes):
    """Serial 1 s and processes at 2 workers 0.55 s, per workload, on a CPU of the model given."""
    rows = [
        row(variant, n, t * (1 + 0.01 * r), r, workload=w, cpu_model=cpu, run_id=run_id, **changes)
        for w in workloads
        for r in (1, 2, 3, 4, 5)
        for variant, n, t in (("serial", 1, 1.0), ("process-pool", 2, 0.55))
    ]
    return write_run(folder, rows)


def test_compare_of_two_cpu_models_says_so_first(tmp_path, capsys):
    a = _run(tmp_path / "a", AMD)
    b = _run(tmp_path / "b", INTEL, run_id="r2")
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    terminal = capsys.readouterr().out.splitlines()
    # the heading names each run by its CPU, the base (given first) first; then what differs, before any verdict
    assert terminal[0] == f"{AMD} (base) -> {INTEL}:", terminal[:2]
    assert f"CPU model: {AMD} vs {INTEL}" in terminal[1] and "compares the machines, not the code" in terminal[1]
    assert "of 2 cells" in terminal[2] and not any("of 2 cells" in line for line in terminal[:2])
    markdown = (tmp_path / "cmp" / "compare.md").read_text()
    section = markdown.split(f"## {AMD} (base) -> {INTEL}\n")[1].strip().splitlines()
    assert f"CPU model: {AMD} vs {INTEL}" in section[0] and "compares the machines" in section[0]
    assert "cells" in section[2]  # the verdicts' summary comes after


def test_compare_names_interpreters_packages_and_native_threads_that_differ(tmp_path, capsys):
    a = _run(tmp_path / "a", AMD, packages="numpy=2.4.6;pandas=3.1.1", native_threads="openblas=2")
    b = _run(
        tmp_path / "b",
        AMD,
        run_id="r2",
        packages="numpy=2.3.0;pandas=3.1.1",
        native_threads="openblas=1",
        python_version="3.13.15",
        free_threaded=True,
        gil_enabled=False,
        python_executable="/opt/py/bin/python3.13t",
    )
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    first = capsys.readouterr().out.splitlines()
    assert first[0] == "Python 3.11.7 (GIL on) (base) -> Python 3.13.15t (GIL off):", first[0]
    said = first[1]
    assert "interpreter: Python 3.11.7 (GIL on) vs Python 3.13.15t (GIL off)" in said
    assert "packages: numpy=2.4.6 vs numpy=2.3.0" in said and "pandas" not in said  # only what differs
    assert "native threads: pools openblas=2 vs pools openblas=1" in said and "CPU model" not in said
    assert "compares the interpreters, the packages' versions and the native thread pools' settings" in said


def test_run_differences_compare_the_interpreters_builds_where_both_were_recorded():
    build = {"version": "3.13.5", "configure_args": "'--enable-optimizations'", "compiler": "GCC 12"}
    side = {"CPU model": AMD, "build": build, "packages": "numpy=2.4.6"}
    other = dict(side, build=dict(build, compiler="Clang 18"), packages="numpy=2.4.6;dask=2026.8.0")
    assert environment.run_differences(side, other) == [
        ("interpreter build: compiler", "GCC 12", "Clang 18"),
        ("packages", "dask=absent", "dask=2026.8.0"),
    ]
    unknown = dict(side, build={"version": "3.13.5"})  # an older run recorded no build: nothing said of it
    assert environment.run_differences(side, unknown) == []


def test_compare_chart_draws_only_the_workloads_both_runs_measured_in_rows(tmp_path):
    a = _run(tmp_path / "a", AMD, workloads=("count", "hashing", "sleep", "mandelbrot", "thumbnail"))
    b = _run(tmp_path / "b", INTEL, workloads=("count", "hashing", "mandelbrot", "thumbnail", "other"), run_id="r2")
    with charts.collect() as found:
        render.compare([a, b], tmp_path / "cmp")
    fig = found["compare"]
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert sorted(titles) == ["count", "hashing", "mandelbrot", "thumbnail"]  # sleep and other: one run only
    assert fig.get_figwidth() <= charts.COMPARE_PANEL_IN[0] * charts.COMPARE_COLUMNS + charts.COMPARE_LEGEND_WIDTH
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes if ax.get_visible() and ax.get_title()}
    assert len(rows) == 2  # four panels wrap into two rows


def test_compare_with_nothing_in_common_says_why(tmp_path, capsys):
    a = _run(tmp_path / "a", AMD, params=json.dumps({"iterations": 15}))
    b = _run(tmp_path / "b", AMD, params=json.dumps({"iterations": 68}), run_id="r2")
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no cell in common" in err[0] and "15" in err[0] and "68" in err[0], err


@pytest.mark.parametrize("aspect", ["CPU model", "interpreter", "start method"])
def test_every_aspect_compare_reports_names_what_a_verdict_then_compares(aspect):
    from gilbench.report.compare import environment_words

    text = environment_words([(aspect, "x", "y")])
    assert text.startswith(f"What differs (the base first): {aspect}: x vs y") and "verdict compares" in text


def test_a_setting_that_found_no_native_pool_reads_as_the_setting_alone():
    """A run that found no native pool ('none') and an older run that recorded none set the same thing: compare
    must not call that a difference of native threads on every cell."""
    import pandas as pd
    from gilbench import analysis

    found_none = pd.DataFrame({"native_limit": ["leave"], "native_threads": ["none"]})
    older = pd.DataFrame({"native_limit": ["leave"]})
    limited = pd.DataFrame({"native_limit": ["1"], "native_threads": ["openblas=1"]})
    assert analysis.native_setting(found_none) == analysis.native_setting(older) == "leave"
    assert analysis.native_setting(limited) == "1 (openblas=1)"


def test_a_run_that_found_no_native_pool_and_one_that_recorded_none_do_not_differ_in_native_threads(tmp_path, capsys):
    """The committed reference (no pools recorded) against a new run whose workers found none ('none'): the same
    setting. compare's first line must not list native threads among what differs, nor say verdicts compare them."""
    a = _run(tmp_path / "a", AMD, native_threads="", native_limit="leave")
    b = _run(tmp_path / "b", INTEL, run_id="r2", native_threads="none", native_limit="leave")
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    said = capsys.readouterr().out.splitlines()[1]
    assert f"CPU model: {AMD} vs {INTEL}" in said
    assert "native threads" not in said and "pools none" not in said, said
