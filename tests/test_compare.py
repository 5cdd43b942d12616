"""compare: which runs it puts side by side, in which order, and how it names them."""

from __future__ import annotations

import pandas as pd
from gilbench import render

from tests.helpers import gil_run


def test_compare_keeps_the_order_given_and_labels_what_tells_runs_apart(tmp_path):
    a = gil_run(tmp_path / "a")
    b = gil_run(tmp_path / "b")
    for folder, run_id in ((a, "run-A"), (b, "run-B")):  # same host, same Python: only the run tells them apart
        text = (folder / "results.csv").read_text().replace("r1,", f"{run_id},")
        (folder / "results.csv").write_text(text)
    paths = render.compare([b, a], tmp_path / "cmp")
    table = pd.read_csv(paths[0])
    assert table["base"].nunique() == 1 and table["base"].iloc[0].startswith("hostA, Python 3.11.7 (GIL on), run run-B")
    assert "run run-B" in table["base"].iloc[0] and "run run-A" in table["run"].iloc[0]  # the first given is the base
    assert "#1" not in " ".join(table["run"]) + " ".join(table["base"])
