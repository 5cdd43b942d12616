"""gilbench's pytest plugin: the pytest-benchmark front door, registered by entry point (pytest11).

Installed with gilbench, it gives any test suite:

- the options --gilbench-size, --gilbench-rounds and --gilbench-warmup-rounds;
- the fixture `gilbench_cell`: `gilbench_cell(workload, variant, workers)` measures that cell through
  pytest-benchmark's `benchmark.pedantic`, each round one repetition in a fresh child process (as
  `gilbench run` does), and returns the last round's ResultRow;
- the fixture `gilbench_case`: a test that asks for it runs once per built-in workload x variant
  available here x 1 and 2 workers, as (workload, variant, workers).

Imports are lazy: this module is loaded by every pytest run in the environment gilbench is in.
"""

from __future__ import annotations

import pytest

SIZE_OPTION = "--gilbench-size"


def pytest_addoption(parser):
    group = parser.getgroup("gilbench", "gilbench's pytest-benchmark front door")
    group.addoption(SIZE_OPTION, default="smoke", help="size profile of the gilbench cells (default smoke)")
    group.addoption("--gilbench-rounds", type=int, default=5, help="measured rounds per gilbench cell (default 5)")
    group.addoption(
        "--gilbench-warmup-rounds", type=int, default=1, help="warm-up rounds per gilbench cell (default 1)"
    )


def pytest_generate_tests(metafunc):
    if "gilbench_case" in metafunc.fixturenames:
        from . import pytest_door

        cases = pytest_door.all_cases(metafunc.config.getoption(SIZE_OPTION))
        metafunc.parametrize("gilbench_case", cases, ids=[f"{w}-{v}-{n}" for w, v, n in cases])


@pytest.fixture(scope="session")
def gilbench_run_id():
    from . import pytest_door

    return pytest_door.new_run_id()


@pytest.fixture
def gilbench_cell(benchmark, request, gilbench_run_id):
    """Measure one cell through pytest-benchmark's `benchmark` fixture (which --benchmark-only looks for);
    the cell's CSV rows ride in extra_info for `gilbench import`."""
    from . import pytest_door

    def measure(workload: str, variant: str, workers: int):
        size = request.config.getoption(SIZE_OPTION)
        rounds = request.config.getoption("--gilbench-rounds")
        warmup_rounds = request.config.getoption("--gilbench-warmup-rounds")
        cell = pytest_door.CellBench(workload, variant, workers, size, warmup_rounds, gilbench_run_id)
        benchmark.group = f"{workload}-{size}"
        row = benchmark.pedantic(cell, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
        benchmark.extra_info["gilbench"] = cell.extra_info()
        return row

    return measure
