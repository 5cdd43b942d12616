"""A workload's input files (thumbnail's images, or any workload whose prepare() reports them): the line that
describes them, and inputs.csv, every file used or skipped with its reason. Read by the orchestrator, which
prepares the inputs, and by the report, which names them."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from . import storage

SKIPS_SAID_EACH = 20  # up to this many skipped files, each has its line; beyond, these reasons are only counted
# (every file with its reason is in the run's inputs.csv):
ONLY_COUNTED = ("not an image file name", "hidden", "the same file as")
INPUTS = "inputs.csv"  # per workload with reported inputs: every file, used or skipped, with the reason


def recorded(inputs: dict[str, dict]) -> dict[str, dict]:
    """prepare_inputs()'s reports as parameter updates for build_cells (the skipped files are not parameters)."""
    return {name: {k: v for k, v in found.items() if k not in ("skipped", "used")} for name, found in inputs.items()}


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


def describe_inputs(found: dict) -> str:
    """One line on a workload's inputs: what was used, and the skipped files counted by reason."""
    parts = []
    if "images" in found:
        parts.append(
            f"{found['images']} images ({found.get('pixels', 0) / 1e6:.1f} megapixels) taken from "
            f"{found.get('images_dir', '')}, of {found.get('images_found', found['images'])} found"
            + (
                f" (the size profile asks for {found['images_requested']})"
                if found.get("images_requested", found["images"]) > found["images"]
                else ""
            )
            + (
                f" ({found['images_not_examined']} beyond the count not opened; --param thumbnail.images=N takes more)"
                if found.get("images_not_examined")
                else ""
            )
        )
    skipped = found.get("skipped", [])
    if skipped:
        by_reason = Counter(
            "duplicate" if reason.startswith("the same file") else reason.split(" (")[0].split(",")[0]
            for _, reason in skipped
        )
        parts.append(
            f"skipped {len(skipped)}: "
            + ", ".join(f"{n} {r}" for r, n in by_reason.most_common())
            + (f" (each file with its reason: {INPUTS} in the run folder)" if len(skipped) > SKIPS_SAID_EACH else "")
        )
    return "; ".join(parts) or "no inputs reported"
