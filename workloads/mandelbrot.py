"""A realistic pure-Python kernel: the Mandelbrot set, row by row, in plain floats."""

DESCRIPTION = "Mandelbrot set in pure Python floats: a real CPU kernel that holds the GIL, like count"

# width x height pixels, max_iter iterations per pixel; tasks: 0 = 4 interleaved row sets per worker.
SIZES = {
    "smoke": {"width": 60, "height": 40, "max_iter": 50, "tasks": 0},
    "quick": {"width": 240, "height": 160, "max_iter": 100, "tasks": 0},
    "standard": {"width": 400, "height": 300, "max_iter": 100, "tasks": 0},
    "full": {"width": 1200, "height": 900, "max_iter": 300, "tasks": 0},
}

# --scaling weak: one worker's share is one profile's rows; N workers compute N times as many rows of the
# same region (finer in height), so the work per row stays the same on average.
WEAK_SCALING = "height"


def make_tasks(params, workers):
    n = params["tasks"] or 4 * workers
    n = min(n, params["height"])
    # Interleaved rows (i, i + n, i + 2n, ...): the costly middle of the set is shared fairly.
    return [(params["width"], params["height"], params["max_iter"], i, n) for i in range(n)]


def row(width, height, max_iter, y):
    counts = []
    ci = -1.2 + 2.4 * y / height
    for x in range(width):
        cr = -2.0 + 3.0 * x / width
        zr = zi = 0.0
        n = 0
        while n < max_iter and zr * zr + zi * zi <= 4.0:
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            n += 1
        counts.append(n)
    return counts


def run_task(task):
    width, height, max_iter, first, step = task
    return {y: row(width, height, max_iter, y) for y in range(first, height, step)}


def check(params, tasks, results):
    rows = {}
    for part in results:
        rows.update(part)
    if sorted(rows) != list(range(params["height"])):
        raise ValueError(f"{len(rows)} of {params['height']} rows computed")
    for y in (0, params["height"] // 2, params["height"] - 1):  # spot-check three rows against a fresh computation
        if rows[y] != row(params["width"], params["height"], params["max_iter"], y):
            raise ValueError(f"row {y} is wrong")
