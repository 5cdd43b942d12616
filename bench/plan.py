"""A run's plan, from its checked options: the matrix of cells (one per workload, interpreter, variant and worker
count), each workload's inputs prepared once, and the shuffled order of the paired blocks (bench/blocks.py).

Everything here happens before a run folder exists, so bad inputs fail with nothing written.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from dataclasses import dataclass, field

from . import blocks, inputs, native, variants
from .blocks import Block, Cell, Group
from .errors import UsageError
from .options import RunConfig
from .registry import Workload


def effective_params(wl: Workload, config: RunConfig) -> dict:
    """The size profile with the user's overrides, and the user's folder of inputs for a workload that takes one."""
    return inputs.with_folder(wl.params(config.size, config.param.get(wl.name)), wl.module, config.images)


def cell_scale(variant: str, workers: int, scaling: str) -> int:
    """Shares of work a cell does: under weak scaling one per worker (the serial baseline does one)."""
    return workers if scaling == "weak" and variants.VARIANTS[variant].family != "serial" else 1


def build_cells(config: RunConfig, recorded: dict[str, dict] | None = None) -> list[Cell]:
    """The matrix. `recorded`: per workload, what its prepare() found the inputs to be (e.g. the number of images
    taken from a user's folder), which replaces the profile's values in the recorded parameters."""
    cells = []
    for wl in config.workloads:
        params = {**effective_params(wl, config), **(recorded or {}).get(wl.name, {})}
        params_json = json.dumps(params, sort_keys=True)
        for python in config.python:
            if (wl.name, python) in config.unavailable:  # said before the run, kept in unavailable.csv
                continue
            for variant in config.variants:
                if wl.name.startswith("pyperformance:"):
                    from .suites.pyperformance import skipped_variant

                    if skipped_variant(wl.name, variants.VARIANTS[variant].family):
                        continue
                requested = config.variant_workers.get(variant, config.workers)
                for workers, setting in itertools.product(
                    variants.worker_counts(variant, requested), native.settings(config.native_threads)
                ):
                    scale = cell_scale(variant, workers, config.scaling)
                    cells.append(
                        Cell(
                            wl.name,
                            wl.ref,
                            config.size,
                            params_json,
                            variant,
                            workers,
                            python,
                            scale,
                            wl.weak_parameter,
                            setting,
                        )
                    )
    return cells


def largest_scale(config: RunConfig) -> int:
    """The most shares of work any cell does (weak scaling: the largest worker count), so inputs are made once."""
    if config.scaling != "weak":
        return 1
    return max(
        cell_scale(v, n, "weak")
        for v in config.variants
        for n in variants.worker_counts(v, config.variant_workers.get(v, config.workers))
    )


def prepare_inputs(config: RunConfig) -> tuple[dict[str, dict], dict[str, dict]]:
    """Each workload's prepare() runs once per run, here, before any cell (inputs are cached on disk).

    Returns what each workload's cells are given, and per workload what it reports of its inputs
    (bench/inputs.py): its record (parameters as they really are, e.g. how many images a user's folder gave)
    and `skipped` (every file left out, each said once here, then counted by reason).
    """
    prepared: dict[str, dict] = {}
    found: dict[str, dict] = {}
    scale = largest_scale(config)
    for wl in config.workloads:
        hook = getattr(wl.module, "prepare", None)
        if hook is None:
            prepared[wl.name] = {}
            continue
        params = effective_params(wl, config)
        if scale > 1:  # inputs for the largest cell: N shares of the work parameter
            params[wl.weak_parameter] *= scale
        config.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            extra = dict(
                hook(inputs.for_prepare(params, wl.module, config.strict, config.seed), str(config.cache_dir)) or {}
            )
        except ValueError as exc:  # the workload rejected its inputs (e.g. --strict and a bad image)
            raise UsageError(str(exc)) from None
        record, skipped = inputs.taken(extra, wl.module)
        inputs.say_skipped(skipped)
        if record and scale > 1 and wl.weak_parameter in record:
            if record[wl.weak_parameter] < params[wl.weak_parameter]:
                raise UsageError(
                    f"--scaling weak: {wl.name} needs {params[wl.weak_parameter]} {wl.weak_parameter} for "
                    f"{scale} workers; its inputs give {record[wl.weak_parameter]}"
                )
            record = {**record, wl.weak_parameter: record[wl.weak_parameter] // scale}  # one worker's share
        if record or skipped:
            found[wl.name] = {**record, "skipped": skipped}
            print(f"gilbench: {wl.name}: {inputs.describe_inputs(found[wl.name], wl.name)}", file=sys.stderr)
        prepared[wl.name] = extra
    return prepared, found


@dataclass
class Plan:
    """What a run will do, before it does it: its cells, their groups and the order of the first rounds of blocks."""

    seed: int  # of every shuffle: the same seed gives the same plan (--resume rebuilds it so)
    prepared: dict[str, dict]  # per workload, what its cells are given besides the parameters (e.g. input files)
    inputs: dict[str, dict]  # per workload, the report of its inputs (environment.json, inputs.csv)
    cells: list[Cell]
    groups: list[Group]
    first_rounds: int  # measured rounds planned from the start: --repeat, or the pilot's with --repeat auto
    order: list[Block]  # the warm-up rounds, then the first measured rounds
    rng: random.Random = field(repr=False)  # after the order: the shuffles of blocks run again


def new_seed(config: RunConfig) -> int:
    return config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "big")


def make(config: RunConfig, seed: int) -> Plan:
    """The plan of a run (its inputs prepared: bad ones fail here, before a run folder exists)."""
    prepared, found = prepare_inputs(config)
    cells = build_cells(config, inputs.recorded(found))
    all_groups = blocks.groups(cells)
    rng = random.Random(seed)
    first_rounds = blocks.PILOT_BLOCKS if config.auto else config.repeat
    order = blocks.plan(all_groups, first_rounds, rng, config.warmup_rounds)
    return Plan(seed, prepared, found, cells, all_groups, first_rounds, order, rng)
