"""The docs: docs/csv.md documents every column of every CSV (the schema is typed once, in bench/storage.py), and
every relative link and image in README.md and docs/ resolves inside the repository."""

import re
from dataclasses import fields
from pathlib import Path

import pytest
from gilbench.storage import ResultRow, TaskRow, TraceRow, TraceSummaryRow, TutorialRow, UnavailableRow

ROOT = Path(__file__).resolve().parent.parent
CSV_PAGE = (ROOT / "docs" / "csv.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

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
    "blocks_set_aside",
    "too_busy",
]


@pytest.mark.parametrize("row_type", [ResultRow, TaskRow, TraceRow, TraceSummaryRow, TutorialRow, UnavailableRow])
def test_csv_page_documents_every_column(row_type):
    documented = set(re.findall(r"`([a-z_0-9]+)`", CSV_PAGE))
    missing = [f.name for f in fields(row_type) if f.name not in documented]
    assert not missing, f"docs/csv.md lacks {missing}"


def test_csv_page_documents_summary_columns(tmp_path):
    from gilbench import analysis, storage

    from tests.helpers import gil_run

    table = analysis.summarize(storage.load_results(gil_run(tmp_path / "run")))
    for column in SUMMARY_COLUMNS:
        assert column in table.columns
        assert f"`{column}`" in CSV_PAGE, column
    from gilbench import render

    written = render.analyse(tmp_path / "run").table  # as summary.csv has it: tasks.csv's columns, the claims
    assert [c for c in written.columns if f"`{c}`" not in CSV_PAGE] == []


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]*\bsrc=\"([^\"]+)\"")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def _targets(page: Path):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold commands, not links
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if not EXTERNAL.match(target) and not target.startswith("#"):
            yield target.split("#")[0]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves_inside_the_repository(page):
    targets = list(_targets(page))
    if page.name == "README.md":
        assert targets, "the README links to nothing: the pattern no longer matches"
    for target in targets:
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} points outside the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"


def test_no_machine_path_where_a_user_reads():
    """README, docs, the Makefile and the package name no folder of the machines gilbench was developed on."""
    readable = [
        *PAGES,
        ROOT / "Makefile",
        *sorted((ROOT / "bench").glob("*.py")),
        *sorted((ROOT / "scripts").iterdir()),
    ]
    for path in readable:
        text = path.read_text()
        for pattern in ("../shared", "/opt/python-ft", "/work/", "/root/"):
            assert pattern not in text, f"{path.relative_to(ROOT)} names {pattern}"


def test_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 110
    top = readme[: readme.index("## What you get")]
    assert "make bench" in top and "make test" in top and ".png" in top  # what it is, the chart, the two commands


def test_the_reports_pointer_to_the_scaling_laws_names_a_page_and_heading_that_exist():
    from gilbench.report import document

    assert f"{document.LAWS_DOC}, '{document.LAWS_HEADING}'" in document.LAWS_EXPLAINED
    assert f"## {document.LAWS_HEADING}\n" in (ROOT / document.LAWS_DOC).read_text()
