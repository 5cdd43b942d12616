"""gilbench.run in a Jupyter notebook without ipywidgets (issue 36, item 4): executed in a real kernel, its saved
outputs hold no tqdm warning and no progress frames, and the returned Run shows each workload's answer line.

The kernel is this environment's (nbclient and ipykernel come with the test extras). The notebook's first cell
makes `import ipywidgets` fail, so the test covers the case without widgets whether or not they are installed."""

from __future__ import annotations

import json

import gilbench
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

HIDE_WIDGETS = 'import sys\nsys.modules["ipywidgets"] = None  # `import ipywidgets` fails: as if not installed'
RUN = (
    "import gilbench\n"
    'run = gilbench.run(workloads="count", variants="serial,thread-pool", workers="1", size="smoke", repeat=2,\n'
    "                   warmup=0, reruns=0, disturbance_threshold=1e6, out={out!r})\n"
    "run"
)
COLUMNS = "import json\nprint(json.dumps([list(run.summary.columns[:8]), list(run.summary.columns[-2:])]))"


def texts(cell) -> list[str]:
    """Every text a cell's outputs hold: streams, and each rich output's text/plain and text/markdown."""
    found = []
    for output in cell["outputs"]:
        if output["output_type"] == "stream":
            found.append(output["text"])
        if output["output_type"] == "error":
            found.append("\n".join(output["traceback"]))
        for kind in ("text/plain", "text/markdown"):
            if kind in output.get("data", {}):
                found.append(output["data"][kind])
    return found


def test_a_notebook_without_widgets_shows_the_answer_and_no_progress_noise(tmp_path):
    out = tmp_path / "results"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (HIDE_WIDGETS, RUN.format(out=str(out)), COLUMNS)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    saved = nbformat.reads(nbformat.writes(nb), as_version=4)  # as saved, and read back (texts joined)
    run_cell, columns_cell = saved["cells"][1], saved["cells"][2]
    everything = "\n".join(text for cell in saved["cells"] for text in texts(cell))
    assert "TqdmWarning" not in everything and "IProgress" not in everything
    assert "\r" not in everything and "rep/s" not in everything  # no bar frames, in any output
    stderr = [o for o in run_cell["outputs"] if o.get("name") == "stderr"]
    assert len(stderr) <= 1, stderr  # not one output per bar redraw
    answers = gilbench.load(out / "latest").answers
    assert answers and answers[0].startswith("count: ")
    shown = [o["data"]["text/markdown"] for o in run_cell["outputs"] if "text/markdown" in o.get("data", {})]
    assert len(shown) == 1 and all(line in shown[0] for line in answers), shown
    first, last = json.loads("".join(texts(columns_cell)))
    assert first == [
        "workload",
        "variant",
        "workers",
        "speedup",
        "speedup_low",
        "speedup_high",
        "efficiency",
        "busy_cores",
    ]
    assert last == ["params", "python_executable"]
