"""A busy machine cannot move the answer: blocks still disturbed after their re-runs are set aside and replaced while
the budget lasts (bench/scheduler.py), and the statistics count clean blocks only (bench/analysis.py). The scheduler
runs here with a stand-in for run_block that writes synthetic rows: which blocks are disturbed is the test's choice,
not the machine's."""

from __future__ import annotations

import random
from collections import deque

import pytest
from gilbench import analysis, blocks, options, plan, scheduler, storage
from gilbench.report import closing
from gilbench.runner import BlockContext, Outcome

from tests.helpers import paired_block, write_run

SERIAL_S, VARIANT_S = 2.0, 1.0  # a clean block's times: a 2.00x speedup at every worker count
BUSY_S = 1.6  # the variant's time in a disturbed block: a burner took its CPU


class Bar:
    """tqdm's bar as the scheduler uses it: a total it adds to, and lines it writes."""

    total = 0

    def write(self, *_, **__):
        pass


def start(tmp_path, repeat=3, **given):
    """A run of count (serial, process-pool at 1 and 2 workers) in its plan's order, ready for run_blocks."""
    config = options.resolve(
        options.RunOptions(
            workloads="count",
            variants="serial,process-pool",
            workers="1,2",
            repeat=str(repeat),
            out=str(tmp_path),
            **given,
        )
    )
    groups = blocks.groups(plan.build_cells(config))
    order = blocks.plan(groups, config.repeat, random.Random(0), warmup=0)
    run_dir = write_run(tmp_path / "run", [])
    run = BlockContext(config, {}, "r1", run_dir, {}, 0, Outcome(run_dir, config), Bar())
    return run, deque(order), groups


def fake_blocks(monkeypatch, disturbed):
    """run_block's stand-in: each call's (workers, block, attempt) is recorded and its rows written, disturbed
    where disturbed(call number, block) says so."""
    calls = []

    def run_block(blk, run):
        calls.append((blk.group.workers, blk.repeat, blk.attempt))
        busy = disturbed(len(calls), blk)
        members = {c.variant: BUSY_S if busy else VARIANT_S for c in blk.cells if c != blk.group.serial}
        rows = paired_block(
            blk.repeat,
            blk.group.workers,
            SERIAL_S,
            members,
            attempt=blk.attempt,
            disturbed=busy,
            other_cores=0.9 * busy,
        )
        storage.append_rows(run.run_dir / storage.RESULTS, rows, storage.ResultRow)
        return len(rows) if busy else 0

    monkeypatch.setattr(scheduler, "run_block", run_block)
    return calls


def summary(run):
    return analysis.summarize(storage.load_results(run.run_dir)).set_index(["variant", "workers"])


def test_a_block_disturbed_through_its_reruns_is_set_aside_and_replaced_under_a_new_number(tmp_path, monkeypatch):
    run, queue, _ = start(tmp_path)
    calls = fake_blocks(monkeypatch, lambda n, blk: n <= 3)  # a burner through the first block's three attempts
    first = queue[0]
    scheduler.run_blocks(queue, run, None, random.Random(1))
    w = first.group.workers
    assert calls[:3] == [(w, first.repeat, 1), (w, first.repeat, 2), (w, first.repeat, 3)]  # re-run at once, twice
    assert calls[-1] == (w, 4, 1)  # its replacement: a new block at the end of the queue, never split from its pair
    assert run.outcome.set_aside == 1 and sum(run.outcome.replaced.values()) == 1 and run.outcome.rerun == 2
    table = summary(run)
    busy = table.loc[("process-pool", w)]
    assert busy["speedup"] == pytest.approx(SERIAL_S / VARIANT_S)  # the burner's pairs moved nothing
    assert busy["speedup_blocks"] == 3 and busy["blocks_set_aside"] == 1 and not busy["too_busy"]
    other = table.loc[("process-pool", 3 - w)]
    assert other["speedup_blocks"] == 3 and other["blocks_set_aside"] == 0


def test_a_group_never_quiet_gets_as_many_replacements_as_blocks_then_no_speedup(tmp_path, monkeypatch):
    run, queue, _ = start(tmp_path)
    calls = fake_blocks(monkeypatch, lambda n, blk: blk.group.workers == 2)
    scheduler.run_blocks(queue, run, None, random.Random(1))
    assert sorted({r for w, r, _ in calls if w == 2}) == [1, 2, 3, 4, 5, 6]  # three blocks, three replacements
    assert run.outcome.set_aside == 6
    table = summary(run)
    busy = table.loc[("process-pool", 2)]
    assert busy["too_busy"] and busy["blocks_set_aside"] == 6 and busy["speedup"] != busy["speedup"]
    assert table.loc[("process-pool", 1), "speedup"] == pytest.approx(SERIAL_S / VARIANT_S)
    said = closing.lines(closing.run_findings(table.reset_index(), 0.1, False, 3, 180, 0.0, float("nan")))
    assert any(
        "6 blocks stayed disturbed" in line
        and "too busy to answer for count process-pool x2" in line
        and "up to 0.90 cores" in line
        for line in said
    ), said
    assert not any("process-pool x2 (+-" in line for line in said)  # no precision is claimed for it


def test_no_replacement_starts_past_the_budget(tmp_path, monkeypatch):
    run, queue, _ = start(tmp_path, budget="0.000001")
    calls = fake_blocks(monkeypatch, lambda n, blk: n <= 3)
    scheduler.run_blocks(queue, run, None, random.Random(1))
    assert run.outcome.set_aside == 1 and not run.outcome.replaced and len(calls) == 6 + 2


def test_reruns_0_runs_nothing_again(tmp_path, monkeypatch):
    """--reruns 0: the rows are exactly the planned ones (the tests that count rows rely on it); a block disturbed on
    its one attempt is still set aside by the statistics."""
    run, queue, _ = start(tmp_path, reruns="0")
    calls = fake_blocks(monkeypatch, lambda n, blk: n == 1)
    scheduler.run_blocks(queue, run, None, random.Random(1))
    assert len(calls) == 6 and run.outcome.set_aside == 1 and not run.outcome.replaced
    assert summary(run)["blocks_set_aside"].max() == 1


def test_a_quiet_run_sets_nothing_aside_and_says_nothing_of_it(tmp_path, monkeypatch):
    run, queue, _ = start(tmp_path)
    calls = fake_blocks(monkeypatch, lambda n, blk: False)
    scheduler.run_blocks(queue, run, None, random.Random(1))
    assert len(calls) == 6 and run.outcome.set_aside == 0
    table = summary(run).reset_index()
    assert analysis.set_aside_facts(table) is None
    assert not any("set aside" in line for line in closing.lines(closing.run_findings(table, 0.1, False, 3, 180, 0, 0)))


def test_with_repeat_auto_a_replacement_takes_the_next_number_of_the_sizing(tmp_path, monkeypatch):
    run, queue, groups = start(tmp_path)
    sizing = scheduler.Sizing.start(groups, blocks.PILOT_BLOCKS)
    sizing.repeat_of[groups[0]] = 9  # a sized round already numbered its blocks up to 9
    fake_blocks(monkeypatch, lambda n, blk: False)
    blk = blocks.block(groups[0], 2, random.Random(0))
    wanted = {g: blocks.PILOT_BLOCKS for g in groups}
    new = scheduler.set_aside(blk, run, sizing, wanted, deque(), random.Random(0), (0.0, 0.0))
    assert new is not None and new.repeat == 10 and sizing.repeat_of[groups[0]] == 10
    assert set(new.cells) == set(blk.cells) and new.attempt == 1
