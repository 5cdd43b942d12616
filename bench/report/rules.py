"""The report's rules: which finding names which cause, and the evidence that must hold before it is said.

One table, so a reader can audit every causal claim the report makes, and every threshold behind one. A rule has
an id (findings, wording and tests name it by that id, never by its place in a table), its evidence in words (the
appendix of docs and a reader of the code) and its test. A variant rule is checked on one variant's row of the
summary at one worker count (`Evidence`); its finding is made only when its test holds, and the tests ask that
the interval behind a claim excludes the no-effect value (a speedup's 95 % interval below linear before any loss
is explained, above 1.00x before a gain is). Where no rule holds, the report says the difference is within the
run's noise, with the interval's half-width. CPU-bound explanations (the GIL, contention, idle workers, the
ceiling) need work that kept the serial cell's core busy: a `sleep` workload's speedups are not about cores. Idle
cores have two causes that busy cores cannot tell apart, threads waiting for the GIL and a worker with nothing left
to do: the GIL and uneven work are read from the task timeline (bench/report/balance.py), never from busy cores alone.

Interactions are data: a rule's `suppressed_by` names the conditions (themselves rules, by id) under which it is
not said, e.g. contention on a busy machine, where the CPU cost may be other programs'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .evidence import PROCESSES, THREAD_LIKE, Evidence

CPU_BOUND_BUSY = 0.9  # the serial cell kept at least this much of one core busy: CPU-bound work
GIL_BOUND_BUSY = 1.25  # threads that together kept fewer cores busy took turns
INFLATION = 1.10  # the same work cost at least this much more CPU in parallel, interval above 1: contention
STARTUP_SHARE = 0.15  # start-up above this share of a repetition's time is worth naming
IDLE_SHARE = 0.9  # processes whose CPU was below this share of workers x wall time sat idle part of the time
CEILING_LOW = 0.9  # a measured ceiling whose interval lies below this share of linear limits the machine itself
CEILING_SHARE_EXPECTED = 0.95  # a process pool within 5 % of the machine's own limit needs no excuse
STRAGGLER_SHARE = 0.05  # workers finishing this far apart (share of the time) left cores idle: worth naming
MIN_CONTEXT_COVERAGE = 0.8  # as for a verdict: an interval of lower coverage cannot say there is a bias
ANSWER_TIES = 3  # variants named as tied with the best in one answer line
AGREEMENT = 0.05  # 1-worker variants whose medians all lie this far on one side of 1.00x agree on a bias
AGREEING_CONTEXTS = 3  # fewer 1-worker variants than this cannot outvote the serial cell
LAW_MIN_COUNTS = 3  # worker counts a scaling law needs before it is fitted (Amdahl's two parameters and a check)
# From tasks.csv (bench/report/balance.py). Threads taking strict turns for the GIL, c of them alive at a time, each
# run 1/c of their life: at the 1.25 threads that GIL_BOUND_BUSY takes for overlap, 1/1.25 = 80 %. Tasks that ran
# less than that share of the time they were alive were there and waiting (a CPU-bound task alone runs ~100 %).
GIL_WAIT_SHARE = 1 / GIL_BOUND_BUSY
UNEVEN_BUSY = 0.8  # a worker busy less than this share of the compute span idled while another worked: at 2 workers
# that alone keeps the speedup 10 % below linear, more than a run's typical interval half-width
CEILING_EVEN = 0.9  # a ceiling whose least busy worker idled more than a tenth of the span, given less than 90 % of
# an even share of the work, timed its slices, not the machine (at 2 workers it reads 5 % or more low)

BUSY_MACHINE = "busy-machine"  # some cell of the curve (or its serial baseline) kept disturbed repetitions
NOT_CPU_BOUND = "not-cpu-bound"  # the serial cell did not keep a core busy: the work waits
UNEVEN_WORK = "uneven-work"  # a worker sat idle while another worked (tasks.csv): a cause, and a condition


def cpu_bound(e: Evidence) -> bool:
    return e.serial_busy >= CPU_BOUND_BUSY


@dataclass(frozen=True)
class Rule:
    id: str
    evidence: str  # the test, in words, for the table in docs and for a reader of the code
    holds: Callable[[Evidence], bool]
    suppressed_by: tuple[str, ...] = ()  # conditions (rule ids) under which the finding is not said
    reason: bool = True  # a cause that can explain why a variant is the one to use (the answer line)


VARIANT_RULES = (  # in the order the report says them
    Rule(
        "gil-turns",
        "threads with the GIL on; serial CPU-bound; busy cores < 1.25; tasks.csv: the tasks ran < 80 % of the time "
        "they were alive (there and waiting; no tasks.csv: not said); speedup interval below linear",
        lambda e: (
            e.variant in THREAD_LIKE
            and e.gil
            and e.n > 1
            and cpu_bound(e)
            and e.get("busy_cores") < GIL_BOUND_BUSY
            and e.get("task_cpu_share") < GIL_WAIT_SHARE
            and e.below_linear
        ),
        suppressed_by=(BUSY_MACHINE,),  # on a busy machine a task also waits for a core
    ),
    Rule(
        "gil-released",
        "threads with the GIL on; busy cores >= 1.25; speedup interval above 1.00x",
        lambda e: (
            e.variant in THREAD_LIKE and e.gil and e.n > 1 and e.get("busy_cores") >= GIL_BOUND_BUSY and e.above_one
        ),
    ),
    Rule(
        "no-gil",
        "threads without a GIL; busy cores >= 1.25; speedup interval above 1.00x",
        lambda e: (
            e.variant in THREAD_LIKE and not e.gil and e.n > 1 and e.get("busy_cores") >= GIL_BOUND_BUSY and e.above_one
        ),
    ),
    Rule(
        "oversubscribed",
        "serial CPU-bound; more workers than usable CPUs",
        lambda e: e.n > e.usable and cpu_bound(e),
        reason=False,  # a fact about the count, not a reason to choose it
    ),
    Rule(
        "start-up",
        "start-up above 15 % of the time; speedup interval below linear",
        lambda e: e.get("startup_share") > STARTUP_SHARE and e.below_linear,
    ),
    Rule(
        "contention",
        "serial CPU-bound; the CPU-inflation interval lies above 1.10; speedup interval below linear",
        lambda e: e.n > 1 and cpu_bound(e) and e.get("cpu_inflation_low") > INFLATION and e.below_linear,
        suppressed_by=(BUSY_MACHINE,),  # other programs' CPU time would read as the workers' own
    ),
    Rule(
        "idle-workers",
        "processes, N <= CPUs; serial CPU-bound; busy cores < 0.9 N; start-up <= 15 %; speedup interval below linear; "
        "not where uneven-work holds",
        lambda e: (
            e.variant in PROCESSES
            and 1 < e.n <= e.usable
            and cpu_bound(e)
            and e.get("busy_cores") < IDLE_SHARE * e.n
            and not e.get("startup_share") > STARTUP_SHARE
            and e.below_linear
        ),
        suppressed_by=(UNEVEN_WORK,),  # the idle time has its own finding, with its numbers
    ),
    Rule(
        "machine-ceiling",
        "serial CPU-bound; the ceiling's interval lies below 90 % of linear; the ceiling is quoted (no worker of its "
        "own idle > 10 % of its span with < 90 % of an even share of the work; no variant's interval above it)",
        lambda e: e.n > 1 and cpu_bound(e) and e.get("ceiling_speedup_high") < CEILING_LOW * e.cores,
    ),
    Rule(
        "above-linear",
        "serial CPU-bound; speedup interval above linear",
        lambda e: cpu_bound(e) and e.get("speedup_low") > e.cores,
    ),
    Rule(
        UNEVEN_WORK,
        "N > 1; serial CPU-bound; tasks.csv: the least busy worker was busy < 80 % of the compute span, and its share "
        "of the work (its tasks' serial times) < 80 % of an even share (no tasks.csv: not said); speedup interval "
        "below linear",
        lambda e: (
            e.n > 1
            and cpu_bound(e)
            and e.get("least_busy_share") < UNEVEN_BUSY
            and e.get("least_work_share") < UNEVEN_BUSY
            and e.below_linear
        ),
    ),
)

# Conditions and verdicts of a variant's line besides its causes, and the rules of a workload's section: their
# tests live where their data is read (bench/report/findings.py), their thresholds above.
OTHER_RULES = {
    BUSY_MACHINE: "a cell of this curve, or its serial baseline, kept repetitions other programs disturbed",
    NOT_CPU_BOUND: "the serial cell kept less than 0.9 of a core busy",
    "noise": "no cause holds and the speedup interval reaches linear (or 1.00x for a gain)",
    "unexplained-loss": "no cause holds, yet the speedup interval lies below linear",
    "stay-serial": "the best variant's speedup interval does not lie above 1.00x",
    "use": "the best variant's speedup interval lies above 1.00x; variants whose intervals overlap it are tied",
    "gil-visible": "gil-turns holds for the best threads; the best processes' interval lies above 1.00x and above "
    "the threads'",
    "threads-kept-up": "gil-released or no-gil holds for the best threads",
    "ceiling-reached": "processes at the usable CPUs reached >= 95 % of the measured ceiling (or no tasks.csv)",
    "ceiling-gap-noise": "below 95 % of the ceiling, but the two speedup intervals overlap",
    "ceiling-gap": "below 95 % of the ceiling and the intervals do not overlap: start-up, chunking, stragglers (the "
    "workers' last tasks ended more than 5 % of the time apart)",
    "context-low-coverage": "a 1-worker interval's coverage is below 80 %: no verdict on a bias",
    "context-bias": "a 1-worker interval excludes 1.00x (coverage >= 80 %)",
    "context-agreement": "every 1-worker interval contains 1.00x, but all (>= 3) medians lie > 5 % on one side",
    "context-none": "every 1-worker interval contains 1.00x, and the medians do not agree on a side",
    "free-threads-gain": "spectrum: the free threads' speedup interval lies above 1.00x",
    "free-threads-lose": "spectrum: the free threads' speedup interval lies below 1.00x",
    "threads-only-failure": "every failed repetition of a workload was a thread variant's, and another family ran",
    "within-chance": "compare: no more cells differ than the intervals' coverage lets chance mark",
    "no-law": "fewer than 3 worker counts up to the usable CPUs",
    "ceiling-unquoted": "a worker of the ceiling's own was busy < 90 % of its span with < 90 % of an even share of "
    "the work (tasks.csv), or a variant's speedup interval lies above it: not quoted, not drawn",
}

_BY_ID = {r.id: r for r in VARIANT_RULES}
LAWS_SUPPRESSED_BY = (BUSY_MACHINE, NOT_CPU_BOUND)  # a law read from a disturbed or waiting curve is not its own


def rule(rule_id: str) -> Rule:
    return _BY_ID[rule_id]


def holds(rule_id: str, e: Evidence) -> bool:
    return _BY_ID[rule_id].holds(e)


def holding(e: Evidence, conditions: frozenset[str] = frozenset()) -> list[str]:
    """The ids of the variant rules whose evidence holds, in the table's order, less those a condition suppresses."""
    return [r.id for r in VARIANT_RULES if r.holds(e) and not conditions & set(r.suppressed_by)]


def table_rows() -> list[list[str]]:
    """The rules as a table: id and evidence (for the report's appendix and docs)."""
    return [[r.id, r.evidence] for r in VARIANT_RULES] + [[k, v] for k, v in OTHER_RULES.items()]
