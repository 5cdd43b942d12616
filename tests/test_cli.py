import pytest
from gilbench import cli, options
from gilbench.errors import UsageError


@pytest.mark.parametrize(
    "args,message",
    [
        (["--workloads", "nope"], "unknown workload 'nope'"),
        (["--workloads", ""], "empty entry"),
        (["--variants", "threads"], "unknown variant 'threads'"),
        (["--variants", "serial,,threading"], "empty name"),
        (["--workers", "0"], "'0' is not a positive integer"),
        (["--workers", "-1"], "'-1' is not a positive integer"),
        (["--workers", "abc"], "'abc' is not a positive integer"),
        (["--workers", ""], "--workers '': empty entry"),
        (["--workers", "1,,2"], "empty entry"),
        (["--size", "huge"], "has no size 'huge'"),
        (["--repeat", "0"], "--repeat '0' is not a positive integer"),
        (["--repeat", "two"], "--repeat 'two'"),
        (["--timeout", "-5"], "--timeout '-5' is not a positive number"),
        (["--timeout", "nan"], "--timeout 'nan'"),
        (["--start-method", "teleport"], "--start-method 'teleport' is not available here"),
        (["--images", "/nonexistent/photos"], "/nonexistent/photos' does not exist"),
        (["--python", "/nonexistent/python3"], "--python '/nonexistent/python3' does not exist"),
        (["--python", "/bin/true"], "is not a Python interpreter"),
        (["--param", "iterations"], "is not KEY=VALUE"),
        (["--param", "colour=red"], "no selected workload has 'colour'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--warmup", "-1"], "--warmup '-1' is not 'light' or a whole number"),
        (["--repeat", "often"], "--repeat 'often' is not a positive integer or 'auto'"),
        (["--precision", "0"], "--precision '0' is not a positive number"),
        (["--budget", "soon"], "--budget 'soon' is not a positive number"),
        (["--disturbance-threshold", "-1"], "--disturbance-threshold '-1' is not a number of cores"),
        (["--reruns", "x"], "--reruns 'x' is not a whole number"),
        (["--variant-workers", "threading"], "is not VARIANT=LIST"),
        (["--variant-workers", "dask=1,2"], "with a selected variant"),
        (["--variant-workers", "threading=0"], "'0' is not a positive integer"),
        (["--check-against-tutorial", "--workloads", "thumbnail"], "with the 'count' workload"),
        (["--check-against-tutorial", "--variants", "serial,threading"], "with the 'multiprocessing' variant"),
        (["--check-against-tutorial", "--workers", "1"], "needs a worker count of 2 or more"),
        (["--check-against-tutorial", "--scaling", "weak"], "it needs --scaling strong"),
    ],
)
def test_bad_run_options_fail_before_anything_runs(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["run", "--out", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gilbench: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not out.exists()  # nothing was written


def test_empty_images_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["run", "--out", str(tmp_path / "o"), "--images", str(tmp_path / "empty")]) == 2
    assert "holds no images" in capsys.readouterr().err


def test_unwritable_output_folder(readonly_dir, capsys):
    assert cli.main(["run", "--out", str(readonly_dir / "results"), "--size", "smoke"]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert list(readonly_dir.iterdir()) == []


def test_output_path_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("keep me")
    assert cli.main(["run", "--out", str(f / "results"), "--size", "smoke"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert f.read_text() == "keep me"


def test_workers_auto():
    assert options.parse_workers("auto", 2) == [1, 2]
    assert options.parse_workers("auto", 16) == [1, 2, 4, 8, 16]
    assert options.parse_workers("auto", 6) == [1, 2, 4, 6]
    assert options.parse_workers("4,1,2,2", 2) == [1, 2, 4]


def test_list_and_env(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("count", "thumbnail", "serial", "threading", "multiprocessing", "thread-pool", "process-pool"):
        assert name in out
    assert cli.main(["env"]) == 0
    assert "usable_cpus" in capsys.readouterr().out


def test_parse_params_targets_workloads():
    from gilbench import registry

    wls = [registry.resolve("count"), registry.resolve("thumbnail")]
    assert options.parse_params(["iterations=1e6"], wls) == {"count": {"iterations": "1e6"}}
    assert options.parse_params(["thumbnail.images=3"], wls) == {"thumbnail": {"images": "3"}}
    with pytest.raises(UsageError, match="workload 'cnt' is not selected"):
        options.parse_params(["cnt.iterations=3"], wls)


def test_variant_workers_and_warmup_shape_the_plan(tmp_path):
    import random

    from gilbench import blocks, plan

    config = options.resolve(
        options.RunOptions(
            workloads="count",
            variants="serial,threading,process-pool",
            workers="1,2,4",
            variant_workers=["threading=1,4"],
            warmup="2",
            repeat="3",
            out=str(tmp_path),
        )
    )
    cells = plan.build_cells(config)
    counts = {v: sorted(c.workers for c in cells if c.variant == v) for v in config.variants}
    assert counts == {"serial": [1], "threading": [1, 4], "process-pool": [1, 2, 4]}
    order = blocks.plan(blocks.groups(cells), config.repeat, random.Random(0), config.warmup)
    reps = [r for b in order for r in b.repetitions()]
    assert len(reps) == (len(cells) - 1 + 3) * 5  # the serial cell runs in each of the 3 worker counts' blocks
    assert sorted({r.repeat for r in reps if r.warmup}) == [-1, 0]
    assert sorted({r.repeat for r in reps if not r.warmup}) == [1, 2, 3]
    no_warmup = blocks.plan(blocks.groups(cells), 3, random.Random(0), 0)
    assert not any(b.repeat <= 0 for b in no_warmup) and len(no_warmup) == 3 * 3


@pytest.mark.parametrize("command", ["run", "plot", "report", "compare", "import", "list", "env"])
def test_every_subcommand_prints_its_help(command, capsys):
    # argparse formats each help string with %: a bare "%" in one crashed `gilbench run --help`
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    assert "usage: gilbench" in capsys.readouterr().out


def test_output_piped_into_head_is_not_an_error_and_keeps_the_exit_status(tmp_path, no_stray_cells):
    """A reader that closes the pipe early (head) gets the first line and no traceback; a run whose repetitions all
    failed still exits non-zero through the pipe (pipefail): the closed pipe must not hide that."""
    import subprocess
    import sys

    from tests.conftest import FIXTURES, ROOT

    listing = subprocess.run(
        f"'{sys.executable}' -m gilbench list | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert listing.stdout == "workloads:\n"
    assert "Traceback" not in listing.stderr and "BrokenPipeError" not in listing.stderr
    command = (
        f"set -o pipefail; '{sys.executable}' -m gilbench run --workloads '{FIXTURES / 'faulty.py'}' "
        f"--variants serial --repeat 1 --size smoke --param fault=raise --no-progress --out '{tmp_path}' | head -1"
    )
    proc = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"GILBENCH_TEST_MARKER": no_stray_cells, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1, proc.stderr
    assert "repetition(s) failed" in proc.stderr and "Traceback" not in proc.stderr
    assert "BrokenPipeError" not in proc.stderr
