"""compare's verdicts in words: one line per cell (time ratio with its interval, the verdict and its meaning), a
summary per pair of runs against what chance alone gives, and compare.md."""

from __future__ import annotations

from ..analysis import chance_differences
from .findings import Finding
from .numbers import interval, pct, speedup
from .pairs import words


def compare_lines(table) -> list[str]:
    """One line per cell: what the terminal prints and compare.md lists (the verdict, `+`, `-` or `~`, is
    analysis.compare_cells' finding per cell; its meaning is worded there, with the verdict)."""
    lines = []
    for _, r in table.iterrows():
        within = interval(r["ratio_low"], r["ratio_high"], brackets=False)
        lines.append(
            f"{r['verdict']} {r['workload']:<11} {r['variant']:<16} x{int(r['workers']):<3} "
            f"{r['base_median_s']:.3f} s -> {r['other_median_s']:.3f} s  {speedup(r['time_ratio'])} the time "
            f"[{within}, coverage >= {pct(r['coverage'], 1)}]  "
            f"{r['meaning']}"
            + ("  (busy machine: kept disturbed repetitions)" if r.get("busy", False) else "")
            + (f"  (native threads {r['base_native']} -> {r['other_native']})" if _native_differs(r) else "")
        )
    return lines


def _native_differs(r) -> bool:
    return str(r.get("base_native", "")) != str(r.get("other_native", ""))


def native_difference(part) -> str:
    """Where the two runs gave their cells other native-thread settings (--native-threads, the pools the workers
    saw): a line naming them, since the same cell can take another time for that alone; "" where they agree."""
    differing = part[[_native_differs(r) for _, r in part.iterrows()]] if len(part) else part
    if differing.empty:
        return ""
    pairs = list(dict.fromkeys(zip(differing["base_native"], differing["other_native"], strict=True)))
    return (
        f"The runs differ in their native thread setting (--native-threads, the pools the workers saw) in "
        f"{len(differing)} of {len(part)} cells: "
        + "; ".join(f"{base or 'not recorded'} -> {other or 'not recorded'}" for base, other in pairs)
        + "."
    )


def verdict_finding(part) -> Finding:
    """How many cells differ, and how many chance alone would mark different when nothing changed: the rule
    `within-chance` holds where the differences are no more than that."""
    counts = part["verdict"].value_counts()
    facts = {"faster": counts.get("+", 0), "slower": counts.get("-", 0), "same": counts.get("~", 0)}
    facts |= {"cells": len(part), "chance": chance_differences(part["coverage"])}
    within = facts["faster"] + facts["slower"] <= facts["chance"]
    return Finding("within-chance" if within else "beyond-chance", "compare", facts)


def verdict_summary(part) -> str:
    found = verdict_finding(part)
    f = found.facts
    text = (
        f"{f['faster']} faster, {f['slower']} slower, {f['same']} no clear difference, of {f['cells']} cells; at "
        f"these intervals' coverage chance alone would mark up to about {f['chance']:.1f} cells faster or slower "
        "when nothing changed"
    )
    return text + (": the differences are no more than chance gives." if found.rule == "within-chance" else ".")


def compare_markdown(table) -> str:
    parts = [
        "# gilbench compare\n",
        "Per cell: the time of a run over the time of the first, median over median, with an interval joined "
        "from the two medians' order-statistic intervals (its coverage is a lower bound). `+` faster: the whole "
        "interval below 1; `-` slower: above 1; `~` no clear difference.\n",
    ]
    for (run, base), part in table.groupby(["run", "base"], sort=False):
        parts.append(f"## {run} vs {base}\n")
        parts.append(verdict_summary(part) + "\n")
        if native_difference(part):
            parts.append(native_difference(part) + "\n")
        if (run, base) in table.attrs.get("pairs", {}):
            parts.append(words(table.attrs["pairs"][(run, base)], measured="these verdicts") + "\n")
        parts.append("```\n" + "\n".join(compare_lines(part)) + "\n```\n")
    return "\n".join(parts)
