"""The report's rules table and compare's matching: what a claim needs before it is said."""

import pytest
from gilbench import render
from gilbench.errors import UsageError
from gilbench.report import findings, rules
from gilbench.report.evidence import Evidence

from tests.helpers import row, write_run


def test_every_rule_has_an_id_its_evidence_and_a_test():
    ids = [r.id for r in rules.VARIANT_RULES]
    assert len(ids) == len(set(ids)) and not set(ids) & set(rules.OTHER_RULES)
    assert all(r.evidence and callable(r.holds) for r in rules.VARIANT_RULES)
    assert [row[0] for row in rules.table_rows()] == ids + list(rules.OTHER_RULES)
    assert rules.rule("contention").suppressed_by == (rules.BUSY_MACHINE,)  # interactions are data
    assert not rules.rule("oversubscribed").reason  # a fact about the count, not a reason to choose it


LOSS = {
    "variant": "process-pool",
    "workers": 2,
    "gil_enabled": True,
    "speedup": 1.7,
    "speedup_low": 1.3,
    "speedup_high": 2.2,
    "speedup_halfwidth": 0.29,
    "busy_cores": 1.2,
    "startup_share": 0.05,
    "cpu_inflation": 1.3,
    "cpu_inflation_low": 0.9,
    "cpu_inflation_high": 1.8,
}


def _found(row_, serial_busy=1.0, busy_machine=False) -> list[str]:
    return [f.rule for f in findings.variant_findings(Evidence(row_, 2, serial_busy), busy_machine=busy_machine)]


def test_a_loss_inside_the_noise_gets_no_cause():
    assert findings.causes(Evidence(LOSS, 2, 1.0)) == []  # the interval reaches linear: nothing to explain
    assert _found(LOSS) == ["noise", "scaling-law"]
    lossy = dict(LOSS, speedup_high=1.8, cpu_inflation_low=1.2)
    assert _found(lossy) == ["contention", "idle-workers", "scaling-law"]
    assert _found(lossy, serial_busy=0.01) == ["unexplained-loss", "not-cpu-bound"]  # work that does not compute


def test_a_busy_machine_suppresses_contention_and_the_law():
    lossy = dict(LOSS, speedup_high=1.8, cpu_inflation_low=1.2)
    assert _found(lossy, busy_machine=True) == ["idle-workers", "busy-machine"]


def _run(folder, scaling, run_id):
    rows = []
    for r in (1, 2, 3):
        rows += [
            row("serial", 1, 2.0, r, scaling=scaling, run_id=run_id),
            row("threading", 2, 2.0 + 0.01 * r, r, scaling=scaling, scale=2 if scaling == "weak" else 1, run_id=run_id),
        ]
    return write_run(folder, rows)


def test_compare_refuses_weak_against_strong_scaling(tmp_path):
    with pytest.raises(UsageError, match="one run measured weak scaling and the other strong scaling"):
        render.compare([_run(tmp_path / "a", "strong", "a"), _run(tmp_path / "b", "weak", "b")], tmp_path / "out")


def test_compare_says_how_many_differences_chance_alone_gives(tmp_path):
    render.compare([_run(tmp_path / "a", "strong", "a"), _run(tmp_path / "b", "strong", "b")], tmp_path / "out")
    text = (tmp_path / "out" / "compare.md").read_text()
    assert "of 2 cells; at these intervals' coverage chance alone would mark up to about" in text


def test_oversubscribed_counts_are_fitted_only_when_asked(tmp_path):
    from gilbench import analysis, storage

    rows = []
    for r in (1, 2, 3):
        rows += [
            row("serial", 1, 2.0, r),
            row("threading", 1, 2.0, r),
            row("threading", 2, 1.1, r),
            row("threading", 4, 1.1, r),
        ]
    frame = storage.load_results(write_run(tmp_path / "o", rows))
    plain = analysis.summarize(frame).set_index(["variant", "workers"])
    asked = analysis.summarize(frame, fit_oversubscribed=True).set_index(["variant", "workers"])
    assert not plain.loc[("threading", 4), "fitted"] and plain.loc[("threading", 2), "fitted"]
    assert asked.loc[("threading", 4), "fitted"] and asked.loc[("threading", 4), "fitted_counts"] == 3


def test_a_workload_whose_import_is_missing_says_what_to_install(tmp_path):
    import sys

    from gilbench import registry

    module = tmp_path / "needs_pkg.py"
    module.write_text("import gilbench_no_such_package_xyz\n")
    with pytest.raises(
        UsageError,
        match=r"No module named 'gilbench_no_such_package_xyz'; install it with: .* -m "
        r"pip install gilbench_no_such_package_xyz",
    ) as caught:
        registry.resolve(str(module))
    assert sys.executable in str(caught.value) and "\n" not in str(caught.value)
