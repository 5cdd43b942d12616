"""A workload's input files, handled the same way for any workload that declares them: the user's folder
(`--images DIR`, `--strict`) given to the workload, the files its prepare() took and skipped, the line that describes
them, and inputs.csv (every file used or skipped, with its reason). Read by the plan, which prepares the inputs,
and by the report, which names them.

A workload declares its inputs with a module attribute, INPUTS: the name of the parameter that counts its input
files (thumbnail's `images`). A user's folder then goes in the parameter `<INPUTS>_dir`, and prepare() gets
`strict` (stop at the first file it would skip) and, when the run has --seed, `sample_seed` (the seed of the sample
it takes from a folder that holds more files than it needs). prepare() reports what it found in `record` (parameters
as they really are, which replace the size profile's in the recorded parameters: `<INPUTS>` taken, `<INPUTS>_dir`,
`<INPUTS>_found`, `<INPUTS>_requested`, `<INPUTS>_not_examined`, optionally `pixels`; and `sample_seed`, the seed
it sampled with, which is not a parameter) and `skipped` ([[name, reason], ...])."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from . import storage

SKIPS_SAID_EACH = 20  # the report lists up to this many skipped files, each with its reason; beyond, it counts them
# Files left out for these reasons are only counted on the terminal, by reason, in one line (every file with its
# reason is in the run's inputs.csv): a folder holds many of them (a wallpaper package: hundreds of SVGs, dozens
# of links to folders), and none is a problem with an image. Any other reason (a broken or corrupt file) is said
# once per file.
ONLY_COUNTED = ("not an image file name", "hidden", "the same file as", "link to a folder")
INPUTS = "inputs.csv"  # per workload with reported inputs: every file, used or skipped, with the reason
FOLDER = "_dir"  # the suffix of the parameter that takes a user's folder: <INPUTS>_dir
SAMPLE_SEED = "sample_seed"  # what prepare() gets with a user's folder when the run has --seed: the sample's seed
# What a report of inputs holds besides parameters: the files, and the seed of the sample taken from a big folder
# (not a parameter: it does not change the kind of work, and results.csv's params stay those of the work done).
NOT_PARAMETERS = ("skipped", "used", SAMPLE_SEED)


def declared(module: ModuleType) -> str | None:
    """The parameter that counts a workload's input files (its INPUTS), or None: it takes no folder of inputs."""
    return getattr(module, "INPUTS", None)


def with_folder(params: dict, module: ModuleType, folder: str | None) -> dict:
    """The workload's parameters with the user's folder of inputs (--images), for a workload that declares them."""
    count = declared(module)
    if folder and count is not None and count in params:
        params[count + FOLDER] = os.path.abspath(folder)
    return params


def for_prepare(params: dict, module: ModuleType, strict: bool, seed: int | None = None) -> dict:
    """What prepare() gets: with a user's folder, `strict` (--strict) too, and the run's --seed, if given, for the
    sample it takes from a folder holding more files than it needs (without one, the workload's own fixed seed:
    every run of a folder takes the same files)."""
    count = declared(module)
    if count is not None and count + FOLDER in params:
        params["strict"] = strict
        if seed is not None:
            params[SAMPLE_SEED] = seed
    return params


def taken(extra: dict, module: ModuleType) -> tuple[dict, list]:
    """prepare()'s report, taken out of what it returned: (record, skipped). From a user's folder, the record lists
    the files the cells use (`used`), as the folder names them."""
    skipped = extra.pop("skipped", [])
    record = extra.pop("record", {})
    count = declared(module)
    folder = record.get(count + FOLDER) if count is not None else None
    if folder and "inputs" in extra:
        used = extra["inputs"][: record.get(count, len(extra["inputs"]))]
        record = {**record, "used": [os.path.relpath(p, folder) for p in used]}
    return record, skipped


def say_skipped(skipped: list) -> None:
    """Each skipped file that is a problem (broken, corrupt, unreadable) once, on stderr; files of ONLY_COUNTED's
    reasons are counted in the inputs' line (describe_inputs), each with its reason in inputs.csv."""
    for name, reason in skipped:
        if not reason.startswith(ONLY_COUNTED):
            print(f"gilbench: skipping {name}: {reason}", file=sys.stderr)


def recorded(inputs: dict[str, dict]) -> dict[str, dict]:
    """The plan's reports of inputs as parameter updates for build_cells (the files are not parameters)."""
    return {name: {k: v for k, v in found.items() if k not in NOT_PARAMETERS} for name, found in inputs.items()}


def write_inputs(run_dir: Path, inputs: dict[str, dict]) -> Path | None:
    """inputs.csv: one row per file a workload reported (used, in the order the cells take them, then skipped)."""
    rows = [(name, file, "used", "") for name, found in inputs.items() for file in found.get("used", [])]
    rows += [
        (name, file, "skipped", reason) for name, found in inputs.items() for file, reason in found.get("skipped", [])
    ]
    if not rows:
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["workload", "file", "status", "reason"])
    writer.writerows(rows)
    return storage.atomic_write(Path(run_dir) / INPUTS, buffer.getvalue())


def counted(found: dict) -> str | None:
    """Which parameter of a report counts the files taken from a folder (<INPUTS>, beside <INPUTS>_dir), or None."""
    return next((k[: -len(FOLDER)] for k in found if k.endswith(FOLDER) and k[: -len(FOLDER)] in found), None)


DUPLICATE = "duplicate"  # "the same file as NAME": each names another file, so it is counted under this word


def short_reason(reason: str) -> str:
    """A skip reason's first words, what it is counted under: "corrupt image", "duplicate", "link to a folder"."""
    return DUPLICATE if reason.startswith("the same file") else reason.split(" (")[0].split(",")[0]


def by_reason(skipped: list) -> list[tuple[str, int]]:
    """The skipped files counted by reason, most first. A reason is said in full, once, when every file of it has
    the same text ("not an image file name (accepted: .bmp, ...)", "link to a folder, not followed"), else by its
    first words ("corrupt image", "duplicate")."""
    texts: dict[str, set[str]] = {}
    for _, reason in skipped:
        texts.setdefault(short_reason(reason), set()).add(reason)
    counts = Counter(short_reason(reason) for _, reason in skipped)
    return [(next(iter(texts[r])) if len(texts[r]) == 1 and r != DUPLICATE else r, n) for r, n in counts.most_common()]


def describe_inputs(found: dict, workload: str = "") -> str:
    """One line on a workload's inputs: what was used, and the skipped files counted by reason. `workload`: its
    name, for the option that takes more."""
    parts = []
    count = counted(found)
    if count is not None:
        n = found[count]
        parts.append(
            f"{n} {count}"
            + (f" ({found['pixels'] / 1e6:.1f} megapixels)" if "pixels" in found else "")
            + f" taken from {found[count + FOLDER]}, of {found.get(count + '_found', n)} found"
            + (
                f" (the size profile asks for {found[count + '_requested']})"
                if found.get(count + "_requested", n) > n
                else ""
            )
            + (
                f" ({found[count + '_not_examined']} beyond the count not opened; "
                f"--param {workload + '.' if workload else ''}{count}=N takes more)"
                if found.get(count + "_not_examined")
                else ""
            )
        )
    skipped = found.get("skipped", [])
    if skipped:
        parts.append(
            f"skipped {len(skipped)}: "
            + ", ".join(f"{n} {r}" for r, n in by_reason(skipped))
            + (
                f" (each file with its reason: {INPUTS} in the run folder)"
                if len(skipped) > SKIPS_SAID_EACH or any(reason.startswith(ONLY_COUNTED) for _, reason in skipped)
                else ""
            )
        )
    return "; ".join(parts) or "no inputs reported"
