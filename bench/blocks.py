"""The units of a run's plan: its cells, paired blocks of them, their order, and how many a precision target needs.

A *block* runs, back to back and in random order, the serial baseline and the variants of one workload
at one worker count: one repetition each, each in its own fresh process. Speedups are statistics of the
per-block ratios serial / variant (bench/analysis.py), so the machine's slow drift, which moves a whole
block, cancels out of them. Rounds visit every group's block once, in a new shuffled order each round
(Abedi and Brecht's randomized multiple interleaved trials; Kalibera and Jones, "Rigorous benchmarking
in reasonable time"). A disturbed block is run again at once, as a whole, so its pairs stay back to back.

With `--repeat auto` a pilot of PILOT_BLOCKS rounds measures each cell's pair spread; from it the plan
says how many blocks each cell needs for `--precision`, and what that costs in time, before spending it.
Rounds then go on for the groups that still have a cell short of the target, each cell leaving its
group's blocks once its interval is within the target, as long as the next round fits in `--budget`.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import dataclass, replace

from .native import LEAVE, setting_words

# Blocks per group before the first look: --repeat auto then looks after every round and stops each cell at the
# first look where its interval, widened for the looks (analysis.SEQUENTIAL_FACTOR), is within the precision. Four:
# with fewer the spread is too poorly known to print a plan from; at 4 blocks the widened t interval is within +-5 %
# where the per-block spread is under about 2.4 % (a quiet count's is 2-4 %: it mostly stops at 4-6 blocks;
# docs/measuring.md, "Sizing a run without losing coverage").
PILOT_BLOCKS = 4


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: a workload (size, parameters) run by a variant at a worker count under one
    interpreter. Its repetitions run in the blocks of its group."""

    workload: str
    ref: str
    size: str
    params_json: str  # the profile's parameters with overrides: what the CSV shows
    variant: str
    workers: int
    python: str = sys.executable  # the interpreter that runs this cell
    scale: int = 1  # shares of work: 1, or the worker count under --scaling weak
    work_parameter: str | None = None  # the parameter that is multiplied by the scale (the workload's WEAK_SCALING)
    native: str = "leave"  # its --native-threads setting (`leave`, `auto`, a count): a setting has its own serial cell

    def params(self, prepared: dict) -> dict:
        """What the cell's workload is given: the recorded parameters, the work parameter times the scale."""
        params = {**json.loads(self.params_json), **prepared}
        if self.scale != 1:
            params[self.work_parameter] = params[self.work_parameter] * self.scale
        return params


@dataclass(frozen=True)
class Group:
    """The cells one block runs: a workload (size, parameters), an interpreter and a worker count."""

    workload: str
    size: str
    params_json: str
    python: str
    workers: int
    serial: Cell | None  # the serial cell (None where the serial variant is not selected)
    members: tuple  # the variants' cells at this worker count
    native: str = "leave"  # the cells' --native-threads setting

    @property
    def label(self) -> str:
        setting = "" if self.native == LEAVE else f" with {setting_words(self.native)}"
        return f"{self.workload} at {self.workers} worker{'s' if self.workers != 1 else ''}{setting}"


@dataclass(frozen=True)
class Repetition:
    cell: Cell
    repeat: int  # the block's number in its group: 1..N measured; 0, -1, ... warm-ups
    block_workers: int  # the worker count of the block it runs in (the serial cell runs in every group's blocks)
    attempt: int = 1  # 2, 3, ...: its block was run again because other programs disturbed it

    @property
    def warmup(self) -> bool:
        return self.repeat <= 0


@dataclass(frozen=True)
class Block:
    group: Group
    repeat: int
    cells: tuple  # in the order they run
    attempt: int = 1

    def repetitions(self) -> list[Repetition]:
        return [Repetition(cell, self.repeat, self.group.workers, self.attempt) for cell in self.cells]

    def again(self, rng: random.Random) -> Block:
        """The same block, run again at once (a new order, the next attempt)."""
        cells = list(self.cells)
        rng.shuffle(cells)
        return replace(self, cells=tuple(cells), attempt=self.attempt + 1)


def groups(cells) -> list[Group]:
    """Every (workload, size, parameters, interpreter, native-thread setting, worker count) that has a variant cell,
    with its serial cell; a matrix of the serial variant alone gets one group at 1 worker."""
    from .analysis import BASELINE_VARIANT

    by_work: dict[tuple, dict] = {}
    for cell in cells:
        work = by_work.setdefault(
            (cell.workload, cell.size, cell.params_json, cell.python, cell.native), {"serial": None, "at": {}}
        )
        if cell.variant == BASELINE_VARIANT:
            work["serial"] = cell
        else:
            work["at"].setdefault(cell.workers, []).append(cell)
    out = []
    for (workload, size, params_json, python, setting), work in by_work.items():
        at = work["at"] or {1: []}
        for n in sorted(at):
            out.append(Group(workload, size, params_json, python, n, work["serial"], tuple(at[n]), setting))
    return out


def block(group: Group, repeat: int, rng: random.Random, members=None) -> Block:
    """One block of a group: the serial cell and the members (all, or the ones still measured), shuffled."""
    cells = ([group.serial] if group.serial is not None else []) + list(group.members if members is None else members)
    rng.shuffle(cells)
    return Block(group, repeat, tuple(cells))


def rounds(all_groups: list[Group], first: int, last: int, rng: random.Random) -> list[Block]:
    """Rounds first..last: each visits every group's block once, the groups in a new shuffled order each round."""
    order = []
    for r in range(first, last + 1):
        this_round = [block(g, r, rng) for g in all_groups]
        rng.shuffle(this_round)
        order.extend(this_round)
    return order


def plan(all_groups: list[Group], repeat: int, rng: random.Random, warmup: int = 1) -> list[Block]:
    """`warmup` warm-up rounds, then `repeat` measured rounds of blocks."""
    return rounds(all_groups, 1 - warmup, 0, rng) + rounds(all_groups, 1, repeat, rng)


@dataclass
class CellPlan:
    """What the pilot says of one cell: its pair spread and the blocks the precision needs."""

    label: str
    blocks_done: int
    spread: float  # sd of the log of the per-block ratios
    blocks_needed: int
    wall_s: float  # predicted wall time of one of its repetitions (process start included)


@dataclass
class GroupPlan:
    group: Group
    cells: list[CellPlan]
    serial_s: float  # predicted wall time of one serial repetition: every block of the group has one

    @property
    def blocks_needed(self) -> int:
        return max((c.blocks_needed for c in self.cells), default=0)

    @property
    def blocks_done(self) -> int:
        return min((c.blocks_done for c in self.cells), default=0)

    @property
    def block_s(self) -> float:
        return self.serial_s + sum(c.wall_s for c in self.cells)

    @property
    def more_s(self) -> float:
        """Each cell leaves the blocks once it meets the precision; the serial cell runs in every block."""
        return max(0, self.blocks_needed - self.blocks_done) * self.serial_s + sum(
            max(0, c.blocks_needed - c.blocks_done) * c.wall_s for c in self.cells
        )


def cell_key(cell) -> tuple:
    """The cell's key in analysis.summarize's CELL order (start method and scaling are one per run)."""
    return (cell.workload, cell.size, cell.params_json, cell.python, cell.native, cell.variant, cell.workers)


def short_key(key: tuple) -> tuple:
    """analysis.CELL key (workload, size, params, scaling, python, start method, native setting, variant, workers)
    -> cell_key."""
    workload, size, params, _scaling, python, _method, setting, variant, workers = key
    return (workload, size, params, python, str(setting), variant, int(workers))


def size_groups(all_groups: list[Group], spread: dict, walls: dict, precision: float) -> list[GroupPlan]:
    """The plan after the pilot: per group, the blocks each cell needs and the predicted time of one block.
    `spread`: short cell key -> (blocks, sd, half-width) from analysis.pair_spread; `walls`: cell key -> walls."""
    from .analysis import SEQUENTIAL_FACTOR, blocks_needed

    plans = []
    for g in all_groups:
        cells = []
        for cell in g.members:
            n, sd, _half = spread.get(cell_key(cell), (0, math.nan, math.nan))
            # a prediction from the pilot's spread: each look after a round decides (analysis.SEQUENTIAL_FACTOR)
            need = blocks_needed(sd, precision, factor=SEQUENTIAL_FACTOR) if sd == sd else n  # no spread: not sized
            cells.append(
                CellPlan(f"{cell.variant} x{cell.workers}", n, sd, need, median(walls.get(cell_key(cell), [])))
            )
        serial_s = median(walls.get(cell_key(g.serial), [])) if g.serial is not None else 0.0
        plans.append(GroupPlan(g, cells, serial_s))
    return plans


def median(values) -> float:
    values = sorted(v for v in values if v == v)
    if not values:
        return 0.0
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def describe_plan(plans: list[GroupPlan], precision: float, spent_s: float, budget_s: float) -> list[str]:
    """The plan in words, one line per group, then the total: printed before the run spends the time."""
    lines = []
    for p in plans:
        if not p.cells:
            continue
        setter = max(p.cells, key=lambda c: c.blocks_needed)
        lines.append(
            f"{p.group.label}: +-{precision * 100:g} % needs ~{p.blocks_needed} blocks "
            f"({p.blocks_done} done; {setter.label} sets it, pair spread {setter.spread * 100:.1f} %), "
            f"~{p.block_s:.1f} s each while every cell is in it: ~{p.more_s:.0f} s more"
        )
    more = sum(p.more_s for p in plans)
    total = spent_s + more
    lines.append(
        f"plan: ~{more:.0f} s more after the pilot's {spent_s:.0f} s, ~{total:.0f} s of measuring in all "
        f"(budget {budget_s:g} s)"
        + (
            ""
            if total <= budget_s
            else "; over the budget: the cells that need the most blocks will stop short of the precision"
        )
    )
    return lines


def next_round(all_groups: list[Group], unmet: dict, repeat_of: dict, rng: random.Random) -> list[Block]:
    """One more round: for each group with a cell still short of the precision, a block of its serial cell and
    those cells (cells that met it leave), the groups shuffled. `unmet`: group -> its cells still measured;
    `repeat_of`: group -> the last block number used."""
    order = [block(g, repeat_of[g] + 1, rng, unmet[g]) for g in all_groups if unmet.get(g)]
    rng.shuffle(order)
    return order
