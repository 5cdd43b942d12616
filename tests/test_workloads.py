"""Each workload's work and its check: the check catches skipped or wrong work."""

import os

import pytest
from PIL import Image

from workloads import count, hashing, mandelbrot, sleep, thumbnail


@pytest.mark.parametrize("iterations,workers", [(10, 3), (1000, 1), (7, 7), (5, 8)])
def test_count_splits_all_iterations(iterations, workers):
    tasks = count.make_tasks({"iterations": iterations, "tasks": 0}, workers)
    assert len(tasks) == workers
    assert sum(tasks) == iterations
    assert max(tasks) - min(tasks) <= 1


def test_count_fixed_task_count():
    assert len(count.make_tasks({"iterations": 100, "tasks": 10}, 2)) == 10


def test_count_check_catches_skipped_work():
    params = {"iterations": 100, "tasks": 0}
    tasks = count.make_tasks(params, 4)
    results = [count.run_task(t) for t in tasks]
    count.check(params, tasks, results)
    with pytest.raises(ValueError, match="counted 75 iterations, expected 100"):
        count.check(params, tasks, results[:-1])


def test_generated_photos_are_deterministic_and_cached(tmp_path):
    params = {"images": 2, "width": 120, "height": 90}
    first = thumbnail.prepare(params, tmp_path / "a")["inputs"]
    again = thumbnail.prepare(params, tmp_path / "b")["inputs"]
    assert [open(p, "rb").read() for p in first] == [open(p, "rb").read() for p in again]
    mtimes = [os.stat(p).st_mtime_ns for p in first]
    assert thumbnail.prepare(params, tmp_path / "a")["inputs"] == first
    assert [os.stat(p).st_mtime_ns for p in first] == mtimes  # not regenerated
    with Image.open(first[0]) as img:
        assert img.size == (120, 90) and img.format == "JPEG"


def test_thumbnail_pipeline_and_check(tmp_path):
    params = {"images": 3, "width": 200, "height": 100}
    params.update(thumbnail.prepare(params, tmp_path / "cache"), scratch_dir=str(tmp_path))
    tasks = thumbnail.make_tasks(params, 2)
    results = [thumbnail.run_task(t) for t in tasks]
    thumbnail.check(params, tasks, results)
    with Image.open(results[0]) as img:
        assert img.size == (50, 25)
    os.unlink(results[1])
    with pytest.raises(ValueError, match="no thumbnail written"):
        thumbnail.check(params, tasks, results)


def test_thumbnail_check_catches_oversized_output(tmp_path):
    src = tmp_path / "in.jpg"
    Image.new("RGB", (80, 80)).save(src)
    dst = tmp_path / "out.jpg"
    Image.new("RGB", (80, 80)).save(dst)  # a "thumbnail" that was never shrunk
    with pytest.raises(ValueError, match="larger than 50x50"):
        thumbnail.check({}, [(str(src), str(dst))], [str(dst)])


def test_images_folder_validation(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        thumbnail.list_images(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no images"):
        thumbnail.list_images(tmp_path)
    (tmp_path / "deeper").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "deeper" / "x.jpg")
    (tmp_path / "readme.txt").write_text("x")
    found, skipped = thumbnail.list_images(tmp_path)
    assert [os.path.relpath(p, tmp_path) for p in found] == ["deeper/x.jpg"]  # one level down is found
    assert skipped == [
        ["readme.txt", "not an image file name (accepted: .bmp, .gif, .jpeg, .jpg, .png, .tif, .tiff, .webp)"]
    ]


def test_a_photo_with_exif_orientation_6_is_thumbnailed_upright(tmp_path):
    """A 100x50 landscape-stored JPEG with EXIF orientation 6 (rotate 90 degrees) is a portrait photo: its
    thumbnail must be taller than wide, as every real thumbnailer makes it."""
    from gilbench.workloads import thumbnail
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    Image.new("RGB", (100, 50), (200, 30, 30)).save(tmp_path / "portrait.jpg", exif=exif)
    out = thumbnail.run_task((str(tmp_path / "portrait.jpg"), str(tmp_path / "thumb.jpg")))
    with Image.open(out) as thumb:
        assert thumb.size == (25, 50)  # before: 50x25, lying on its side
    assert "EXIF orientation" in thumbnail.DESCRIPTION


def run_all(module, params, workers=2):
    tasks = module.make_tasks(params, workers)
    return tasks, [module.run_task(t) for t in tasks]


def test_hashing_checks_every_digest():
    params = dict(hashing.SIZES["smoke"])
    tasks, results = run_all(hashing, params)
    hashing.check(params, tasks, results)
    with pytest.raises(ValueError, match="1 wrong digests"):
        hashing.check(params, tasks, results[:-1] + ["0" * 64])
    with pytest.raises(ValueError):
        hashing.check(params, tasks, results[:-1])


def test_sleep_checks_every_wait():
    params = dict(sleep.SIZES["smoke"])
    tasks, results = run_all(sleep, params)
    sleep.check(params, tasks, results)
    with pytest.raises(ValueError):
        sleep.check(params, tasks, results[:-1] + [0])


def test_mandelbrot_rows_are_all_computed_and_spot_checked():
    params = dict(mandelbrot.SIZES["smoke"])
    tasks, results = run_all(mandelbrot, params)
    assert len(tasks) == 8
    mandelbrot.check(params, tasks, results)
    with pytest.raises(ValueError, match="rows computed"):
        mandelbrot.check(params, tasks, results[1:])
    middle = params["height"] // 2
    for part in results:
        if middle in part:
            part[middle] = [0] * params["width"]
    with pytest.raises(ValueError, match=f"row {middle} is wrong"):
        mandelbrot.check(params, tasks, results)


def test_mandelbrot_is_symmetric_and_bounded():
    counts = mandelbrot.row(40, 40, 30, 20)
    assert len(counts) == 40 and max(counts) == 30 and min(counts) >= 1
