"""The statistics behind the report's claims: one-sided tests of a summary row's quantities, and Holm's procedure.

Each test gives a p-value from the statistics the row's numbers are made of (the per-block log ratios for a speedup,
widened as its interval is where the run was sized; Welch's t on log times for an older unpaired CSV; the
repetitions' mean for busy cores and the start-up share; the per-block CPU ratios for the CPU inflation; tasks.csv's
shares, tested in bench/report/balance.py). bench/report/rules.py says which tests a claim needs, and
bench/report/budget.py puts a run's claims under one family-wise error budget with `holm`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..analysis import SEQUENTIAL_FACTOR, SEQUENTIAL_METHOD, t_cdf, t_quantile
from .evidence import Evidence

ALPHA = 0.05  # the family-wise error rate of a report's claims: at most a 5 % chance of any false claim
CLAIMS = "claims"  # the summary column: the claims accepted for the row, ";"-joined
FAMILY = "claims_family"  # the summary column: how many candidate claims the run's family held


# tasks.csv's quantities and the columns holding their one-sided p-values (bench/report/balance.py, at the rules'
# thresholds): the tasks' CPU share while alive below GIL_WAIT_SHARE, the least busy worker's share below UNEVEN_BUSY
TIMELINE_P = {"task_cpu_share": "gil_wait_p", "least_busy_share": "uneven_p"}


@dataclass(frozen=True)
class Test:
    """One one-sided test of a row's quantity against a value: `below` (True) or above it."""

    quantity: str  # "speedup", "ceiling", "busy_cores", "startup_share", "cpu_inflation"
    below: bool
    value: Callable[[Evidence], float]


def _t_p(estimate: float, se: float, df: float, value: float, below: bool) -> float:
    """One-sided p-value of Student's t for `estimate` below (or above) `value`."""
    if not (estimate == estimate and value == value and df == df) or df < 1 or se != se:
        return 1.0
    if se <= 0:
        return 0.0 if (estimate < value if below else estimate > value) else 1.0
    score = (estimate - value) / se
    return t_cdf(score, df) if below else t_cdf(-score, df)


def _interval_p(point: float, low: float, high: float, value: float, below: bool) -> float:
    """A hand-made row without the statistics a p-value needs: judged by its 95 % interval (or its point)."""
    if low == low and high == high:
        return 0.0 if (high < value if below else low > value) else 1.0
    return 0.0 if (point < value if below else point > value) else 1.0


def _log(value: float) -> float:
    return math.log(value) if value == value and value > 0 else math.nan


def speedup_p(row: dict, value: float, below: bool) -> float:
    """p-value of the row's speedup below (or above) `value`, from the statistics its interval was made of: the
    per-block log ratios (paired; where the run was sized, the t test widened as its interval is, or for a run
    sized by an older gilbench the wider of the t test and Stein's two-stage test from the pilot), or the two
    cells' log times (an older, unpaired CSV: Welch's t)."""
    estimate, target = _log(row.get("speedup", math.nan)), _log(value)
    if "speedup_blocks" not in row:
        point, low, high = (row.get(c, math.nan) for c in ("speedup", "speedup_low", "speedup_high"))
        return _interval_p(point, low, high, value, below)
    n = row["speedup_blocks"]
    if n and n > 1:
        p = _t_p(estimate, widening(row) * row["pair_spread"] / math.sqrt(n), n - 1, target, below)
        pilot, spread = row.get("pilot_blocks", 0) or 0, row.get("pilot_spread", math.nan)
        if pilot > 1 and spread == spread:
            p = max(p, _t_p(estimate, spread / math.sqrt(n), pilot - 1, target, below))
        return p
    mine, theirs = (
        (row.get("spread", math.nan), row.get("repeats", 0)),
        (
            row.get("serial_spread", math.nan),
            row.get("serial_repeats", 0),
        ),
    )
    if not (mine[1] > 1 and theirs[1] > 1):
        return 1.0
    a, b = mine[0] ** 2 / mine[1], theirs[0] ** 2 / theirs[1]
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (mine[1] - 1) + b**2 / (theirs[1] - 1)) if a + b > 0 else min(mine[1], theirs[1]) - 1
    return _t_p(estimate, se, df, target, below)


def mean_p(row: dict, column: str, value: float, below: bool) -> float:
    """p-value of a per-repetition mean (busy cores, start-up share) below (or above) `value`: one-sample t."""
    sd, n = row.get(f"{column}_sd", math.nan), row.get("repeats", 0)
    if f"{column}_sd" not in row:
        return _interval_p(row.get(column, math.nan), math.nan, math.nan, value, below)
    if not n or n < 2:
        return 1.0
    return _t_p(row.get(column, math.nan), sd / math.sqrt(n), n - 1, value, below)


def inflation_p(row: dict, value: float, below: bool) -> float:
    """p-value of the CPU inflation (geometric mean of per-block CPU ratios) below (or above) `value`."""
    if "cpu_inflation_spread" not in row:
        return _interval_p(
            row.get("cpu_inflation", math.nan),
            row.get("cpu_inflation_low", math.nan),
            row.get("cpu_inflation_high", math.nan),
            value,
            below,
        )
    n, sd = row.get("speedup_blocks", 0), row.get("cpu_inflation_spread", math.nan)
    if not n or n < 2:
        return 1.0
    return _t_p(_log(row.get("cpu_inflation", math.nan)), sd / math.sqrt(n), n - 1, _log(value), below)


def widening(row: dict) -> float:
    """What a speedup's standard error is multiplied by in its tests, as its interval is: SEQUENTIAL_FACTOR for a
    run sized by --repeat auto's looks (analysis.paired_interval), else 1."""
    return SEQUENTIAL_FACTOR if row.get("speedup_method") == SEQUENTIAL_METHOD else 1.0


def _log_se(row: dict) -> tuple[float, float]:
    """The standard error of a paired speedup's log, widened as its interval is, and its degrees of freedom (NaN
    where it has no blocks)."""
    n = row.get("speedup_blocks", 0) or 0
    if n < 2:
        return math.nan, math.nan
    return widening(row) * row.get("pair_spread", math.nan) / math.sqrt(n), n - 1.0


def gap_p(row: dict, ceiling: dict) -> float:
    """p-value of a variant's speedup below the ceiling's at the same worker count: the difference of their logs
    over the root of the two squared standard errors (each from its own blocks; the serial repetitions they share
    cancel in the difference, so treating them as independent overstates its spread: conservative)."""
    (a, dfa), (b, dfb) = _log_se(row), _log_se(ceiling)
    if not (a == a and b == b):
        return 1.0
    estimate = _log(row.get("speedup", math.nan)) - _log(ceiling.get("speedup", math.nan))
    return _t_p(estimate, math.sqrt(a * a + b * b), min(dfa, dfb), 0.0, below=True)


def test_p(test: Test, e: Evidence, ceiling: dict | None = None) -> float:
    """The p-value of one test on one row (`ceiling`: the machine ceiling's row at the same worker count)."""
    value = test.value(e)
    if test.quantity == "speedup":
        return speedup_p(e.row, value, test.below)
    if test.quantity == "ceiling":  # the quoted ceiling's row; a hand-made row carries its ceiling's interval only
        if ceiling is not None:
            return speedup_p(ceiling, value, test.below)
        return _interval_p(math.nan, e.get("ceiling_speedup_low"), e.get("ceiling_speedup_high"), value, test.below)
    if test.quantity == "cpu_inflation":
        return inflation_p(e.row, value, test.below)
    if test.quantity in TIMELINE_P:  # from tasks.csv: bench/report/balance.py tests them per repetition
        column = TIMELINE_P[test.quantity]
        if column not in e.row:
            return _interval_p(e.get(test.quantity), math.nan, math.nan, value, test.below)
        p = e.row[column]
        return float(p) if p == p else 1.0
    return mean_p(e.row, test.quantity, value, test.below)


def holm(pvalues: dict, alpha: float = ALPHA) -> set:
    """Holm's step-down procedure: the keys whose claims are accepted at family-wise error `alpha` (a NaN p-value:
    no test was made, so no hypothesis in the family)."""
    accepted = set()
    ordered = sorted(((k, p) for k, p in pvalues.items() if p == p), key=lambda kv: kv[1])
    m = len(ordered)
    for i, (key, p) in enumerate(ordered):
        if not p <= alpha / (m - i):
            break
        accepted.add(key)
    return accepted


def _test_key(test: Test, e: Evidence, tested: tuple) -> tuple:
    """A test's identity: the row it reads, the quantity, the side and the value. Rules that share a test (every
    cause of a loss tests "speedup below linear") share one hypothesis in the family."""
    return (tested, test.quantity, test.below, round(float(test.value(e)), 9))


def record(rule_tests, e: Evidence, tested: tuple, tests: dict, ceiling: dict | None = None) -> list[tuple]:
    """Each test a claim needs, entered once into the family `tests` (test key -> p-value); its test keys."""
    keys = []
    for t in rule_tests:
        key = _test_key(t, e, tested)
        tests.setdefault(key, test_p(t, e, ceiling))
        keys.append(key)
    return keys


ACROSS_WINS = "native-setting-wins"  # the claim: a setting's best cell beat the reference setting's serial cell


def across_p(row: dict) -> float:
    """p-value of the row's speedup over the reference setting's serial cell above 1.00x: Welch's t on the log
    times (analysis._add_across_settings: the settings' blocks are not paired)."""
    return _t_p(
        _log(row.get("across_speedup", math.nan)),
        row.get("across_se", math.nan),
        row.get("across_df", math.nan),
        0.0,
        False,
    )


def blocks_to_tell(row: dict, family: int, alpha: float = ALPHA, most: int = 10_000) -> int | None:
    """How many blocks would let the row's speedup be called above 1.00x at the first step of Holm's procedure
    (alpha / family), if the speedup is what this run estimates and the pair spread stays as observed; None where
    the estimate is not above 1.00x or the row has no pair spread."""
    estimate, sd = _log(row.get("speedup", math.nan)), widening(row) * row.get("pair_spread", math.nan)
    if not (estimate > 0 and sd == sd and sd > 0):
        return None
    level = 1 - alpha / max(1, family)
    n = 2
    while n < most and t_quantile(level, n - 1) * sd / math.sqrt(n) >= estimate:
        n = max(n + 1, int(n * 1.05))
    return n
