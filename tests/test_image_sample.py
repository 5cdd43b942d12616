"""Which images a run takes from a user's folder, and how it says what it left out (issue 36, items 5 and 6)."""

from __future__ import annotations

import csv
import json
import os

import pytest
from gilbench.workloads import thumbnail
from PIL import Image

from tests.conftest import gilbench


@pytest.fixture
def two_albums(tmp_path):
    """Two subfolders of 6 images each: the first N in path order would all come from the first."""
    root = tmp_path / "pictures"
    for album in ("a-logos", "b-wallpapers"):
        (root / album).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (16 + i, 12), (i * 40, 80, 120)).save(root / album / f"{i:02d}.png")
    return root


def albums_of(taken: dict, root) -> set[str]:
    return {os.path.relpath(path, root).split(os.sep)[0] for path in taken["inputs"]}


def test_the_sample_is_spread_across_the_folder_and_seeded(two_albums):
    for seed in (0, 1, 2, 12345, thumbnail.SEED):
        taken = thumbnail.take_images(two_albums, 4, strict=False, seed=seed)
        assert len(taken["inputs"]) == 4
        assert albums_of(taken, two_albums) == {"a-logos", "b-wallpapers"}, seed  # from both, whatever the seed
        assert taken["record"]["sample_seed"] == seed
        assert taken["inputs"] == sorted(taken["inputs"])  # taken in path order
        again = thumbnail.take_images(two_albums, 4, strict=False, seed=seed)
        assert again["inputs"] == taken["inputs"]  # the same seed, the same sample
    samples = {tuple(thumbnail.take_images(two_albums, 4, strict=False, seed=s)["inputs"]) for s in range(10)}
    assert len(samples) > 1  # the seed chooses the sample


def test_an_unreadable_image_in_the_sample_is_replaced_from_the_rest(two_albums):
    (two_albums / "a-logos" / "00.png").write_bytes(b"")
    (two_albums / "b-wallpapers" / "03.png").write_bytes(b"")
    taken = thumbnail.take_images(two_albums, 10, strict=False, seed=7)
    assert len(taken["inputs"]) == 10 and taken["record"]["images_not_examined"] == 0
    assert sorted(name for name, _ in taken["skipped"]) == ["a-logos/00.png", "b-wallpapers/03.png"]


def test_a_folder_of_only_links_to_folders_says_where_they_lead(tmp_path):
    real = tmp_path / "real" / "wallpaper"
    real.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(real / "1920x1080.png")
    links = tmp_path / "wallpapers"
    links.mkdir()
    for name in ("Autumn", "Winter"):
        os.symlink(real, links / name)
    with pytest.raises(ValueError) as raised:
        thumbnail.list_images(links)
    message = str(raised.value)
    assert "holds no images" in message and "links to folders are not followed (2 here)" in message
    assert f"point --images at the folder a link leads to, e.g. {real}" in message


def test_run_seed_picks_the_sample_and_skips_are_one_counted_line(two_albums, tmp_path):
    """--seed seeds the sample (recorded in environment.json's inputs, not in the params); links to folders and
    files that are not images are counted in one line, the accepted names said once, each file in inputs.csv."""
    for i in range(25):
        os.symlink(two_albums / "a-logos", two_albums / f"link-{i:02d}")
        (two_albums / f"notes-{i:02d}.txt").write_text("x")
    out = tmp_path / "out"
    args = ["--variants", "serial", "--repeat", "1", "--warmup", "0", "--size", "smoke", "--no-report"]
    proc = gilbench("run", "--workloads", "thumbnail", "--images", two_albums, "--seed", 5, "--out", out, *args)
    assert proc.returncode == 0, proc.stderr
    assert "skipping link-" not in proc.stderr and "skipping notes-" not in proc.stderr
    assert proc.stderr.count("(accepted: .bmp,") == 1
    summary = [line for line in proc.stderr.splitlines() if line.startswith("gilbench: thumbnail: ")]
    assert len(summary) == 1
    assert "25 link to a folder, not followed" in summary[0] and "25 not an image file name (accepted:" in summary[0]
    assert "inputs.csv" in summary[0]
    env = json.loads((out / "latest" / "environment.json").read_text())
    assert env["inputs"]["thumbnail"]["sample_seed"] == 5
    with open(out / "latest" / "results.csv", newline="") as fh:
        assert all("sample_seed" not in row["params"] for row in csv.DictReader(fh))
    with open(out / "latest" / "inputs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["reason"].startswith("link to a folder") for r in rows) == 25
