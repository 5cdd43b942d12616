"""Issue 15: the lesson notebook runs top to bottom in a real Jupyter kernel, every cell, charts included."""

from __future__ import annotations

import json
import os
import shutil
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
    assert [
        ("md" if c["cell_type"] == "markdown" else "code", "".join(c["source"])) for c in committed["cells"]
    ] == lesson.CELLS
    code = [c for c in committed["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] for c in code), "committed without outputs: run make lesson-refresh"
    assert any("image/png" in o.get("data", {}) for c in code for o in c["outputs"])


def _fresh_clone(dest: Path) -> Path:
    """What `git clone` of this checkout gives: its tracked files (as they are in the working tree), nothing git
    ignores (no results/lesson/, no .venv)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: there is no clone to make")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lesson_runs_in_a_fresh_clone_at_smoke_size(tmp_path):
    """Issue 27: `make lesson` itself, in a clone where results/lesson/ does not exist yet; the environment is this
    suite's (nbclient, nbformat and ipykernel come with the test extras), so no Jupyter is installed again."""
    clone = _fresh_clone(tmp_path / "clone")
    assert not (clone / "results" / "lesson").exists()
    venv = Path(sys.prefix)
    stamps = [f"-o{venv}/.installed-stamp", f"-o{venv}/.installed-lesson-stamp"]  # this environment, as it is
    proc = subprocess.run(
        [
            "make",
            "-C",
            str(clone),
            *stamps,
            "lesson",
            f"VENV={venv}",
            "LESSON_SIZE=smoke",
            f"PYTHON_FT={os.environ.get('GILBENCH_PYTHON_FT', '')}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if k != "GILBENCH_LESSON_OUT"},
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]  # nbclient stops at the first cell that raises
    out = clone / "results" / "lesson" / "lesson.ipynb"
    nb = json.loads(out.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code)  # every cell ran
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors
    images = [c for c in code if any("image/png" in o.get("data", {}) for o in c["outputs"])]
    sources = ["".join(c["source"]) for c in images]
    assert any('figure("scaling-count")' in s for s in sources)
    assert any('"states-count"' in s for s in sources)  # the state timeline, inline (where the machine has it)
    assert any('figure("overview")' in s for s in sources)
    text = "".join("".join(o.get("text", "")) for c in code for o in c["outputs"])  # JSON keeps text as lines
    assert "No free-threaded interpreter was given" in text or "free-threaded build" in text
    assert len(list((clone / "results" / "lesson").glob("*/runs/*/results.csv"))) >= 2  # the live runs really ran


def test_part_5_without_a_free_threaded_python_says_how_to_get_one(capsys):
    """Issue 27: no pointer to files a user does not have; ways to get a free-threaded build that exist."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import lesson
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    cell = next(text for kind, text in lesson.CELLS if kind == "code" and text.startswith("if FT_PYTHON:"))
    exec(cell, {"FT_PYTHON": "", "sys": sys})
    said = capsys.readouterr().out
    assert "uv python install 3.14t" in said and "--disable-gil" in said and "PYTHON_FT=" in said
    assert "shared" not in said and "../" not in said
    for path in [w.rstrip(".,") for w in said.split() if w.startswith("results/")]:
        assert (ROOT / path).exists(), path  # every file it points to is in the repository
    after = lesson.CELLS[[text for _, text in lesson.CELLS].index(cell) + 1][1]
    assert "above" not in after.split("## 6.")[0]  # nothing to look at above when part 5 was skipped
