import pytest
from gilbench import registry
from gilbench.errors import UsageError


def test_builtin_workloads_follow_the_protocol():
    for wl in registry.builtin_workloads():
        for attr in registry.REQUIRED:
            assert hasattr(wl.module, attr), (wl.name, attr)
        assert set(registry.SIZE_NAMES) <= set(wl.module.SIZES), wl.name
        assert wl.description


def test_unknown_workload_suggests_a_close_match():
    with pytest.raises(UsageError, match=r"unknown workload 'cont'.*did you mean 'count'"):
        registry.resolve("cont")
    with pytest.raises(UsageError) as raised:
        registry.resolve("no_such_workload")
    assert str(raised.value).endswith(
        "accepted: count, thumbnail, hashing, sleep, mandelbrot, matmul, pyperformance:NAME, a .py file's path, "
        "NAME for NAME.py in the current folder, or a dotted module name importable from the current folder"
    )


def test_user_module_by_path(tmp_path):
    path = tmp_path / "squares.py"
    path.write_text(
        "SIZES = {'smoke': {'n': 10}}\n"
        "def make_tasks(params, workers): return list(range(params['n']))\n"
        "def run_task(x): return x * x\n"
        "def check(params, tasks, results): assert results == [t * t for t in tasks]\n"
    )
    wl = registry.resolve(str(path))
    assert wl.name == "squares"
    assert wl.module.run_task(3) == 9
    assert wl.params("smoke") == {"n": 10}


def test_user_module_missing_protocol_functions(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("SIZES = {}\n")
    with pytest.raises(UsageError, match="lacks make_tasks, run_task, check"):
        registry.resolve(str(path))


def test_user_module_that_fails_to_import(tmp_path):
    path = tmp_path / "boom.py"
    path.write_text("raise RuntimeError('no')\n")
    with pytest.raises(UsageError, match="cannot import workload .*RuntimeError: no"):
        registry.resolve(str(path))


def test_param_overrides_are_coerced_and_validated():
    count = registry.resolve("count")
    assert count.params("smoke", {"iterations": "2e8"})["iterations"] == 200_000_000
    with pytest.raises(UsageError, match="no parameter 'colour'.*accepted: iterations, tasks"):
        count.params("smoke", {"colour": "red"})
    with pytest.raises(UsageError, match="no size 'huge'"):
        count.params("huge")


@pytest.mark.parametrize(
    "text,message",
    [
        ("-5", "out of range (accepted: a whole number >= 1)"),
        ("0", "out of range (accepted: a whole number >= 1)"),
        ("1.5", "iterations='1.5' of workload 'count' is out of range"),
        ("many", "is not a whole number (accepted: a whole number >= 1)"),
    ],
)
def test_counts_are_validated_by_range(text, message):
    count = registry.resolve("count")
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        count.params("smoke", {"iterations": text})


def test_zero_stays_valid_where_a_profile_uses_it():
    assert registry.resolve("count").params("smoke", {"tasks": "0"})["tasks"] == 0  # 0 = one task per worker
    with pytest.raises(UsageError, match=r"accepted: a whole number >= 0, 0 meaning automatic"):
        registry.resolve("count").params("smoke", {"tasks": "-1"})
    with pytest.raises(UsageError, match="accepted: a number > 0"):
        registry.resolve("sleep").params("smoke", {"delay_s": "0"})
