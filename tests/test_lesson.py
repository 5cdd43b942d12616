"""Issue 15: the lesson notebook runs top to bottom in a real Jupyter kernel, every cell, charts included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "lesson.ipynb"


def test_the_committed_notebook_is_the_one_scripts_lesson_writes(tmp_path):
    """docs/lesson.ipynb's cells are scripts/lesson.py's (outputs aside): edit the script, then refresh."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import lesson
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    committed = json.loads(NOTEBOOK.read_text())
    assert [("md" if c["cell_type"] == "markdown" else "code", "".join(c["source"])) for c in committed["cells"]] \
        == lesson.CELLS
    code = [c for c in committed["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] for c in code), "committed without outputs: run make lesson-refresh"
    assert any("image/png" in o.get("data", {}) for c in code for o in c["outputs"])


@pytest.mark.slow
def test_notebook_executes_top_to_bottom_at_smoke_size(tmp_path):
    out = tmp_path / "lesson.ipynb"
    env_out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "lesson.py"), "run", str(NOTEBOOK), "--out", str(out),
                           "--size", "smoke"], capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "GILBENCH_LESSON_OUT": str(env_out)})
    assert proc.returncode == 0, proc.stderr[-3000:]  # nbclient stops at the first cell that raises
    nb = json.loads(out.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code)  # every cell ran
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors
    images = [c for c in code if any("image/png" in o.get("data", {}) for o in c["outputs"])]
    sources = ["".join(c["source"]) for c in images]
    assert any('figure("scaling-count")' in s for s in sources)
    assert any('figure("states-count")' in s for s in sources)  # the state timeline, inline
    assert any('figure("overview")' in s for s in sources)
    text = "".join("".join(o.get("text", "")) for c in code for o in c["outputs"])  # JSON keeps text as lines
    assert "No free-threaded interpreter was given" in text or "free-threaded build" in text
    assert len(list(env_out.glob("runs/*/results.csv"))) >= 2  # the live runs really ran
