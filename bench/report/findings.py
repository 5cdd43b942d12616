"""Findings: what the rules found, as data (rule id, subject, facts); bench/report/wording.py puts them in words.

Nothing downstream reads a sentence back: a decision that needs a fact (a rule held, a cause is a reason to choose
a variant) reads the finding's rule id and facts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .evidence import PROCESSES, Evidence, Group
from .rules import (
    BUSY_MACHINE,
    CPU_BOUND_BUSY,
    LAWS_SUPPRESSED_BY,
    NATIVE_BUSY,
    NOT_CPU_BOUND,
    UNEVEN_WORK,
    accepted,
    claims_of,
    cpu_bound,
    holding,
    holds,
    rule,
)
from .significance import ACROSS_WINS, blocks_to_tell

FACTS = (  # the row's columns a variant's findings quote
    "variant",
    "workers",
    "speedup",
    "speedup_low",
    "speedup_high",
    "speedup_halfwidth",
    "busy_cores",
    "efficiency",
    "startup_share",
    "cpu_inflation",
    "cpu_inflation_low",
    "cpu_inflation_high",
    "ceiling_speedup",
    "claims_family",
    "task_cpu_share",
    "least_busy_share",
    "finish_spread",
    "least_work_share",
    "process_busy_cores",
    "process_busy_cores_low",
    "process_busy_cores_high",
    "native_cores",
    "native_threads",
    "native_limit",
)


@dataclass(frozen=True)
class Finding:
    rule: str  # the rule's id (bench/report/py)
    subject: str  # what it is about: a variant, a workload, a cell
    facts: Mapping[str, Any] = field(default_factory=dict)


def _facts(e: Evidence, **more) -> dict:
    return {k: e.row.get(k, math.nan) for k in FACTS} | {"usable": e.usable, "serial_busy": e.serial_busy} | more


def causes(e: Evidence, conditions: frozenset[str] = frozenset()) -> list[Finding]:
    """The variant rules that hold for this row, in the table's order."""
    return [Finding(rule_id, e.variant, _facts(e, **_p(rule_id, e))) for rule_id in holding(e, conditions)]


P_VALUES = {"gil-turns": "gil_wait_p", UNEVEN_WORK: "uneven_p"}  # the summary column with the p-value of its test


def _p(rule_id: str, e: Evidence) -> dict:
    """A rule's p-value under the key the run's error budget reads, where its test has one."""
    return {"p": e.get(P_VALUES[rule_id])} if rule_id in P_VALUES else {}


def variant_findings(e: Evidence, falling: bool = False, busy_machine: bool = False) -> list[Finding]:
    """Everything one variant's line says at its largest worker count: the causes whose evidence holds, or that the
    result is within the run's noise; the conditions under which it was measured; the scaling law, where one may
    be read. `busy_machine`: some cell of this curve (or its serial baseline) kept repetitions that other programs
    disturbed; then neither its CPU cost nor a law is read as its own."""
    conditions = frozenset({BUSY_MACHINE} if busy_machine else ())
    if not cpu_bound(e) and e.n > 1:
        conditions |= {NOT_CPU_BOUND}
    if holds(UNEVEN_WORK, e):
        conditions |= {UNEVEN_WORK}
    if native_busy(e):
        conditions |= {NATIVE_BUSY}
    found = causes(e, conditions)
    if busy_machine:
        found.append(Finding(BUSY_MACHINE, e.variant))
    if not found and accepted("below-linear", e):
        found.append(Finding("unexplained-loss", e.variant, _facts(e)))
    elif not found and NOT_CPU_BOUND not in conditions:  # where linear stands: the cores' bound, which waiting work
        found.append(Finding("noise", e.variant, _facts(e)))  # goes past (sleep: 3.95x at 4 workers on 2 CPUs)
    if NOT_CPU_BOUND in conditions:
        found.append(Finding(NOT_CPU_BOUND, e.variant, _facts(e)))
    if not conditions & set(LAWS_SUPPRESSED_BY) and cpu_bound(e):
        found.append(Finding("scaling-law", e.variant, {"row": e.row, "falling": falling}))
    return found


def _native(g: Group, row) -> frozenset[str]:
    """NATIVE_BUSY where the row's cores went to native threads, as a condition for `holding`."""
    return frozenset({NATIVE_BUSY}) if native_busy(g.evidence(row)) else frozenset()


def native_busy(e: Evidence) -> bool:
    """The cores went to native threads (native-threads or native-oversubscribed holds): the Python threads' busy
    cores say nothing of the GIL there."""
    return holds("native-threads", e) or holds("native-oversubscribed", e)


def gil_contrast(g: Group) -> Finding | None:
    """Threads against processes in one workload: the GIL visible (threads took turns where processes gained), or
    threads that kept up with processes."""
    t, p = g.best_threads, g.best_processes
    if t is None or p is None:
        return None
    te, pe = g.evidence(t), g.evidence(p)
    if native_busy(te):
        return None  # no GIL sentence where the threads' process was busy on native threads
    facts = {"threads": dict(t), "processes": dict(p)}
    if holds("gil-turns", te) and accepted("above-one", pe) and p["speedup_low"] > t["speedup_high"]:
        return Finding("gil-visible", str(g.part["workload"].iloc[0]), facts)
    if holds("gil-released", te) or holds("no-gil", te):
        return Finding("threads-kept-up", str(g.part["workload"].iloc[0]), facts)
    return None


def answer(g: Group) -> Finding | None:
    """Which variant to use here, with its tied rivals and the one reason; None where no variant has a speedup."""
    best = g.best
    if best is None:
        return None
    subject = str(g.part["workload"].iloc[0])
    e = g.evidence(best)
    if not accepted("above-one", e):
        if "below-one" in claims_of(e):  # even the best variant was slower than serial, beyond the budget
            return Finding("stay-serial", subject, {"best": dict(best)})
        family = int(best.get("claims_family", 0) or 0)
        return Finding("cannot-tell", subject, {"best": dict(best), "blocks": blocks_to_tell(dict(best), family)})
    ranked = g.variants[g.variants["speedup"].notna()]
    tied = ranked[
        (ranked.index != best.name)
        & (ranked["speedup_high"] >= best["speedup_low"])
        & (ranked["speedup_low"] <= best["speedup_high"])
    ]
    named = [f"{r['variant']} x{int(r['workers'])}" for _, r in tied.sort_values("speedup", ascending=False).iterrows()]
    return Finding(
        "use", subject, {"best": dict(best), "tied": named, "reason": _reason(g, best), "across": _across(e)}
    )


def _across(e: Evidence) -> dict | None:
    """A run of several --native-threads settings, a setting other than the reference one: the best variant against
    the reference setting's serial cell, and whether its gain was accepted under the run's error budget."""
    if not str(e.row.get("across_setting", "") or ""):
        return None
    return {
        "setting": e.row["across_setting"],
        "speedup": e.get("across_speedup"),
        "low": e.get("across_low"),
        "high": e.get("across_high"),
        "wins": ACROSS_WINS in claims_of(e),
    }


def _reason(g: Group, best) -> Finding | None:
    """The one reason the answer line gives: threads that cannot overlap where processes win, or the first cause
    that holds for the best variant, or threads that kept up with the best processes (tied with them: the work
    released the GIL, so either serves), or work that waits."""
    t = g.best_threads
    if best["variant"] in PROCESSES and t is not None and "gil-turns" in holding(g.evidence(t), _native(g, t)):
        return Finding("threads-cannot-overlap", str(t["variant"]), {"threads": dict(t)})
    found = [f for f in causes(g.evidence(best), _native(g, best)) if rule(f.rule).reason]
    if found:
        return found[0]
    contrast = gil_contrast(g)
    if (
        best["variant"] in PROCESSES
        and contrast is not None
        and contrast.rule == "threads-kept-up"
        and t is not None
        and t["speedup_high"] >= best["speedup_low"]
    ):
        return contrast
    if g.serial_busy < CPU_BOUND_BUSY:
        return Finding("waits-overlap", str(best["variant"]), {"serial_busy": g.serial_busy})
    return None
