"""The rules that read tasks.csv (bench/report/balance.py): the GIL named only where threads were there and waiting,
uneven work as its own finding, and a ceiling quoted only where it is one. Synthetic task rows first, then a real
run on a folder of very uneven images."""

from __future__ import annotations

import math
import re

import matplotlib
import pytest
from gilbench import charts, render, storage
from gilbench.report import balance, findings
from gilbench.report.budget import group
from gilbench.report.rules import GIL_WAIT_SHARE, UNEVEN_BUSY
from gilbench.report.workload import variant_found
from PIL import Image

from tests.conftest import gilbench
from tests.helpers import row, task, write_run

matplotlib.use("Agg")

SERIAL_S = 2.0
REPEATS = (1, 2, 3)


def uneven_threads(repeat: int) -> list:
    """Static slices of very uneven tasks: one thread ran the long task alone, the other was done at once."""
    return [
        task("threading", 2, 0, (10, 100), 0.0, 1.9, cpu=1.88, repeat=repeat),
        task("threading", 2, 1, (10, 101), 0.0, 0.05, repeat=repeat),
    ]


def waiting_threads(repeat: int) -> list:
    """Two threads alive the whole time, each running half of it: they took turns."""
    return [
        task("threading", 2, 0, (10, 100), 0.0, 2.0, cpu=1.0, repeat=repeat),
        task("threading", 2, 1, (10, 101), 0.0, 2.0, cpu=1.0, repeat=repeat),
    ]


def uneven_ceiling(repeat: int) -> list:
    return [
        task("ceiling", 2, 0, (20, 200), 0.0, 1.9, repeat=repeat),
        task("ceiling", 2, 1, (21, 210), 0.0, 0.05, repeat=repeat),
    ]


def even_ceiling(repeat: int) -> list:
    return [
        task("ceiling", 2, 0, (20, 200), 0.0, 1.33, repeat=repeat),
        task("ceiling", 2, 1, (21, 210), 0.0, 1.3, repeat=repeat),
    ]


def serial_tasks(costs):
    """The serial cell's tasks, one after another: each task's work is its time here."""

    def make(repeat):
        starts = [sum(costs[:i]) for i in range(len(costs))]
        return [
            task("serial", 1, i, (1, 1), t, t + c, repeat=repeat)
            for i, (t, c) in enumerate(zip(starts, costs, strict=True))
        ]

    return make


UNEVEN_COSTS = (1.9, 0.05)  # task 0 is long, task 1 short: static slices of 2 give one worker all the work


def run(folder, threads=None, ceiling=None, threading_s=1.96, ceiling_s=1.9, pool_s=1.05, costs=UNEVEN_COSTS):
    """serial 2 s; threading x2 near 1x with 1 busy core; thread-pool x2 and processes x2 at `pool_s`; the ceiling x2
    at `ceiling_s`; tasks.csv from the given makers and the serial cell's tasks of `costs` (no makers: no
    tasks.csv)."""
    rows = []
    for r in REPEATS:
        wobble = 1 + 0.01 * (r - 2)  # intervals of some width
        rows.append(row("serial", 1, SERIAL_S * wobble, r))
        rows.append(row("threading", 2, threading_s * wobble, r, busy=1.0))
        rows.append(row("thread-pool", 2, pool_s * wobble, r, busy=1.9))
        rows.append(row("process-pool", 2, pool_s * wobble, r, busy=1.9, startup=0.02))
        rows.append(row("ceiling", 2, ceiling_s * wobble, r, busy=SERIAL_S / ceiling_s))
    makers = [m for m in (threads, ceiling) if m]
    tasks = [t for r in REPEATS for make in (*makers, serial_tasks(costs)) for t in make(r)] if makers else []
    return write_run(folder, rows, tasks)


def said(table) -> set[tuple[str, str]]:
    return {(f.subject, f.rule) for _, found in variant_found(group(table)) for f in found}


def test_uneven_static_slices_are_uneven_work_not_the_gil(tmp_path):
    table = render.analyse(run(tmp_path / "run", threads=uneven_threads)).table
    threading = table[table["variant"] == "threading"].iloc[0]
    assert threading["task_cpu_share"] > GIL_WAIT_SHARE and threading["least_busy_share"] < UNEVEN_BUSY, threading
    assert threading["least_work_share"] == pytest.approx(2 * 0.05 / 1.95), threading  # its slice, by serial times
    found = said(table)
    assert ("threading", "uneven-work") in found and ("threading", "gil-turns") not in found, found
    g = group(table)
    contrast, answer = findings.gil_contrast(g), findings.answer(g)
    assert contrast is None or contrast.rule != "gil-visible", contrast
    assert answer is not None and (
        answer.facts["reason"] is None or answer.facts["reason"].rule != "threads-cannot-overlap"
    )


def test_threads_that_were_there_and_waiting_took_turns(tmp_path):
    table = render.analyse(run(tmp_path / "run", threads=waiting_threads)).table
    found = said(table)
    assert ("threading", "gil-turns") in found and ("threading", "uneven-work") not in found, found
    threading = table[table["variant"] == "threading"].iloc[0]
    assert threading["task_cpu_share"] == pytest.approx(0.5) and threading["least_busy_share"] == pytest.approx(1.0)


def test_without_tasks_csv_the_columns_are_nan_and_neither_the_gil_nor_uneven_work_is_named(tmp_path):
    table = render.analyse(run(tmp_path / "run")).table
    assert table[list(balance.COLUMNS[:-1])].isna().all().all()
    found = said(table)
    assert not {r for _, r in found} & {"gil-turns", "uneven-work"}, found


def test_a_worker_idle_because_its_core_was_faster_is_not_uneven_work(tmp_path):
    """The same idle worker, but the two tasks cost the same in the serial cell: cores of uneven speed, not a split."""
    table = render.analyse(run(tmp_path / "run", threads=uneven_threads, costs=(1.0, 1.0))).table
    threading = table[table["variant"] == "threading"].iloc[0]
    assert threading["least_busy_share"] < UNEVEN_BUSY and threading["least_work_share"] == pytest.approx(1.0)
    assert ("threading", "uneven-work") not in said(table)


def test_a_worker_that_got_no_task_was_busy_none_of_the_time(tmp_path):
    def one_thread(repeat):
        return [task("threading", 2, i, (10, 100), i * 1.0, i * 1.0 + 0.95, repeat=repeat) for i in (0, 1)]

    table = render.analyse(run(tmp_path / "run", threads=one_thread)).table
    threading = table[table["variant"] == "threading"].iloc[0]
    assert threading["least_busy_share"] == 0 and threading["least_work_share"] == 0
    assert threading["finish_spread"] == pytest.approx(1.0)


def test_uneven_work_carries_its_p_value_for_the_error_budget(tmp_path):
    def varied(repeat):  # the idle worker's share varies across repetitions: a t-test, not an outright decision
        return [
            task("threading", 2, 0, (10, 100), 0.0, 1.9, repeat=repeat),
            task("threading", 2, 1, (10, 101), 0.0, 0.05 * repeat, repeat=repeat),
        ]

    table = render.analyse(run(tmp_path / "run", threads=varied)).table
    found = [f for _, fs in variant_found(group(table)) for f in fs if f.rule == "uneven-work"]
    assert len(found) == 1 and 0 < found[0].facts["p"] < 0.01, found


def test_below_p_is_a_one_sided_test_over_the_repetitions():
    assert balance.below_p([0.1, 0.12, 0.11], 0.8) < 0.001
    assert balance.below_p([0.9, 0.95, 0.92], 0.8) > 0.99
    assert balance.below_p([0.5, 0.5], 0.8) == 0 and balance.below_p([0.9, 0.9], 0.8) == 1
    assert math.isnan(balance.below_p([0.1], 0.8))


def test_one_process_per_task_has_no_idle_worker_to_find(tmp_path):
    tasks = [task("process-per-task", 2, i, (30 + i, 300 + i), 0.0, 0.1 + i) for i in range(4)]
    frame = storage.load_results(
        write_run(tmp_path / "run", [row("serial", 1, 1.0)], tasks) / storage.TASKS, storage.TaskRow
    )
    cell = balance.per_cell(frame).iloc[0]
    assert math.isnan(cell["least_busy_share"]) and cell["task_cpu_share"] == pytest.approx(1.0)


def test_an_uneven_ceiling_is_not_quoted_and_not_drawn(tmp_path):
    import matplotlib.pyplot as plt

    folder = run(tmp_path / "run", threads=uneven_threads, ceiling=uneven_ceiling, ceiling_s=1.9, pool_s=1.95)
    table = render.analyse(folder).table
    assert set(table.loc[table["workers"] == 2, "ceiling_unquoted"]) == {"uneven"}
    assert table.loc[table["variant"] != "ceiling", "ceiling_efficiency"].isna().all()
    assert not {r for _, r in said(table)} & {"machine-ceiling"}
    fig, ax = plt.subplots()
    charts.draw_speedup(ax, table)
    assert "machine ceiling (measured)" not in ax.get_legend_handles_labels()[1]
    plt.close(fig)
    render.report(folder)
    text = (folder / "report.md").read_text()
    assert "tops out" not in text and "of the measured ceiling" not in text
    assert (
        len(re.findall(r"The ceiling is not the machine's limit at x2 \(1\.05x\): its slices were uneven", text)) == 1
    )


def test_never_tops_out_below_a_variant_that_beat_it(tmp_path):
    """No tasks.csv: the ceiling's balance is unknown, but thread-pool's interval lies above it."""
    folder = run(tmp_path / "run", ceiling_s=1.6, pool_s=1.05)
    table = render.analyse(folder).table
    assert set(table.loc[table["workers"] == 2, "ceiling_unquoted"]) == {"beaten"}
    render.report(folder)
    text = (folder / "report.md").read_text()
    assert "tops out" not in text and re.search(
        r"not the machine's limit at x2 \(1\.25x\): thread-pool \(.*\) and process-pool \(.*\) lie above it", text
    )


def test_an_even_ceiling_that_nothing_beat_is_still_quoted(tmp_path):
    folder = run(
        tmp_path / "run", threads=uneven_threads, ceiling=even_ceiling, ceiling_s=1.33, pool_s=1.4, costs=(1.0, 1.0)
    )
    table = render.analyse(folder).table
    assert (table["ceiling_unquoted"] == "").all()
    assert ("thread-pool", "machine-ceiling") in said(table)


# --- A real run on very uneven images ---------------------------------------------------------------------------

LARGE, TINY = (2400, 1800), (64, 48)  # a large photo takes ~100x a tiny one's time to thumbnail


def uneven_images(folder, large: int = 2, tiny: int = 6):
    """Large images first in path order, tiny ones after: static slices of 2 give one worker every large image."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(large + tiny):
        w, h = LARGE if i < large else TINY
        grain = Image.effect_noise((max(1, w // 8), max(1, h // 8)), 60 + i).convert("RGB")
        grain.resize((w, h), Image.Resampling.BICUBIC).save(
            folder / f"{'a-large' if i < large else 'b-tiny'}-{i:02d}.jpg"
        )
    return folder


@pytest.mark.slow
@pytest.mark.quiet  # what it asserts is how much of their lives the threads ran: other programs' CPU would change it
def test_uneven_images_give_uneven_work_not_the_gil_and_no_ceiling_below_a_winner(tmp_path):
    images = uneven_images(tmp_path / "images")
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        images,
        "--variants",
        "serial,threading,thread-pool,ceiling",
        "--workers",
        "2",
        "--repeat",
        "6",  # the uneven-work claim is a test under the run's error budget: 3 repetitions left it to chance
        "--size",
        "smoke",
        "--param",
        "thumbnail.images=8",
        "--out",
        tmp_path / "out",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    table = render.analyse(tmp_path / "out" / "latest").table
    threading = table[(table["variant"] == "threading") & (table["workers"] == 2)].iloc[0]
    assert threading["least_busy_share"] < UNEVEN_BUSY, threading  # the slices were uneven, by construction
    assert threading["task_cpu_share"] >= GIL_WAIT_SHARE, threading  # and the thread that worked was not waiting
    text = (tmp_path / "out" / "latest" / "report.md").read_text()
    line = next(x for x in text.splitlines() if re.match(r"- \*\*threading\*\*: \d", x))  # its findings' line
    assert "uneven work: one worker was busy only" in line, line
    assert "GIL" not in line, line
    assert "threads cannot overlap" not in text and "The GIL is visible" not in text
    for ceiling in re.findall(r"tops out at (\d+\.\d+)x", text):  # a ceiling is never quoted below a winner
        assert not (table["speedup_low"] > float(ceiling)).any(), (ceiling, text)
    assert re.search(r"The ceiling is not the machine's limit at x2 \([\d.]+x\): its slices were uneven", text), text


def test_the_csv_page_documents_the_balance_columns():
    from tests.conftest import ROOT

    page = (ROOT / "docs" / "csv.md").read_text()
    assert [c for c in balance.COLUMNS if f"`{c}`" not in page] == []
