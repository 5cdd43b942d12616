"""What a new user hit (issue 16, the parts done so far): exit codes through a pipe, parameter ranges,
one-line warnings, compare's labels, and fits that describe nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gilbench import cli, registry, render
from gilbench.errors import UsageError

from tests.conftest import FIXTURES, ROOT
from tests.helpers import gil_run, row, write_run


def test_a_failed_run_piped_into_head_still_exits_non_zero(tmp_path, no_stray_cells):
    command = (
        f"set -o pipefail; '{sys.executable}' -m gilbench run --workloads '{FIXTURES / 'faulty.py'}' "
        f"--variants serial --repeat 1 --size smoke --param fault=raise --no-progress --out '{tmp_path}' | head -1"
    )
    proc = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"GILBENCH_TEST_MARKER": no_stray_cells, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1, proc.stderr  # every repetition failed: the closed pipe must not hide that
    assert "repetition(s) failed" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "text,message",
    [
        ("-5", "out of range (accepted: a whole number >= 1)"),
        ("0", "out of range (accepted: a whole number >= 1)"),
        ("1.5", "out of range"),
        ("many", "is not a whole number (accepted: a whole number >= 1)"),
    ],
)
def test_counts_are_validated_by_range(text, message):
    count = registry.resolve("count")
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        count.params("smoke", {"iterations": text})


def test_zero_stays_valid_where_a_profile_uses_it():
    assert registry.resolve("count").params("smoke", {"tasks": "0"})["tasks"] == 0  # 0 = one task per worker
    with pytest.raises(UsageError, match=r"accepted: a whole number >= 0, 0 meaning automatic"):
        registry.resolve("count").params("smoke", {"tasks": "-1"})
    with pytest.raises(UsageError, match="accepted: a number > 0"):
        registry.resolve("sleep").params("smoke", {"delay_s": "0"})


def test_a_torn_last_line_is_one_line_on_the_terminal(tmp_path, capsys):
    run = gil_run(tmp_path / "run")
    with open(run / "results.csv", "a") as fh:
        fh.write("r1,2026-01-01,count")  # an interrupted write: no newline
    assert cli.main(["plot", str(run)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("gilbench: warning: ") and "torn last line" in err
    assert "UserWarning" not in err and len(err.strip().splitlines()) == 1


def test_compare_keeps_the_order_given_and_labels_what_tells_runs_apart(tmp_path):
    a = gil_run(tmp_path / "a")
    b = gil_run(tmp_path / "b")
    for folder, run_id in ((a, "run-A"), (b, "run-B")):  # same host, same Python: only the run tells them apart
        text = (folder / "results.csv").read_text().replace("r1,", f"{run_id},")
        (folder / "results.csv").write_text(text)
    paths = render.compare([b, a], tmp_path / "cmp")
    table = __import__("pandas").read_csv(paths[0])
    assert table["base"].nunique() == 1 and table["base"].iloc[0].startswith("hostA, Python 3.11.7 (GIL on), run run-B")
    assert "run run-B" in table["base"].iloc[0] and "run run-A" in table["run"].iloc[0]  # the first given is the base
    assert "#1" not in " ".join(table["run"]) + " ".join(table["base"])


def test_an_amdahl_fit_that_describes_nothing_is_not_quoted(tmp_path):
    rows = [row("serial", 1, 2.0, repeat=r, usable_cpus=8) for r in (1, 2, 3)]
    for r in (1, 2, 3):  # a curve that rises and falls: Amdahl's law cannot describe it (8 CPUs: all fitted)
        rows += [
            row("threading", 1, 1.0, repeat=r, usable_cpus=8),
            row("threading", 2, 2.0, repeat=r, usable_cpus=8),
            row("threading", 4, 0.9, repeat=r, usable_cpus=8),
        ]
    run = write_run(tmp_path / "run", rows)
    render.report(run)
    text = (run / "report.md").read_text()
    assert "neither Amdahl's law nor the USL describes this curve" in text
    assert "Amdahl fit: serial fraction p = 0." not in text


def test_a_photo_with_exif_orientation_6_is_thumbnailed_upright(tmp_path):
    """A 100x50 landscape-stored JPEG with EXIF orientation 6 (rotate 90 degrees) is a portrait photo: its
    thumbnail must be taller than wide, as every real thumbnailer makes it."""
    from gilbench.workloads import thumbnail
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    Image.new("RGB", (100, 50), (200, 30, 30)).save(tmp_path / "portrait.jpg", exif=exif)
    out = thumbnail.run_task((str(tmp_path / "portrait.jpg"), str(tmp_path / "thumb.jpg")))
    with Image.open(out) as thumb:
        assert thumb.size == (25, 50)  # before: 50x25, lying on its side
    assert "EXIF orientation" in thumbnail.DESCRIPTION


def test_run_lists_only_the_charts_it_drew(tmp_path, no_stray_cells):
    """A timeline needs threads and processes at one worker count: without processes none is drawn, and the
    closing lines name the files that exist, not a pattern that promises a timeline."""
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
