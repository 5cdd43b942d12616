"""Paired blocks: the plan's shape, the per-block statistics, their stated coverage, and sizing to a precision."""

import math
import random
from dataclasses import replace

import numpy as np
import pytest
from gilbench import analysis, blocks, options, plan, storage

from tests.helpers import paired_block, row, write_run


def test_a_block_holds_the_serial_cell_and_every_variant_at_its_worker_count(tmp_path):
    config = options.resolve(
        options.RunOptions(
            workloads="count",
            variants="serial,threading,process-pool",
            workers="1,2,4",
            variant_workers=["threading=1,4"],
            warmup="2",
            repeat="3",
            out=str(tmp_path),
        )
    )
    groups = blocks.groups(plan.build_cells(config))
    assert [g.workers for g in groups] == [1, 2, 4]
    assert {g.workers: sorted(c.variant for c in g.members) for g in groups} == {
        1: ["process-pool", "threading"],
        2: ["process-pool"],
        4: ["process-pool", "threading"],
    }
    order = blocks.plan(groups, config.repeat, random.Random(0), config.warmup)
    assert len(order) == 3 * (2 + 3)  # every group's block in each of 2 warm-up and 3 measured rounds
    for blk in order:
        reps = blk.repetitions()
        assert reps[0].cell.variant in {c.variant for c in blk.cells}
        assert sorted(c.variant for c in blk.cells) == sorted(["serial"] + [c.variant for c in blk.group.members])
        assert {r.block_workers for r in reps} == {blk.group.workers} and {r.repeat for r in reps} == {blk.repeat}
    assert [b.repeat for b in order[:6]] == [-1, -1, -1, 0, 0, 0]  # warm-ups first, then rounds 1, 2, 3
    measured = [b.repeat for b in order[6:]]
    assert measured == sorted(measured)  # a round visits every group once before the next round starts
    orders = {tuple(c.variant for c in b.cells) for b in order if b.group.workers == 1}
    assert len(orders) > 1  # the order inside a block is shuffled
    again = order[-1].again(random.Random(1))
    assert again.attempt == 2 and set(again.cells) == set(order[-1].cells)


def test_serial_alone_still_gets_blocks(tmp_path):
    config = options.resolve(
        options.RunOptions(workloads="count", variants="serial", workers="2", repeat="2", out=str(tmp_path))
    )
    groups = blocks.groups(plan.build_cells(config))
    assert len(groups) == 1 and groups[0].members == () and groups[0].serial.variant == "serial"


def drifting_run(tmp_path, n=8, seed=3):
    """Blocks whose machine speed drifts by up to 1.6x from block to block; inside each block the variant takes
    exactly half the serial time, with 1 % noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(1, n + 1):
        drift = float(rng.uniform(1.0, 1.6))
        noise = float(rng.lognormal(0, 0.01))
        rows += paired_block(r, 2, 2.0, {"process-pool": 1.0 * noise}, drift=drift)
    return write_run(tmp_path / "drift", rows)


def test_pairing_cancels_a_drift_that_moves_whole_blocks(tmp_path):
    table = analysis.summarize(storage.load_results(drifting_run(tmp_path))).set_index(["variant", "workers"])
    pp = table.loc[("process-pool", 2)]
    assert pp["speedup_method"] == analysis.PAIRED_METHOD and pp["speedup_blocks"] == 8
    assert pp["speedup"] == pytest.approx(2.0, rel=0.02)
    assert pp["speedup_low"] < pp["speedup"] < pp["speedup_high"]
    assert pp["speedup_halfwidth"] < 0.02  # the drift is gone from the interval...
    assert pp["speedup_coverage"] == pytest.approx(0.95)
    # ...while each cell's own times carry all of it
    assert table.loc[("serial", 1), "spread"] > 0.1 and table.loc[("serial", 1), "unstable"]
    serial = table.loc[("serial", 1)]
    assert serial["speedup"] == 1.0 and serial["speedup_method"] == "baseline"


def test_paired_speedup_is_the_geometric_mean_of_the_block_ratios(tmp_path):
    ratios = [1.5, 2.0, 2.5, 1.8]
    rows = []
    for r, ratio in enumerate(ratios, 1):
        rows += paired_block(r, 2, 1.0 * r, {"thread-pool": r / ratio})
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "g", rows))).set_index("variant")
    logs = np.log(ratios)
    half = analysis.t_halfwidth(float(np.std(logs, ddof=1)), len(logs))
    from scipy.stats import t

    assert half == pytest.approx(t.ppf(0.975, 3) * np.std(logs, ddof=1) / 2)  # t with n - 1 = 3 degrees of freedom
    assert table.loc["thread-pool", "speedup"] == pytest.approx(math.exp(logs.mean()))
    assert table.loc["thread-pool", "speedup_low"] == pytest.approx(math.exp(logs.mean() - half))
    assert table.loc["thread-pool", "speedup_high"] == pytest.approx(math.exp(logs.mean() + half))
    assert table.loc["thread-pool", "pair_spread"] == pytest.approx(np.std(logs, ddof=1))


def test_only_a_blocks_last_attempt_counts(tmp_path):
    """A disturbed block ran again: its first attempt (a slow serial, disturbed) must not pair with anything."""
    rows = paired_block(1, 2, 2.0, {"process-pool": 1.0})
    rows += paired_block(2, 2, 5.0, {"process-pool": 1.0}, disturbed=True)  # the burner slowed serial only
    rows += paired_block(2, 2, 2.0, {"process-pool": 1.0}, attempt=2)
    rows += paired_block(3, 2, 2.0, {"process-pool": 1.0})
    frame = storage.load_results(write_run(tmp_path / "re", rows))
    kept = analysis.measured(frame)
    assert len(kept) == 6 and not kept["disturbed"].any()
    table = analysis.summarize(frame).set_index("variant")
    assert table.loc["process-pool", "speedup"] == pytest.approx(2.0)
    assert table.loc["process-pool", "speedup_blocks"] == 3


def test_a_block_disturbed_on_every_attempt_is_set_aside_where_clean_blocks_exist(tmp_path):
    """The burner slowed the variant of block 1 through all its attempts: the estimate is the clean blocks' alone."""
    rows = paired_block(1, 2, 2.0, {"process-pool": 2.0}, disturbed=True, other_cores=0.9)
    rows += paired_block(1, 2, 2.0, {"process-pool": 2.0}, attempt=2, disturbed=True, other_cores=0.9)
    rows += paired_block(2, 2, 2.0, {"process-pool": 1.0})
    rows += paired_block(3, 2, 2.2, {"process-pool": 1.0})
    frame = storage.load_results(write_run(tmp_path / "busy", rows))
    kept = analysis.measured(frame)
    assert set(kept["repeat"]) == {2, 3} and not kept["disturbed"].any()
    table = analysis.summarize(frame).set_index("variant")
    pp = table.loc["process-pool"]
    assert pp["speedup"] == pytest.approx(math.sqrt(2.0 * 2.2)) and pp["speedup_blocks"] == 2
    assert pp["blocks_set_aside"] == 1 and not pp["too_busy"] and pp["disturbed_kept"] == 0
    assert table.loc["serial", "blocks_set_aside"] == 1 and table.loc["serial", "repeats"] == 2


def test_a_block_set_aside_leaves_its_serial_repetition_out_of_every_cell(tmp_path):
    """Only the variant's repetition was disturbed: the whole block goes, its serial time too (a pair is a block)."""
    rows = paired_block(1, 2, 2.0, {"process-pool": 1.0})
    rows[1] = replace(rows[1], disturbed=True, other_cores=0.8)
    rows += paired_block(2, 2, 3.0, {"process-pool": 1.5})
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "one", rows))).set_index("variant")
    assert table.loc["serial", "median_s"] == 3.0 and table.loc["process-pool", "median_s"] == 1.5


def test_a_cell_with_no_clean_block_has_no_speedup_and_says_the_machine_was_too_busy(tmp_path):
    rows = []
    for r in (1, 2, 3):
        rows += paired_block(r, 1, 2.0, {"process-pool": 2.1})  # 1 worker: quiet
        rows += paired_block(r, 2, 2.0, {"process-pool": 1.4}, disturbed=True, other_cores=0.95)  # 2: never quiet
    frame = storage.load_results(write_run(tmp_path / "all", rows))
    table = analysis.summarize(frame).set_index(["variant", "workers"])
    busy = table.loc[("process-pool", 2)]
    assert busy["too_busy"] and busy["blocks_set_aside"] == 3 and busy["speedup_blocks"] == 0
    for column in analysis.WITHHELD:
        assert math.isnan(busy[column]), column
    assert busy["other_cores_max"] == pytest.approx(0.95) and busy["disturbed_kept"] == 3  # its times stay, marked
    quiet = table.loc[("process-pool", 1)]
    assert not quiet["too_busy"] and quiet["speedup"] == pytest.approx(2.0 / 2.1) and quiet["blocks_set_aside"] == 0
    serial = table.loc[("serial", 1)]  # serial ran in all six blocks: three clean ones count
    assert not serial["too_busy"] and serial["blocks_set_aside"] == 3 and serial["repeats"] == 3


def test_a_quiet_run_sets_nothing_aside(tmp_path):
    rows = [r for b in (1, 2) for r in paired_block(b, 2, 2.0, {"process-pool": 1.0})]
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "q", rows)))
    assert (table["blocks_set_aside"] == 0).all() and not table["too_busy"].any()


def test_the_sizing_counts_clean_blocks_only(tmp_path):
    rows = paired_block(1, 2, 2.0, {"process-pool": 1.9}, disturbed=True, other_cores=0.9)
    rows += [r for b in (2, 3, 4) for r in paired_block(b, 2, 2.0, {"process-pool": 1.0 + 0.01 * b})]
    spread = analysis.pair_spread(storage.load_results(write_run(tmp_path / "s", rows)))
    ((blocks, _, _),) = spread.values()
    assert blocks == 3


def test_a_failed_variant_leaves_only_its_own_pair_out(tmp_path):
    rows = paired_block(1, 2, 2.0, {"process-pool": 1.0, "threading": 2.0})
    rows += [
        row("serial", 1, 2.0, 2, block_workers=2),
        row("threading", 2, 2.0, 2, block_workers=2),
        row("process-pool", 2, math.nan, 2, block_workers=2, ok=False, error="boom"),
    ]
    rows += paired_block(3, 2, 2.0, {"process-pool": 1.0, "threading": 2.0})
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "f", rows))).set_index("variant")
    assert table.loc["process-pool", "speedup_blocks"] == 2 and table.loc["threading", "speedup_blocks"] == 3


def test_an_older_csv_without_blocks_keeps_its_unpaired_interval(tmp_path):
    rows = [row("serial", 1, 2.0 + 0.1 * r, r) for r in range(1, 6)] + [
        row("process-pool", 2, 1.0 + 0.05 * r, r) for r in range(1, 6)
    ]
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "old", rows))).set_index("variant")
    pp = table.loc["process-pool"]
    assert pp["speedup_method"] == analysis.UNPAIRED_METHOD
    assert pp["speedup"] == pytest.approx(2.3 / 1.15)  # median over median
    assert (pp["speedup_low"], pp["speedup_high"]) == pytest.approx((2.1 / 1.25, 2.5 / 1.05))


@pytest.mark.parametrize(
    "n,spread,draw", [(6, 0.10, "normal"), (12, 0.15, "normal"), (30, 0.10, "normal"), (12, 0.10, "t5")]
)
def test_the_paired_interval_covers_as_often_as_it_says(n, spread, draw):
    """Simulated log ratios around a known speedup: the t interval contains it in 95 % of samples, within
    simulation error; also for heavier tails than normal (Student's t with 5 degrees of freedom)."""
    rng = np.random.default_rng(n * 100 + int(spread * 100))
    trials, hits, true = 4000, 0, 1.8
    for _ in range(trials):
        noise = rng.normal(0, spread, n) if draw == "normal" else rng.standard_t(5, n) * spread
        speedup, low, high, coverage = analysis.paired_interval(math.log(true) + noise)
        hits += low <= true <= high
    assert coverage == 0.95
    error = 4 * math.sqrt(0.95 * 0.05 / trials)  # four standard errors of a binomial share: fails 1 in ~16,000
    assert abs(hits / trials - 0.95) < error


def sized_run(rng, spread: float, precision: float, most: int = 3000):
    """One cell sized as --repeat auto sizes it: the pilot's blocks, then one block per round until the interval
    the scheduler reads (analysis.sized_halfwidth, the same that analysis.pair_spread gives it) is within the
    precision; returns the reported interval (analysis.paired_interval, as summary.csv has it) and the blocks."""
    x = rng.normal(0.0, spread, most)
    n = blocks.PILOT_BLOCKS
    while n < most and not analysis.sized_halfwidth(x[:n], blocks.PILOT_BLOCKS) <= precision:
        n += 1
    _, low, high, _ = analysis.paired_interval(x[:n], pilot=blocks.PILOT_BLOCKS)
    return low, high, n


SPREADS = (0.02, 0.06, 0.117, 0.2)  # quiet count (~2 %) to the pyperformance reference's upper decile (~0.2-0.3)


@pytest.mark.parametrize("precision", [0.10, 0.05])
def test_stopping_when_the_interval_is_narrow_enough_keeps_its_coverage(precision):
    """The sizing's stop rule with the interval it reports: at least 94.5 % coverage at a stated 95 %, over the
    spreads runs meet (the t interval alone, stopped when narrow, covered about 93 %)."""
    rng = np.random.default_rng(int(precision * 1000))
    trials, hits, met = 4000, 0, 0  # a share of 95 % known to +-0.35 % (one standard error)
    for i in range(trials):
        low, high, n = sized_run(rng, SPREADS[i % len(SPREADS)], precision)
        hits += low <= 1.0 <= high
        met += high / low <= (1 + precision) ** 2 + 1e-9
    assert hits / trials >= 0.945, hits / trials
    assert met == trials  # and every run reached the precision it was sized for


def test_one_block_gives_no_interval():
    speedup, low, high, coverage = analysis.paired_interval([math.log(2.0)])
    assert speedup == pytest.approx(2.0) and math.isnan(low) and math.isnan(high) and coverage == 0.0


@pytest.mark.parametrize("spread,precision", [(0.10, 0.05), (0.158, 0.05), (0.10, 0.10), (0.3, 0.02), (0.0, 0.1)])
def test_blocks_needed_is_the_fewest_that_reach_the_precision(spread, precision):
    n = analysis.blocks_needed(spread, precision)
    target = math.log1p(precision)
    assert n >= 2
    if spread > 0:
        assert analysis.t_halfwidth(spread, n) <= target
        assert n == 2 or analysis.t_halfwidth(spread, n - 1) > target


def test_the_figures_that_motivated_blocks_are_what_the_formula_gives():
    """sd 0.10 of the per-pair log ratio needs about 17 pairs for +-5 %, sd 0.158 about 41 (t at 95 %)."""
    assert analysis.blocks_needed(0.10, 0.05) in range(17, 20)
    assert analysis.blocks_needed(0.158, 0.05) in range(40, 45)


def test_the_plan_predicts_blocks_and_time_per_group(tmp_path):
    config = options.resolve(
        options.RunOptions(
            workloads="count", variants="serial,thread-pool,process-pool", workers="2", repeat="6", out=str(tmp_path)
        )
    )
    (group,) = blocks.groups(plan.build_cells(config))
    tp, pp = group.members
    spread = {blocks.cell_key(tp): (6, 0.02, 0.02), blocks.cell_key(pp): (6, 0.10, 0.10)}
    walls = {blocks.cell_key(group.serial): [1.0] * 6, blocks.cell_key(tp): [1.0] * 6, blocks.cell_key(pp): [0.5] * 6}
    (group_plan,) = blocks.size_groups([group], spread, walls, 0.05)
    need = analysis.blocks_needed(0.10, 0.05, factor=analysis.SEQUENTIAL_FACTOR)  # the pilot's spread predicts it
    assert group_plan.blocks_needed == need > analysis.blocks_needed(0.10, 0.05) and group_plan.blocks_done == 6
    # thread-pool already meets it and leaves; serial and process-pool run the remaining blocks
    assert group_plan.more_s == pytest.approx((need - 6) * (1.0 + 0.5))
    lines = blocks.describe_plan([group_plan], 0.05, 10.0, 180)
    assert lines[0].startswith(f"count at 2 workers: +-5 % needs ~{need} blocks (6 done; process-pool x2 sets it")
    more, total = f"{group_plan.more_s:.0f}", f"{10 + group_plan.more_s:.0f}"
    assert f"~{more} s more after the pilot's 10 s, ~{total} s of measuring in all" in lines[-1]


def test_precision_counts_no_baseline(tmp_path):
    table = analysis.summarize(storage.load_results(drifting_run(tmp_path)))
    met = analysis.precision_met(table, 0.0001)
    assert met[table["variant"] == "serial"].all() and not met[table["variant"] != "serial"].any()


def test_a_pure_noise_run_gets_no_causal_sentence_and_no_law(tmp_path):
    """Every variant scales exactly as its cores allow; only the machine's noise differs between repetitions. The
    report must not explain that noise: no cause, no law, each variant 'within this run's noise'."""
    from gilbench import render

    rng = np.random.default_rng(11)
    rows = []
    variants = ("threading", "thread-pool", "multiprocessing", "process-pool")
    for r in range(1, 9):
        for n in (1, 2, 4):
            noisy = lambda t: float(t * rng.lognormal(0, 0.05))  # noqa: E731
            rows.append(
                row("serial", 1, noisy(2.0), r, block_workers=n, usable_cpus=4, gil_enabled=False, free_threaded=True)
            )
            for v in variants:
                rows.append(
                    row(
                        v,
                        n,
                        noisy(2.0 / n),
                        r,
                        busy=float(n),
                        block_workers=n,
                        usable_cpus=4,
                        gil_enabled=False,
                        free_threaded=True,
                    )
                )
    run = write_run(tmp_path / "noise", rows)
    table = analysis.summarize(storage.load_results(run))
    assert (table.loc[table["variant"] != "serial", "law"] == "none").all()
    render.report(run)
    text = (run / "report.md").read_text()
    for cause in (
        "Amdahl fit",
        "USL fit",
        "serial fraction p =",
        "slowed each other",
        "sat idle",
        "tops out",
        "above linear",
        "falls as workers",
        "exclude 1.00x",
        "carries that bias",
        "took turns",
        "start-up took",
    ):
        assert cause not in text, cause
    lines = [line for line in text.splitlines() if line.startswith("- **") and " at 4 workers" in line]
    assert len(lines) == len(variants)
    assert all(
        "no GIL: the threads ran Python in parallel" in line or "consistent with linear" in line for line in lines
    ), lines


def test_a_sized_interval_is_widened_for_its_looks_and_an_older_runs_stays_two_stage():
    """--repeat auto's interval is the t interval times SEQUENTIAL_FACTOR, and the report's p-value is its dual; a run
    sized by an older gilbench (environment.json without a stop rule) keeps its two-stage interval."""
    from gilbench import render
    from gilbench.report import significance

    x = np.log([2.4, 1.7, 2.5, 1.6] + [2.0, 2.02, 1.98, 2.01, 1.99, 2.0, 2.03, 1.97])  # a wide pilot, then quiet
    n, sd = len(x), float(np.std(x, ddof=1))
    speedup, low, high, _ = analysis.paired_interval(x, pilot=blocks.PILOT_BLOCKS)
    plain = analysis.t_halfwidth(sd, n)
    assert math.log(high / speedup) == pytest.approx(analysis.SEQUENTIAL_FACTOR * plain)
    row = dict(speedup=speedup, speedup_blocks=n, pair_spread=sd, speedup_method=analysis.SEQUENTIAL_METHOD)
    assert significance.speedup_p(row, low, below=False) == pytest.approx(0.025, abs=1e-6)  # the interval's edge
    assert significance.speedup_p(dict(row, speedup_method=analysis.PAIRED_METHOD), low, below=False) < 0.025
    _, old_low, old_high, _ = analysis.paired_interval(x, pilot=blocks.PILOT_BLOCKS, two_stage=True)
    assert old_high / old_low > high / low  # Stein's interval keeps the pilot's spread
    sized = {"repeat_auto": True, "pilot_blocks": blocks.PILOT_BLOCKS}
    assert render.two_stage({"config": sized})
    assert not render.two_stage({"config": {**sized, "stop_rule": "sequential"}})
    assert not render.two_stage({"config": {"repeat_auto": False}})
    config = options.resolve(options.RunOptions(workloads="count", repeat="auto"))
    assert config.recorded()["stop_rule"] == options.SEQUENTIAL_STOP


def test_the_report_names_the_interval_the_run_was_sized_for():
    from gilbench.report.document import interval_text

    assert interval_text({"repeat_auto": False}).endswith("(`speedup_method` paired-t)")
    assert "paired-t-sequential" in interval_text({"repeat_auto": True, "stop_rule": options.SEQUENTIAL_STOP})
    assert "paired-t-two-stage" in interval_text({"repeat_auto": True})  # sized by an older gilbench


def test_the_tests_of_a_sized_speedup_widen_as_its_interval_does():
    """The ceiling-gap test and the 'blocks that would tell' count use the widened standard error of a row sized by
    the looks; a light warm-up's empty time does not enter a resumed run's walls (blocks.median drops it)."""
    from gilbench.report import significance

    row = dict(speedup=1.8, speedup_blocks=6, pair_spread=0.04, speedup_method=analysis.PAIRED_METHOD)
    ceiling = dict(speedup=1.95, speedup_blocks=6, pair_spread=0.04, speedup_method=analysis.PAIRED_METHOD)
    sized = {k: dict(v, speedup_method=analysis.SEQUENTIAL_METHOD) for k, v in (("row", row), ("ceiling", ceiling))}
    assert significance.gap_p(sized["row"], sized["ceiling"]) > significance.gap_p(row, ceiling)
    assert significance.blocks_to_tell(sized["row"], 10) >= significance.blocks_to_tell(row, 10)
    assert blocks.median([math.nan, 1.0, 2.0]) == 1.5
