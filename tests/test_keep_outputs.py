"""Issue 27, item 9: --keep-outputs DIR keeps what each cell's workload wrote, so a person can check the work."""

from __future__ import annotations

from PIL import Image


def test_keep_outputs_keeps_the_thumbnails_of_every_cell(tmp_path, run_cli):
    kept = tmp_path / "kept"
    proc = run_cli(
        "run",
        "--workloads",
        "thumbnail",
        "--variants",
        "serial,thread-pool",
        "--workers",
        "2",
        "--size",
        "smoke",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--no-progress",
        "--no-report",
        "--out",
        tmp_path / "results",
        "--keep-outputs",
        kept,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for cell in ("serial-x1", "thread-pool-x2"):
        thumbs = sorted((kept / "thumbnail" / cell).glob("*.jpg"))
        assert thumbs, f"no thumbnails kept for {cell}: {list(kept.rglob('*'))}"
        with Image.open(thumbs[0]) as img:
            assert img.width <= 50 and img.height <= 50
        assert not list((kept / "thumbnail" / cell).glob("*.json"))  # the harness's own files stay out
    assert str(kept) in proc.stdout + proc.stderr  # the run says where the outputs are


def test_keep_outputs_that_is_a_file_is_refused_before_anything_runs(tmp_path, run_cli):
    target = tmp_path / "a-file"
    target.write_text("mine")
    proc = run_cli(
        "run", "--workloads", "count", "--size", "smoke", "--out", tmp_path / "results", "--keep-outputs", target
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--keep-outputs" in lines[0] and str(target) in lines[0] and "folder" in lines[0], (
        proc.stderr
    )
    assert target.read_text() == "mine" and not (tmp_path / "results").exists()
