"""compare's verdicts in words: first what differs between the runs' environments and what a verdict can then
mean, then one line per cell (time ratio with its interval, the verdict and its meaning), a summary per pair of runs
against what chance alone gives, and compare.md."""

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


# What a verdict compares where the runs' environments differ in these (environment.RUN_ASPECTS), in this order.
# The size is none of them: only cells of the same size and parameters are compared.
COMPARES = (
    (("CPU model", "CPUs", "host", "OS"), "the machines"),
    (("interpreter", "interpreter build"), "the interpreters"),
    (("packages",), "the packages' versions"),
    (("native threads",), "the native thread pools' settings"),
    (("start method",), "how worker processes start"),
    (("gilbench",), "gilbench's versions"),
)


def environment_finding(differences: list[tuple[str, object, object]]) -> Finding:
    """What differs between two runs' environments (environment.run_differences) and so what their verdicts
    compare: `environments-differ` with `compares` (the machines, the interpreters, ...), or `environments-alike`."""
    compares = [what for aspects, what in COMPARES if any(d[0].split(":")[0] in aspects for d in differences)]
    facts = {"differences": differences, "compares": compares}
    return Finding("environments-differ" if differences else "environments-alike", "compare", facts)


def environment_words(differences: list[tuple[str, object, object]]) -> str:
    """The first thing compare says of two runs: what differs between their environments and what a 'faster' or
    'slower' verdict can then mean."""
    found = environment_finding(differences)
    f = found.facts
    if found.rule == "environments-alike":
        return (
            "The two runs' recorded environments are alike (CPU, cores, interpreter, packages, native threads, start "
            "method, size, gilbench): a 'faster' or 'slower' verdict is a change between the runs themselves, in the "
            "code measured or in what else the machine was doing."
        )
    said = "; ".join(f"{what}: {x} vs {y}" for what, x, y in f["differences"])
    if not f["compares"]:  # the size alone: no cell of another size is compared
        return f"What differs (the base first): {said}. Only cells of the same size and parameters are compared."
    meaning = ", ".join(f["compares"][:-1]) + (" and " if len(f["compares"]) > 1 else "") + f["compares"][-1]
    return (
        f"What differs (the base first): {said}. A 'faster' or 'slower' verdict compares {meaning}, not the code alone."
    )


def pair_heading(run: str, base: str) -> str:
    """A pair of runs in the order the command took them: the base (given first) before the run set against it."""
    return f"{base} (base) -> {run}"


def compare_markdown(table) -> str:
    parts = [
        "# gilbench compare\n",
        "Per pair of runs, first what differs between their environments, then per cell: the time of a run over "
        "the time of the base (the run given first), median over median, with an interval joined from the two "
        "medians' order-statistic intervals (its coverage is a lower bound). `+` faster: the whole interval below "
        "1; `-` slower: above 1; `~` no clear difference.\n",
    ]
    for (run, base), part in table.groupby(["run", "base"], sort=False):
        parts.append(f"## {pair_heading(run, base)}\n")
        parts += [text + "\n" for text in pair_lines(table, run, base, part)]
        parts.append("```\n" + "\n".join(compare_lines(part)) + "\n```\n")
    return "\n".join(parts)


def pair_lines(table, run: str, base: str, part) -> list[str]:
    """What compare says of a pair of runs before its cells: the environments, the verdicts' summary, and what two
    interpreters compare besides the GIL (the terminal and compare.md alike)."""
    said = [environment_words(table.attrs.get("environments", {}).get((run, base), []))]
    said.append(verdict_summary(part))
    if native_difference(part):
        said.append(native_difference(part))
    if (run, base) in table.attrs.get("pairs", {}):
        said.append(words(table.attrs["pairs"][(run, base)], measured="these verdicts"))
    return said
