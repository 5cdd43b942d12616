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
from .significance import CLAIMS, Test, holm, record, speedup_p

CPU_BOUND_BUSY = 0.9  # the serial cell kept at least this much of one core busy: CPU-bound work
GIL_BOUND_BUSY = 1.25  # threads that together kept fewer cores busy took turns
INFLATION = 1.10  # the same work cost at least this much more CPU in parallel, interval above 1: contention
STARTUP_SHARE = 0.15  # start-up above this share of a repetition's time is worth naming
IDLE_SHARE = 0.9  # processes whose CPU was below this share of workers x wall time sat idle part of the time
CEILING_LOW = 0.9  # a measured ceiling whose interval lies below this share of linear limits the machine itself
CEILING_SHARE_EXPECTED = 0.95  # a process pool within 5 % of the machine's own limit needs no excuse
STRAGGLER_SHARE = 0.05  # workers finishing this far apart (share of the time) left cores idle: worth naming
ANSWER_TIES = 3  # variants named as tied with the best in one answer line
LAW_MIN_COUNTS = 3  # worker counts a scaling law needs before it is fitted (Amdahl's two parameters and a check)
# From tasks.csv (bench/report/balance.py). Threads taking strict turns for the GIL, c of them alive at a time, each
# run 1/c of their life: at the 1.25 threads that GIL_BOUND_BUSY takes for overlap, 1/1.25 = 80 %. Tasks that ran
# less than that share of the time they were alive were there and waiting (a CPU-bound task alone runs ~100 %).
GIL_WAIT_SHARE = 1 / GIL_BOUND_BUSY
UNEVEN_BUSY = 0.8  # a worker busy less than this share of the compute span idled while another worked: at 2 workers
# that alone keeps the speedup 10 % below linear, more than a run's typical interval half-width
CEILING_EVEN = 0.9  # a ceiling whose least busy worker idled more than a tenth of the span, given less than 90 % of
# an even share of the work, timed its slices, not the machine (at 2 workers it reads 5 % or more low)
# The process kept this many cores busy beyond its Python threads' own: native threads (BLAS, OpenMP) did part of the
# work. The same margin GIL_BOUND_BUSY takes for overlap (1.25 - 1): a quarter core is well above the start-up and
# IPC CPU a variant adds outside its tasks on this scale, and well below the whole core a second native thread adds.
NATIVE_CORES = GIL_BOUND_BUSY - 1

BUSY_MACHINE = "busy-machine"  # some cell of the curve (or its serial baseline) kept disturbed repetitions
NOT_CPU_BOUND = "not-cpu-bound"  # the serial cell did not keep a core busy: the work waits
UNEVEN_WORK = "uneven-work"  # a worker sat idle while another worked (tasks.csv): a cause, and a condition
NATIVE_BUSY = "native-busy"  # native-threads or native-oversubscribed holds: the cores went to native threads, so
# no GIL sentence is said (the Python threads' own busy cores do not show what the GIL allowed)


def cpu_bound(e: Evidence) -> bool:
    return e.serial_busy >= CPU_BOUND_BUSY


def _speedup(below: bool, value: Callable[[Evidence], float]) -> Test:
    return Test("speedup", below, value)


def _cores(e: Evidence) -> float:
    return float(e.cores)


BELOW_LINEAR = _speedup(True, _cores)  # a loss to explain
ABOVE_ONE = _speedup(False, lambda e: 1.0)  # a gain to explain
ABOVE_LINEAR = _speedup(False, _cores)


@dataclass(frozen=True)
class Rule:
    """A rule: its facts (`when`: which variant, the GIL, the worker count: no statistics) and its statistical
    tests (one-sided, each a p-value, bench/report/budget.py). It holds where its facts hold and its claim was
    accepted under the run's error budget; a rule without tests is a fact and holds where its facts do."""

    id: str
    evidence: str  # the test, in words, for the table in docs and for a reader of the code
    when: Callable[[Evidence], bool]
    tests: tuple[Test, ...] = ()
    suppressed_by: tuple[str, ...] = ()  # conditions (rule ids) under which the finding is not said
    reason: bool = True  # a cause that can explain why a variant is the one to use (the answer line)

    def holds(self, e: Evidence) -> bool:
        return self.when(e) and (not self.tests or self.id in claims_of(e))


VARIANT_RULES = (  # in the order the report says them
    Rule(
        "gil-turns",
        "threads with the GIL on; serial CPU-bound; busy cores below 1.25, tasks.csv: the tasks ran below 80 % of the "
        "time they were alive (there and waiting; no tasks.csv: not said), and speedup below linear (tests)",
        lambda e: e.variant in THREAD_LIKE and e.gil and e.n > 1 and cpu_bound(e),
        (
            Test("busy_cores", True, lambda e: GIL_BOUND_BUSY),
            Test("task_cpu_share", True, lambda e: GIL_WAIT_SHARE),
            BELOW_LINEAR,
        ),
        suppressed_by=(BUSY_MACHINE, NATIVE_BUSY),  # on a busy machine a task also waits for a core
    ),
    Rule(
        "gil-released",
        "threads with the GIL on; busy cores at least 1.25 and speedup above 1.00x (tests)",
        lambda e: e.variant in THREAD_LIKE and e.gil and e.n > 1,
        (Test("busy_cores", False, lambda e: GIL_BOUND_BUSY), ABOVE_ONE),
        suppressed_by=(NATIVE_BUSY,),
    ),
    Rule(
        "no-gil",
        "threads without a GIL; busy cores at least 1.25 and speedup above 1.00x (tests)",
        lambda e: e.variant in THREAD_LIKE and not e.gil and e.n > 1,
        (Test("busy_cores", False, lambda e: GIL_BOUND_BUSY), ABOVE_ONE),
    ),
    Rule(
        "oversubscribed",
        "serial CPU-bound; more workers than usable CPUs (a fact)",
        lambda e: e.n > e.usable and cpu_bound(e),
        reason=False,  # a fact about the count, not a reason to choose it
    ),
    Rule(
        "native-oversubscribed",
        "processes; serial CPU-bound; native pools of more than one thread (native_threads) and workers x native "
        "threads above the usable CPUs (facts); the process's busy cores above the Python threads' by at least 0.25 "
        "(native_cores, per repetition) and speedup below linear (tests)",
        lambda e: e.variant in PROCESSES and e.native > 1 and e.n * e.native > e.usable and cpu_bound(e),
        (Test("native_cores", False, lambda e: NATIVE_CORES), BELOW_LINEAR),
        reason=False,  # a loss explained, not a reason to choose the variant
    ),
    Rule(
        "native-threads",
        "threads (one process); serial CPU-bound; native pools of more than one thread (a fact); the process's busy "
        "cores above the Python threads' by at least 0.25 (native_cores, per repetition) and speedup below linear "
        "(tests): the work released the GIL, and the cores went to the library's own threads",
        lambda e: e.variant in THREAD_LIKE and e.n > 1 and e.native > 1 and cpu_bound(e),
        (Test("native_cores", False, lambda e: NATIVE_CORES), BELOW_LINEAR),
        reason=False,
    ),
    Rule(
        "start-up",
        "start-up above 15 % of the time and speedup below linear (tests)",
        lambda e: True,
        (Test("startup_share", False, lambda e: STARTUP_SHARE), BELOW_LINEAR),
    ),
    Rule(
        "contention",
        "serial CPU-bound; CPU inflation above 1.10 and speedup below linear (tests)",
        lambda e: e.n > 1 and cpu_bound(e),
        (Test("cpu_inflation", False, lambda e: INFLATION), BELOW_LINEAR),
        suppressed_by=(BUSY_MACHINE,),  # other programs' CPU time would read as the workers' own
    ),
    Rule(
        "idle-workers",
        "processes, N <= CPUs; serial CPU-bound; start-up share <= 15 %; busy cores below 0.9 N and speedup below "
        "linear (tests); not where uneven-work holds",
        lambda e: (
            e.variant in PROCESSES
            and 1 < e.n <= e.usable
            and cpu_bound(e)
            and not e.get("startup_share") > STARTUP_SHARE
        ),
        (Test("busy_cores", True, lambda e: IDLE_SHARE * e.n), BELOW_LINEAR),
        # uneven work: the idle time has its own finding, with its numbers; native threads: the Python threads'
        # busy cores leave out the cores the native pools kept busy, so they do not show idle workers
        suppressed_by=(UNEVEN_WORK, NATIVE_BUSY),
    ),
    Rule(
        "machine-ceiling",
        "serial CPU-bound; the ceiling is quoted (no worker of its own idle > 10 % of its span with < 90 % of an even "
        "share of the work; no variant's interval above it) and its speedup is below 90 % of linear (a test on the "
        "ceiling's row)",
        lambda e: e.n > 1 and cpu_bound(e),
        (Test("ceiling", True, lambda e: CEILING_LOW * e.cores),),
    ),
    Rule(
        "above-linear",
        "serial CPU-bound; speedup above linear (test)",
        lambda e: cpu_bound(e),
        (ABOVE_LINEAR,),
    ),
    Rule(
        UNEVEN_WORK,
        "N > 1; serial CPU-bound; tasks.csv: the least busy worker was busy < 80 % of the compute span, and its share "
        "of the work (its tasks' serial times) < 80 % of an even share (no tasks.csv: not said); speedup below "
        "linear (tests)",
        lambda e: e.n > 1 and cpu_bound(e) and e.get("least_work_share") < UNEVEN_BUSY,
        (Test("least_busy_share", True, lambda e: UNEVEN_BUSY), BELOW_LINEAR),
    ),
)

# The claims of a variant's line and of the answer besides its causes: tested under the same budget.
BASE_CLAIMS = (
    Rule("below-linear", "speedup below linear (test): a loss to explain", lambda e: e.n > 1, (BELOW_LINEAR,)),
    Rule("above-one", "speedup above 1.00x (test): a gain", lambda e: True, (ABOVE_ONE,)),
    # free threads that lose (the spectrum's words); the answer adds one below-one claim per workload, on its best
    Rule(
        "below-one",
        "threads without a GIL, N > 1: speedup below 1.00x (test)",
        lambda e: e.variant in THREAD_LIKE and not e.gil and e.n > 1,
        (_speedup(True, lambda e: 1.0),),
    ),
)


def claim_rules() -> tuple[Rule, ...]:
    """Every rule whose claim the run's error budget decides (bench/report/budget.py)."""
    return VARIANT_RULES + BASE_CLAIMS


def claims_of(e: Evidence) -> set[str]:
    """The accepted claims of a row: decided with its run (column CLAIMS, bench/report/budget.py), or, for a row
    given alone (a hand-made row in a test), with its own candidate claims as the family."""
    if CLAIMS in e.row:
        value = e.row[CLAIMS]
        return set(value.split(";")) - {""} if isinstance(value, str) else set()
    tests: dict = {}
    claims = {rule.id: record(rule.tests, e, (), tests) for rule in claim_rules() if rule.tests and rule.when(e)}
    below_one = ((), "speedup", True, 1.0)
    tests.setdefault(below_one, speedup_p(e.row, 1.0, below=True))
    claims.setdefault("below-one", [below_one])
    passed = holm(tests)
    return {rule_id for rule_id, keys in claims.items() if all(k in passed for k in keys)}


# Conditions and verdicts of a variant's line besides its causes, and the rules of a workload's section: their
# tests live where their data is read (bench/report/findings.py), their thresholds above.
OTHER_RULES = {
    BUSY_MACHINE: "a cell of this curve, or its serial baseline, kept repetitions other programs disturbed",
    NOT_CPU_BOUND: "the serial cell kept less than 0.9 of a core busy",
    NATIVE_BUSY: "native-oversubscribed or native-threads holds: no GIL sentence (gil-turns, gil-released, "
    "gil-visible, threads-kept-up, threads-cannot-overlap) is said of those threads",
    "noise": "no cause holds and no loss is accepted: where linear lies against the 95 % interval",
    "unexplained-loss": "no cause holds, yet below-linear is accepted",
    "stay-serial": "the best variant's speedup is below 1.00x (test; one claim per workload)",
    "cannot-tell": "the best variant's speedup is not accepted above 1.00x, nor below it: the blocks that would "
    "tell, from the observed pair spread",
    "use": "the best variant's above-one is accepted; variants whose 95 % intervals overlap it are tied; its reason: "
    "threads-cannot-overlap, else a cause of the best variant, else threads-kept-up where those threads are tied "
    "with the best processes, else work that waits (not-cpu-bound)",
    "native-setting-wins": "a run of several --native-threads settings: a setting's best variant is faster than the "
    "serial cell of the reference setting (leave, else the first), Welch's t on the log times above 1.00x (test; "
    "one claim a setting and workload)",
    "gil-visible": "gil-turns holds for the best threads; the best processes' interval lies above 1.00x and above "
    "the threads'",
    "threads-kept-up": "gil-released or no-gil holds for the best threads",
    "ceiling-reached": "processes at the usable CPUs reached >= 95 % of the measured ceiling (or no tasks.csv)",
    "ceiling-gap-noise": "below 95 % of the ceiling, but the gap is not accepted (test: the variant's log speedup "
    "below the ceiling's, under the run's error budget)",
    "ceiling-gap": "below 95 % of the ceiling and the gap accepted (test): start-up, chunking, stragglers (the "
    "workers' last tasks ended more than 5 % of the time apart)",
    "context-few-blocks": "fewer than 2 blocks hold the serial cell and a 1-worker variant: no test",
    "context-none": "per block, the mean over the 1-worker variants of log(serial / variant compute time), paired t "
    "against 0: not significant at the run's error budget (Holm over its workloads); the interval is shown",
    "context-difference": "that test is significant: a difference, not its side (one serial repetition serves every "
    "ratio of a block); variants differing by themselves named under Holm within the workload",
    "context-startup": "a variant's start-up took > 15 % of its 1-worker time in every workload: said once per run",
    "free-threads-gain": "spectrum: the free threads' speedup interval lies above 1.00x",
    "free-threads-lose": "spectrum: the free threads' speedup interval lies below 1.00x",
    "threads-only-failure": "every failed repetition of a workload was a thread variant's, and another family ran",
    "within-chance": "compare: no more cells differ than the intervals' coverage lets chance mark",
    "environments-differ": "compare: the runs' recorded environments differ (CPU, cores, interpreter, packages, "
    "native threads, start method, gilbench): said first, with what a verdict then compares",
    "no-law": "fewer than 3 worker counts up to the usable CPUs",
    "set-aside": "a block stayed disturbed through its re-runs: left out wherever its cells have a clean block; a "
    "cell with none gets no speedup (too busy to answer)",
    "ceiling-unquoted": "a worker of the ceiling's own was busy < 90 % of its span with < 90 % of an even share of "
    "the work (tasks.csv), or a variant's speedup interval lies above it: not quoted, not drawn",
}

_BY_ID = {r.id: r for r in VARIANT_RULES + BASE_CLAIMS}
LAWS_SUPPRESSED_BY = (BUSY_MACHINE, NOT_CPU_BOUND)  # a law read from a disturbed or waiting curve is not its own


def rule(rule_id: str) -> Rule:
    return _BY_ID[rule_id]


def holds(rule_id: str, e: Evidence) -> bool:
    return _BY_ID[rule_id].holds(e)


def holding(e: Evidence, conditions: frozenset[str] = frozenset()) -> list[str]:
    """The ids of the variant rules whose evidence holds, in the table's order, less those a condition suppresses."""
    return [r.id for r in VARIANT_RULES if r.holds(e) and not conditions & set(r.suppressed_by)]


def accepted(claim: str, e: Evidence) -> bool:
    """A base claim (below-linear, above-one) accepted for this row under the run's error budget."""
    return claim in claims_of(e)


def table_rows() -> list[list[str]]:
    """The rules as a table: id and evidence (for the report's appendix and docs)."""
    return [[r.id, r.evidence] for r in VARIANT_RULES] + [[k, v] for k, v in OTHER_RULES.items()]
