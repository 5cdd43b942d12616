"""Charts, the report and compare, built from synthetic CSVs with known numbers."""

import shutil

import matplotlib
import pytest
from gilbench import analysis, charts, cli, render, storage
from PIL import Image

from tests.helpers import gil_run, row, write_run

matplotlib.use("Agg")


def test_plot_writes_valid_images_of_the_expected_size(tmp_path):
    run = gil_run(tmp_path / "run")
    _, written = render.plot(run)
    pngs = [p for paths in written.values() for p in paths if p.suffix == ".png"]
    names = {p.name for p in pngs}
    assert {"overview.png", "scaling-count.png", "speedup-count.png", "timeline-count.png"} <= names
    for path in pngs:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert img.width >= 600 and img.height >= 200, (path.name, img.size)
    assert (run / "overview.svg").read_text().lstrip().startswith("<?xml")
    assert (run / storage.SUMMARY).exists()


def test_speedup_chart_has_one_line_per_variant():
    import matplotlib.pyplot as plt

    table = analysis.summarize(storage.load_results(gil_run(_tmp() / "run")))
    fig, ax = plt.subplots()
    charts.draw_speedup(ax, table)
    labels = ax.get_legend_handles_labels()[1]
    assert len(ax.containers) == 4  # one error-bar line per variant
    assert sorted(labels) == sorted(
        ["ideal (linear)", "machine ceiling (measured)", "threading", "thread-pool", "multiprocessing", "process-pool"]
    )  # no fit drawn: see below
    # two worker counts on 2 CPUs: too few points for any law (Amdahl's needs 3), so none is drawn or quoted
    assert (table[~table["variant"].isin(["serial", "ceiling"])]["law"] == "none").all()
    assert [int(t) for t in ax.get_xticks()] == [1, 2]  # the worker counts measured
    plt.close(fig)


def _tmp():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp())


def test_report_quotes_the_measured_numbers(tmp_path):
    run = gil_run(tmp_path / "run")
    render.report(run)
    text = (run / "report.md").read_text()
    assert "**process-pool**: 1.90x [1.90-1.90] at 2 workers, 1.90 busy cores" in text
    assert "**threading**: 0.99x [0.99-0.99] at 2 workers, 1.00 busy cores" in text
    assert "took turns" in text and "The GIL is visible here" in text
    assert "**process-pool** reached 95.2 % of the measured ceiling" in text
    assert (
        "**Use multiprocessing x2: 1.90x [1.90-1.90]** (tied within the intervals with process-pool x2); threads "
        "cannot overlap here" in text
    )  # the answer first: one variant, its interval, the one reason
    html = (run / "report.html").read_text()
    assert "data:image/png;base64," in html and "1.90x" in html


def _said(run) -> set[tuple[str, str]]:
    """(variant, rule id) of every finding on the variants' lines of a run's report (the summary with tasks.csv's
    columns joined, as the report reads it)."""
    from gilbench.report.budget import group
    from gilbench.report.workload import variant_found

    table = render.analyse(run).table
    return {(f.subject, f.rule) for _, found in variant_found(group(table)) for f in found}


def test_report_findings_follow_the_data(tmp_path):
    """The same shape of run under the GIL and free-threaded: the threads' findings differ."""
    assert ("threading", "gil-turns") in _said(gil_run(tmp_path / "gil"))
    free = _said(gil_run(tmp_path / "ft", gil=False))
    assert ("threading", "no-gil") in free and ("threading", "gil-turns") not in free, free


def test_report_names_contention_when_cpu_time_grows(tmp_path):
    from tests.helpers import paired_block, row

    rows = []
    for r, wobble in enumerate((1.0, 1.02, 0.98), 1):  # paired blocks: the CPU inflation gets an interval
        # two threads, both busy, but 1.5x the CPU for the same work: 1.33x instead of 2x
        rows += paired_block(r, 1, 2.0, {"thread-pool": 2.0}, gil_enabled=False, free_threaded=True)
        rows += [
            row("serial", 1, 2.0, r, block_workers=2, gil_enabled=False, free_threaded=True),
            row(
                "thread-pool",
                2,
                1.5 * wobble,
                r,
                busy=2.0 / wobble,
                block_workers=2,
                gil_enabled=False,
                free_threaded=True,
            ),
        ]
    assert ("thread-pool", "contention") in _said(write_run(tmp_path / "ft", rows))


def test_report_flags_a_speedup_above_linear(tmp_path):
    from tests.helpers import row

    rows = []
    for r in (1, 2, 3):
        rows.append(row("serial", 1, 2.4, r))  # a baseline measured in a slow spell
        rows.append(row("process-pool", 1, 2.0, r))
        rows.append(row("process-pool", 2, 1.0, r, busy=2.0))
    assert ("process-pool", "above-linear") in _said(write_run(tmp_path / "r", rows))


def test_compare_two_hosts(tmp_path):
    a = gil_run(tmp_path / "a", host="laptop")
    b = gil_run(tmp_path / "b", host="server", usable=16)
    paths = render.compare([a, b], tmp_path / "cmp")
    text = paths[0].read_text()
    assert "laptop" in text and "server" in text and "time_ratio" in text and "verdict" in text
    assert "laptop" in paths[1].read_text() and "server" in paths[1].read_text()  # speedups side by side
    with Image.open(tmp_path / "cmp" / "compare.png") as img:
        assert img.width > 600


def test_missing_baseline_draws_what_it_can(tmp_path, capsys):
    run = write_run(tmp_path / "r", [row("threading", 1, 1.0), row("threading", 2, 1.0, busy=1.0)])
    assert cli.main(["report", str(run)]) == 0
    assert "No serial baseline" in (run / "report.md").read_text()


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "nope.csv", "no such file"),
        (lambda d: (d / "x.csv").write_bytes(b"\x89PNG\0\0\0") and d / "x.csv", "not a CSV file"),
        (lambda d: (d / "y.csv").write_text("workload,total_s\ncount,1\n") and d / "y.csv", "lacks the column"),
    ],
)
def test_plot_report_reject_bad_input_without_writing(tmp_path, capsys, make, message):
    target = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    for command in ("plot", "report"):
        assert cli.main([command, str(target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("gilbench: error:") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_failed_report_keeps_previous_outputs(tmp_path):
    run = gil_run(tmp_path / "run")
    render.report(run)
    before = (run / "report.md").read_text()
    shutil.copy(run / "results.csv", tmp_path / "good.csv")
    (run / "results.csv").write_text("garbage,no,header\n")
    assert cli.main(["report", str(run)]) == 2
    assert (run / "report.md").read_text() == before


def _timed_run(folder, host, serial_times, pool_times):
    rows = [row("serial", 1, t, repeat=i + 1, host=host) for i, t in enumerate(serial_times)]
    rows += [row("process-pool", 2, t, repeat=i + 1, host=host, busy=1.9) for i, t in enumerate(pool_times)]
    return write_run(folder, rows)


def test_compare_gives_a_verdict_per_cell(tmp_path, capsys):
    quiet = [1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01]
    a = _timed_run(tmp_path / "a", "laptop", quiet, [0.55, 0.56, 0.54, 0.55, 0.57, 0.55, 0.56])
    # serial: the same times within noise; process-pool: clearly slower (0.80 s against 0.55 s)
    b = _timed_run(
        tmp_path / "b", "server", [1.01, 0.99, 1.00, 1.02, 0.98, 1.00, 0.99], [0.80, 0.81, 0.79, 0.80, 0.82, 0.80, 0.81]
    )
    assert cli.main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    table = __import__("pandas").read_csv(tmp_path / "cmp" / "compare.csv")
    verdicts = dict(zip(table["variant"], table["verdict"], strict=True))
    assert verdicts == {"serial": "~", "process-pool": "-"}
    assert (
        "1 slower, 1 no clear difference" in out
        and "no clear difference" in (tmp_path / "cmp" / "compare.md").read_text()
    )
    pool = table[table["variant"] == "process-pool"].iloc[0]
    assert pool["ratio_low"] > 1 and pool["time_ratio"] == pytest.approx(0.80 / 0.55, rel=1e-3)


def test_compare_verdict_rules():
    assert analysis.verdict(0.80, 0.95) == "+" and analysis.verdict(1.02, 1.3) == "-"
    assert analysis.verdict(0.9, 1.1) == "~" and analysis.verdict(float("nan"), 1.0) == "~"
    assert analysis.verdict(1.2, 1.5, coverage=0.25) == "~"  # two repetitions each: no verdict at all


def test_compare_with_nothing_in_common_fails(tmp_path, capsys):
    a = _timed_run(tmp_path / "a", "laptop", [1.0, 1.1, 0.9], [0.5, 0.6, 0.55])
    b = write_run(
        tmp_path / "b",
        [
            row("serial", 1, 1.0, host="server", workload="mandelbrot"),
            row("process-pool", 2, 0.5, host="server", workload="mandelbrot"),
        ],
    )
    assert cli.main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 2
    assert "no cell in common" in capsys.readouterr().err


def test_state_chart_leaves_out_a_traced_cell_whose_workers_the_sampler_never_saw(tmp_path):
    """A cell shorter than a few of the sampler's readings can end before any worker thread is read (smoke size):
    its panel is left out, the others are drawn; with no worker seen anywhere there is no state chart at all."""
    import pandas as pd

    summary = pd.DataFrame(
        [
            {
                "variant": v,
                "workers": 2,
                "unavailable": "",
                "switch_interval_s": 0.005,
                "interval_s": 0.001,
                "sampler_cpu_share": 0.2,
                "running_share": 0.5,
                "waiting_share": 0.0,
                "blocked_share": 0.5,
                "handoffs_per_s": 200.0,
            }
            for v in ("threading", "multiprocessing")
        ]
    )
    rows = [
        {
            "variant": "threading",
            "workers": 2,
            "pid": 10,
            "thread_id": tid,
            "worker": True,
            "state": state,
            "start_s": 0.001 * k,
            "end_s": 0.001 * (k + 1),
        }
        for tid in (11, 12)
        for k, state in enumerate(["running", "blocked"] * 5)
    ]
    rows.append(
        {
            "variant": "multiprocessing",
            "workers": 2,
            "pid": 20,
            "thread_id": 20,
            "worker": False,
            "state": "blocked",
            "start_s": 0.0,
            "end_s": 0.01,
        }
    )  # the cell's main thread only
    trace = pd.DataFrame(rows)
    assert charts.pick_states(summary, 2) == [("threading", 2), ("multiprocessing", 2)]
    paths = charts.chart_states(summary, trace, tmp_path, "count", "count", 2)
    assert [p.name for p in paths if p.suffix == ".png"] == ["states-count.png"]
    with charts.collect() as figures:
        charts.chart_states(summary, trace, tmp_path, "count", "count", 2)
    titles = [ax.get_title(loc="left") for ax in figures["states-count"].axes]
    assert len(titles) == 1 and titles[0].startswith("threading, 2 workers")
    unseen = trace[trace["variant"] == "threading"].assign(worker=False)
    assert (
        charts.chart_states(summary, pd.concat([unseen, trace.iloc[-1:]]), tmp_path / "none", "count", "count", 2) == []
    )


CHARTS_LEAVE_MATPLOTLIB_ALONE = """
import sys
import matplotlib
matplotlib.rcParams.update({"font.size": 13.0, "axes.grid": False, "svg.fonttype": "path"})
# every setting but the backend: reading rcParams["backend"] would make matplotlib import pyplot to resolve it
keys = [k for k in matplotlib.rcParams if k != "backend"]
before = {k: matplotlib.rcParams[k] for k in keys}
from gilbench import render
render.plot(sys.argv[1])
figures = render.figures(render.analyse(sys.argv[1]))
assert figures and all(f.axes for f in figures.values())
changed = {k: (v, matplotlib.rcParams[k]) for k, v in before.items() if str(matplotlib.rcParams[k]) != str(v)}
assert not changed, changed
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported: the user's backend chosen for them"
print("untouched")
"""


def test_charts_leave_the_users_matplotlib_alone(tmp_path):
    """Drawing and saving charts changes no rcParams and chooses no backend (no pyplot outside a notebook):
    gilbench's look is applied only while it draws."""
    import subprocess
    import sys

    run = gil_run(tmp_path / "run")
    done = subprocess.run(
        [sys.executable, "-c", CHARTS_LEAVE_MATPLOTLIB_ALONE, str(run)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "untouched", done.stderr
    svg = (run / "overview.svg").read_text()
    assert "<text" in svg  # drawn in gilbench's style (svg.fonttype none: text stays text), not the user's "path"


def test_run_lists_only_the_charts_it_drew(tmp_path, no_stray_cells):
    """A timeline needs threads and processes at one worker count: without processes none is drawn, and the
    closing lines name the files that exist, not a pattern that promises a timeline."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gilbench",
            "run",
            "--workloads",
            "count",
            "--variants",
            "serial,threading",
            "--workers",
            "2",
            "--size",
            "smoke",
            "--repeat",
            "1",
            "--no-progress",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=dict(__import__("os").environ, GILBENCH_TEST_MARKER=no_stray_cells),
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("charts:"))
    named = [n.strip() for n in line.split("/")[-1].split(",")]
    assert "*" not in line and named and all((tmp_path / "latest" / n).exists() for n in named)
    assert "speedup-count.png" in named and not any(n.startswith("timeline") for n in named)


def _many_tasks_run(folder, workers, tasks_per_worker, share):
    """A run whose threading and multiprocessing cells at `workers` have workers x tasks_per_worker tasks each."""
    from gilbench.storage import TaskRow

    from tests.helpers import row, write_run

    rows, tasks = [], []
    for r in (1, 2, 3):
        rows.append(row("serial", 1, 2.0, r))
        rows += [row(v, workers, 1.0, r) for v in ("threading", "multiprocessing")]
    for v, base in (("threading", 1000), ("multiprocessing", 5000)):
        for w in range(workers):
            for k in range(tasks_per_worker):
                start = k * 0.01
                tasks.append(
                    TaskRow(
                        "r1",
                        "count",
                        "smoke",
                        v,
                        workers,
                        1,
                        0,
                        False,
                        1,
                        w * tasks_per_worker + k,
                        "/usr/bin/python3",
                        base + (0 if v == "threading" else w),
                        100 + w if v == "threading" else 100,
                        "hostA",
                        start,
                        start + 0.01,
                        0.01,
                        0.01 * share,
                        share,
                    )
                )
    return write_run(folder, rows, tasks)


@pytest.mark.parametrize("workers,per_worker", [(2, 1000), (200, 2)])
def test_timeline_stays_readable_with_many_tasks_or_workers(tmp_path, workers, per_worker):
    """2,000 tasks on 2 workers, or 200 workers: a heat map (time bins x at most 32 rows), coloured from the colour
    bar (the tasks' CPU share, 0.5 here), not near-white bars; the file is drawn and listed."""
    from gilbench import charts, render

    run = _many_tasks_run(tmp_path / "run", workers, per_worker, 0.5)
    a = render.analyse(run)
    with charts.collect() as figures:
        render.draw(a)
    fig = figures["timeline-count"]
    heat = [ax for ax in fig.axes if ax.images]
    assert len(heat) == 2  # threading and multiprocessing, each a heat map
    for ax in heat:
        values = ax.images[0].get_array()
        assert values.shape[0] <= charts.MAX_LANES
        assert abs(float(values.mean()) - 0.5) < 0.01  # the colour of a CPU share of 0.5, on the colour bar
        assert "tasks on" in ax.get_title()
    _, written = render.plot(run)
    assert (run / "timeline-count.png").exists() and run / "timeline-count.png" in written["count"]
