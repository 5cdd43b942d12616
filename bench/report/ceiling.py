"""At the usable CPU count, each process variant against the measured ceiling: reached, within the noise, or a gap
with its evidence from tasks.csv (start-up, how the tasks were chunked, stragglers). Where the ceiling is not one
(bench/report/balance.py: its own workers unevenly busy, or a variant beat it), it is not quoted, and one line says
why. Findings, then one phrase per rule id."""

from __future__ import annotations

import math

from ..analysis import BASELINE_VARIANT, CEILING
from .evidence import PROCESSES
from .findings import Finding
from .numbers import interval, pct, speedup
from .rules import CEILING_SHARE_EXPECTED, STRAGGLER_SHARE
from .significance import CLAIMS


def _median(values) -> float:
    return sorted(values)[len(values) // 2]


def _timeline(tasks, row, usable: int) -> dict:
    """From tasks.csv, the median repetition's chunking (tasks per worker) and stragglers (how far apart the
    workers' last tasks ended); empty where the file has no task of this cell."""
    mine = tasks[
        (tasks["workload"] == row["workload"])
        & (tasks["size"] == row["size"])
        & (tasks["variant"] == row["variant"])
        & (tasks["workers"] == usable)
        & ~tasks["warmup"]
        & (tasks["python_executable"] == row["python_executable"])
    ]
    if mine.empty:
        return {}
    per_rep = []
    for _, rep in mine.groupby(["repeat", "attempt"] if "attempt" in mine else ["repeat"]):
        ends = rep.groupby(["pid", "thread_id"])["end_s"].max()
        per_rep.append((ends.max() - ends.min(), len(rep) / max(1, len(ends))))
    straggle = _median([x for x, _ in per_rep])
    share_idle = straggle / row["median_s"]
    return {
        "per_worker": _median([y for _, y in per_rep]),
        "straggle_s": straggle,
        "idle_share": share_idle,
        "stragglers": share_idle > STRAGGLER_SHARE,
    }


def unquoted_findings(part) -> list[Finding]:
    """One finding for the worker counts where the ceiling is not one: per count, why, with the numbers (its lightest
    slice and least busy worker, the variants whose intervals lie above it); none where every count is quoted."""
    if "ceiling_unquoted" not in part:
        return []
    counts = []
    rivals = part[~part["variant"].isin([CEILING, BASELINE_VARIANT])]
    for _, c in part[(part["variant"] == CEILING) & (part["ceiling_unquoted"] != "")].sort_values("workers").iterrows():
        above = rivals[(rivals["workers"] == c["workers"]) & (rivals["speedup_low"] > c["speedup"])]
        beat = [(str(r["variant"]), r["speedup_low"], r["speedup_high"]) for _, r in above.iterrows()]
        counts.append({"row": dict(c), "beaten_by": beat})
    return [Finding("ceiling-unquoted", CEILING, {"counts": counts})] if counts else []


def _gap_claimed(row) -> bool:
    """The gap is a claim under the run's error budget (bench/report/budget.py); a row decided without its run is
    judged by its 95 % interval against the ceiling's."""
    if CLAIMS in row:
        return "ceiling-gap" in str(row[CLAIMS]).split(";")
    return bool(row["speedup_high"] < row.get("ceiling_speedup_low", math.nan))


def ceiling_findings(part, tasks) -> list[Finding]:
    usable = int(part["usable_cpus"].iloc[0])
    ceiling_row = part[(part["variant"] == CEILING) & (part["workers"] == usable)]
    ceiling = None if ceiling_row.empty else dict(ceiling_row.iloc[0])
    found = unquoted_findings(part)
    for _, row in part[(part["workers"] == usable) & part["variant"].isin(PROCESSES)].iterrows():
        if row["ceiling_efficiency"] != row["ceiling_efficiency"]:
            continue
        facts = {"row": dict(row), "usable": usable}
        if row["ceiling_efficiency"] >= CEILING_SHARE_EXPECTED or tasks is None:
            found.append(Finding("ceiling-reached", row["variant"], facts))
        elif not _gap_claimed(row):
            found.append(Finding("ceiling-gap-noise", row["variant"], facts))
        else:
            overlaps = ceiling is not None and row["speedup_high"] >= ceiling["speedup_low"]
            facts |= {"timeline": _timeline(tasks, row, usable), "ceiling": ceiling if overlaps else None}
            found.append(Finding("ceiling-gap", row["variant"], facts))
    return found


def _head(f) -> str:
    r = f["row"]
    return (
        f"At {f['usable']} workers, **{r['variant']}** reached {pct(r['ceiling_efficiency'], 1)} of the measured "
        f"ceiling ({speedup(r['speedup'])} vs {speedup(r['ceiling_speedup'])})"
    )


def _gap(f) -> str:
    r, t, c = f["row"], f["timeline"], f["ceiling"]
    reasons = [f"start-up {r['startup_s']:.3f} s ({pct(r['startup_share'])} of the time)"]
    if t:
        reasons.append(f"{t['per_worker']:.1f} tasks per worker")
        reasons.append(
            f"the workers' last tasks ended up to {t['straggle_s']:.3f} s apart ({pct(t['idle_share'])} of the time"
            + (": stragglers, while the others sat idle)" if t["stragglers"] else ")")
        )
    if c is not None:
        mine = interval(r["speedup_low"], r["speedup_high"], unit="x", brackets=False)
        theirs = interval(c["speedup_low"], c["speedup_high"], unit="x", brackets=False)
        reasons.append(
            f"its speedup interval ({mine}) overlaps the ceiling's ({theirs}): the gap may be this run's noise"
        )
    return _head(f) + ": " + "; ".join(reasons) + " (from tasks.csv)."


def _why_unquoted(count: dict) -> str:
    c, why = count["row"], []
    if "uneven" in c["ceiling_unquoted"].split("+"):
        why.append(
            f"its slices were uneven (the lightest {pct(c['least_work_share'])} of an even share of the work by the "
            f"serial times; that worker busy {pct(c['least_busy_share'])} of the time)"
        )
    if count["beaten_by"]:
        beat = [f"{v} ({interval(lo, hi, unit='x', brackets=False)})" for v, lo, hi in count["beaten_by"]]
        why.append(f"{' and '.join(beat)} {'lie' if len(beat) > 1 else 'lies'} above it")
    return f"x{int(c['workers'])} ({speedup(c['speedup'])}): " + "; ".join(why)


def _unquoted(f) -> str:
    return (
        "The ceiling is not the machine's limit at "
        + ", ".join(_why_unquoted(count) for count in f["counts"])
        + ". A ceiling that timed its own uneven slices (from tasks.csv) or that a variant beat is not one: it is not "
        "quoted there, and not drawn."
    )


NOISE = "the gap may be this run's noise"
PHRASES = {
    "ceiling-reached": lambda f: _head(f) + ".",
    "ceiling-gap-noise": lambda f: _head(f) + ": not a gap this run can claim under its error budget.",
    "ceiling-gap": _gap,
    "ceiling-unquoted": _unquoted,
}


def ceiling_gap(part, tasks) -> list[str]:
    """The ceiling's findings in words, one line per process variant."""
    return [PHRASES[f.rule](dict(f.facts)) for f in ceiling_findings(part, tasks)]
