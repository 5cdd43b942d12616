"""The README's chart: `count` under the GIL (threads, processes) and free-threaded (threads), one picture.

Drawn by gilbench's own `compare` from the committed CSVs of the 16-vCPU reference run, keeping only the cells
that tell the story (the serial baselines, thread-pool and process-pool under the GIL, thread-pool without it):

    python scripts/hero_chart.py [REFERENCE_FOLDER]   # default: results/reference/lent-16cpu-xeon

writes REFERENCE_FOLDER/gil-story.png (and .svg). No number is computed here: the folder's CSV is filtered, then
summarised and drawn exactly as `gilbench compare` does it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
from gilbench import render, storage

KEEP = {False: {"serial", "thread-pool", "process-pool"}, True: {"serial", "thread-pool"}}  # by free_threaded


def main(folder: Path) -> None:
    frame = storage.load_results(folder)
    wanted = [row.workload == "count" and row.variant in KEEP[bool(row.free_threaded)] for row in frame.itertuples()]
    kept = frame[pd.Series(wanted, index=frame.index)]
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        kept.to_csv(run / storage.RESULTS, index=False)
        shutil.copy(folder / storage.ENVIRONMENT, run / storage.ENVIRONMENT)
        written = render.compare([run], Path(tmp) / "out")
        for chart in written:
            if chart.name.startswith("compare.") and chart.suffix in (".png", ".svg"):
                shutil.copy(chart, folder / f"gil-story{chart.suffix}")
                print(folder / f"gil-story{chart.suffix}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/reference/lent-16cpu-xeon"))
