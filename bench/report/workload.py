"""A workload's section of the report: the answer line, the variants' table, and what the numbers say about this
workload, interpreter and size, each sentence chosen by the rules (bench/report/rules.py) from the measured
numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis import BASELINE_VARIANT, CEILING, USL_MIN_COUNTS, set_aside_facts, verdict, verdict_meaning
from ..native import LEAVE
from ..variants import VARIANTS
from .budget import group
from .ceiling import ceiling_gap
from .evidence import THREADS, Evidence, Group, has_native_pools, native_count
from .findings import Finding, gil_contrast, variant_findings
from .findings import answer as answer_finding
from .layout import Table
from .numbers import estimate, interval, pct, speedup
from .pairs import interpreters, pair, words
from .rules import (
    LAW_MIN_COUNTS,
)
from .wording import answer as answer_words
from .wording import say, variant_line


def bare(low, high) -> str:
    """A ratio's range inside a sentence's own parentheses: `0.91x-0.97x`."""
    return interval(low, high, unit="x", brackets=False)


def ci(value, low, high, *_) -> str:
    """A tutorial-check estimate: the value, its interval where the blocks gave one."""
    return estimate(value, low, high, unit="x", unknown=" (no interval)")


def answer(part, plain: bool = False) -> str:
    """One line a newcomer can act on: which variant to use here, its speedup and interval, and the one reason."""
    return answer_words(answer_finding(group(part)), plain)


def variant_table(part) -> Table:
    """Per variant at each worker count up to the usable CPUs (and the largest beyond): the numbers behind it."""
    usable = int(part["usable_cpus"].iloc[0])
    rows = []
    for _, r in part[part["variant"] != BASELINE_VARIANT].sort_values(["variant", "workers"]).iterrows():
        n = int(r["workers"])
        if n > usable and n != part.loc[part["variant"] == r["variant"], "workers"].max():
            continue
        rows.append(
            [
                r["variant"],
                str(n),
                estimate(r["speedup"], r["speedup_low"], r["speedup_high"], unit="x"),
                f"{r['busy_cores']:.2f}",
                pct(r["efficiency"]),
                pct(r["startup_share"]),
                r.get("law", "") or "-",
            ]
        )
    order = list(VARIANTS)
    rows.sort(key=lambda x: (order.index(x[0]) if x[0] in order else len(order), int(x[1])))
    header = ["variant", "workers", "speedup on total_s [95 %]", "busy cores", "efficiency", "start-up", "law"]
    if has_native_pools(part):  # the cores the native threads used too: the Python threads' own leave them out
        shown = part[part["variant"] != BASELINE_VARIANT].set_index(["variant", "workers"])["process_busy_cores"]
        header.insert(4, "process busy cores")
        for row in rows:
            row.insert(4, f"{shown.get((row[0], int(row[1])), math.nan):.2f}")
    return Table(header, rows)


STOPWATCH = (
    "Speedups are on `total_s`, what the classic tutorial's stopwatch measures: from before the workers are created "
    "to after the last one is joined (the serial cell: its loop over the tasks). The context check below uses "
    "`compute_s` instead (first task in to last result out), which leaves the workers' start-up out."
)


# Where the tutorial's scripts and the cells part, the loops' speed in their context is the first suspect: on the
# project's VM the stopwatches spanned the same work, and a loop forked from one program ran at another speed than
# the same loop in the other program's main thread, with one worker (docs/tutorial-check.md).
CONTEXT_FIRST = (
    "Look at the loops' context before the stopwatches: the same loop can run at another speed in a forked child "
    "than in a program's main thread, with no parallelism involved (docs/tutorial-check.md); "
)


def tutorial_findings(part, checks: list[dict]) -> list[str]:
    """--check-against-tutorial: the tutorial's own two scripts against the serial and multiprocessing cells, block
    by block; a difference is named only where its interval excludes 1.00x."""
    from ..tutorial import VARIANT, WORKLOAD

    if part["workload"].iloc[0] != WORKLOAD:
        return []
    python = part["python_executable"].iloc[0]
    setting = part["native_setting"].iloc[0] if "native_setting" in part else LEAVE
    lines = []
    for c in checks:  # a run of several --native-threads settings: the section of the setting the scripts ran beside
        if c["python_executable"] != python or c.get("native_setting", setting) != setting:
            continue

        ratio, low, high, _ = c["ratio"]
        text = (
            f"Against the tutorial's own two scripts, run between the cells of the same {c['blocks']} blocks at "
            f"{c['workers']} workers: the tutorial's speedup {ci(*c['tutorial_speedup'])}, gilbench's {VARIANT} "
            f"{ci(*c['gilbench_speedup'])}; gilbench's over the tutorial's {ci(*c['ratio'])}"
        )
        if low != low:
            text += ": too few blocks for an interval."
        elif low <= 1 <= high:
            text += f": the same within this run's noise (+-{max(high - 1, 1 - low) * 100:.0f} %)."
        else:
            text += (
                f": gilbench reads {'higher' if ratio > 1 else 'lower'}; the interval excludes 1.00x. " + CONTEXT_FIRST
            )
            one_worker = ((part["variant"] == VARIANT) & (part["workers"] == 1)).any()
            text += (
                f"this run's context check compares its 1-worker {VARIANT} cell with the serial cell."
                if one_worker
                else f"add 1 to --workers and the context check compares a 1-worker {VARIANT} cell with serial."
            )
        text += (
            f" Stopwatch by stopwatch (cell / script): serial {ci(*c['serial_stopwatch'])}, parallel "
            f"{ci(*c['parallel_stopwatch'])}."
        )
        lines.append(text)
    return lines


def busy_lines(part) -> list[str]:
    """Blocks other programs kept disturbing through every re-run: set aside where clean ones exist, and the cells
    that had none, for which the machine was too busy to answer (bench/analysis.set_aside_facts). A run measured
    without blocks kept such repetitions: its cells are flagged as measured on a busy machine."""
    facts = set_aside_facts(part)
    if facts is not None:
        return [f"**Busy machine**: {say(Finding('set-aside', 'workload', facts))}."]
    busy = part[part["disturbed_kept"] > 0] if "disturbed_kept" in part else part.iloc[0:0]
    if busy.empty:
        return []
    return [
        "**Measured on a busy machine**: other programs kept taking CPU through every re-run of "
        + ", ".join(
            f"{r['variant']} x{int(r['workers'])} ({int(r['disturbed_kept'])} of {int(r['repeats'])} "
            f"repetitions, up to {r['other_cores_max']:.2f} cores)"
            for _, r in busy.iterrows()
        )
        + "; those times are kept, and may be slower than this machine can do."
    ]


def gil_lines(part) -> list[str]:
    """A free-threaded build that ran with the GIL on: asked for (PYTHON_GIL=1), or turned back on by a module."""
    first = part.iloc[0]
    if not (first["free_threaded"] and part["gil_enabled"].any()):
        return []
    if str(first["python_gil_env"]) == "1":
        return ["The GIL was on in this free-threaded build because PYTHON_GIL=1 was given (--gil 1)."]
    return [
        "**GIL re-enabled**: this is a free-threaded build, but the GIL was on inside the workers: "
        "a module the workload imports lacks free-threading support and turned it back on."
    ]


def shape_lines(g: Group) -> list[str]:
    """How the run was shaped: worker counts that differ by variant, cells with fewer repetitions, no law fitted."""
    part, variants, lines = g.part, g.variants, []
    counts = {v: sorted(int(n) for n in rows["workers"]) for v, rows in variants.groupby("variant", sort=False)}
    if len({tuple(c) for c in counts.values()}) > 1:
        lines.append(
            "Worker counts differ by variant (`--variant-workers`): "
            + "; ".join(f"{v} {', '.join(map(str, c))}" for v, c in counts.items())
            + "."
        )
    fewer = part[part["repeats"] < part["repeats"].max()]
    if "speedup_method" in part and part["speedup_method"].astype(str).str.startswith("paired-t").any():
        fewer = fewer.iloc[0:0]  # paired blocks: the serial cell runs in every block, and sized cells stop when met
    if not fewer.empty:
        lines.append(
            f"{len(fewer)} of {len(part)} cells have fewer repetitions than the others "
            f"({int(fewer['repeats'].min())} instead of {int(part['repeats'].max())}): "
            + ", ".join(f"{r['variant']} x{int(r['workers'])}" for _, r in fewer.iterrows())
            + "."
        )
    if "fitted_counts" in variants and (variants["fitted_counts"] < LAW_MIN_COUNTS).all():
        lines.append(
            f"No scaling law is fitted: too few worker counts up to the {g.usable} usable CPUs (Amdahl's law "
            f"needs {LAW_MIN_COUNTS}, the USL {USL_MIN_COUNTS}; oversubscribed counts are drawn, not fitted)."
        )
    return lines


def serial_native(serial: dict) -> str:
    """Where the serial cell's workers had native pools: the cores its process kept busy next to its Python
    thread's own (the serial loop can use more than one core through them)."""
    process = serial.get("process_busy_cores", math.nan)
    pools = str(serial.get("native_threads", "") or "")
    if native_count(pools) == 0 or process != process:
        return ""
    kept = (
        f"its process kept {estimate(process, serial['process_busy_cores_low'], serial['process_busy_cores_high'])} "
        f"busy cores, its Python thread {serial['busy_cores']:.2f}"
    )
    if native_count(pools) > 1:
        return f"; {kept}: native threads {pools} did the rest"
    limit = str(serial.get("native_limit", "") or "")
    given = f" (limited to {limit} by --native-threads)" if limit.isdigit() else ""
    return f"; native threads {pools}{given}: {kept}"


def variant_found(g: Group) -> list[tuple[Evidence, list[Finding]]]:
    """Per variant, at its largest worker count: its row and what the rules found (bench/report/findings.py)."""
    out = []
    for _, rows in g.variants.groupby("variant", sort=False):
        rows = rows.sort_values("workers")
        if "too_busy" in rows:  # no speedup to read: the section's busy-machine line names them
            rows = rows[~rows["too_busy"].astype(bool)]
            if rows.empty:
                continue
        busy_machine = g.serial_disturbed or bool((g.disturbed[rows.index] > 0).any())
        # falling: the last interval lies wholly below the first one
        falling = len(rows) > 1 and rows["speedup_high"].iloc[-1] < rows["speedup_low"].iloc[0]
        e = g.evidence(rows.iloc[-1])
        out.append((e, variant_findings(e, falling, busy_machine)))
    return out


def variant_lines(g: Group) -> list[str]:
    """One line per variant, worded from its findings."""
    return [variant_line(e, found) for e, found in variant_found(g)]


def workload_findings(part, tasks=None, context: Sequence[str] = ()) -> list[str]:
    """What the numbers say about one workload: its conditions, the GIL, the context check (`context`: decided with
    the run's other workloads, bench/report/context.py), the ceiling, and one line per variant."""
    g = group(part)
    lines = busy_lines(part)
    if g.variants.empty:
        return lines + ["Only the serial baseline was run: there is no speedup to show."]
    if g.variants["speedup"].isna().all():
        too_busy = "too_busy" in part and part["too_busy"].astype(bool).any()
        return lines + ([] if too_busy else ["No speedups: this workload has no successful serial baseline."])
    lines += gil_lines(part)
    if g.serial is not None:
        lines.append(
            f"Serial baseline: {g.serial['median_s']:.3f} s (median of {int(g.serial['repeats'])})"
            + serial_native(g.serial)
            + "."
        )
    contrast = gil_contrast(g)
    if contrast is not None:
        lines.append(say(contrast))
    return lines + list(context) + ceiling_gap(part, tasks) + shape_lines(g) + variant_lines(g)


def gil_comparison(table, env: dict | None = None) -> list[str]:
    """With runs under GIL builds and free-threaded builds: for each pair (twins first), what the pair compares
    besides the GIL (bench/report/pairs.py), then per workload the serial times and what threads gain."""
    gil_builds, ft_builds = interpreters(table)
    found = [(pair(env or {}, gil, ft), gil, ft) for ft in ft_builds for gil in gil_builds]
    lines: list[str] = []
    for finding, gil, ft in sorted(found, key=lambda item: item[0].rule != "twins"):
        g, f = table[table["python_executable"] == gil[0]], table[table["python_executable"] == ft[0]]
        compared = pair_lines(g, f, twins=finding.rule == "twins")
        if compared:
            lines += [words(finding), *compared]
    return lines


def pair_lines(gil, ft, twins: bool) -> list[str]:
    """Per workload run under both interpreters: the free-threaded build's serial time against the GIL build's (a
    single-thread cost only where they are twins) and what threads gain at the most workers both ran."""
    lines: list[str] = []
    same_work = ["workload", "size", "params"]  # only the same work compares across interpreters
    common = sorted(set(map(tuple, gil[same_work].to_numpy())) & set(map(tuple, ft[same_work].to_numpy())))
    for workload, size, params in common:
        g = gil[(gil["workload"] == workload) & (gil["size"] == size) & (gil["params"] == params)]
        f = ft[(ft["workload"] == workload) & (ft["size"] == size) & (ft["params"] == params)]
        gs, fs = g[g["variant"] == BASELINE_VARIANT], f[f["variant"] == BASELINE_VARIANT]
        if gs.empty or fs.empty:
            continue
        cost = fs["median_s"].iloc[0] / gs["median_s"].iloc[0]
        # the serial medians' intervals joined: a verdict on the single-thread cost, as `gilbench compare` gives
        low, high = fs["ci_low_s"].iloc[0] / gs["ci_high_s"].iloc[0], fs["ci_high_s"].iloc[0] / gs["ci_low_s"].iloc[0]
        coverage = fs["ci_coverage"].iloc[0] * gs["ci_coverage"].iloc[0] if "ci_coverage" in fs else math.nan
        mark = verdict(low, high, coverage)
        meaning = verdict_meaning(mark, coverage) + (": a single-thread cost" if mark == "-" and twins else "")
        text = (
            f"**{workload}**: the free-threaded build ({f['python_version'].iloc[0]}t) runs the serial baseline in "
            f"{fs['median_s'].iloc[0]:.3f} s vs {gs['median_s'].iloc[0]:.3f} s with the GIL "
            f"({g['python_version'].iloc[0]}; {speedup(cost)} the time, interval "
            f"{interval(low, high, brackets=False)} at coverage >= {pct(coverage, 1)}: `{mark}` {meaning})"
        )
        lines.append(text + threads_gain(g, f, gs) + ".")
    return lines


def threads_gain(g, f, gs) -> str:
    """What threads gain at the most workers both interpreters ran, and a GIL turned back on in free threads."""
    text = ""
    # cells without a speedup (too busy to answer) are left out
    gt = g[g["variant"].isin(THREADS) & g["speedup"].notna()]
    ftt = f[f["variant"].isin(THREADS) & f["speedup"].notna()]
    if not gt.empty and not ftt.empty and (ftt["workers"] == min(gt["workers"].max(), ftt["workers"].max())).any():
        n = int(min(gt["workers"].max(), ftt["workers"].max()))
        best_g = gt[gt["workers"] == n]["speedup"].max()
        best_f = ftt[ftt["workers"] == n]
        row = best_f.loc[best_f["speedup"].idxmax()]
        text += (
            f"; at {n} threads: {speedup(best_g)} over its own serial with the GIL, {speedup(row['speedup'])} "
            f"without ({row['variant']}, {row['busy_cores']:.2f} busy cores)"
        )
        overall = gs["median_s"].iloc[0] / row["median_s"]
        text += f", i.e. {speedup(overall)} against the GIL build's serial baseline"
    if f["gil_enabled"].any():
        text += (
            "; warning: the GIL was re-enabled inside the free-threaded workers "
            "(an extension module without free-threading support)"
        )
    return text


def state_findings(part, summary) -> list[str]:
    """What the sampler saw in each traced cell of this workload and interpreter (--trace), in words."""
    if summary is None:
        return []
    row0 = part.iloc[0]
    mine = summary[
        (summary["workload"] == row0["workload"])
        & (summary["size"] == row0["size"])
        & (summary["python_executable"] == row0["python_executable"])
    ]
    if mine.empty:
        return []
    gone = mine[mine["unavailable"].fillna("") != ""]
    if len(gone) == len(mine):
        return [f"Thread states: unavailable - {gone['unavailable'].iloc[0]}."]
    usable = int(row0["usable_cpus"])
    lines = []
    order = list(VARIANTS)
    traced = mine[mine["unavailable"].fillna("") == ""].copy()
    traced["rank"] = [order.index(v) if v in order else len(order) for v in traced["variant"]]
    for _, r in traced.sort_values(["rank", "workers"]).iterrows():
        if r["variant"] in (BASELINE_VARIANT, CEILING) or int(r["workers"]) < 2:
            continue
        text = (
            f"**{r['variant']}** x{int(r['workers'])}: running {pct(r['running_share'])}, waiting for a core "
            f"{pct(r['waiting_share'])}, blocked {pct(r['blocked_share'])}, {r['handoffs_per_s']:.0f} hand-offs/s"
        )
        if (
            r["blocked_share"] > 0.3
            and r["handoffs_per_s"] > 0.2 / r["switch_interval_s"]
            and r["gil_enabled"]
            and r["variant"] in THREADS
        ):
            text += (
                f" - the threads took turns holding the GIL, about every {1000 / r['handoffs_per_s']:.0f} ms "
                f"(switch interval {r['switch_interval_s'] * 1000:.0f} ms)"
            )
        elif r["waiting_share"] > 0.25 and int(r["workers"]) > usable:
            text += f" - more runnable workers than the {usable} CPUs: they queued for a core"
        elif r["running_share"] > 0.8:
            text += " - every worker ran at once"
        lines.append(text + ".")
    cost = traced["sampler_cpu_share"].median()
    lines.append(
        f"Thread states come from one extra repetition per cell (`--trace`, not in the statistics), read from "
        f"/proc every {traced['interval_s'].median() * 1000:.1f} ms by a separate process; that sampler used "
        f"{pct(cost)} of one core (median over cells), CPU the workers could not use on a machine with "
        f"{usable} CPUs."
    )
    if not gone.empty:
        lines.append(f"{len(gone)} traced cells have no state timeline: {gone['unavailable'].iloc[0]}.")
    return lines
