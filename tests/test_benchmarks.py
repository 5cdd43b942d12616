"""The pytest-benchmark front door: every built-in workload x available variant x workers.

The options, the `gilbench_case` parametrization and the `gilbench_cell` fixture come from
gilbench's installed pytest plugin (bench/pytest_plugin.py, entry point pytest11), exactly as
another project's suite would get them. In `make test` these run once each at smoke size as
correctness tests (--benchmark-disable is in the default options). `make bench-pytest` runs
them for real and saves the JSON that `gilbench import` turns into a run folder.
"""


def test_cell(gilbench_cell, gilbench_case):
    row = gilbench_cell(*gilbench_case)
    assert row.ok, row.error
    assert row.total_s > 0 and row.tasks > 0
