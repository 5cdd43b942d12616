"""The scheduler: the queue of blocks, in the plan's order; a disturbed block run again at once; and with
--repeat auto the sizing: after the pilot, the plan of how many blocks each cell needs for the precision (printed,
and written to plan.json), then rounds for the groups still short of it while the budget lasts.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from . import blocks, run_folder, storage
from .blocks import Block, Group
from .options import RunConfig
from .runner import BlockContext, Outcome, run_block
from .storage import PLAN_FILE


@dataclass
class Sizing:
    """--repeat auto's state: the plan made after the pilot, each cell's repetition walls, each group's last block."""

    groups: list[Group]
    walls: dict  # blocks.cell_key -> wall seconds of its repetitions (process start included)
    repeat_of: dict  # group -> the last block number planned
    plans: list | None = None

    @classmethod
    def start(cls, groups: list[Group], first_rounds: int) -> Sizing:
        return cls(groups, {}, {g: first_rounds for g in groups})

    def resume(self, run_dir: Path, done: dict, first_rounds: int) -> None:
        """On --resume: sized rounds already run go on from their last block number, and the walls of the
        repetitions already run are their times."""
        for g in self.groups:
            last = max((k[4] for k in done if k[:4] == (g.workload, g.size, g.python, g.workers)), default=0)
            self.repeat_of[g] = max(first_rounds, last)
        frame = storage.load_results(run_dir)
        frame = frame[~frame["warmup"].astype(bool) & frame["total_s"].notna()]  # as the live walls: measured ones
        for r in frame.itertuples():
            self.walls.setdefault(
                (r.workload, r.size, r.params, r.python_executable, r.variant, int(r.workers)), []
            ).append(float(r.total_s))


def sizing_round(
    run_dir: Path, config: RunConfig, sizing: Sizing, spent_s: float, rng: random.Random, outcome: Outcome, log
) -> list[Block]:
    """After the pilot and after each sized round: the cells still short of the precision, a round of blocks for
    their groups if it fits in the budget. The first call prints the plan (and writes plan.json)."""
    from . import analysis

    frame = storage.load_results(run_dir)
    spread = {blocks.short_key(k): v for k, v in analysis.pair_spread(frame, pilot=blocks.PILOT_BLOCKS).items()}
    unmet = {}
    for g in sizing.groups:
        # a cell with no pair at all (it failed every time) cannot be sized: it leaves the blocks
        short = [
            c
            for c in g.members
            if spread.get(blocks.cell_key(c), (0,))[0] > 0 and not spread[blocks.cell_key(c)][2] <= config.precision
        ]
        unmet[g] = short
    outcome.missed_precision = sum(len(v) for v in unmet.values())
    if sizing.plans is None:
        sizing.plans = blocks.size_groups(sizing.groups, spread, sizing.walls, config.precision)
        for line in blocks.describe_plan(sizing.plans, config.precision, spent_s, config.budget):
            log(line)
        outcome.planned_s = spent_s + sum(p.more_s for p in sizing.plans)
        storage.atomic_write(
            run_dir / PLAN_FILE, json.dumps(plan_record(sizing.plans, config, spent_s, outcome.planned_s), indent=2)
        )
    candidate = blocks.next_round(sizing.groups, unmet, sizing.repeat_of, rng)
    round_s = sum(blocks.median(sizing.walls.get(blocks.cell_key(c), [])) for blk in candidate for c in blk.cells)
    if not candidate or spent_s + round_s > config.budget:
        return []
    for blk in candidate:
        sizing.repeat_of[blk.group] = blk.repeat
    return candidate


def plan_record(plans, config: RunConfig, spent_s: float, predicted_s: float) -> dict:
    return {
        "precision": config.precision,
        "budget_s": config.budget,
        "pilot_blocks": blocks.PILOT_BLOCKS,
        "pilot_s": round(spent_s, 2),
        "predicted_s": round(predicted_s, 2),
        "groups": [
            {
                "workload": p.group.workload,
                "python": p.group.python,
                "workers": p.group.workers,
                "block_s": round(p.block_s, 3),
                "blocks_needed": p.blocks_needed,
                "cells": [
                    {
                        "cell": c.label,
                        "pilot_blocks": c.blocks_done,
                        "pair_spread": c.spread,
                        "blocks_needed": c.blocks_needed,
                    }
                    for c in p.cells
                ],
            }
            for p in plans
        ],
    }


def run_blocks(queue: deque[Block], run: BlockContext, sizing: Sizing | None, rng: random.Random) -> None:
    """Run the queue's blocks in order, each disturbed one again at once (up to --reruns times), one still disturbed
    after that set aside and replaced (`set_aside`), and with --repeat auto the sized rounds after them. `rng`: the
    plan's, for the order of a block run again or replaced."""
    config, outcome, bar = run.config, run.outcome, run.bar
    measuring_since = time.perf_counter()
    wanted = first_numbers(queue)
    while queue or sizing is not None:
        if not queue:  # --repeat auto: a round for the groups whose cells are short of the precision
            assert sizing is not None  # the loop goes on without a queue only while sizing
            extra = sizing_round(
                run.run_dir,
                config,
                sizing,
                time.perf_counter() - measuring_since,
                random.Random(run.seed + 1 + max(sizing.repeat_of.values(), default=0)),
                outcome,
                lambda line: bar.write(f"gilbench: {line}", file=sys.stderr),
            )
            if not extra:
                break
            queue.extend(extra)
            bar.total += sum(len(b.cells) for b in extra)
            continue
        blk = queue.popleft()
        began = time.perf_counter()
        disturbed = run_block(blk, run)
        if disturbed:
            outcome.disturbed_s += time.perf_counter() - began  # what the neighbour cost: this attempt is not counted
            if blk.attempt <= config.reruns:  # the whole block again, at once: its pairs stay back to back
                queue.appendleft(blk.again(rng))
                outcome.rerun += 1
                bar.total += len(blk.cells)
            else:
                spent_s, block_s = time.perf_counter() - measuring_since, time.perf_counter() - began
                replacement = set_aside(blk, run, sizing, wanted, queue, rng, (spent_s, block_s))
                if replacement is not None:
                    queue.append(replacement)
                    bar.total += len(replacement.cells)
    outcome.measured_s = time.perf_counter() - measuring_since


def first_numbers(queue) -> dict[Group, int]:
    """Per group, the blocks the plan gave it before any sizing: the most replacements it may get."""
    wanted: dict[Group, int] = {}
    for blk in queue:
        wanted[blk.group] = max(wanted.get(blk.group, 0), blk.repeat)
    return wanted


def set_aside(
    blk: Block, run: BlockContext, sizing: Sizing | None, wanted: dict, queue, rng: random.Random, times: tuple
) -> Block | None:
    """A block still disturbed after its re-runs is set aside: bench/analysis.measured counts it only for cells that
    have no clean block at all. Its replacement: a new block of its group (a new number, at the end of the queue, so
    the machine has the rest of the queue to quiet down and a pair is never made of blocks minutes apart), while one
    more block fits in --budget (`times`: the seconds spent measuring so far, and this block's last attempt, a
    disturbed one: an over-estimate of a clean block's) and --reruns is not 0 (which runs nothing again: the rows
    are exactly the planned ones); a group gets
    at most as many replacements as the blocks the plan first gave it (a machine busy through twice that is busy, not
    unlucky). None where no replacement is run."""
    outcome, g = run.outcome, blk.group
    outcome.set_aside += 1
    spent_s, block_s = times
    if run.config.reruns == 0 or spent_s + block_s > run.config.budget:
        return None
    if outcome.replaced.get(g, 0) >= wanted.get(g, 0):
        return None
    numbers = [b.repeat for b in queue if b.group == g] + [blk.repeat]
    numbers += [k[4] for k in run_folder.finished_blocks(run.run_dir) if k[:4] == run_folder.block_key(blk)[:4]]
    if sizing is not None:
        numbers.append(sizing.repeat_of.get(g, 0))
    number = max(numbers) + 1
    if sizing is not None:
        sizing.repeat_of[g] = number
    outcome.replaced[g] = outcome.replaced.get(g, 0) + 1
    return blocks.block(g, number, rng, members=[c for c in blk.cells if c != g.serial])


def close_plan(run_dir: Path, sizing: Sizing | None, outcome: Outcome) -> None:
    """plan.json, once the measuring is over: the seconds it took and the cells that missed the precision."""
    if sizing is None or sizing.plans is None:
        return
    try:
        record = json.loads((run_dir / PLAN_FILE).read_text())
        record["measured_s"] = round(outcome.measured_s, 2)
        record["missed"] = outcome.missed_precision
        storage.atomic_write(run_dir / PLAN_FILE, json.dumps(record, indent=2))
    except (OSError, ValueError):
        pass
