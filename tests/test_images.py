"""README: the user's image folder holds files that are not plain, valid photos."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from gilbench import storage
from tests.conftest import gilbench

INVALID = {
    "truncated.jpg": "corrupt image",
    "not-an-image.jpg": "not an image Pillow can read",
    "empty.jpg": "empty file (0 bytes)",
    "bomb.png": "decompression-bomb limit",
}
VALID = ["photo.jpg", "deep-16bit.png", "cmyk.jpg", "palette-transparent.png", "animated.gif"]


@pytest.fixture(scope="module")
def odd_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    Image.new("RGB", (200, 150), (200, 120, 40)).save(folder / "photo.jpg")
    Image.new("I;16", (120, 90), 40000).save(folder / "deep-16bit.png")
    Image.new("CMYK", (160, 120), (0, 128, 255, 0)).save(folder / "cmyk.jpg")
    pal = Image.new("P", (100, 100), 3)
    pal.info["transparency"] = 3
    pal.save(folder / "palette-transparent.png", transparency=3)
    frames = [Image.new("P", (80, 60), i) for i in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50)
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 200, 30)).save(buf, "JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "not-an-image.jpg").write_text("this is a text file with a .jpg name\n")
    (folder / "empty.jpg").write_bytes(b"")
    Image.new("1", (9500, 9500)).save(folder / "bomb.png")  # 90 M pixels: above Pillow's 89.5 M limit
    locked = folder / "locked.jpg"
    Image.new("RGB", (60, 60)).save(locked)
    locked.chmod(0o000)
    yield folder
    locked.chmod(0o644)


def test_valid_images_are_processed_and_each_invalid_one_reported_once(odd_images, tmp_path):
    proc = gilbench("run", "--workloads", "thumbnail", "--images", odd_images, "--variants", "serial,thread-pool",
                    "--workers", "2", "--repeat", "1", "--size", "smoke", "--out", tmp_path, "--no-progress",
                    "--no-report")
    assert proc.returncode == 0, proc.stderr
    for name, reason in INVALID.items():
        lines = [line for line in proc.stderr.splitlines() if f"skipping {name}:" in line]
        assert len(lines) == 1 and reason in lines[0], (name, proc.stderr)
    if os.geteuid() != 0:  # root reads a mode-000 file like any other
        assert "skipping locked.jpg: unreadable (permission denied)" in proc.stderr
    expected = len(VALID) + (1 if os.geteuid() == 0 else 0)
    frame = storage.load_results(tmp_path / "latest")
    assert frame["ok"].all(), frame["error"].tolist()
    assert (frame["tasks"] == expected).all()


def test_strict_stops_at_the_first_invalid_image(odd_images, tmp_path):
    proc = gilbench("run", "--workloads", "thumbnail", "--images", odd_images, "--strict", "--size", "smoke",
                    "--out", tmp_path, "--no-progress")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("gilbench: error:")]  # a busy-machine
    assert len(errors) == 1  # warning may come first
    assert errors[0].startswith("gilbench: error: image 'bomb.png': larger than Pillow's decompression-bomb")
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # nothing was written


def test_folder_of_only_invalid_images(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"")
    proc = gilbench("run", "--workloads", "thumbnail", "--images", folder, "--out", tmp_path / "o", "--no-progress")
    assert proc.returncode == 2 and "none of the 1 images can be read: a.jpg: empty file" in proc.stderr
