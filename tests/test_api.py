"""Issue 15: the Python API is the CLI's own: same options, same files, same one-line errors."""

from __future__ import annotations

import errno
import sys

import gilbench
import pytest
from gilbench import orchestrator, storage

from tests.conftest import SIDE_BY_SIDE_THRESHOLD

# reruns 0 and nothing marked disturbed: both runs keep exactly the cells they plan, and their speedups, on a busy
# machine too (tests/conftest.py's gilbench())
SMALL = dict(
    workloads="count",
    variants="serial,threading",
    workers="1,2",
    size="smoke",
    repeat="1",
    warmup="0",
    seed="7",
    reruns="0",
    disturbance_threshold=str(SIDE_BY_SIDE_THRESHOLD),
)


def _flags(options: dict) -> list[str]:
    return [x for k, v in options.items() for x in (f"--{k.replace('_', '-')}", str(v))]


@pytest.mark.slow
def test_api_and_cli_write_the_same_columns_and_cells(tmp_path, run_cli):
    api_run = gilbench.run(
        out=tmp_path / "api",
        no_progress=True,
        log=lambda line: None,
        **{**SMALL, "workers": [1, 2], "variants": ["serial", "threading"]},
    )
    proc = run_cli("run", *_flags(SMALL), "--out", tmp_path / "cli", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    cli_run = gilbench.load(tmp_path / "cli" / "latest")
    assert list(api_run.results.columns) == list(cli_run.results.columns)
    cells = ["workload", "size", "params", "variant", "workers", "repeat", "warmup"]
    assert (
        api_run.results[cells].sort_values(cells).values.tolist()
        == cli_run.results[cells].sort_values(cells).values.tolist()
    )
    assert list(api_run.summary.columns) == list(cli_run.summary.columns)
    assert api_run.failed == 0 and api_run.folder.parent.name == "runs"
    assert (api_run.folder / "report.md").exists()  # the report is written, as by the CLI
    figures = api_run.figures()
    assert {"overview", "scaling-count", "speedup-count"} <= set(figures)
    assert figures["speedup-count"].axes and figures["speedup-count"].axes[0].get_ylabel().startswith("speedup")
    assert not list(api_run.folder.glob("*.tmp"))  # figures for the notebook wrote nothing
    with pytest.raises(gilbench.UsageError, match="has no chart 'nope' \\(accepted: overview, "):
        api_run.figure("nope")
    assert "## Environment" in api_run.report()
    assert "repetitions, 0 failed" in api_run._repr_markdown_()


@pytest.mark.parametrize(
    "options",
    [
        {"workers": "0"},
        {"variants": "threads"},
        {"size": "huge"},
        {"scaling": "sideways"},
        {"param": ["iterations=-5"]},
        {"repeat": "many"},
    ],
)
def test_bad_arguments_raise_usage_error_with_the_cli_message(tmp_path, run_cli, options):
    out = tmp_path / "out"
    with pytest.raises(gilbench.UsageError) as caught:
        gilbench.run(workloads="count", out=out, **options)
    flags = [
        x
        for k, v in options.items()
        for item in (v if isinstance(v, list) else [v])
        for x in (f"--{k.replace('_', '-')}", item)
    ]
    proc = run_cli("run", "--workloads", "count", *flags, "--out", out)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"gilbench: error: {caught.value}"
    assert not out.exists()  # nothing written


def test_python_values_are_taken_as_they_are(tmp_path):
    """The API's Python values are checked as they are, to the same config as the command line's text."""
    from gilbench import options as opts

    common = dict(workloads="count", size="smoke", out=str(tmp_path), variants="serial,threading")
    text = opts.RunOptions(
        **common, workers="1,2", repeat="3", param=["iterations=200000"], variant_workers=["threading=1"], seed="7"
    )
    values = gilbench.api.options_from(
        **common, workers=[1, 2], repeat=3, param={"iterations": 2e5}, variant_workers={"threading": [1]}, seed=7
    )
    assert values.workers == [1, 2] and values.param == {"iterations": 2e5}  # as given, not turned into text
    by_text, by_value = opts.resolve(text), opts.resolve(values)
    for name in ("workers", "repeat", "seed", "variant_workers"):
        assert getattr(by_text, name) == getattr(by_value, name), name
    assert by_text.param["count"]["iterations"] == "200000" and by_value.param["count"]["iterations"] == 2e5
    assert gilbench.api.options_from(python=sys.executable).python == sys.executable
    with pytest.raises(gilbench.UsageError, match=r"^--workers '1,0': '0' is not a positive integer"):
        opts.resolve(gilbench.api.options_from(**common, workers=[1, 0]))
    with pytest.raises(TypeError, match="unexpected keyword argument 'worker'"):
        gilbench.run(worker=2)


def test_load_of_something_that_is_not_a_run_is_a_usage_error(tmp_path, run_cli):
    with pytest.raises(gilbench.UsageError) as caught:
        gilbench.load(tmp_path / "nothing")
    proc = run_cli("report", tmp_path / "nothing")
    assert proc.returncode == 2 and proc.stderr.strip() == f"gilbench: error: {caught.value}"


def test_a_run_that_cannot_write_raises_run_error_and_keeps_its_folder(tmp_path, monkeypatch):
    real = storage.append_rows
    calls = []

    def full_disk(path, rows, row_type):
        calls.append(path)
        if len(calls) > 4:  # the header rows, then the first repetitions: then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, rows, row_type)

    monkeypatch.setattr(storage, "append_rows", full_disk)
    with pytest.raises(gilbench.RunError, match="^cannot write results: No space left on device"):
        gilbench.run(out=tmp_path / "out", no_progress=True, log=lambda line: None, **SMALL)
    assert issubclass(orchestrator.Interrupted, gilbench.RunError)  # an interrupted run is a RunError too
    assert (tmp_path / "out" / "latest" / "results.csv").exists()
