"""A variant is defined in one place: add it there and it reaches the list, the CSV, the charts and the report.
A run option likewise: one field of RunConfig reaches the parser, the API, options.json and environment.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from gilbench import storage

from tests.conftest import ROOT

NEW_VARIANT = """
VARIANTS["my-threads"] = Variant("my-threads", "threads added by a test, in one place", run_threading, "threads",
                                 "#117733", "h")
"""


@pytest.mark.slow
def test_a_variant_added_in_one_place_is_everywhere(tmp_path, no_stray_cells):
    package = tmp_path / "site" / "gilbench"
    shutil.copytree(ROOT / "bench", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "workloads", package / "workloads", ignore=shutil.ignore_patterns("__pycache__"))
    with open(package / "variants.py", "a") as fh:
        fh.write(NEW_VARIANT)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), GILBENCH_TEST_MARKER=no_stray_cells)

    def gilbench(*args):
        return subprocess.run(
            [sys.executable, "-P", "-m", "gilbench", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    listed = gilbench("list")
    assert listed.returncode == 0, listed.stderr
    assert "my-threads" in listed.stdout and "threads added by a test, in one place" in listed.stdout

    run = gilbench(
        "run",
        "--workloads",
        "count",
        "--variants",
        "serial,my-threads,process-pool",
        "--workers",
        "1,2",
        "--size",
        "smoke",
        "--repeat",
        "1",
        "--no-progress",
        "--out",
        "out",
    )
    assert run.returncode == 0, run.stderr
    run_dir = tmp_path / "out" / "latest"
    frame = storage.load_results(run_dir)
    assert frame["ok"].all() and set(frame["variant"]) == {"serial", "my-threads", "process-pool"}
    assert sorted(frame.loc[frame["variant"] == "my-threads", "workers"].unique()) == [1, 2]
    legend_text = (run_dir / "speedup-count.svg").read_text()
    assert "my-threads" in legend_text and "#117733" in legend_text.lower()  # its own colour, not grey
    report = (run_dir / "report.md").read_text()
    assert "**my-threads**: threads added by a test, in one place" in report
    assert "**my-threads**: " in report.split("## Variants in this run")[1].split("## Summary")[0]


# ---------------------------------------------------------------- run options: one field in RunConfig each

NEW_OPTION = """    my_option: int = option("7", "an option added by a test, in one place", "N", parse=_whole(""))
"""


@pytest.mark.slow
def test_an_option_added_in_one_place_is_everywhere(tmp_path, no_stray_cells):
    """One field in RunConfig: the parser, its help and default, its check, gilbench.run()'s keywords, options.json
    and environment.json's resolved config all have it, with no other edit."""
    package = tmp_path / "site" / "gilbench"
    shutil.copytree(ROOT / "bench", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "workloads", package / "workloads", ignore=shutil.ignore_patterns("__pycache__"))
    source = (package / "options.py").read_text()
    anchor = "    no_progress: bool = option("
    assert source.count(anchor) == 1
    (package / "options.py").write_text(source.replace(anchor, NEW_OPTION + anchor))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), GILBENCH_TEST_MARKER=no_stray_cells)

    def gilbench(*args):
        return subprocess.run(
            [sys.executable, "-P", "-m", "gilbench", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    shown = gilbench("run", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "--my-option N" in shown.stdout and "an option added by a test, in one place (default: 7)" in " ".join(
        shown.stdout.split()
    )
    bad = gilbench("run", "--my-option", "x", "--size", "smoke")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "gilbench: error: --my-option 'x' is not a whole number (accepted: 0, 1, 2, ...)"
    )
    keywords = subprocess.run(
        [sys.executable, "-P", "-c", "import inspect, gilbench; print(inspect.signature(gilbench.run))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert "my_option: 'str' = '7'" in keywords.stdout, keywords.stdout + keywords.stderr
    args = ["--workloads", "count", "--variants", "serial", "--workers", "1", "--size", "smoke", "--repeat", "1"]
    run = gilbench("run", *args, "--warmup", "0", "--no-progress", "--no-report", "--out", "out", "--my-option", "9")
    assert run.returncode == 0, run.stderr
    run_dir = tmp_path / "out" / "latest"
    assert json.loads((run_dir / "options.json").read_text())["my_option"] == "9"
    assert json.loads((run_dir / "environment.json").read_text())["config"]["my_option"] == 9


def test_each_run_option_is_defined_once():
    """Each option is one field of RunConfig made with option() (name, type, default, help, check); RunOptions,
    the options as given, has no list of its own but RunConfig's; the fields that are not options say so by having
    no parse. No parser but the one built from the options declares a run option's flag (other subcommands, e.g.
    `gilbench import --out`, have options of their own)."""
    from dataclasses import fields

    from gilbench.options import RunConfig, RunOptions, option_fields

    options = option_fields()
    names = {f.name for f in options}
    assert all(set(f.metadata) == {"default", "help", "metavar", "parse"} for f in options)
    assert set(RunOptions().given) == names and not {n for n in vars(RunOptions) if n in names}
    assert {f.name for f in fields(RunConfig)} - names == {
        "given",
        "cache_dir",
        "unavailable",
        "cell_timeouts",
        "not_thread_safe",
    }
    assert not names & {n for n, v in vars(RunConfig).items() if isinstance(v, property)}
    for path in sorted((ROOT / "bench").rglob("*.py")):
        if path.name == "options.py":
            continue
        text = path.read_text()
        for name in names:
            flag = "--" + name.replace("_", "-")
            declared = f'run.add_argument("{flag}"' if path.name == "cli.py" else f'add_argument("{flag}"'
            assert declared not in text, f"{path.name} declares {flag} again"


def test_an_option_s_type_is_its_parse_s():
    """mypy checks each option's field type against its parse's return type (option() is generic); this says
    the same at run time, so that a field typed apart from what its check returns fails here too."""
    import typing

    from gilbench import options

    hints = typing.get_type_hints(options.RunConfig, vars(options))
    for f in options.option_fields():
        parse = f.metadata["parse"]
        assert typing.get_type_hints(parse, vars(options))["return"] == hints[f.name], f.name
