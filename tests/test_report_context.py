"""The context check (bench/report/context.py): one test per workload on compute time, decided across the run's
workloads; what it finds in pure noise and in a planted difference (seeded simulations through the real code); one
start-up sentence per run; and words that never say which side of the difference is off."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from gilbench import analysis, storage
from gilbench.report import build_blocks, context, to_markdown

from tests.helpers import row, write_run

PAIR_SPREAD = 0.117  # sd of a per-block log ratio measured on the 2-vCPU VM (issue 34's audit of the default matrix)
ONE_WORKER = ("threading", "multiprocessing", "thread-pool", "process-pool")  # the default matrix's 1-worker cells
DEFAULT_WORKLOADS = ("count", "thumbnail")
PLANTED = 1.10  # the serial cell 10 % slower than every other context
POWER_BLOCKS = 14  # the blocks at which PLANTED is found in >= 80 % of runs at PAIR_SPREAD (docs/measuring.md)
KEY = dict(
    size="smoke",
    params="{}",
    scaling="strong",
    python_executable="/usr/bin/python3",
    start_method="fork",
    native_setting="leave",
)


def simulated_rows(rng, workload: str, blocks: int, serial_factor: float = 1.0, variants=ONE_WORKER) -> list[dict]:
    """1-worker blocks of one workload: a slow spell moves a whole block (it cancels in the ratios); each repetition
    has its own noise, PAIR_SPREAD per ratio of two; the serial cell's time is scaled by `serial_factor`."""
    rows = []
    for block in range(1, blocks + 1):
        drift = rng.normal(0, 0.1)
        for variant in ("serial", *variants):
            noise = rng.normal(0, PAIR_SPREAD / math.sqrt(2))
            seconds = math.exp(drift + noise) * (serial_factor if variant == "serial" else 1.0)
            rows.append(
                dict(KEY, workload=workload, variant=variant, workers=1, block_workers=1, repeat=block, attempt=1)
                | dict(warmup=False, ok=True, compute_s=seconds, scale=1)
            )
    return rows


def part(workload: str, free_threaded: bool = False) -> pd.DataFrame:
    """What the context check reads of a workload's summary rows: its key and its interpreter."""
    return pd.DataFrame([dict(KEY, workload=workload, free_threaded=free_threaded, gil_enabled=not free_threaded)])


def simulated_run(rng, blocks: int, planted: dict[str, float] | None = None):
    """The default matrix's context checks in one run: (workload, finding) per workload."""
    planted = planted or {}
    rows = [r for w in DEFAULT_WORKLOADS for r in simulated_rows(rng, w, blocks, planted.get(w, 1.0))]
    found = context.context_findings([part(w) for w in DEFAULT_WORKLOADS], pd.DataFrame(rows))
    return list(zip(DEFAULT_WORKLOADS, found, strict=True))


def test_holm_rejects_step_down_and_stops_at_the_first_p_above_its_level():
    assert context.holm([0.01, 0.04, 0.03]) == [True, False, False]  # 0.01 <= 0.05/3; 0.03 > 0.05/2 stops it
    assert context.holm([0.01, 0.02, 0.04]) == [True, True, True]  # 0.01/3, 0.02/2, 0.04/1: each within its level
    assert context.holm([math.nan, 0.001]) == [False, True]  # a missing p is no hypothesis


@pytest.mark.slow
def test_pure_noise_keeps_each_workload_quiet_in_at_least_95_percent_of_runs():
    """Seeded: 600 simulated default-matrix runs, 9 blocks, no context effect anywhere. Each workload must read
    context-none in >= 95 % (Holm over the 2 workloads puts it near 97.5 %: 600 runs resolve that to about
    +-0.6 %), and the runs with any context-difference must be consistent with the 5 % family-wise budget."""
    from scipy.stats import binom

    rng = np.random.default_rng(20261205)
    runs = [simulated_run(rng, blocks=9) for _ in range(600)]
    for workload in DEFAULT_WORKLOADS:
        quiet = [f.rule == "context-none" for run in runs for w, f in run if w == workload]
        assert np.mean(quiet) >= 0.95, (workload, np.mean(quiet))
    any_claim = sum(any(f.rule == "context-difference" for _, f in run) for run in runs)
    assert any_claim <= binom.ppf(0.999, len(runs), 0.05), any_claim  # above it, the budget is not kept


@pytest.mark.slow
def test_a_planted_ten_percent_difference_is_found_in_at_least_80_percent_of_runs():
    """Seeded: 400 runs of the default matrix; count's serial cell 10 % slower, thumbnail none; at PAIR_SPREAD and
    POWER_BLOCKS the count check must find it (variants faster) in >= 80 % (about 88 % expected), and it never
    points the wrong way."""
    rng = np.random.default_rng(20261206)
    runs = [dict(simulated_run(rng, POWER_BLOCKS, planted={"count": PLANTED})) for _ in range(400)]
    found = [run["count"] for run in runs if run["count"].rule == "context-difference"]
    assert len(found) >= 0.8 * len(runs), len(found) / len(runs)
    assert all(f.facts["ratio"] > 1 for f in found)
    assert all(0 <= f.facts["p"] <= 1 for run in runs for f in run.values())  # the p the run-wide budget takes


def test_the_p_value_and_interval_agree_with_a_paired_t_test():
    from scipy.stats import ttest_1samp

    rows = simulated_rows(np.random.default_rng(3), "count", 8, serial_factor=1.2)
    test = context.context_test(analysis.measured(pd.DataFrame(rows)))
    assert test is not None and test.paired and test.common.blocks == 8
    table, _ = context.block_log_ratios(pd.DataFrame(rows))
    assert list(table.columns) == list(ONE_WORKER)
    common = table.mean(axis=1).to_numpy()
    assert test.common.p == pytest.approx(ttest_1samp(common, 0).pvalue)
    assert test.common.ratio == pytest.approx(math.exp(common.mean()))
    assert test.common.low < test.common.ratio < test.common.high


def test_a_block_that_lost_a_variant_still_counts_with_the_others():
    rows = [
        r
        for r in simulated_rows(np.random.default_rng(4), "count", 6)
        if (r["repeat"], r["variant"]) != (2, "threading")
    ]
    test = context.context_test(analysis.measured(pd.DataFrame(rows)))
    assert test is not None and test.common.blocks == 6 and test.variants["threading"].blocks == 5


def test_one_block_gives_no_test():
    rows = simulated_rows(np.random.default_rng(5), "count", 1)
    (found,) = context.context_findings([part("count")], pd.DataFrame(rows))
    assert found is not None and found.rule == "context-few-blocks"
    assert "no test" in context.PHRASES[found.rule](dict(found.facts))


def test_no_rows_no_check():
    assert context.context_checks([part("count")], None) == [[]]


def _claims(planted: float, free_threaded: bool = False, slow: tuple[str, ...] = (), speed: float = 0.6) -> str:
    """A workload whose 1-worker variants differ from the serial cell: all of them (the serial time x `planted`), or
    only the `slow` ones (at `speed`), over 12 seeded blocks."""
    rng = np.random.default_rng(6)
    rows = simulated_rows(rng, "count", 12, serial_factor=planted)
    for r in rows:
        if r["variant"] in slow:
            r["compute_s"] /= speed
    (found,) = context.context_findings([part("count", free_threaded)], pd.DataFrame(rows))
    assert found is not None and found.rule == "context-difference", found
    return context.PHRASES[found.rule](dict(found.facts))


@pytest.mark.parametrize("planted", [1.25, 0.8])
def test_a_difference_is_said_without_blaming_either_side(planted):
    said = _claims(planted)
    side = "faster" if planted > 1 else "slower"
    assert "ran the same work 2" in said and f"% {side} than the serial cell" in said, said
    assert "every speedup of this workload carries that difference" in said
    assert "cannot tell whether the serial cell or the other contexts are off" in said
    for blame in ("bias", "odd one out", "spell", "serial baseline is", "serial baseline ran"):
        assert blame not in said, (blame, said)


def test_variants_that_differ_by_themselves_are_named_under_holm():
    said = _claims(1.0, slow=("threading",))
    assert "By themselves (Holm within the workload): threading 0.6" in said, said
    assert "process-pool 0." not in said.split("By themselves")[1]


def test_biased_reference_counting_is_named_only_where_threads_alone_are_slower_on_a_free_threaded_build():
    threads = ("threading", "thread-pool")
    assert "biased reference counting" in _claims(1.0, free_threaded=True, slow=threads)
    assert "biased reference counting" not in _claims(1.0, free_threaded=False, slow=threads)  # the GIL build
    assert "biased reference counting" not in _claims(1.0, free_threaded=True, slow=("process-pool",))


def _old_run(folder, serial_s: float):
    """An older CSV (rounds, no blocks): serial and five 1-worker variants at 1.33 s, with jitter per round."""
    rows = []
    for r, jitter in enumerate((0.0, 0.02, -0.02, 0.4, -0.3), 1):
        rows.append(row("serial", 1, serial_s + (0.5 if r == 4 else 0.0), r))
        rows += [row(v, 1, 1.33 + jitter, r) for v in ("threading", "thread-pool", "multiprocessing", "ceiling")]
    return storage.load_results(write_run(folder, rows))


def test_an_older_run_pairs_by_round(tmp_path):
    frame = _old_run(tmp_path / "old", 1.0)
    table = analysis.summarize(frame)
    (found,) = context.context_findings([table], frame)
    assert found is not None and found.rule == "context-difference" and not found.facts["paired"]
    assert found.facts["ratio"] < 1 and found.facts["blocks"] == 5
    assert "per round (an older run without paired blocks)" in context.PHRASES[found.rule](dict(found.facts))


def _dask_run(folder):
    """Two workloads, paired blocks at 1 worker: dask's compute time is serial's, its start-up 1 s of 1.6 s."""
    rows = []
    for w in ("count", "hashing"):
        for r in (1, 2, 3, 4):
            rows.append(row("serial", 1, 0.6 + 0.01 * r, r, workload=w, block_workers=1))
            rows.append(row("dask", 1, 1.6 + 0.01 * r, r, startup=1.0, workload=w, block_workers=1))
            rows.append(row("threading", 1, 0.6 + 0.01 * (r % 2), r, workload=w, block_workers=1))
    return storage.load_results(write_run(folder, rows))


def test_a_variant_whose_start_up_is_its_story_gets_one_sentence_per_run(tmp_path):
    frame = _dask_run(tmp_path / "dask")
    table = analysis.summarize(frame)
    lines = context.startup_lines(table)
    assert len(lines) == 1 and lines[0].startswith("dask's start-up"), lines
    assert "62 %" in lines[0] and "each of the 2 workloads" in lines[0]
    text = to_markdown(build_blocks(table, {}, {}, [], "results.csv", results=frame), tmp_path)
    assert text.count("dask's start-up") == 1
    checks = [line for line in text.splitlines() if line.startswith("- Context check")]
    assert len(checks) == 2 and all("start-up left out" in line and "dask 1.0" in line for line in checks), checks
