"""Analysis: per-cell statistics, speedup, efficiency, Karp-Flatt, Amdahl fits. From the CSV alone.

Conventions (the README repeats them):
- A cell's time is the median of its measured repetitions (warm-ups, failures and blocks set aside excluded).
- Speedup S(N), within the same workload, size, parameters and interpreter: in a run of paired blocks, the
  geometric mean of the per-block ratios serial time / variant time at N workers (below); in an older CSV without
  blocks, median serial time / median variant time. Efficiency = S(N) / N.
- The `ceiling` variant (N independent processes, no pool, no IPC, timed from a barrier) is the
  machine's own limit; `ceiling_efficiency` = S(N) / S_ceiling(N).
- Karp-Flatt serial fraction e = (1/S - 1/N) / (1 - 1/N), for N > 1.
- Amdahl fit per variant: S(N) = 1 / (p + (1 - p) / N), p in [0, 1] by least squares.
- Universal Scalability Law (Gunther) per variant: S(N) = N / (1 + sigma (N-1) + kappa N (N-1)), sigma
  the contention (the part that queues: the GIL, a lock), kappa the coherency cost (workers paying for
  each other: shared state, cache lines, reference counts). Fitted as Gunther fits it, by least squares
  on the linear form N/S - 1 = sigma (N-1) + kappa N (N-1), sigma in [0, 1], kappa >= 0, each point weighted
  by S^2/N so that the fit minimises errors of the speedup itself. Where kappa > 0
  the curve peaks at N* = sqrt((1 - sigma) / kappa) and falls after it: Amdahl's law (the USL with
  kappa = 0) cannot fall. Intervals of sigma and kappa: a percentile bootstrap over rounds (a round's
  repetitions of every cell are kept together, so a slow spell of the machine moves them all); with
  few rounds it can only be as wide as the rounds differ, and says so by its coverage in the README.
- Which law describes a curve better: the information criterion AICc (AIC where the points are too few
  for the small-sample correction); the USL's extra parameter must earn 2 units of it. A law whose fit
  explains less than half of the variance (R^2 < 0.5) and misses the speedups by more than 10 % (root
  mean square, relative) describes nothing and is neither drawn nor quoted.
- Weak scaling (--scaling weak): a cell at N workers does N workers' shares of work; the baseline is the
  serial variant doing one share. Scaled (Gustafson) speedup = N * T_serial(1 share) / T(N), and
  efficiency = speedup / N = T(1) / T(N): 100 % means N cores did N times the work in the same time.
- Speedups are measured in paired blocks (bench/blocks.py): a block runs the serial baseline and the variants of
  one workload at one worker count back to back, in random order. The unit of every speedup statistic is the
  per-block ratio serial / variant, so a slow spell of the machine, which moves a whole block, cancels.
  Speedup = the geometric mean of the per-block ratios; its interval is Student's t on the log ratios,
  exp(mean +- t(0.975, n-1) * sd / sqrt(n)), at a stated 95 % coverage (`speedup_method` "paired-t"). The
  coverage holds where the log ratios are roughly normal and the blocks independent: tests/test_paired.py
  checks it on simulated samples, and tests/benchmarks/paired_coverage.py on real 1-worker cells. A run sized by
  `--repeat auto` stops each cell at the first look where its interval is within the precision and reports that
  interval widened by SEQUENTIAL_FACTOR ("paired-t-sequential", see `paired_interval`): stopping when the interval
  is narrow would otherwise cost coverage. Runs sized by an older gilbench ("paired-t-two-stage") keep theirs.
- CPU inflation (the variant's task CPU over the serial cell's, per block): the geometric mean of the per-block
  ratios with its t interval, the same estimator for point and interval. Busy cores and the start-up share are the
  means of the repetitions, with their sd (the report's rules test the means).
- A cell's time keeps its order-statistic interval of the median (see `median_interval`): distribution-free,
  with its exact coverage. With n repetitions [x_(k), x_(n+1-k)] covers the true median with probability
  1 - 2 P(Binomial(n, 1/2) <= k - 1); five repetitions give at best [min, max] at 93.75 %.
- A CSV of an older gilbench (measured in rounds, not blocks: `block_workers` 0) keeps its unpaired speedup
  interval (`speedup_method` "unpaired-medians"): the two medians' intervals joined, each at sqrt(0.95), a
  lower bound on the coverage.
- A disturbed block (other programs took CPU during one of its repetitions) is run again at once; only a
  block's last attempt counts. A block still disturbed after its re-runs is set aside (the scheduler runs a new
  block in its place while the budget lasts): a cell's statistics count its clean blocks only. A cell with no
  clean block at all keeps its disturbed rows (its times, flagged), but has no speedup: `too_busy`, the machine
  was too busy to answer (`block_counts`).
- A cell whose repetitions spread more than UNSTABLE_SPREAD (sd of log time, about sd / mean) is unstable,
  as pyperf warns: its median moves between runs, and only many blocks pin its speedup down.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .native import LEAVE, reference_setting

# A cell's --native-threads setting is part of its key and of its baseline's: each setting's speedups are over its
# own serial cell (the same loop at the same setting); a run of several settings also compares each setting's cells
# with the first setting's serial cell (`across_speedup`), the question "limit the pools and use threads?"
CELL = [
    "workload",
    "size",
    "params",
    "scaling",
    "python_executable",
    "start_method",
    "native_setting",
    "variant",
    "workers",
]
BASELINE = ["workload", "size", "params", "scaling", "python_executable", "start_method", "native_setting"]
SERIES = BASELINE + ["variant"]
from .variants import VARIANTS  # noqa: E402

# The baseline and the machine's ceiling, as bench/variants.py defines them.
BASELINE_VARIANT = next(name for name, v in VARIANTS.items() if v.family == "serial")
CEILING = next(name for name, v in VARIANTS.items() if v.ceiling)
CONFIDENCE = 0.95
# A law whose fit explains less of the variance than MIN_R2 and misses by more than MAX_RELATIVE_ERROR describes
# nothing: not drawn, not quoted. A law whose typical error is within MAX_RELATIVE_ERROR of the speedup does describe
# the curve even at a low R^2: R^2 says nothing about a flat curve (threads under the GIL at 1.0x everywhere), whose
# variance is all noise, yet a law that lands within 10 % (about this machine's noise between repetitions) describes it.
MIN_R2 = 0.5
MAX_RELATIVE_ERROR = 0.10
USL_MIN_COUNTS = 4  # two parameters: with points <= parameters + 1 the information criterion cannot be corrected
AIC_MARGIN = 2.0  # the USL's second parameter must lower the information criterion by this much
BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 20261126  # a fixed seed: the same CSV gives the same intervals


BLOCK = BASELINE + ["block_workers", "repeat"]  # one paired block: its serial and variant repetitions


def measured(frame):
    """The rows that count: successful, non-warm-up repetitions, without disturbed ones.

    Paired blocks: only each block's last attempt counts (a disturbed block is run again as a whole), so a
    pair is never made of repetitions minutes apart; a block still disturbed at its last attempt is set aside
    wherever the cell has a clean block, and kept, marked, for a cell that has none (it gets no speedup: see
    `block_counts`). An older CSV (no blocks): a repetition disturbed on every attempt keeps its last attempt.
    """
    import pandas as pd

    frame = frame[~frame["warmup"].astype(bool)]
    if "block_workers" in frame and (frame["block_workers"] > 0).any():
        paired = _last_attempts(frame)
        paired = paired[~_in_disturbed_block(paired) | ~_has_clean_block(paired)]
        rest = frame[frame["block_workers"] <= 0]
        return pd.concat([paired, _measured_unpaired(rest)]) if not rest.empty else paired
    return _measured_unpaired(frame)


def _last_attempts(frame):
    """A paired run's successful rows at their block's last attempt."""
    paired = frame[frame["block_workers"] > 0]
    last = paired.groupby(BLOCK, sort=False, dropna=False)["attempt"].transform("max")
    return paired[(paired["attempt"] == last) & paired["ok"].astype(bool)]


def _in_disturbed_block(rows):
    """Per row: whether a repetition of its block (at that attempt) was disturbed: the block is set aside."""
    import pandas as pd

    if "disturbed" not in rows:
        return pd.Series(False, index=rows.index)
    marked = rows["disturbed"].fillna(False).astype(bool)
    return marked.groupby([rows[c] for c in BLOCK], sort=False, dropna=False).transform("any").astype(bool)


def _has_clean_block(rows):
    """Per row: whether its cell ran in at least one block that was not set aside."""
    clean = ~_in_disturbed_block(rows)
    return clean.groupby([rows[c] for c in CELL], sort=False, dropna=False).transform("any").astype(bool)


def block_counts(frame) -> dict[tuple, tuple[int, int]]:
    """Per cell (CELL key) of a paired run: (its clean blocks, its blocks set aside), each at its last attempt. A
    non-serial cell with set-aside blocks and no clean one is `too_busy`: no speedup is given for it, since every
    pair it has was measured while other programs took CPU (bench/scheduler.py ran replacements while the budget
    allowed). An older CSV has no blocks: an empty dict."""
    frame = frame[~frame["warmup"].astype(bool)]
    if "block_workers" not in frame or not (frame["block_workers"] > 0).any():
        return {}
    rows = _last_attempts(frame).assign(_aside=lambda r: _in_disturbed_block(r))
    out = {}
    for key, g in rows.groupby(CELL, sort=False, dropna=False):
        blocks = g.drop_duplicates(["block_workers", "repeat"])
        aside = int(blocks["_aside"].sum())
        out[tuple(key)] = (len(blocks) - aside, aside)
    return out


def _measured_unpaired(frame):
    import pandas as pd

    rows = frame[frame["ok"].astype(bool)]
    if "disturbed" not in rows or not rows["disturbed"].astype(bool).any():
        return rows
    disturbed = rows["disturbed"].astype(bool)
    key = CELL + ["repeat"]
    clean_keys = set(map(tuple, rows.loc[~disturbed, key].to_numpy()))
    last = rows[disturbed].sort_values("attempt").groupby(key, sort=False).tail(1)
    kept = last[[tuple(k) not in clean_keys for k in last[key].to_numpy()]]
    return pd.concat([rows[~disturbed], kept])


def median_coverage(n: int, k: int) -> float:
    """Exact probability that [x_(k), x_(n+1-k)] of n independent draws covers the true median."""
    from scipy.special import bdtr  # the binomial distribution function (scipy.stats.binom.cdf's)

    if n < 1 or not 1 <= k <= (n + 1) // 2:
        return 0.0
    return float(1 - 2 * bdtr(k - 1, n, 0.5))


def median_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """The narrowest order-statistic interval of the median whose coverage reaches `confidence`, or, where
    n is too small for that, the widest one there is ([min, max]); returns (low, high, exact coverage)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0.0
    k = 1
    for candidate in range(1, (n + 1) // 2 + 1):
        if median_coverage(n, candidate) >= confidence:
            k = candidate
    return float(x[k - 1]), float(x[n - k]), median_coverage(n, k)


def ratio_interval(num, den, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Interval of median(num) / median(den) from the two medians' intervals, each at sqrt(confidence);
    returns (low, high, coverage), where the coverage is a lower bound (the product of the two)."""
    part = math.sqrt(confidence)
    n_low, n_high, n_cov = median_interval(num, part)
    d_low, d_high, d_cov = median_interval(den, part)
    if not d_low > 0:
        return math.nan, math.nan, 0.0
    return n_low / d_high, n_high / d_low, n_cov * d_cov


PAIRED_METHOD = "paired-t"  # Student's t on the per-block log ratios, 95 %
TWO_STAGE_METHOD = "paired-t-two-stage"  # older --repeat auto runs: the wider of that and Stein's from the pilot
SEQUENTIAL_METHOD = "paired-t-sequential"  # --repeat auto: the t interval widened by SEQUENTIAL_FACTOR
# --repeat auto looks after the pilot and after every round, and stops a cell at the first look where its interval is
# within the precision. Stopping when an interval happens to be narrow favours runs whose spread came out small: the
# plain t interval then covers 91-95 %. Widened by this factor it covers at least 95.6 % (normal log ratios) and
# 96.2 % (Student's t, 5 degrees of freedom) at every spread from 0.1 to 3 times the precision, in 20,000 simulated
# runs per spread with the first look at 4 blocks (docs/measuring.md, "Sizing a run"; tests/test_paired.py).
SEQUENTIAL_FACTOR = 1.25
UNPAIRED_METHOD = "unpaired-medians"  # an older CSV: the two medians' order-statistic intervals joined
UNSTABLE_SPREAD = 0.10  # pyperf's warning: repetitions whose standard deviation exceeds 10 % of the mean


@functools.lru_cache(maxsize=4096)
def t_quantile(probability: float, df: int) -> float:
    """Student's t quantile (cached: the sizing and the report's tests ask for the same few again and again).
    scipy.special's stdtrit is what scipy.stats.t.ppf computes, without importing scipy.stats (about 0.6 s against
    0.2 s on a 2-vCPU VM): the sizing asks between blocks, while the run is measuring."""
    from scipy.special import stdtrit

    return float(stdtrit(df, probability))


def t_cdf(score: float, df: float) -> float:
    """Student's t distribution function (scipy.special's stdtr: scipy.stats.t.cdf without importing scipy.stats);
    the upper tail is t_cdf(-score, df)."""
    from scipy.special import stdtr

    return float(stdtr(df, score))


def t_halfwidth(sd: float, n: int, confidence: float = CONFIDENCE, df: int | None = None) -> float:
    """Half-width of Student's t interval of a mean of n values with standard deviation sd (NaN below n = 2); `df`:
    the sd's degrees of freedom where it came from other values than the n (the two-stage interval's pilot)."""
    df = n - 1 if df is None else df
    if n < 2 or df < 1 or not sd == sd:
        return math.nan
    return t_quantile(0.5 + confidence / 2, df) * sd / math.sqrt(n)


def paired_interval(
    log_ratios, confidence: float = CONFIDENCE, pilot: int = 0, two_stage: bool = False
) -> tuple[float, float, float, float]:
    """Geometric mean of per-block ratios with its t interval: (speedup, low, high, coverage); the interval is
    NaN with fewer than two blocks (one block says nothing of its spread).

    `pilot` > 1 (a run sized by `--repeat auto`: its first look came after `pilot` blocks, and the run went on
    until the interval was narrow enough): the t interval widened by SEQUENTIAL_FACTOR, which keeps the 95 % that
    the stop rule would otherwise cost. `two_stage` (a run sized by an older gilbench, whose pilot's spread set the
    blocks): the wider of the t interval and Stein's two-stage interval (the pilot's sd with its pilot - 1 degrees
    of freedom, over all n blocks), as that run was sized (docs/measuring.md, "Sizing a run")."""
    x = np.asarray(log_ratios, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return math.nan, math.nan, math.nan, 0.0
    mean = float(x.mean())
    h = sized_log_halfwidth(x, confidence, pilot, two_stage)
    if h != h:
        return math.exp(mean), math.nan, math.nan, 0.0
    return math.exp(mean), math.exp(mean - h), math.exp(mean + h), confidence


def sized_log_halfwidth(x, confidence: float = CONFIDENCE, pilot: int = 0, two_stage: bool = False) -> float:
    """The half-width `paired_interval` uses, on the log scale (x in block order, finite)."""
    n = len(x)
    h = t_halfwidth(float(x.std(ddof=1)), n, confidence) if n > 1 else math.nan
    if pilot > 1 and n >= pilot and h == h:
        if two_stage:
            h = max(h, t_halfwidth(float(x[:pilot].std(ddof=1)), n, confidence, df=pilot - 1))
        else:
            h *= SEQUENTIAL_FACTOR
    return h


def sized_halfwidth(x, pilot: int = 0, two_stage: bool = False) -> float:
    """The relative half-width a cell's speedup interval has now (x: its log ratios in block order, finite): what
    --repeat auto compares with --precision at each look to decide whether the cell needs more blocks."""
    h = sized_log_halfwidth(x, pilot=pilot, two_stage=two_stage)
    return math.expm1(h) if h == h else math.nan


def blocks_needed(
    sd: float,
    precision: float,
    confidence: float = CONFIDENCE,
    most: int = 100_000,
    factor: float = 1.0,
) -> int:
    """The fewest blocks whose t interval of the mean log ratio, at this spread, is within +-precision (relative:
    exp(half-width) - 1 <= precision). `factor`: the interval's widening (SEQUENTIAL_FACTOR for a sized run)."""
    target = math.log1p(precision)
    if not sd > 0:
        return 2
    n = 2
    while n < most and factor * t_halfwidth(sd, n, confidence) > target:
        n = max(n + 1, int(n * 1.05))  # n grows geometrically past ~20: the t quantile barely moves there
    while n > 2 and factor * t_halfwidth(sd, n - 1, confidence) <= target:  # the geometric steps may overshoot
        n -= 1
    return n


def paired_log_ratios(rows, metric: str = "total_s"):
    """Per non-serial cell (CELL key): the log of scale x serial / variant over the blocks both ran in."""
    base = rows[(rows["variant"] == BASELINE_VARIANT) & (rows["block_workers"] > 0)]
    base = base.groupby(BLOCK, sort=False)[metric].first().rename("serial_value").reset_index()
    others = rows[(rows["variant"] != BASELINE_VARIANT) & (rows["block_workers"] > 0)]
    merged = others.merge(base, on=BLOCK, how="inner").sort_values("repeat", kind="stable")  # in block order
    with np.errstate(divide="ignore", invalid="ignore"):
        merged["log_ratio"] = np.log(merged["scale"].astype(float) * merged["serial_value"] / merged[metric])
    return {key: group["log_ratio"].to_numpy(dtype=float) for key, group in merged.groupby(CELL, sort=False)}


def pair_spread(frame, metric: str = "total_s", pilot: int = 0) -> dict:
    """For sizing a run: per non-serial cell, (blocks, sd of the log ratios, relative half-width now: the
    interval `summarize` will report, widened for the stop rule where `pilot` > 1)."""
    rows = measured(frame)
    out: dict = {}
    if rows.empty or "block_workers" not in rows:
        return out
    for key, x in paired_log_ratios(rows, metric).items():
        x = x[np.isfinite(x)]
        out[key] = (len(x), _sd(x), sized_halfwidth(x, pilot))
    return out


TUTORIAL_BLOCK = ["python_executable", "block_workers", "repeat"]


def tutorial_check(frame, scripts) -> list[dict]:
    """--check-against-tutorial: per interpreter and worker count, over the blocks in which all four ran, the
    tutorial's speedup (its serial script / its parallel script), gilbench's (the serial cell / the multiprocessing
    cell), their per-block ratio, and each stopwatch's ratio (cell / script). Each is (geometric mean, low, high,
    coverage) of the per-block ratios, the paired t interval the speedups use."""
    import pandas as pd

    from .tutorial import VARIANT, WORKLOAD

    rows = measured(frame)
    rows = rows[(rows["workload"] == WORKLOAD) & (rows["block_workers"] > 0)]
    setting = reference_setting(rows["native_setting"]) if len(rows) else LEAVE
    rows = rows[rows["native_setting"] == setting]  # the blocks the scripts ran in (tutorial.applies)
    cells = {
        "cell_serial": rows[rows["variant"] == BASELINE_VARIANT],
        "cell_parallel": rows[(rows["variant"] == VARIANT) & (rows["workers"] == rows["block_workers"])],
    }
    scripts = scripts[~scripts["warmup"].astype(bool) & scripts["ok"].astype(bool)]
    last = scripts.groupby(TUTORIAL_BLOCK + ["script"], sort=False)["attempt"].transform("max")
    scripts = scripts[scripts["attempt"] == last]
    for name in ("serial", "parallel"):
        cells[f"script_{name}"] = scripts[scripts["script"] == name]
    joined = pd.concat(
        {name: part.groupby(TUTORIAL_BLOCK, sort=False)["total_s"].last() for name, part in cells.items()}, axis=1
    ).dropna()
    out = []
    for (python, workers), g in joined.groupby(level=[0, 1], sort=True):
        gilbench = np.log(g["cell_serial"] / g["cell_parallel"])
        script = np.log(g["script_serial"] / g["script_parallel"])
        out.append(
            {
                "python_executable": python,
                "workers": int(workers),
                "native_setting": setting,
                "blocks": len(g),
                "tutorial_speedup": paired_interval(script),
                "gilbench_speedup": paired_interval(gilbench),
                "ratio": paired_interval(gilbench - script),
                "serial_stopwatch": paired_interval(np.log(g["cell_serial"] / g["script_serial"])),
                "parallel_stopwatch": paired_interval(np.log(g["cell_parallel"] / g["script_parallel"])),
            }
        )
    return out


def karp_flatt(speedup, workers):
    """Experimentally determined serial fraction; NaN at one worker, where it is undefined."""
    s, n = np.asarray(speedup, dtype=float), np.asarray(workers, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (1 / s - 1 / n) / (1 - 1 / n)
    return np.where(n > 1, e, np.nan)


def amdahl(workers, p):
    return 1.0 / (p + (1.0 - p) / np.asarray(workers, dtype=float))


def fit_amdahl(workers, speedup) -> tuple[float, float]:
    """Least-squares serial fraction p in [0, 1] and the fit's R^2 (NaN with fewer than two points)."""
    n, s = np.asarray(workers, dtype=float), np.asarray(speedup, dtype=float)
    keep = np.isfinite(s) & np.isfinite(n)
    n, s = n[keep], s[keep]
    if len(n) < 2 or len(set(n)) < 2:
        return math.nan, math.nan
    from scipy.optimize import least_squares  # here: its import (about 0.2 s) is a run's only with a curve to fit

    fit = least_squares(lambda p: amdahl(n, p[0]) - s, x0=[0.5], bounds=([0.0], [1.0]))
    p = float(fit.x[0])
    return p, _r2(amdahl(n, p), s)


def usl(workers, sigma, kappa):
    n = np.asarray(workers, dtype=float)
    return n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def usl_peak(sigma: float, kappa: float) -> float:
    """Workers at which the USL curve peaks, N* = sqrt((1 - sigma) / kappa); NaN where kappa is 0 (no peak)."""
    if not kappa > 1e-6 or sigma != sigma:
        return math.nan
    return max(1.0, math.sqrt(max(0.0, 1.0 - sigma) / kappa))  # below 1: never faster than one worker


def _usl_coefficients(n, s) -> tuple[float, float]:
    # Each row weighted by S^2 / N, the slope of S in N/S: the linear fit then minimises (to first order) the
    # errors in speedup, not in N/S, which would let the largest worker count outweigh all others.
    weight = s**2 / n
    design = np.column_stack([n - 1.0, n * (n - 1.0)]) * weight[:, None]
    return box_least_squares(design, (n / s - 1.0) * weight)


def box_least_squares(a, b) -> tuple[float, float]:
    """min ||a x - b||^2 over 0 <= x0 <= 1, x1 >= 0, exactly: the objective is a convex quadratic, so its minimum
    is the unconstrained one where that is feasible, else on an edge of the box, where a one-variable least squares
    clipped to the edge finds it. The same answer as scipy's lsq_linear, in microseconds: the USL's bootstrap
    refits it hundreds of times per curve."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)

    def clip(x0: float, x1: float) -> tuple[float, float]:
        return min(1.0, max(0.0, x0)), max(0.0, x1)

    def cost(x: tuple[float, float]) -> float:
        return float(np.sum((a @ np.asarray(x) - b) ** 2))

    def along(column: int, fixed: float) -> tuple[float, float]:
        """The other variable's least squares with x[column] = fixed, clipped to the box."""
        other = 1 - column
        rest = b - a[:, column] * fixed
        norm = float(a[:, other] @ a[:, other])
        value = float(a[:, other] @ rest) / norm if norm > 0 else 0.0
        x = [0.0, 0.0]
        x[column], x[other] = fixed, value
        return clip(x[0], x[1])

    candidates = [along(0, 0.0), along(0, 1.0), along(1, 0.0)]
    solution, *_ = np.linalg.lstsq(a, b, rcond=None)
    if 0.0 <= solution[0] <= 1.0 and solution[1] >= 0.0:
        candidates.append((float(solution[0]), float(solution[1])))
    return min(candidates, key=cost)


def _r2(model, s) -> float:
    residual = float(np.sum((model - s) ** 2))
    total = float(np.sum((s - s.mean()) ** 2))
    return 1 - residual / total if total > 0 else (1.0 if residual < 1e-12 else 0.0)


def relative_error(model, speedup) -> float:
    """Root-mean-square error of a fit relative to the mean measured speedup."""
    s = np.asarray(speedup, dtype=float)
    keep = np.isfinite(s)
    if not keep.any():
        return math.nan
    return float(np.sqrt(np.mean((np.asarray(model, dtype=float)[keep] - s[keep]) ** 2)) / np.mean(s[keep]))


def describes(r2: float, error: float) -> bool:
    """A law describes a curve when it explains at least half of the variance or lands within 10 % of it."""
    return bool(r2 >= MIN_R2 or error <= MAX_RELATIVE_ERROR)


def fit_usl(workers, speedup) -> tuple[float, float, float]:
    """USL sigma, kappa and the fit's R^2 (in speedup terms); NaNs with fewer than USL_MIN_COUNTS worker counts
    or a speedup that is not positive."""
    n, s = np.asarray(workers, dtype=float), np.asarray(speedup, dtype=float)
    keep = np.isfinite(s) & np.isfinite(n) & (s > 0)
    n, s = n[keep], s[keep]
    if len(set(n)) < USL_MIN_COUNTS:
        return math.nan, math.nan, math.nan
    sigma, kappa = _usl_coefficients(n, s)
    return sigma, kappa, _r2(usl(n, sigma, kappa), s)


def information(residual: float, points: int, parameters: int) -> float:
    """AICc of a least-squares fit; NaN where points <= parameters + 1, too few for the small-sample correction
    (plain AIC there would let a two-parameter law fit three points almost exactly and win)."""
    if points - parameters - 1 <= 0:
        return math.nan
    rss = max(residual, 1e-12 * points)
    return (
        points * math.log(rss / points) + 2 * parameters + 2 * parameters * (parameters + 1) / (points - parameters - 1)
    )


def better_law(workers, speedup, p, sigma, kappa) -> str:
    """'usl', 'amdahl' or 'none': which law describes the curve, by the information criterion (the USL must earn
    its second parameter) among the laws that describe it at all (see `describes`)."""
    n, s = np.asarray(workers, dtype=float), np.asarray(speedup, dtype=float)
    keep = np.isfinite(s) & np.isfinite(n)
    n, s = n[keep], s[keep]
    if not len(n):
        return "none"
    fits = {}
    if p == p and len(set(n)) > 1 + 1:  # one criterion throughout: a law needs more points than parameters + 1
        fits["amdahl"] = (amdahl(n, p), 1)
    if sigma == sigma and len(set(n)) > 2 + 1:
        fits["usl"] = (usl(n, sigma, kappa), 2)
    good = {law: (model, k) for law, (model, k) in fits.items() if describes(_r2(model, s), relative_error(model, s))}
    if len(good) == 2:
        ic = {law: information(float(np.sum((model - s) ** 2)), len(n), k) for law, (model, k) in good.items()}
        return "usl" if ic["usl"] < ic["amdahl"] - AIC_MARGIN else "amdahl"
    return next(iter(good), "none")


def bootstrap_usl(points: dict, serial: dict, scale: dict, rng) -> tuple[list[float], list[float]]:
    """sigma and kappa refitted on resampled rounds: `points` maps workers -> {round: time}, `serial` is
    {round: time}, `scale` workers -> work scale (weak scaling); a drawn set of rounds is used for every cell."""
    rounds = sorted(set(serial).union(*[set(p) for p in points.values()]))
    sigmas: list[float] = []
    kappas: list[float] = []
    if len(rounds) < 2:
        return sigmas, kappas
    for _ in range(BOOTSTRAP_RESAMPLES):
        drawn = rng.choice(rounds, size=len(rounds), replace=True)
        base = [serial[r] for r in drawn if r in serial]
        if not base:
            continue
        counts, speedups = [], []
        for workers, times in points.items():
            mine = [times[r] for r in drawn if r in times]
            if mine:
                counts.append(workers)
                speedups.append(scale[workers] * np.median(base) / np.median(mine))
        n, s = np.asarray(counts, dtype=float), np.asarray(speedups, dtype=float)
        if len(set(n)) >= USL_MIN_COUNTS and (s > 0).all():
            sigma, kappa = _usl_coefficients(n, s)
            sigmas.append(sigma)
            kappas.append(kappa)
    return sigmas, kappas


def summarize(
    frame, metric: str = "total_s", fit_oversubscribed: bool = False, pilot: int = 0, two_stage: bool = False
):
    """One row per cell: statistics of `metric`, speedup, efficiency, busy cores, fits.

    `pilot`: the blocks before the first look of a run sized by `--repeat auto` (its speedup intervals are widened
    for the stop rule, or two-stage for a run sized by an older gilbench: `two_stage`; see `paired_interval`); 0 for
    a run of a fixed number of blocks.

    Every step that relates one row to another (a variant to its serial cell, a cell to its repetitions, a
    series to its 1-worker cell) looks the other row up by its key (CELL, BASELINE), never by its position.
    """
    import pandas as pd

    rows = measured(frame)
    if rows.empty:
        return pd.DataFrame()
    cells = {tuple(key): group for key, group in rows.groupby(CELL, sort=False)}
    table = pd.DataFrame.from_records([_cell_record(key, group, metric) for key, group in cells.items()])
    _add_serial_ratios(table, rows)
    samples = {key: group[metric].to_numpy(dtype=float) for key, group in cells.items()}
    _add_speedup_intervals(table, rows, metric, samples, pilot, two_stage)
    table["pilot_blocks"] = np.where(table["pilot_spread"].notna(), pilot, 0)  # an older run's two-stage pilot
    counts = block_counts(frame)
    too_busy = _withhold_too_busy(table, counts)
    _add_efficiencies(table)
    by_round = {key: _round_medians(group, metric) for key, group in cells.items()}
    _add_laws(table, by_round, fit_oversubscribed)
    table["blocks_set_aside"] = [counts.get(key, (0, 0))[1] for key in _keys(table, CELL)]
    table["too_busy"] = too_busy
    _add_across_settings(table, samples)
    return table


ACROSS = ["across_setting", "across_speedup", "across_low", "across_high", "across_se", "across_df"]


def _add_across_settings(table, samples: dict) -> None:
    """A run of several --native-threads settings: each cell of a setting other than the reference one
    (reference_setting) against the reference setting's serial cell, the question "limit the pools and use
    threads?": `across_speedup` (scale x exp(mean log serial - mean log cell): the settings ran in blocks of their
    own, so the two cells' repetitions are not paired), Welch's 95 % t interval `across_low`/`across_high`, and its
    standard error and degrees of freedom on the log scale (`across_se`, `across_df`) for the report's test."""
    for column in ACROSS:
        table[column] = "" if column == "across_setting" else math.nan
    if table.empty or table["native_setting"].nunique() < 2:
        return
    others = [c for c in BASELINE if c != "native_setting"]
    for _, part in table.groupby(others, sort=False):
        reference = reference_setting(part["native_setting"])
        serial = part[(part["native_setting"] == reference) & (part["variant"] == BASELINE_VARIANT)]
        if serial.empty:
            continue
        base = np.log(samples[tuple(serial.iloc[0][c] for c in CELL)])
        for index, row in part[part["native_setting"] != reference].iterrows():
            mine = np.log(samples[tuple(row[c] for c in CELL)])
            if len(base) < 2 or len(mine) < 2:
                continue
            a, b = base.var(ddof=1) / len(base), mine.var(ddof=1) / len(mine)
            se = math.sqrt(a + b)
            df = (a + b) ** 2 / (a**2 / (len(base) - 1) + b**2 / (len(mine) - 1)) if a + b > 0 else len(base) - 1
            log_ratio = math.log(row["scale"]) + base.mean() - mine.mean()
            h = t_quantile(0.5 + CONFIDENCE / 2, max(1, int(df))) * se
            table.loc[index, ACROSS] = [
                reference,
                math.exp(log_ratio),
                math.exp(log_ratio - h),
                math.exp(log_ratio + h),
                se,
                df,
            ]


def set_aside_facts(table) -> dict | None:
    """For the report and the terminal: how many blocks were set aside (disturbed through their re-runs, not
    counted: the serial cell runs in every block, so its counts add up to the run's), and the cells the machine was
    too busy to answer for, each (workload, cell, blocks, the most cores other programs took in one of its
    repetitions). None where nothing was set aside, or the table is older than set-aside blocks."""
    if "blocks_set_aside" not in table or not (table["blocks_set_aside"] > 0).any():
        return None
    serial = table[table["variant"] == BASELINE_VARIANT]
    blocks = int(serial["blocks_set_aside"].sum()) if not serial.empty else int(table["blocks_set_aside"].max())
    busy = table[table["too_busy"].astype(bool)]
    cells = [
        (str(r.workload), f"{r.variant} x{int(r.workers)}", int(r.blocks_set_aside), float(r.other_cores_max))
        for r in busy.itertuples()
    ]
    return {"blocks": blocks, "too_busy": cells}


WITHHELD = (  # a too-busy cell's columns that would be read from pairs other programs disturbed
    "speedup",
    "speedup_low",
    "speedup_high",
    "pair_spread",
    "compute_speedup",
    "compute_speedup_low",
    "compute_speedup_high",
    "cpu_inflation",
    "cpu_inflation_low",
    "cpu_inflation_high",
    "cpu_inflation_spread",
    "pilot_spread",
)


def _withhold_too_busy(table, counts: dict) -> list[bool]:
    """Per row: whether the machine was too busy to answer for it (a non-serial cell whose every block was set
    aside); such a row's speedup and what derives from it are left empty (NaN), never read from disturbed pairs."""
    too_busy = [
        variant != BASELINE_VARIANT and counts.get(key, (1, 0))[0] == 0 and counts.get(key, (1, 0))[1] > 0
        for key, variant in zip(_keys(table, CELL), table["variant"], strict=True)
    ]
    mask = np.asarray(too_busy, dtype=bool)
    if mask.any():
        table.loc[mask, list(WITHHELD)] = math.nan
        table.loc[mask, "speedup_blocks"] = 0
        table.loc[mask, "speedup_coverage"] = 0.0
    return too_busy


def _keys(table, columns: list[str]) -> list[tuple]:
    """Each row's key over `columns` (CELL: the cell; BASELINE: its serial cell's group), in the table's order."""
    return [tuple(key) for key in table[columns].to_numpy()]


def _serial_cells(table) -> dict[tuple, tuple]:
    """The serial cell's CELL key for each BASELINE key: the cell whose time every speedup of the group divides."""
    serial = table[table["variant"] == BASELINE_VARIANT]
    return dict(zip(_keys(serial, BASELINE), _keys(serial, CELL), strict=True))


def _round_medians(group, metric: str) -> dict[int, float]:
    """A cell's time per round (repeat): the bootstrap draws rounds, keeping each round's cells together."""
    return {int(r): float(v) for r, v in group.groupby("repeat")[metric].median().items()}


def _cell_record(key: tuple, group, metric: str) -> dict:
    """One cell's row before any comparison with another cell: its interpreter, its times and their interval."""
    values = group[metric].to_numpy(dtype=float)
    low, high, coverage = median_interval(values)
    kept_disturbed = group["disturbed"].astype(bool) if "disturbed" in group else None
    total = group["total_s"].to_numpy(dtype=float)
    share = group["startup_s"].to_numpy(dtype=float) / total
    return {
        **dict(zip(CELL, key, strict=True)),
        "host": group["host"].iloc[0],
        "python_version": group["python_version"].iloc[0],
        "free_threaded": bool(group["free_threaded"].iloc[0]),
        "gil_enabled": bool(group["gil_enabled"].all()),
        "python_gil_env": str(group["python_gil_env"].iloc[0]),
        "usable_cpus": int(group["usable_cpus"].iloc[0]),
        "tasks": int(group["tasks"].iloc[0]),
        "scale": int(group["scale"].iloc[0]),
        "repeats": len(values),
        "median_s": float(np.median(values)),
        "min_s": float(values.min()),
        "max_s": float(values.max()),
        "ci_low_s": low,
        "ci_high_s": high,
        "ci_coverage": coverage,
        "spread": float(np.std(np.log(values), ddof=1)) if len(values) > 1 and (values > 0).all() else math.nan,
        "disturbed_kept": int(kept_disturbed.sum()) if kept_disturbed is not None else 0,
        "other_cores_max": float(group["other_cores"].max()) if "other_cores" in group else math.nan,
        "startup_s": float(group["startup_s"].median()),
        # busy cores and the start-up share are means, each with the sd of its repetitions: the report's rules test
        # them (a one-sample t test of the mean, bench/report/budget.py), so the point is the mean the test is of
        "startup_share": float(np.mean(share)),
        "startup_share_sd": _sd(share),
        "busy_cores": float(group["busy_cores"].mean()),
        "busy_cores_sd": _sd(group["busy_cores"].to_numpy(dtype=float)),
        **_mean_interval("busy_cores", group["busy_cores"].to_numpy(dtype=float)),
        "cpu_s": float(group["cpu_s"].median()),
        "peak_rss_mb": float(group["peak_rss_mb"].median()),
        **_native_record(group),
    }


def _native_record(group) -> dict:
    """The cores the cell's process really used (native pools' threads too), as a mean with its sd and interval;
    `native_cores`, per repetition the process's busy cores less the Python threads' own (the report's rules test
    its mean: native threads did part of the work); the pools the workers saw and the limit they were given."""
    process = _numeric(group, "process_busy_cores")
    native = process - group["busy_cores"].to_numpy(dtype=float)
    pools = group["native_threads"].astype(str) if "native_threads" in group else None
    return {
        "process_busy_cores": _mean(process),
        "process_busy_cores_sd": _sd(process),
        **_mean_interval("process_busy_cores", process),
        "native_cores": _mean(native),
        "native_cores_sd": _sd(native),
        "native_threads": pools.mode().iloc[0] if pools is not None and len(pools) else "",
        "native_limit": str(group["native_limit"].iloc[0]) if "native_limit" in group else "",
    }


def _numeric(group, column: str) -> np.ndarray:
    """A numeric column of the repetitions as floats (NaN where an older CSV has no such column or left it empty)."""
    import pandas as pd

    if column not in group:
        return np.full(len(group), math.nan)
    return pd.to_numeric(group[column], errors="coerce").to_numpy(dtype=float)


def _mean(values) -> float:
    """The mean of the finite values (NaN where there are none)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else math.nan


def _mean_interval(name: str, values) -> dict:
    """`name`_low and `name`_high: Student's t interval of the mean of the repetitions at 95 % (NaN below two)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    h = t_halfwidth(_sd(values), len(values)) if len(values) > 1 else math.nan
    mean = float(values.mean()) if len(values) else math.nan
    return {f"{name}_low": mean - h, f"{name}_high": mean + h}


def _sd(values) -> float:
    """The sample standard deviation (NaN below two values)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.std(ddof=1)) if len(values) > 1 else math.nan


def _paired(rows) -> bool:
    """Whether the run was measured in paired blocks (an older CSV was measured in rounds: block_workers 0)."""
    return "block_workers" in rows and bool((rows["block_workers"] > 0).any())


def _add_serial_ratios(table, rows) -> None:
    """serial_s, the speedup of medians and the CPU inflation (with its per-block interval), each over the
    serial cell of the row's BASELINE group."""
    import pandas as pd

    serial = table[table["variant"] == BASELINE_VARIANT].set_index(BASELINE)
    keys = pd.MultiIndex.from_frame(table[BASELINE])
    table["serial_s"] = serial["median_s"].reindex(keys).to_numpy()
    # an unpaired speedup's test (Welch's t on log times) needs the serial cell's spread and repetitions too
    table["serial_spread"] = serial["spread"].reindex(keys).to_numpy()
    table["serial_repeats"] = serial["repeats"].reindex(keys).to_numpy()
    # Strong scaling: scale is 1 and this is serial / variant. Weak: the cell did `scale` shares of the work
    # the serial cell did once, so the same ratio times the scale is Gustafson's scaled speedup.
    table["speedup"] = table["scale"] * table["serial_s"] / table["median_s"]
    # The same work costs more CPU when it runs in parallel if workers contend (shared reference
    # counts, caches, memory bandwidth, cores slowing when all are busy): >1 means contention.
    table["cpu_inflation"] = table["cpu_s"] / (table["scale"] * serial["cpu_s"].reindex(keys).to_numpy())
    # Paired runs: point and interval from the same per-block ratios (the variant's task CPU over scale x the
    # serial cell's, in each block): the geometric mean and its t interval, and their spread for the rules' tests.
    # An older CSV keeps the ratio of medians above, with no interval.
    cpu = paired_log_ratios(rows, "cpu_s") if _paired(rows) else {}
    stats = [paired_interval(cpu[key]) if key in cpu else (math.nan,) * 4 for key in _keys(table, CELL)]
    table["cpu_inflation"] = [
        1 / point if point == point else old for (point, *_), old in zip(stats, table["cpu_inflation"], strict=True)
    ]
    table["cpu_inflation_low"] = [1 / high for _, _, high, _ in stats]
    table["cpu_inflation_high"] = [1 / low for _, low, _, _ in stats]
    table["cpu_inflation_spread"] = [_sd(cpu[key]) if key in cpu else math.nan for key in _keys(table, CELL)]


SPEEDUP_INTERVAL = (
    "speedup_low",
    "speedup_high",
    "speedup_coverage",
    "speedup_blocks",
    "pair_spread",
    "speedup_method",
    "compute_speedup",
    "compute_speedup_low",
    "compute_speedup_high",
    "pilot_spread",
)  # the columns `_cell_speedup` fills, in summary.csv's order


def _add_speedup_intervals(
    table, rows, metric: str, samples: dict[tuple, np.ndarray], pilot: int = 0, two_stage: bool = False
) -> None:
    """Paired blocks: the speedup and its interval from the per-block ratios (see paired_interval); an older CSV
    without blocks: the serial and the variant medians' intervals joined (see ratio_interval)."""
    paired = {m: paired_log_ratios(rows, m) for m in dict.fromkeys([metric, "compute_s"])} if _paired(rows) else {}
    serial_cells = _serial_cells(table)
    speedups, intervals = [], []
    for key, baseline, speedup, scale, repeats in zip(
        _keys(table, CELL), _keys(table, BASELINE), table["speedup"], table["scale"], table["repeats"], strict=True
    ):
        if key[CELL.index("variant")] == BASELINE_VARIANT:  # the baseline over itself: 1.00x by definition
            speedups.append(speedup)
            intervals.append((1.0, 1.0, math.nan, int(repeats), math.nan, "baseline", 1.0, 1.0, 1.0, math.nan))
        elif key in paired.get(metric, {}):
            x = paired[metric][key]
            speedup, low, high, coverage = paired_interval(x, pilot=pilot, two_stage=two_stage)
            c = paired_interval(paired["compute_s"].get(key, [])) if "compute_s" in paired else (math.nan,) * 4
            finite = x[np.isfinite(x)]
            sized = pilot > 1 and len(finite) >= pilot
            method = (TWO_STAGE_METHOD if two_stage else SEQUENTIAL_METHOD) if sized else PAIRED_METHOD
            speedups.append(speedup)
            intervals.append(
                (
                    low,
                    high,
                    coverage,
                    len(finite),
                    _sd(finite),
                    method,
                    c[0],
                    c[1],
                    c[2],
                    _sd(finite[:pilot]) if sized and two_stage else math.nan,
                )
            )
        else:
            serial = serial_cells.get(baseline)
            low, high, coverage = (
                ratio_interval(samples[serial], samples[key]) if serial is not None else (math.nan, math.nan, 0.0)
            )
            speedups.append(speedup)
            intervals.append((low * scale, high * scale, coverage, 0, math.nan, UNPAIRED_METHOD) + (math.nan,) * 4)
    table["speedup"] = np.asarray(speedups, dtype=float)
    for name, values in zip(SPEEDUP_INTERVAL, zip(*intervals, strict=True), strict=True):
        table[name] = list(values)


def _add_efficiencies(table) -> None:
    """The speedup's relative half-width, efficiency, Karp-Flatt and the machine's ceiling at the same key."""
    import pandas as pd

    table["speedup_halfwidth"] = np.maximum(
        table["speedup_high"] / table["speedup"] - 1, 1 - table["speedup_low"] / table["speedup"]
    )
    table["unstable"] = table["spread"] > UNSTABLE_SPREAD
    table["efficiency"] = table["speedup"] / table["workers"]
    strong = table["scaling"] != "weak"
    table["karp_flatt"] = np.where(
        strong, karp_flatt(table["speedup"], table["workers"]), np.nan
    )  # a strong-scaling law
    at = pd.MultiIndex.from_frame(table[BASELINE + ["workers"]])
    ceiling = table[table["variant"] == CEILING].set_index(BASELINE + ["workers"])
    table["ceiling_speedup"] = ceiling["speedup"].reindex(at).to_numpy()
    table["ceiling_efficiency"] = table["speedup"] / table["ceiling_speedup"]
    for side in ("low", "high"):
        table[f"ceiling_speedup_{side}"] = ceiling[f"speedup_{side}"].reindex(at).to_numpy()


LAW_COLUMNS = (
    "amdahl_p",
    "amdahl_r2",
    "amdahl_error",
    "usl_sigma",
    "usl_sigma_low",
    "usl_sigma_high",
    "usl_kappa",
    "usl_kappa_low",
    "usl_kappa_high",
    "usl_r2",
    "usl_error",
    "usl_peak_workers",
)
KAPPA_ZERO = 1e-4  # a bootstrap interval of kappa reaching below this cannot tell kappa from 0: no peak to speak of


def _add_laws(table, by_round: dict[tuple, dict[int, float]], fit_oversubscribed: bool) -> None:
    """Amdahl and USL fits per series (SERIES: one variant of one group), with the USL's bootstrap intervals;
    the random draws follow the series' order, so the same CSV gives the same intervals."""
    for column in LAW_COLUMNS:
        table[column] = math.nan
    table["law"] = ""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    table["fitted"] = False  # the worker counts the laws were fitted on (up to the usable CPUs)
    table["fit_scale"] = math.nan  # the fits are of speedup / fit_scale: the variant's own 1-worker speedup
    table["fitted_counts"] = 0  # distinct worker counts fitted
    serial_cells = _serial_cells(table)
    for _, idx in table.groupby(SERIES, sort=False).groups.items():
        part = table.loc[idx]
        if part["variant"].iloc[0] in (BASELINE_VARIANT, CEILING):  # the baseline, and the machine: no law
            continue
        # Oversubscribed points (more workers than CPUs) flatten every curve for a reason neither law models:
        # they are drawn and described as oversubscription, not fitted.
        fit = part if fit_oversubscribed else part[part["workers"] <= int(part["usable_cpus"].iloc[0])]
        table.loc[fit.index, "fitted"] = True
        strong = part["scaling"].iloc[0] != "weak"
        if not _fit_series(table, idx, fit, strong):
            continue
        serial = serial_cells.get(_keys(part, BASELINE)[0])
        if serial is not None:
            _bootstrap_series(table, idx, fit, strong, by_round, by_round[serial], rng)


def _fit_series(table, idx, fit, strong: bool) -> bool:
    """Amdahl's and the USL's fits of one series' fitted rows, written to its rows `idx`; whether the USL fitted."""
    # Normalised to the variant's own 1-worker time: start-up (a pool, a cluster) is a cost at every N, not
    # contention that grows with N; without a 1-worker cell, the serial baseline.
    own = fit.loc[fit["workers"] == 1, "speedup"]
    base = float(own.iloc[0]) if strong and len(own) and own.iloc[0] > 0 else 1.0
    table.loc[idx, "fit_scale"] = base
    table.loc[idx, "fitted_counts"] = fit["workers"].nunique()
    n, s = fit["workers"], fit["speedup"] / base
    p, r2 = fit_amdahl(n, s) if strong else (math.nan,) * 2
    sigma, kappa, usl_r2 = fit_usl(n, s)
    table.loc[idx, "amdahl_p"], table.loc[idx, "amdahl_r2"] = p, r2
    if p == p:
        table.loc[idx, "amdahl_error"] = relative_error(amdahl(n, p), s)
    # A law explains a loss: where every fitted speedup's interval reaches linear, there is none to explain
    # (linear here: N times the variant's own 1-worker speedup where start-up makes that below 1)
    lossy = ((fit["speedup_high"] < fit["workers"] * min(base, 1.0)) & (fit["workers"] > 1)).any()
    table.loc[idx, "law"] = better_law(n, s, p, sigma, kappa) if lossy else "none"
    if sigma != sigma:
        return False
    table.loc[idx, ["usl_sigma", "usl_kappa", "usl_r2"]] = sigma, kappa, usl_r2
    table.loc[idx, "usl_error"] = relative_error(usl(n, sigma, kappa), s)
    table.loc[idx, "usl_peak_workers"] = usl_peak(sigma, kappa)
    return True


def _bootstrap_series(table, idx, fit, strong: bool, by_round: dict, serial_rounds: dict[int, float], rng) -> None:
    """The USL's sigma and kappa intervals of one series, refitted on resampled rounds (see bootstrap_usl)."""
    keys = dict(zip(_keys(fit, CELL), fit["workers"], strict=True))
    points = {int(w): by_round[key] for key, w in keys.items()}
    scales = {int(w): float(sc) for w, sc in zip(fit["workers"], fit["scale"], strict=True)}
    # the bootstrap normalises as the fit does: to the variant's own 1-worker rounds where it has them
    one = next((key for key, w in keys.items() if w == 1), None)
    if strong and one is not None:
        sigmas, kappas = bootstrap_usl(points, by_round[one], {w: 1.0 for w in scales}, rng)
    else:
        sigmas, kappas = bootstrap_usl(points, serial_rounds, scales, rng)
    if sigmas:
        table.loc[idx, ["usl_sigma_low", "usl_sigma_high"]] = np.percentile(sigmas, [2.5, 97.5])
        table.loc[idx, ["usl_kappa_low", "usl_kappa_high"]] = low_high = np.percentile(kappas, [2.5, 97.5])
        if not low_high[0] >= KAPPA_ZERO:
            table.loc[idx, "usl_peak_workers"] = math.nan


def missing_baselines(table) -> list[str]:
    """Workloads (with size) that have measurements but no successful serial cell."""
    if table.empty:
        return []
    lacking = table[table["serial_s"].isna()]
    return sorted({f"{w} ({s})" for w, s in zip(lacking["workload"], lacking["size"], strict=True)})


VERDICTS = {"+": "faster", "-": "slower", "~": "no clear difference"}  # pyperf's and asv's marks


def precision_met(table, precision: float):
    """Per cell: is the speedup interval within +-precision of the speedup (relative half-width)? The serial
    baseline has nothing to meet (its speedup over itself is 1.00x by definition) and counts as met."""
    return (table["speedup_halfwidth"] <= precision).fillna(False) | (table["variant"] == BASELINE_VARIANT)


MIN_VERDICT_COVERAGE = 0.8  # below this (e.g. two repetitions: 25 %) an interval cannot carry a verdict


def verdict(low: float, high: float, coverage: float = 1.0) -> str:
    """'+' when the whole interval of time(B) / time(A) lies below 1 (B is faster), '-' above 1, else '~';
    '~' also where the interval's coverage is too low to say anything."""
    if not (low == low and high == high) or not coverage >= MIN_VERDICT_COVERAGE:
        return "~"
    return "+" if high < 1 else "-" if low > 1 else "~"


def chance_differences(coverages) -> float:
    """How many cells chance alone would mark faster or slower when nothing changed: the sum of each interval's
    miss probability (1 - coverage; the coverages are lower bounds, so this is an upper bound)."""
    c = np.asarray(coverages, dtype=float)
    c = c[np.isfinite(c) & (c >= MIN_VERDICT_COVERAGE)]
    return float(np.sum(1 - c))


def verdict_meaning(mark: str, coverage: float) -> str:
    """The words for a verdict, where the terminal, compare.md and the report say it."""
    return VERDICTS[mark] if coverage >= MIN_VERDICT_COVERAGE else "too few repetitions for a verdict"


# What native_threads holds where the workers saw no native pool (or an older CSV did not record them): no pool to
# name, the same as a run that recorded none (compare must not call that a difference).
NO_POOLS = ("none", "nan", "")


def native_setting(rows) -> str:
    """A cell's native-thread setting in words: `--native-threads` as applied and the pools the workers saw
    (`1 (openblas=1)`, `leave (openblas=2)`); `` for an older CSV that recorded neither."""
    limit = str(rows["native_limit"].iloc[0]) if "native_limit" in rows else ""
    pools = rows["native_threads"].astype(str).mode().iloc[0] if "native_threads" in rows and len(rows) else ""
    if pools in NO_POOLS:  # no pool found (or not recorded): the setting alone, which then changed nothing
        pools = ""
    return f"{limit} ({pools})" if limit and pools else limit or pools


def compare_cells(base_rows, other_rows, metric: str = "total_s"):
    """Per cell present in both: time ratio other / base (median over median) with its interval, coverage and
    verdict; the same work only (workload, size, parameters, scaling, variant, workers). Each run's rows are of
    one interpreter (render.compare splits them); weak against strong scaling is refused."""
    import pandas as pd

    keys = ["workload", "size", "params", "scaling", "variant", "workers"]
    if any(
        measured(rows)["native_setting"].nunique() > 1 for rows in (base_rows, other_rows) if "native_setting" in rows
    ):
        keys.insert(4, "native_setting")  # a run of several settings: a cell is one setting's (one run alone: any)
    scalings = set(measured(base_rows)["scaling"]) ^ set(measured(other_rows)["scaling"])
    if scalings and not set(measured(base_rows)["scaling"]) & set(measured(other_rows)["scaling"]):
        from .errors import UsageError

        raise UsageError(
            "compare: one run measured weak scaling and the other strong scaling: their speedups answer "
            "different questions (give runs of the same --scaling)"
        )

    def cells(rows):
        kept = measured(rows)
        return (
            {k: g[metric].to_numpy(dtype=float) for k, g in kept.groupby(keys, sort=False)},
            {
                k: bool(g["disturbed"].astype(bool).any()) if "disturbed" in g else False
                for k, g in kept.groupby(keys, sort=False)
            },
        )

    def settings(rows):
        kept = measured(rows)
        return {k: native_setting(g) for k, g in kept.groupby(keys, sort=False)}

    (base, base_busy), (other, other_busy) = cells(base_rows), cells(other_rows)
    base_native, other_native = settings(base_rows), settings(other_rows)
    records = []
    for key in [k for k in base if k in other]:
        low, high, coverage = ratio_interval(other[key], base[key])
        mark = verdict(low, high, coverage)
        records.append(
            {
                **dict(zip(keys, key, strict=True)),
                "base_median_s": float(np.median(base[key])),
                "other_median_s": float(np.median(other[key])),
                "time_ratio": float(np.median(other[key]) / np.median(base[key])),
                "ratio_low": low,
                "ratio_high": high,
                "coverage": coverage,
                "verdict": mark,
                "meaning": verdict_meaning(mark, coverage),
                # either run kept repetitions of this cell that other programs disturbed through every re-run
                "busy": base_busy[key] or other_busy[key],
                # the native-thread setting each run gave the cell (--native-threads, the pools seen): compare names
                # it where the two differ, one reason the same cell can take another time
                "base_native": base_native[key],
                "other_native": other_native[key],
            }
        )
    order = list(VARIANTS)
    records.sort(
        key=lambda r: (r["workload"], order.index(r["variant"]) if r["variant"] in order else len(order), r["workers"])
    )
    return pd.DataFrame.from_records(records)
