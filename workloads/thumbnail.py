"""The tutorial's image pipeline: open, Gaussian blur, thumbnail to 50x50, save.

Pillow does the pixel work in C and releases the GIL for parts of it (decoding, the blur,
resampling, encoding), so threads overlap some of the time, not all of it.
"""

import hashlib
import os
import random
import warnings
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

DESCRIPTION = ("Pillow open + EXIF orientation + GaussianBlur + thumbnail(50x50) + save: C code that releases the "
               "GIL in parts")

# images: how many photos (one task each; 32 and 48 divide evenly among 1, 2, 4, 8, 16 workers);
# width x height: their size (full = the tutorial's 12-megapixel photos).
SIZES = {
    "smoke": {"images": 4, "width": 320, "height": 240},
    "quick": {"images": 16, "width": 480, "height": 360},
    "standard": {"images": 32, "width": 640, "height": 480},
    "full": {"images": 48, "width": 4000, "height": 3000},
}

THUMBNAIL_SIZE = (50, 50)
ORIENTATION = 0x0112  # the EXIF tag
BLUR_MODES = {"L", "RGB", "RGBA", "CMYK", "LA"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
SEED = 20260101


def prepare(params, cache_dir):
    """Find the input images: the user's folder (`images_dir`) or generated photos, cached."""
    if params.get("images_dir"):
        return check_images(list_images(params["images_dir"]), strict=params.get("strict", False))
    folder = Path(cache_dir) / "thumbnail" / f"{params['width']}x{params['height']}-seed{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for i in range(params["images"]):
        path = folder / f"photo-{i:03d}.jpg"
        if not path.exists():  # never regenerated needlessly
            _write_photo(path, params["width"], params["height"], SEED + i)
        inputs.append(str(path))
    return {"inputs": inputs}


def list_images(folder):
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"images folder {str(folder)!r} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(
            f"images folder {str(folder)!r} holds no images (accepted: {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return [str(p) for p in files]


def image_problem(path) -> str | None:
    """Why Pillow cannot thumbnail this file, or None when it can. Decodes the whole image."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)"
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"larger than Pillow's decompression-bomb limit ({Image.MAX_IMAGE_PIXELS} pixels)"
    except PermissionError:
        return "unreadable (permission denied)"
    except Image.UnidentifiedImageError:
        return "not an image Pillow can read"
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        return f"corrupt image ({exc})"
    return None


def check_images(paths, strict=False):
    """Valid images go on; each invalid one is reported once, by name, with the reason."""
    inputs, skipped = [], []
    for path in paths:
        problem = image_problem(path)
        if problem is None:
            inputs.append(path)
        elif strict:
            raise ValueError(f"image {os.path.basename(path)!r}: {problem} (--strict stops at the first invalid image)")
        else:
            skipped.append([os.path.basename(path), problem])
    if not inputs:
        raise ValueError(f"none of the {len(paths)} images can be read: " + "; ".join(f"{n}: {r}" for n, r in skipped))
    return {"inputs": inputs, "skipped": skipped}


def _write_photo(path, width, height, seed):
    """A deterministic photo-like JPEG: smooth colour fields, soft shapes and fine grain."""
    rng = random.Random(seed)
    # Smooth colour fields: a tiny random image scaled up with bicubic interpolation.
    small = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
    img = small.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(max(2, width // 40), max(3, width // 6))
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(radius=max(1, width // 400)))
    # Fine grain, as a camera sensor gives, so the JPEG is not unrealistically small.
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    img = Image.blend(img, grain, 0.06)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    img.save(tmp, "JPEG", quality=90)
    os.replace(tmp, path)  # atomic: a concurrent or interrupted run never sees half a file


def make_tasks(params, workers):
    out = Path(params["scratch_dir"])
    tasks = []
    for i, src in enumerate(params["inputs"]):
        digest = hashlib.sha1(src.encode()).hexdigest()[:8]
        tasks.append((src, str(out / f"thumb-{i:04d}-{digest}.jpg")))
    return tasks


def run_task(task):
    src, dst = task
    with Image.open(src) as img:
        if img.getexif().get(ORIENTATION, 1) != 1:  # as real thumbnailers do: a portrait photo stays upright
            img = ImageOps.exif_transpose(img)  # (only then: without EXIF it would copy the whole image)
        if img.mode.startswith("I"):  # 16/32-bit greyscale: scale to 8 bits instead of clipping to white
            img = img.convert("I").point(lambda v: v / 256).convert("L")
        elif img.mode not in BLUR_MODES:  # palette, 1-bit, float...: blur needs 8 bits per channel
            img = img.convert("RGBA" if img.has_transparency_data else "RGB")
        blurred = img.filter(ImageFilter.GaussianBlur())
    blurred.thumbnail(THUMBNAIL_SIZE)
    if blurred.mode not in ("RGB", "L"):
        blurred = blurred.convert("RGB")  # JPEG stores neither alpha nor palettes
    blurred.save(dst)
    return dst


def check(params, tasks, results):
    if len(results) != len(tasks):
        raise ValueError(f"{len(results)} thumbnails for {len(tasks)} images")
    for (src, dst), got in zip(tasks, results):
        if got != dst or not os.path.exists(dst):
            raise ValueError(f"no thumbnail written for {src}")
        with Image.open(dst) as thumb:
            thumb.load()
            if thumb.width > THUMBNAIL_SIZE[0] or thumb.height > THUMBNAIL_SIZE[1]:
                raise ValueError(f"thumbnail of {src} is {thumb.width}x{thumb.height}, larger than 50x50")
