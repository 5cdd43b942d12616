"""docs/failures.md: the user's image folder holds files that are not plain, valid photos."""

from __future__ import annotations

import io
import json
import os

import pytest
from gilbench import inputs, storage
from PIL import Image

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
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        odd_images,
        "--variants",
        "serial,thread-pool",
        "--workers",
        "2",
        "--repeat",
        "1",
        "--size",
        "smoke",
        "--param",
        "thumbnail.images=20",
        "--out",
        tmp_path,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    for name, reason in INVALID.items():
        lines = [line for line in proc.stderr.splitlines() if f"skipping {name}:" in line]
        assert len(lines) == 1 and reason in lines[0], (name, proc.stderr)
    if os.geteuid() != 0:  # root reads a mode-000 file like any other
        assert "skipping locked.jpg: unreadable (permission denied)" in proc.stderr
    expected = len(VALID) + (1 if os.geteuid() == 0 else 0)
    frame = storage.load_results(tmp_path / "latest")
    assert frame["ok"].all(), frame["error"].tolist()
    assert (frame.loc[~frame["warmup"], "tasks"] == expected).all()  # a 1-worker cell's warm-up runs no task


def test_strict_stops_at_the_first_invalid_image(odd_images, tmp_path):
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        odd_images,
        "--strict",
        "--size",
        "smoke",
        "--param",
        "thumbnail.images=20",  # every image examined (a smaller sample might hold no invalid one), in path order
        "--out",
        tmp_path,
        "--no-progress",
    )
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    errors = [line for line in lines if line.startswith("gilbench: error:")]
    assert len(errors) == 1
    assert errors[0].startswith("gilbench: error: image 'bomb.png': larger than Pillow's decompression-bomb")
    assert lines[-1] == errors[0]  # the last line; before it, at most a busy-machine warning, one line
    assert len(lines) == 1 or (len(lines) == 2 and lines[0].startswith("gilbench: warning: the machine is busy"))
    assert not (tmp_path / "runs").exists()  # nothing was written


def test_folder_of_only_invalid_images(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"")
    proc = gilbench("run", "--workloads", "thumbnail", "--images", folder, "--out", tmp_path / "o", "--no-progress")
    assert (
        proc.returncode == 2
        and "none of the 1 images under" in proc.stderr
        and "can be read: a.jpg: empty file" in proc.stderr
    )


@pytest.fixture
def photo_tree(tmp_path):
    """Photos one and two levels down, and everything a real folder holds besides."""
    root = tmp_path / "photos"
    (root / "2024" / "summer").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    Image.new("RGB", (300, 200), (100, 150, 200)).save(root / "a.jpg")
    Image.new("RGB", (64, 48), (10, 150, 20)).save(root / "2024" / "b.png")
    Image.new("RGB", (80, 60), (200, 10, 20)).save(root / "2024" / "summer" / "c.JPG")
    Image.new("RGB", (40, 30)).save(root / "2024" / "summer" / "d.webp")
    (root / "notes.txt").write_text("not a photo")
    (root / "logo.svg").write_text("<svg/>")
    (root / ".DS_Store").write_bytes(b"x")
    (root / ".thumbnails" / "a.jpg").write_bytes(b"x")
    os.symlink("a.jpg", root / "same-as-a.jpg")
    os.symlink("gone.jpg", root / "dangling.jpg")
    os.symlink("2024", root / "album")
    return root


EXPECTED_SKIPS = {
    ".thumbnails/": "hidden folder",
    "album/": "link to a folder, not followed",
    ".DS_Store": "hidden file",
    "dangling.jpg": "broken symbolic link",
    "same-as-a.jpg": "the same file as a.jpg",
    "logo.svg": "not an image file name",
    "notes.txt": "not an image file name",
}


def test_images_folder_is_searched_recursively_and_every_skip_is_reported(photo_tree, tmp_path):
    """Subfolders are searched; each file left out is said once with its reason, counted by reason, and kept in
    environment.json and the report; a symlink to a photo already taken is not processed twice."""
    out = tmp_path / "out"
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        photo_tree,
        "--variants",
        "serial",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--size",
        "quick",
        "--out",
        out,
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    for name, reason in EXPECTED_SKIPS.items():  # a problem file has its line; the others are counted (inputs.csv)
        lines = [line for line in proc.stderr.splitlines() if f"skipping {name}:" in line]
        said = not reason.startswith(inputs.ONLY_COUNTED)
        assert len(lines) == int(said) and (not said or reason in lines[0]), (name, proc.stderr)
    summary = [line for line in proc.stderr.splitlines() if line.startswith("gilbench: thumbnail: ")]
    assert len(summary) == 1
    assert "4 images" in summary[0] and "of 4 found (the size profile asks for 16)" in summary[0]
    assert "skipped 7: 2 not an image file name" in summary[0] and "1 duplicate" in summary[0]
    env = json.loads((out / "latest" / "environment.json").read_text())
    found = env["inputs"]["thumbnail"]
    assert sorted(name for name, _ in found["skipped"]) == sorted(EXPECTED_SKIPS)
    assert found["pixels"] == 300 * 200 + 64 * 48 + 80 * 60 + 40 * 30
    frame = storage.load_results(out / "latest")
    params = json.loads(frame["params"].iloc[0])
    assert params["images"] == 4 and params["images_dir"] == str(photo_tree) and params["width"] == "original"
    assert (frame["tasks"] == 4).all()  # the four photos, each once (the link to a.jpg is not a fifth)
    report_text = (out / "latest" / "report.md").read_text()
    assert "`dangling.jpg`: broken symbolic link" in report_text and "Inputs of **thumbnail**" in report_text


def test_the_size_profile_is_a_count_of_images_taken_from_the_folder(photo_tree, tmp_path):
    """smoke takes 4 images; --param thumbnail.images=2 takes 2 of the 3 (a seeded sample, the same 2 every run),
    and the CSV says 2."""
    out = tmp_path / "out"
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        photo_tree / "2024",
        "--variants",
        "serial",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--size",
        "smoke",
        "--param",
        "thumbnail.images=2",
        "--out",
        out,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    frame = storage.load_results(out / "latest")
    assert (frame["tasks"] == 2).all()
    params = json.loads(frame["params"].iloc[0])
    pixels = {"b.png": 64 * 48, "summer/c.JPG": 80 * 60, "summer/d.webp": 40 * 30}
    used = json.loads((out / "latest" / "environment.json").read_text())["inputs"]["thumbnail"]["used"]
    assert len(used) == 2 and set(used) <= set(pixels)
    assert params["images"] == 2 and params["pixels"] == sum(pixels[name] for name in used)
    assert params["images_not_examined"] == 1


def test_strict_stops_at_any_file_it_would_skip(photo_tree, tmp_path):
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        photo_tree,
        "--strict",
        "--size",
        "smoke",
        "--out",
        tmp_path / "out",
        "--no-progress",
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "gilbench: error: image '.thumbnails/': hidden folder, not searched (--strict stops at the first file it "
        "would skip)"
    )
    assert not (tmp_path / "out").exists()


def test_a_big_folder_counts_other_files_and_names_each_problem(photo_tree, tmp_path):
    """A folder with many non-image files (as a wallpaper package has): the terminal counts them by reason
    instead of a line each, still names each problem file, and environment.json lists every file."""
    for i in range(25):
        (photo_tree / f"readme-{i:02d}.txt").write_text("x")
    out = tmp_path / "out"
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        photo_tree,
        "--variants",
        "serial",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--size",
        "smoke",
        "--out",
        out,
        "--no-progress",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipping readme-" not in proc.stderr
    assert proc.stderr.count("gilbench: skipping dangling.jpg: broken symbolic link") == 1
    assert "skipped 32: 27 not an image file name" in proc.stderr and "each file with its reason" in proc.stderr
    env = json.loads((out / "latest" / "environment.json").read_text())
    assert len(env["inputs"]["thumbnail"]["skipped"]) == 32


def test_a_wallpaper_package_condenses_duplicates_and_records_the_files_used(photo_tree, tmp_path):
    """Issue 27: every image in several resolutions, many as symbolic links (Debian's plasma-workspace-wallpapers):
    duplicates are counted, not said one by one; the run keeps every file with its status in inputs.csv; the report
    puts its inputs after the results and names the images used."""
    import csv

    for i in range(30):
        (photo_tree / f"same-{i:02d}.jpg").symlink_to(photo_tree / "a.jpg")
    for i in range(25):
        (photo_tree / f"readme-{i:02d}.txt").write_text("x")
    out = tmp_path / "out"
    proc = gilbench(
        "run",
        "--workloads",
        "thumbnail",
        "--images",
        photo_tree,
        "--variants",
        "serial",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--size",
        "smoke",
        "--out",
        out,
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    assert "the same file as" not in proc.stderr, proc.stderr
    assert "31 duplicate" in proc.stderr and "inputs.csv" in proc.stderr
    with open(out / "latest" / "inputs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    used = [r["file"] for r in rows if r["status"] == "used"]
    assert sorted(used) == sorted(["a.jpg", "2024/b.png", "2024/summer/c.JPG", "2024/summer/d.webp"])
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert len(skipped) == 62 and all(r["reason"] for r in skipped)
    assert {r["workload"] for r in rows} == {"thumbnail"}
    text = (out / "latest" / "report.md").read_text()
    assert text.index("Inputs of **thumbnail**") > text.index("## Summary")  # after the results
    assert "`same-07.jpg`" not in text and "2024/summer/c.JPG" in text  # counted; the images used are named


def test_any_workload_that_declares_inputs_gets_the_folder_and_reports_what_it_took(tmp_path):
    """Inputs are the workload's declaration (INPUTS: the parameter that counts its files), handled the same way
    for any workload: the folder in <INPUTS>_dir, --strict to its prepare(), the files used named as the folder
    names them, and the line that describes them in the declared parameter's words."""
    from types import ModuleType

    from gilbench import inputs

    sounds = ModuleType("sounds")
    sounds.INPUTS = "clips"
    silent = ModuleType("silent")  # declares no inputs: the folder is not its business
    params = inputs.with_folder({"clips": 3}, sounds, str(tmp_path))
    assert params == {"clips": 3, "clips_dir": str(tmp_path)}
    assert inputs.with_folder({"clips": 3}, silent, str(tmp_path)) == {"clips": 3}
    assert inputs.for_prepare(dict(params), sounds, True)["strict"] is True
    assert "strict" not in inputs.for_prepare({"clips": 3}, sounds, True)  # generated inputs: nothing to be strict on
    files = [str(tmp_path / name) for name in ("a.wav", "b.wav", "c.wav")]
    record = {"clips": 2, "clips_dir": str(tmp_path), "clips_found": 3, "clips_not_examined": 1}
    extra = {"inputs": files, "record": record, "skipped": [["x.txt", "not a sound"]]}
    taken, skipped = inputs.taken(extra, sounds)
    assert extra == {"inputs": files}  # what the cells get: the report is taken out
    assert taken["used"] == ["a.wav", "b.wav"] and skipped == [["x.txt", "not a sound"]]
    assert inputs.recorded({"sounds": {**taken, "skipped": skipped}}) == {"sounds": record}
    line = inputs.describe_inputs({**taken, "skipped": skipped}, "sounds")
    assert line == (
        f"2 clips taken from {tmp_path}, of 3 found (1 beyond the count not opened; --param sounds.clips=N takes "
        "more); skipped 1: 1 not a sound"
    )
