"""The README documents every column of every CSV; the schema is typed once, in bench/storage.py."""

import re
from dataclasses import fields
from pathlib import Path

import pytest
from gilbench.storage import ResultRow, TaskRow, TraceRow, TraceSummaryRow

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SUMMARY_COLUMNS = [
    "repeats",
    "median_s",
    "min_s",
    "max_s",
    "ci_low_s",
    "ci_high_s",
    "startup_share",
    "serial_s",
    "speedup",
    "speedup_low",
    "speedup_high",
    "speedup_coverage",
    "ci_coverage",
    "disturbed_kept",
    "other_cores_max",
    "efficiency",
    "karp_flatt",
    "ceiling_speedup",
    "ceiling_efficiency",
    "amdahl_p",
    "amdahl_r2",
    "amdahl_error",
    "cpu_s",
    "cpu_inflation",
    "usl_sigma",
    "usl_sigma_low",
    "usl_sigma_high",
    "usl_kappa",
    "usl_kappa_low",
    "usl_kappa_high",
    "usl_r2",
    "usl_error",
    "usl_peak_workers",
    "law",
    "scaling",
    "scale",
    "speedup_blocks",
    "pair_spread",
    "speedup_method",
    "speedup_halfwidth",
    "compute_speedup",
    "compute_speedup_low",
    "compute_speedup_high",
    "spread",
    "unstable",
    "cpu_inflation_low",
    "cpu_inflation_high",
    "ceiling_speedup_low",
    "ceiling_speedup_high",
    "fitted",
    "fit_scale",
    "fitted_counts",
]


@pytest.mark.parametrize("row_type", [ResultRow, TaskRow, TraceRow, TraceSummaryRow])
def test_readme_documents_every_column(row_type):
    documented = set(re.findall(r"`([a-z_0-9]+)`", README))
    missing = [f.name for f in fields(row_type) if f.name not in documented]
    assert not missing, f"README lacks {missing}"


def test_readme_documents_summary_columns(tmp_path):
    from gilbench import analysis, storage

    from tests.helpers import gil_run

    table = analysis.summarize(storage.load_results(gil_run(tmp_path / "run")))
    for column in SUMMARY_COLUMNS:
        assert column in table.columns
        assert f"`{column}`" in README, column
