"""The pytest-benchmark front door: every built-in workload x available variant x workers.

In `make test` these run once each at smoke size as correctness tests (--benchmark-disable
is in the default options). `make bench-pytest` runs them for real and saves the JSON that
`gilbench import` turns into a run folder. See bench/pytest_door.py.
"""

import pytest

from bench import pytest_door

SIZE_OPTION = "--gilbench-size"


def pytest_generate_tests(metafunc):
    if "cell_case" in metafunc.fixturenames:
        size = metafunc.config.getoption(SIZE_OPTION)
        cases = pytest_door.all_cases(size)
        metafunc.parametrize("cell_case", cases, ids=[f"{w}-{v}-{n}" for w, v, n in cases])


@pytest.fixture(scope="session")
def pytest_run_id():
    return pytest_door.new_run_id()


def test_cell(benchmark, cell_case, request, pytest_run_id):
    workload, variant, workers = cell_case
    size = request.config.getoption(SIZE_OPTION)
    rounds = request.config.getoption("--gilbench-rounds")
    warmup_rounds = request.config.getoption("--gilbench-warmup-rounds")
    bench = pytest_door.CellBench(workload, variant, workers, size, warmup_rounds, pytest_run_id)
    benchmark.group = f"{workload}-{size}"
    row = benchmark.pedantic(bench, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
    benchmark.extra_info["gilbench"] = bench.extra_info()
    assert row.ok, row.error
    assert row.total_s > 0 and row.tasks > 0
