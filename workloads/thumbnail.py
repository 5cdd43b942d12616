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

DESCRIPTION = (
    "Pillow open + EXIF orientation + GaussianBlur + thumbnail(50x50) + save: C code that releases the GIL in parts"
)

# images: how many photos (one task each; 32 and 48 divide evenly among 1, 2, 4, 8, 16 workers);
# width x height: their size (full = the tutorial's 12-megapixel photos).
SIZES = {
    "smoke": {"images": 4, "width": 320, "height": 240},
    "quick": {"images": 16, "width": 480, "height": 360},
    "standard": {"images": 32, "width": 640, "height": 480},
    "full": {"images": 48, "width": 4000, "height": 3000},
}

# --scaling weak: one worker's share is one profile's images; N workers thumbnail N times as many.
WEAK_SCALING = "images"

# Its inputs, as gilbench handles them for any workload (bench/inputs.py): the parameter that counts the input files.
# A user's folder (`gilbench run --images DIR`) goes in `images_dir`, and prepare() gets `strict` (--strict); its
# record reports what it took (images, images_dir, images_found, ..., pixels) and the files it skipped.
INPUTS = "images"

THUMBNAIL_SIZE = (50, 50)
ORIENTATION = 0x0112  # the EXIF tag
BLUR_MODES = {"L", "RGB", "RGBA", "CMYK", "LA"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
SEED = 20260101


def prepare(params, cache_dir):
    """Find the input images: the user's folder (`images_dir`) or generated photos, cached; each read once here,
    so that no measured repetition is the first to read a file from the disk (a 1-worker cell's warm-up stops
    before its timed region: `gilbench run --warmup`)."""
    if params.get("images_dir"):
        taken = take_images(
            params["images_dir"],
            params["images"],
            strict=params.get("strict", False),
            seed=params.get("sample_seed", SEED),
        )
        read_once(taken["inputs"])
        return taken
    folder = Path(cache_dir) / "thumbnail" / f"{params['width']}x{params['height']}-seed{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for i in range(params["images"]):
        path = folder / f"photo-{i:03d}.jpg"
        if not path.exists():  # never regenerated needlessly
            _write_photo(path, params["width"], params["height"], SEED + i)
        inputs.append(str(path))
    read_once(inputs)
    return {"inputs": inputs}


def read_once(paths) -> None:
    """Read each file whole and forget it: it is then in the operating system's page cache."""
    for path in paths:
        with open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass


ACCEPTED = f"recursively, files ending in {', '.join(sorted(IMAGE_SUFFIXES))} (any case)"
FOLDER_LINK = "link to a folder"  # the reason a folder link is skipped (os.walk does not follow them)


def file_skipped(name: str, path: str, seen: dict) -> str | None:
    """Why a file is not a candidate image (None: it is one). `seen`: real paths already taken, by their name."""
    if name.startswith("."):
        return "hidden file"
    if os.path.splitext(name)[1].lower() not in IMAGE_SUFFIXES:
        return "not an image file name (accepted: " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")"
    if not os.path.exists(path):
        return "broken symbolic link"
    if os.path.realpath(path) in seen:
        return f"the same file as {seen[os.path.realpath(path)]} (counted once)"
    if not os.path.isfile(path):
        return "not a regular file"
    return None


def list_images(folder):
    """Every file under `folder`, searched recursively in sorted order: (candidates, skipped), where skipped is
    [[relative name, reason], ...] for each file that is not a candidate. Links to files are followed (a link to
    a file already listed is a duplicate); links to folders, and hidden files and folders, are not."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"images folder {str(root)!r} does not exist or is not a folder")
    candidates, skipped, seen, folder_links = [], [], {}, []
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in list(dirs):
            rel = os.path.relpath(os.path.join(here, name), root)
            if name.startswith("."):
                skipped.append([rel + "/", "hidden folder, not searched"])
                dirs.remove(name)
            elif os.path.islink(os.path.join(here, name)):
                skipped.append([rel + "/", FOLDER_LINK + ", not followed"])
                folder_links.append(rel)
                dirs.remove(name)
        for name in sorted(files):
            path = os.path.join(here, name)
            rel = os.path.relpath(path, root)
            reason = file_skipped(name, path, seen)
            if reason:
                skipped.append([rel, reason])
            else:
                seen[os.path.realpath(path)] = rel
                candidates.append(path)
    if not candidates:
        links = folder_links
        hint = ""
        if links:  # a wallpaper package's folder of links: say where they lead
            target = os.path.realpath(root / links[0])
            hint = (
                f"; links to folders are not followed ({len(links)} here): point --images at the folder a link "
                f"leads to, e.g. {target}"
            )
        raise ValueError(
            f"images folder {str(root)!r} holds no images (searched {ACCEPTED}"
            + (f"; skipped {len(skipped)} other files" if skipped else "")
            + ")"
            + hint
        )
    return candidates, skipped


def sample_order(candidates: list, count: int, seed: int) -> list:
    """The order in which candidates are examined: first `count` of them spread evenly over the path order (one
    from each of `count` equal stretches, at a seeded offset), so the sample holds every part of the folder in
    proportion (not the first subfolder's files only); then the rest, shuffled, to stand in for unreadable ones."""
    rng = random.Random(seed)
    if count >= len(candidates):
        return list(candidates)
    step = len(candidates) / count
    start = rng.random() * step
    picks = sorted({int(start + i * step) for i in range(count)})
    taken = set(picks)
    rest = [c for i, c in enumerate(candidates) if i not in taken]
    rng.shuffle(rest)
    return [candidates[i] for i in picks] + rest


def take_images(folder, count, strict=True, seed=SEED):
    """`count` readable images under `folder`, a sample spread over the whole folder (sample_order: the same seed,
    the same images), in path order, with a record of what ran (their number and pixels, the folder, the sample's
    seed) and every file skipped on the way, with its reason."""
    candidates, skipped = list_images(folder)
    if strict and skipped:
        name, reason = skipped[0]
        raise ValueError(f"image {name!r}: {reason} (--strict stops at the first file it would skip)")
    inputs, pixels = [], 0
    examined = 0
    for path in sample_order(candidates, count, seed):
        if len(inputs) == count:
            break
        examined += 1
        rel = os.path.relpath(path, folder)
        problem, size = examine(path)
        if problem is None:
            inputs.append(path)
            pixels += size
        elif strict:
            raise ValueError(f"image {rel!r}: {problem} (--strict stops at the first file it would skip)")
        else:
            skipped.append([rel, problem])
    if not inputs:
        raise ValueError(
            f"none of the {examined} images under {str(folder)!r} can be read: "
            + "; ".join(f"{n}: {r}" for n, r in skipped)
        )
    place = {path: i for i, path in enumerate(candidates)}
    inputs.sort(key=place.__getitem__)  # in path order, as the folder lists them
    return {
        "inputs": inputs,
        "skipped": skipped,
        "record": {
            "sample_seed": seed,
            "images": len(inputs),
            "images_dir": str(folder),
            "pixels": pixels,
            "width": "original",
            "height": "original",  # the user's photos at their own size
            "images_requested": count,
            "images_found": len(candidates),
            "images_not_examined": len(candidates) - examined,
        },
    }


def examine(path) -> tuple[str | None, int]:
    """(why Pillow cannot thumbnail this file or None when it can, its pixels). Decodes the whole image, once."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)", 0
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                return None, img.width * img.height
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"larger than Pillow's decompression-bomb limit ({Image.MAX_IMAGE_PIXELS} pixels)", 0
    except PermissionError:
        return "unreadable (permission denied)", 0
    except Image.UnidentifiedImageError:
        return "not an image Pillow can read", 0
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        return f"corrupt image ({exc})", 0


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
    for i, src in enumerate(params["inputs"][: params["images"]]):  # prepare() may have found more
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
    for (src, dst), got in zip(tasks, results, strict=True):
        if got != dst or not os.path.exists(dst):
            raise ValueError(f"no thumbnail written for {src}")
        with Image.open(dst) as thumb:
            thumb.load()
            if thumb.width > THUMBNAIL_SIZE[0] or thumb.height > THUMBNAIL_SIZE[1]:
                raise ValueError(f"thumbnail of {src} is {thumb.width}x{thumb.height}, larger than 50x50")
