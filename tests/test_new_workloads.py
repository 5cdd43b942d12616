"""The GIL-spectrum workloads: their checks catch skipped or wrong work."""

import pytest

from workloads import hashing, mandelbrot, sleep


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
