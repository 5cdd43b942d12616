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


def test_bootstrap_interval_contains_the_median():
    rng = np.random.default_rng(1)
    values = [1.0, 1.1, 0.9, 1.05, 0.95, 1.2, 1.0]
    low, high = analysis.bootstrap_median_ci(values, rng)
    assert low <= np.median(values) <= high and high - low < 0.3
    assert analysis.bootstrap_median_ci([2.0], rng) == (2.0, 2.0)


def test_missing_baseline_is_reported(tmp_path):
    run = write_run(tmp_path / "r", [row("threading", 1, 1.0), row("threading", 2, 1.0)])
    table = analysis.summarize(storage.load_results(run))
    assert table["speedup"].isna().all()
    assert analysis.missing_baselines(table) == ["count (smoke)"]
