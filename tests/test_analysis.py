import math

import numpy as np
import pytest
from gilbench import analysis, storage

from tests.helpers import gil_run, row, write_run


def test_speedup_efficiency_and_karp_flatt_by_hand(tmp_path):
    table = analysis.summarize(storage.load_results(gil_run(tmp_path / "run")))
    cell = table.set_index(["variant", "workers"])
    assert cell.loc[("serial", 1), "median_s"] == 2.0  # the 9.9 s warm-up is excluded
    pp = cell.loc[("process-pool", 2)]
    assert pp["repeats"] == 3  # three good repetitions; the failed fourth is excluded
    assert pp["speedup"] == pytest.approx(2.0 / 1.05)
    assert pp["efficiency"] == pytest.approx(2.0 / 1.05 / 2)
    # Karp-Flatt: e = (1/S - 1/N) / (1 - 1/N) = (1.05/2 - 0.5) / 0.5 = 0.05
    assert pp["karp_flatt"] == pytest.approx(0.05)
    assert math.isnan(cell.loc[("process-pool", 1), "karp_flatt"])
    assert cell.loc[("threading", 2), "speedup"] == pytest.approx(2.0 / 2.02)
    assert cell.loc[("ceiling", 2), "speedup"] == pytest.approx(2.0)
    assert pp["ceiling_efficiency"] == pytest.approx((2.0 / 1.05) / 2.0)
    assert pp["startup_share"] == pytest.approx(0.02 / 1.05)
    # CPU inflation: task CPU of the cell over the serial cell's: 1.9 cores x 1.03 s / (1 core x 2.0 s)
    assert pp["cpu_inflation"] == pytest.approx(1.9 * 1.03 / 2.0)


def test_amdahl_fit_recovers_the_serial_fraction():
    workers = np.array([1, 2, 4, 8, 16, 32])
    for p in (0.0, 0.05, 0.3, 0.9):
        speedup = analysis.amdahl(workers, p) * (1 + 0.003 * np.sin(workers))  # a little noise
        fitted, r2 = analysis.fit_amdahl(workers, speedup)
        assert fitted == pytest.approx(p, abs=0.01)
        assert r2 > 0.95 or p > 0.85  # a flat curve explains little variance; p is still right


def test_amdahl_fit_needs_two_worker_counts():
    assert all(math.isnan(v) for v in analysis.fit_amdahl([2], [1.9]))


@pytest.mark.parametrize("n,expected", [(5, 0.9375), (6, 0.96875), (8, 0.9921875), (10, 0.978515625), (20, 0.9586105)])
def test_median_interval_states_its_exact_coverage(n, expected):
    values = list(range(n))
    low, high, coverage = analysis.median_interval(values)
    assert coverage == pytest.approx(expected, abs=1e-6)
    assert (coverage >= 0.95) == (n >= 6)  # five repetitions cannot give a 95 % interval of the median
    if n == 5:
        assert (low, high) == (0, 4)  # the best there is: [min, max], 93.75 %
    assert analysis.median_interval([2.0]) == (2.0, 2.0, 0.0)  # one value: no interval at all


@pytest.mark.parametrize("n", [5, 9, 15])
def test_median_interval_covers_as_often_as_it_says(n):
    """Simulated samples from a skewed, known distribution (lognormal, true median 1): the interval
    covers the true median as often as its stated coverage, within simulation error."""
    rng = np.random.default_rng(n)
    trials = 4000
    hits = 0
    for _ in range(trials):
        low, high, coverage = analysis.median_interval(rng.lognormal(0.0, 0.3, n))
        hits += low <= 1.0 <= high
    error = 4 * math.sqrt(coverage * (1 - coverage) / trials)
    assert abs(hits / trials - coverage) < error


def test_speedup_interval_covers_at_least_its_stated_coverage():
    rng = np.random.default_rng(7)
    trials, hits = 3000, 0
    for _ in range(trials):
        serial = 2.0 * rng.lognormal(0, 0.2, 7)  # true median 2.0
        parallel = 1.0 * rng.lognormal(0, 0.2, 7)  # true median 1.0: true speedup 2.0
        low, high, coverage = analysis.ratio_interval(serial, parallel)
        hits += low <= 2.0 <= high
    assert coverage == pytest.approx(analysis.median_coverage(7, 1) ** 2)  # [min, max] of 7 is 98.4 % each
    assert hits / trials >= coverage - 3 * math.sqrt(coverage * (1 - coverage) / trials)


def test_missing_baseline_is_reported(tmp_path):
    run = write_run(tmp_path / "r", [row("threading", 1, 1.0), row("threading", 2, 1.0)])
    table = analysis.summarize(storage.load_results(run))
    assert table["speedup"].isna().all()
    assert analysis.missing_baselines(table) == ["count (smoke)"]


def test_a_cell_is_related_to_its_serial_cell_by_key_not_by_row_order(tmp_path):
    """Two interpreters in one CSV, the rows in reverse: each variant's speedup and interval are still over its own
    interpreter's serial cell, and every figure equals that of the CSV in its written order."""
    import pandas as pd

    first = storage.load_results(gil_run(tmp_path / "gil"))
    second = storage.load_results(gil_run(tmp_path / "free", gil=False)).assign(python_executable="/opt/python3t")
    second["total_s"] *= 1.5  # a slower interpreter: its own serial cell, not the other's, divides its times
    frame = pd.concat([first, second], ignore_index=True)
    written = analysis.summarize(frame).sort_values(analysis.CELL, kind="stable").reset_index(drop=True)
    reversed_ = analysis.summarize(frame.iloc[::-1]).sort_values(analysis.CELL, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(written, reversed_)
    slow = written[written["python_executable"] == "/opt/python3t"].set_index(["variant", "workers"])
    assert slow.loc[("serial", 1), "median_s"] == pytest.approx(3.0)
    assert slow.loc[("process-pool", 2), "speedup"] == pytest.approx(2.0 / 1.05)
