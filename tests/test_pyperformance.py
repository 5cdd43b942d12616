"""pyperformance's benchmarks as workloads (issue 26): the stand-in for pyperf's Runner, module state under threads,
unavailable benchmarks. Fake benchmarks in a folder laid out as pyperformance's (GILBENCH_PYPERFORMANCE_DIR), so
most tests need no pyperformance; those using the real package are skipped, with the reason, without it."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pandas as pd
import pytest
from gilbench import registry, storage
from gilbench.errors import UsageError
from gilbench.suites import pyperformance as suite
from gilbench.workloads import pyperformance as adapter

# bench_func with arguments and an argument from the script's own command line; bench_time_func with a loop count
SQUARES = """
import pyperf

CALLS = []


def squares(n, offset):
    CALLS.append(n)
    return [i * i + offset for i in range(n)]


def timed(loops, word):
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        CALLS.append(word)
    return pyperf.perf_counter() - t0


if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata["description"] = "a fake benchmark"
    runner.argparser.add_argument("--offset", type=int, default=0)
    runner.argparser.add_argument("which", nargs="?", default="both")
    args = runner.parse_args()
    runner.bench_func("squares", squares, 50, args.offset)
    if args.which == "both":
        runner.bench_time_func("timed", timed, "hello")
"""

# keeps its working state in a module global, as richards does: two threads at once trample each other
STATEFUL = """
import time

import pyperf

state = {"owner": None}


def work():
    me = object()
    state["owner"] = me
    total = 0
    for i in range(200):
        total += i
        time.sleep(0.0005)  # lets the other thread run (a real benchmark's switch interval does the same)
        if state["owner"] is not me:
            raise RuntimeError("module state changed under me")
    return total


if __name__ == "__main__":
    pyperf.Runner().bench_func("stateful", work)
"""

NEEDS_PACKAGE = """
import pyperf
import gilbench_no_such_module_xyz

if __name__ == "__main__":
    pyperf.Runner().bench_func("needs_package", gilbench_no_such_module_xyz.run)
"""

COMMAND = """
import sys

import pyperf

if __name__ == "__main__":
    pyperf.Runner().bench_command("command", [sys.executable, "-c", "pass"])
"""


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    """A folder laid out as pyperformance's data-files/benchmarks: MANIFEST, bm_NAME/run_benchmark.py, metadata."""
    root = tmp_path / "benchmarks"
    scripts = {"squares": SQUARES, "stateful": STATEFUL, "needs_package": NEEDS_PACKAGE, "command": COMMAND}
    manifest = ["[benchmarks]", "", "name\tmetafile"]
    for name, source in scripts.items():
        folder = root / f"bm_{name}"
        folder.mkdir(parents=True)
        (folder / "run_benchmark.py").write_text(textwrap.dedent(source))
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "bm_{name}"\ndependencies = ["pyperf"]\n[tool.pyperformance]\nname = "{name}"\n'
        )
        manifest.append(f"{name}\t<local>")
    # a second benchmark from the same script with its own arguments, as pickle_list is pickle's
    (root / "bm_squares" / "bm_squares_only.toml").write_text(
        '[project]\nname = "bm_squares_only"\n[tool.pyperformance]\nname = "squares_only"\n'
        'extra_opts = ["--offset", "3", "only"]\n'
    )
    manifest.append("squares_only\t<local:squares>")
    (root / "MANIFEST").write_text("\n".join(manifest) + "\n")
    monkeypatch.setenv(suite.DIR_ENV, str(root))
    monkeypatch.setattr(suite, "_catalogue", None)
    yield root
    suite._catalogue = None


def ref_of(name: str, mode: str = "as-written") -> str:
    bench = suite.catalogue()[name]
    return adapter.make_ref(bench.path, list(bench.argv), mode)


def test_the_runner_stand_in_captures_bench_func_and_bench_time_func(bench_dir):
    items = adapter.execute(suite.catalogue()["squares"].path, [])
    assert [(i.name, i.kind) for i in items] == [("squares", "func"), ("timed", "time")]
    assert items[0].args == (50, 0) and items[1].args == ("hello",)
    assert "pyperf" not in sys.modules or sys.modules["pyperf"].__doc__ != adapter.stand_in().__doc__  # restored
    calls = items[0].func.__globals__["CALLS"]
    counted = adapter.call(items, 3)  # a task: 3 calls of the function, one call of the time function with loops=3
    assert calls == [50, 50, 50, "hello", "hello", "hello"]
    expected = adapter.fingerprint([i * i for i in range(50)])
    assert counted == [[expected, 3]]


def test_extra_options_reach_the_scripts_own_argument_parser(bench_dir):
    bench = suite.catalogue()["squares_only"]
    assert bench.argv == ("--offset", "3", "only") and bench.path.endswith("bm_squares/run_benchmark.py")
    items = adapter.execute(bench.path, list(bench.argv))
    assert [i.name for i in items] == ["squares"] and items[0].args == (50, 3)


def test_every_execution_is_a_private_copy_of_the_module(bench_dir):
    path = suite.catalogue()["squares"].path
    first, second = adapter.execute(path, []), adapter.execute(path, [])
    adapter.call(first, 2)
    assert first[0].func.__globals__["CALLS"] == [50, 50, "hello", "hello"]
    assert second[0].func.__globals__["CALLS"] == []


def test_workload_protocol_splits_calls_into_tasks_and_checks_results(bench_dir):
    module = adapter.load(ref_of("squares"))
    params = {"seconds": 0.1, "calls": 5, "tasks": 0, "expected": {adapter.flavour(): adapter.fingerprint([0] * 1)}}
    tasks = module.make_tasks(params, 2)
    assert tasks == [3, 2]
    results = [module.run_task(t) for t in tasks]
    with pytest.raises(ValueError, match="results differ from a single thread's"):
        module.check(params, tasks, results)  # the expected fingerprint above is not the squares'
    params["expected"] = {adapter.flavour(): adapter.fingerprint([i * i for i in range(50)])}
    module.check(params, tasks, results)


def test_the_probe_finds_module_state_shared_by_threads(bench_dir):
    answer = adapter.probe_one(ref_of("stateful"))
    assert answer["ok"] and answer["kinds"] == ["func"]
    assert "module state changed under me" in answer["threads"]
    assert adapter.probe_one(ref_of("squares"))["threads"] is None


def test_unavailable_benchmarks_say_why(bench_dir):
    missing = adapter.probe_one(ref_of("needs_package"))
    assert not missing["ok"] and "No module named 'gilbench_no_such_module_xyz'" in missing["reason"]
    command = adapter.probe_one(ref_of("command"))
    assert not command["ok"] and "bench_command" in command["reason"]


def test_names_groups_and_modes(bench_dir):
    builtin = ("count", "thumbnail")
    names = suite.expand(["count", "pyperformance:squares", "stateful@isolated", "thumbnail", "x.py"], builtin)
    assert names == ["count", "pyperformance:squares", "pyperformance:stateful@isolated", "thumbnail", "x.py"]
    with pytest.raises(
        UsageError, match=r"unknown pyperformance benchmark 'squars'.*did you mean 'pyperformance:squares'"
    ):
        suite.resolve("pyperformance:squars")
    with pytest.raises(UsageError, match="unknown mode 'private'.*@isolated"):
        suite.resolve("pyperformance:squares@private")
    assert [suite.round_calls(x) for x in (0.3, 1, 3, 4, 6.2, 16, 37, 80)] == [1, 1, 2, 5, 5, 20, 50, 100]


def test_the_registry_reaches_the_suite_by_its_prefix(bench_dir):
    """A suite's names and refs go to the modules the registry's one table names: no suite code in the registry."""
    assert registry.suite_of(adapter.PREFIX + "squares") is registry.SUITES[suite.PREFIX]
    wl = registry.resolve("pyperformance:squares@isolated")
    direct = suite.resolve("pyperformance:squares@isolated")
    assert (wl.name, wl.ref) == (direct.name, direct.ref)
    assert adapter.parse_ref(wl.ref)["mode"] == "isolated"
    module = registry.load(wl.ref)
    assert module.SIZES == adapter.SIZES and module is not adapter  # the adapter's per-ref module
    with pytest.raises(UsageError, match="unknown pyperformance benchmark 'squars'"):
        registry.resolve("pyperformance:squars")


def test_module_state_is_reported_and_the_isolated_mode_runs_correctly(bench_dir, tmp_path, run_cli):
    out = tmp_path / "out"
    proc = run_cli(
        "run",
        "--workloads",
        "pyperformance:stateful,squares,needs_package",
        "--variants",
        "serial,threading,multiprocessing",
        "--workers",
        "2",
        "--size",
        "smoke",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--no-progress",
        "--out",
        out,
        cwd=tmp_path,
        env={suite.DIR_ENV: str(bench_dir)},
    )
    assert proc.returncode == 1, proc.stderr  # the as-written stateful threads failed: honest failed cells
    run_dir = out / "latest"
    frame = storage.load_results(run_dir)
    ok = frame.groupby(["workload", "variant"])["ok"].all()
    assert not ok[("pyperformance:stateful", "threading")]
    assert ok[("pyperformance:stateful", "serial")] and ok[("pyperformance:stateful", "multiprocessing")]
    assert ok[("pyperformance:stateful@isolated", "threading")] and ok[("pyperformance:squares", "threading")]
    assert ("pyperformance:stateful@isolated", "multiprocessing") not in ok  # a process's module is private anyway
    err = proc.stderr
    assert "pyperformance:stateful is not thread-safe as written" in err and "stateful@isolated" in err
    assert "NOT thread-safe as written: it shares module state" in err and "ran correctly in every repetition" in err
    # the benchmark that cannot run here: said, kept in unavailable.csv, no cell faked
    assert "pyperformance:needs_package is unavailable under" in err and "gilbench_no_such_module_xyz" in err
    assert "needs_package" not in set(frame["workload"].str.removeprefix("pyperformance:"))
    unavailable = pd.read_csv(run_dir / storage.UNAVAILABLE)
    assert list(unavailable["workload"]) == ["pyperformance:needs_package"]
    assert "No module named 'gilbench_no_such_module_xyz'" in unavailable["reason"].iloc[0]
    report = (run_dir / "report.md").read_text()
    assert "## The spectrum" in report and "(spectrum.png)" in report
    assert "no: fails under threads (RuntimeError: module state changed under me)" in report
    assert "isolated: correct" in report and "unavailable: " in report
    assert (run_dir / "spectrum.png").exists()
    assert not any(":" in p.name for p in run_dir.iterdir())  # file names a link cannot mistake for a URL scheme


@pytest.mark.skipif(importlib.util.find_spec("pyperformance") is None, reason="pyperformance is not installed")
def test_the_real_suite_is_found_and_a_benchmark_runs(monkeypatch):
    monkeypatch.delenv(suite.DIR_ENV, raising=False)
    monkeypatch.setattr(suite, "_catalogue", None)
    known = suite.catalogue()
    assert {"nbody", "richards", "raytrace", "json_loads", "regex_v8", "deltablue"} <= set(known)
    assert known["pickle_list"].argv == ("pickle_list",) and known["pickle_list"].path.endswith(
        "bm_pickle/run_benchmark.py"
    )
    cpu = suite.expand(["pyperformance:cpu"], ())
    assert len(cpu) >= 12 and all(n.startswith("pyperformance:") for n in cpu)
    wl = suite.resolve("pyperformance:json_loads")
    answer = adapter.probe_one(wl.ref)
    assert answer["ok"] and answer["kinds"] == ["func"] and answer["per_call_s"] > 0, answer
    suite._catalogue = None


def test_a_known_unsafe_benchmarks_thread_failures_are_said_once(tmp_path):
    """The probe found the benchmark not thread-safe before the run: its thread cells' failures are expected, said
    in one line (every one stays in results.csv); a process cell's failure, or another benchmark's, is listed."""
    from types import SimpleNamespace

    from gilbench import runner

    config = SimpleNamespace(not_thread_safe={"pyperformance:richards": ("/usr/bin/python3.13t", "AttributeError")})
    run = SimpleNamespace(config=config, expected_failures=set())

    def said(workload, variant, workers, block):
        cell = SimpleNamespace(workload=workload, variant=variant, workers=workers)
        return runner.failure_line(cell, SimpleNamespace(repeat=block), "boom", run)

    lines = [
        said("pyperformance:richards", variant, n, block)
        for block in (1, 2, 3)
        for variant, n in (("threading", 2), ("thread-pool", 2), ("thread-pool", 1))
    ]
    assert len([line for line in lines if line]) == 1  # nine thread failures, one line
    assert "richards: its thread cells fail, as the probe found before the run" in lines[0]
    assert "AttributeError" in lines[0] and "results.csv" in lines[0]
    assert said("pyperformance:richards", "process-pool", 2, 1).startswith("FAILED pyperformance:richards process-pool")
    assert said("pyperformance:chaos", "threading", 2, 1).startswith("FAILED pyperformance:chaos threading x2")


def test_the_spectrum_says_which_build_its_processes_ran_under():
    import pandas as pd
    from gilbench.report import suite

    both, ft_only = pd.DataFrame(), pd.DataFrame()
    both.attrs["pythons"] = {"gil": ("/gil/python", "3.13.15"), "ft": ("/ft/python", "3.13.15t")}
    ft_only.attrs["pythons"] = {"ft": ("/ft/python", "3.13.15t")}
    assert "processes (under the GIL build)" in suite.explain(both)
    assert "processes (under the free-threaded build)" in suite.explain(ft_only)


def test_a_serial_cell_that_failed_is_not_hidden_by_its_light_warm_up():
    import pandas as pd
    from gilbench import spectrum

    frame = pd.DataFrame(
        [
            dict(workload="b", variant="serial", workers=1, warmup=True, ok=True, error=""),  # dry: ran no task
            dict(workload="b", variant="serial", workers=1, warmup=False, ok=False, error="RuntimeError: boom"),
            dict(workload="b", variant="thread-pool", workers=2, warmup=False, ok=False, error="RuntimeError: boom"),
        ]
    )
    assert spectrum.thread_safety(frame, "b")["safety"] == "serial-failed"
