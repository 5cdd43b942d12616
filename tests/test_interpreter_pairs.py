"""Two interpreters side by side: only twins (the same version built the same way, with and without the GIL) are
said to measure the cost of free threading; any other pair is named by what differs besides the GIL."""

from __future__ import annotations

import pandas as pd
from gilbench import spectrum
from gilbench.report import pairs, suite

BUILD = {
    "version": "3.13.15",
    "implementation": "CPython",
    "configure_args": "'--prefix=/opt/python-gil'",
    "compiler": "GCC 12.2.0",
    "optimizations": [],
    "opt_flags": "-DNDEBUG -g -O3 -Wall",
}
GIL_TWIN = dict(BUILD, python="/opt/python-gil/bin/python3.13", free_threaded=False)
FT = dict(
    BUILD,
    python="/opt/python-ft/bin/python3.13t",
    free_threaded=True,
    configure_args="'--disable-gil' '--prefix=/opt/python-ft'",
)
OLDER = dict(BUILD, python="/usr/bin/python3.11", version="3.11.7", free_threaded=False, compiler="GCC 11.4.0")
ENV = {"interpreters": [GIL_TWIN, FT, OLDER]}


def test_twins_differ_in_the_gil_alone():
    found = pairs.pair(ENV, (GIL_TWIN["python"], "3.13.15"), (FT["python"], "3.13.15"))
    assert found.rule == "twins"


def test_another_version_and_compiler_are_named_and_no_cost_of_free_threading_is_claimed():
    found = pairs.pair(ENV, (OLDER["python"], "3.11.7"), (FT["python"], "3.13.15"))
    assert found.rule == "not-twins"
    assert [what for what, _, _ in found.facts["differences"]] == ["version", "compiler"]
    assert "are not the cost of free threading" in pairs.words(found)


def test_a_run_that_did_not_record_the_builds_is_not_taken_for_twins():
    found = pairs.pair({}, ("/opt/python-gil/bin/python3.13", "3.13.15"), ("/opt/python-ft/bin/python3.13t", "3.13.15"))
    assert found.rule == "build-unknown"
    assert found.facts["differences"] == []
    older = pairs.pair({}, ("/usr/bin/python3.11", "3.11.7"), ("/opt/python-ft/bin/python3.13t", "3.13.15"))
    assert older.facts["differences"] == [("version", "3.11.7", "3.13.15")]


def _table(pythons):
    rows = [
        {"python_executable": p["python"], "python_version": p["version"], "free_threaded": p["free_threaded"]}
        for p in pythons
    ]
    return pd.DataFrame(rows)


def test_the_spectrum_takes_the_twin_as_its_gil_build_and_says_the_cost_only_then():
    table = _table([OLDER, GIL_TWIN, FT])  # the older Python first: the twin must still be chosen
    twins = pairs.twin_pythons(ENV, table)
    assert twins == {GIL_TWIN["python"]}
    assert spectrum.interpreters(table.assign(gil_enabled=~table["free_threaded"]), twins)["gil"] == GIL_TWIN["python"]
    nan = [float("nan")] * 2
    frame = pd.DataFrame({"ft_cost": [1.2, 1.4], "safety": ["yes", "yes"]})
    frame = frame.assign(threads_ft=nan, threads_ft_low=nan, threads_ft_high=nan)
    frame["workload"] = ["a", "b"]
    frame.attrs["pythons"] = {"gil": (GIL_TWIN["python"], "3.13.15"), "ft": (FT["python"], "3.13.15")}
    cost = next(f for f in suite.spectrum_findings(frame, ENV) if f.rule == "free-threaded-cost")
    assert cost.facts["pair"].rule == "twins"
    frame.attrs["pythons"]["gil"] = (OLDER["python"], "3.11.7")
    cost = next(f for f in suite.spectrum_findings(frame, ENV) if f.rule == "free-threaded-cost")
    assert cost.facts["pair"].rule == "not-twins"
