"""The report as a typed document: headings, paragraphs, bullet lists, images and tables, built section by section.

Every sentence about a workload is chosen by the measured numbers and quotes them (bench/report/workload.py);
this module arranges the sections. Markdown, HTML and the terminal render the same blocks (bench/report/outputs.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analysis import BASELINE_VARIANT, SEQUENTIAL_FACTOR
from ..environment import STATES, unmeasured
from ..options import SEQUENTIAL_STOP
from ..suites.pyperformance import plain_name
from ..variants import VARIANTS
from .context import context_checks, startup_lines
from .laws import between
from .layout import Block, Bullets, Heading, Image, Paragraph, Table
from .numbers import halfwidth, interval, pct, speedup
from .suite import explain as spectrum_explained
from .suite import findings as spectrum_findings
from .suite import table_rows as spectrum_table
from .workload import (
    STOPWATCH,
    answer,
    gil_comparison,
    state_findings,
    tutorial_findings,
    variant_table,
    workload_findings,
)


@dataclass(frozen=True)
class Inputs:
    """What a report is built from: the summary table and what the run folder holds beside it."""

    table: Any  # summary.csv's rows (a pandas DataFrame)
    env: dict  # environment.json, with the plan and the options
    charts: dict[str, Path | list[Path]]  # the overview and the spectrum: one file each; per workload: its charts
    missing: list[str]  # workloads without a serial baseline
    source: str  # the results.csv the report is built from
    tasks: Any = None  # tasks.csv
    trace_summary: Any = None  # trace_summary.csv of a run made with --trace
    tutorial_checks: list[dict] | None = None  # --check-against-tutorial
    spectrum: Any = None  # over a run with pyperformance workloads
    results: Any = None  # results.csv's rows: the context check's per-block compute times


def precision_blocks(table, config: dict, plan: dict | None) -> list[Block]:
    """Which speedups reached the precision (and, for a sized run, what the plan predicted), and the unstable cells."""
    out: list[Block] = []
    if "speedup_halfwidth" not in table or not config.get("precision"):
        return out
    from ..analysis import UNSTABLE_SPREAD, precision_met

    speedups = table[table["variant"] != BASELINE_VARIANT]
    met = precision_met(speedups, config["precision"])
    missed = speedups[~met]
    text = f"**Precision** +-{config['precision'] * 100:g} %: {int(met.sum())} of {len(speedups)} speedups reached it"
    if config.get("repeat_auto") and plan:
        text += (
            f", sized after a pilot of {plan.get('pilot_blocks')} blocks per worker count: the plan predicted "
            f"{plan.get('predicted_s', 0):.0f} s of measuring, which took {plan.get('measured_s', math.nan):.0f} s "
            f"(budget {plan.get('budget_s', 0):g} s)"
        )
    text += "."
    if not missed.empty:
        text += (
            " Not reached: "
            + ", ".join(
                f"{r['workload']} {r['variant']} x{int(r['workers'])} ({halfwidth(r['speedup_halfwidth'])} after "
                f"{int(r['speedup_blocks'])} blocks)"
                for _, r in missed.iterrows()
            )
            + (
                "; the budget ran out first: a larger `--budget`, or a quieter machine, gets there."
                if config.get("repeat_auto")
                else "; `--repeat auto` sizes the blocks to the precision."
            )
        )
    out.append(Paragraph(text))
    if plan and plan.get("groups"):
        rows = [
            [
                f"{g['workload']} x{g['workers']}",
                c["cell"],
                str(c["pilot_blocks"]),
                "-" if c["pair_spread"] != c["pair_spread"] else f"{c['pair_spread'] * 100:.1f} %",
                str(c["blocks_needed"]),
            ]
            for g in plan["groups"]
            for c in g["cells"]
        ]
        out.append(Table(["block", "cell", "pilot blocks", "pair spread (sd of log ratio)", "blocks needed"], rows))
    unstable = table[table["unstable"].astype(bool)] if "unstable" in table else table.iloc[0:0]
    if not unstable.empty:
        out.append(
            Paragraph(
                f"**Unstable cells** (repetitions spread more than {UNSTABLE_SPREAD * 100:g} %, as pyperf "
                "warns): "
                + ", ".join(
                    f"{r['workload']} {r['variant']} x{int(r['workers'])} ({r['spread'] * 100:.0f} %)"
                    for _, r in unstable.iterrows()
                )
                + ". Their medians move from run to run; their speedups are pinned down by pairing, and need "
                "more blocks: `--repeat auto` with `--precision`, or a quieter machine (no other programs, "
                "no power saving)."
            )
        )
    return out


def answers_section(r: Inputs) -> list[Block]:
    """The answer first: what to use here, per workload (details in its section)."""
    from ..charts import groups

    answers = []
    for part in groups(r.table):
        line = answer(part)
        if line:
            py = f"{part['python_version'].iloc[0]}{'t' if part['free_threaded'].iloc[0] else ''}"
            answers.append(f"{plain_name(str(part['workload'].iloc[0]))} (Python {py}): {line}")
    return [Bullets(answers)] if answers else []


ENVIRONMENT_KEYS = (
    "host",
    "cpu_model",
    "logical_cpus",
    "physical_cores",
    "usable_cpus",
    "memory_gb",
    "os",
    "python_version",
    "free_threaded",
    "gil_enabled",
    "load_avg_1m",
    "harness_commit",
    "packages",
)


def environment_section(env: dict) -> list[Block]:
    """The machine and interpreter, and how the run measured (paired blocks, or an older run's repetitions)."""
    if not env:
        return []
    out: list[Block] = [
        Heading("Environment"),
        Table(["what", "value"], [[k, str(env[k])] for k in ENVIRONMENT_KEYS if k in env]),
    ]
    if "config" in env:
        out.append(Paragraph(method_text(env, env["config"])))
    out += [Paragraph(f"Not measured on this machine: {note}.") for note in unmeasured_here(env).values()]
    return out


def unmeasured_here(env: dict) -> dict[str, str]:
    """What the run could not measure on its machine, and why (environment.unmeasured): said once, under the
    environment, and by no workload's section again."""
    return unmeasured(env, bool(env.get("config", {}).get("trace")))


def method_text(env: dict, c: dict) -> str:
    warmups = c.get("warmup", 1)
    after = {
        0: "with no warm-up",
        1: "after a warm-up",
        "light": "after a light warm-up round (cells of several workers ran once whole; 1-worker cells only started, "
        "imported and made their tasks)",
    }.get(warmups, f"after {warmups} rounds of warm-up blocks")
    if not c.get("paired_blocks"):
        return (
            f"Run `{env.get('run_id', '')}`: size {c.get('size')}, {c.get('repeat')} "
            f"repetitions per cell {after}, start method {c.get('start_method')}, order shuffled "
            f"with seed {env.get('seed')}; measured before paired blocks, so each speedup's "
            "interval joins the two medians' intervals (`speedup_method` unpaired-medians)."
        )
    budget = c.get("budget", c.get("budget_s"))  # budget_s: older run folders
    count = (
        f"a pilot of {c.get('pilot_blocks')} blocks per worker count, then as many as each speedup "
        f"needed to reach +-{c.get('precision', 0) * 100:g} %, within {budget:g} s"
        if c.get("repeat_auto")
        else f"{c.get('repeat')} blocks per worker count"
    )
    return (
        f"Run `{env.get('run_id', '')}`: size {c.get('size')}, start method "
        f"{c.get('start_method')}. Measured in paired blocks: a block runs the serial "
        "baseline and every variant at one worker count back to back, in random order, "
        "each in a fresh process; rounds of blocks in shuffled order (seed "
        f"{env.get('seed')}), {count}, {after}. A speedup is the geometric mean of the "
        f"per-block ratios serial / variant; its interval is {interval_text(c)}. Times are medians with "
        "order-statistic intervals."
    )


def interval_text(c: dict) -> str:
    """How the run's speedup intervals were made, by how it was sized (analysis.paired_interval)."""
    plain = "Student's t on the log ratios at 95 %"
    if not c.get("repeat_auto"):
        return f"{plain} (`speedup_method` paired-t)"
    if c.get("stop_rule") == SEQUENTIAL_STOP:
        return (
            f"{plain}, widened by {SEQUENTIAL_FACTOR:g}: the run stopped adding blocks to a speedup as soon as its "
            "interval was narrow enough, and the plain interval would then cover less than 95 % (`speedup_method` "
            "paired-t-sequential)"
        )
    return f"the wider of {plain} and Stein's two-stage interval from the pilot (`speedup_method` paired-t-two-stage)"


def merged_section(env: dict) -> list[Block]:
    """A folder that merges runs (a script's reference run): which runs, and the plan they were made to."""
    if not env.get("merged_from"):
        return []
    plan = env.get("reference_plan", {})
    text = (
        "This folder merges "
        + " and ".join(f"run `{rid}` ({label})" for label, rid in env["merged_from"].items())
        + "; the environment above is the first run's."
    )
    if plan:
        # the script sizes every task for the machine's usable CPUs as workers (its plan may name the count)
        sized_at = plan.get("task_workers", env.get("usable_cpus"))
        text += (
            f" Planned: {plan.get('repeat')} repetitions per cell, no warm-up, every task at {sized_at} workers "
            f"sized to about {plan.get('task_target_s')} s by a calibration on the machine; estimated "
            f"{plan.get('estimate_s')} s, took {plan.get('actual_s')} s. Each run stops at its share of the "
            "time budget, so cells it did not reach again keep fewer repetitions (said per workload below)."
        )
    return [Paragraph(text)]


WEAK_SCALING = (
    "This run asks the weak-scaling question: **with more cores, can I do more work in the "
    "same time?** Each worker got one size profile's share of the work, so a cell at N workers "
    "did N times the serial cell's work (`scale` in results.csv). Efficiency is T(1) / T(N), "
    "the serial time for one share over this cell's time for N shares: 100 % means N workers "
    "did N times the work in the same time. The speedup shown is Gustafson's scaled speedup, "
    "N x T(1) / T(N): how much more work per second than one worker. Strong scaling (the "
    "default) asks the other question: does the same work get done faster?"
)


def run_sections(r: Inputs) -> list[Block]:
    """What kind of run this is: weak scaling, baselines missing, the variants it ran, GIL against free threads."""
    table = r.table
    out: list[Block] = []
    if "scaling" in table and (table["scaling"] == "weak").any():
        out += [Heading("Weak scaling"), Paragraph(WEAK_SCALING)]
    if r.missing:
        out.append(
            Paragraph(
                "**No serial baseline** for " + ", ".join(r.missing) + ": speedups cannot be computed there; "
                "times and busy cores are still shown."
            )
        )
    present = [v for v in VARIANTS if v in set(table["variant"])]
    present += sorted(set(table["variant"]) - set(present))  # variants an older or other gilbench defined
    out.append(Heading("Variants in this run"))
    out.append(
        Bullets(
            [
                f"**{v}**: " + (VARIANTS[v].description if v in VARIANTS else "not defined by this gilbench")
                for v in present
            ]
        )
    )
    out += [Paragraph(line) for line in startup_lines(table)]  # once per run, not in every workload's context check
    comparison = gil_comparison(table, r.env)
    if comparison:
        out += [Heading("GIL vs free-threaded"), Bullets(comparison)]
    return out


def setting_heading(part) -> str:
    """A section's --native-threads setting where it is not `leave` (a run of several settings has one section per
    setting, each over its own serial cell)."""
    setting = str(part["native_setting"].iloc[0]) if "native_setting" in part else "leave"
    return "" if setting == "leave" else f", --native-threads {setting}"


def workload_section(r: Inputs, part, context: list[str]) -> list[Block]:
    """One workload under one interpreter: the answer, its variants' table, what the numbers say (`context`: its
    context check, decided with the run's other workloads), its charts."""

    w = part["workload"].iloc[0]
    out: list[Block] = [
        Heading(
            f"{w} - Python {part['python_version'].iloc[0]}"
            f"{' (free-threaded)' if part['free_threaded'].iloc[0] else ''}, size {part['size'].iloc[0]}"
            + setting_heading(part)
        )
    ]
    line = answer(part)
    if line:
        out += [Paragraph(line), variant_table(part), Paragraph(STOPWATCH)]
    out.append(
        Bullets(
            workload_findings(part, r.tasks, context)
            + tutorial_findings(part, r.tutorial_checks or [])
            + state_findings(part, None if STATES in unmeasured_here(r.env) else r.trace_summary)
        )
    )
    shown = r.charts.get(w + part.attrs.get("suffix", ""), [])
    out += [Image(chart) for chart in (shown if isinstance(shown, list) else [shown])]
    return out


LAWS_DOC, LAWS_HEADING = "docs/measuring.md", "Scaling laws: why a curve bends"  # where the laws are explained
LAWS_EXPLAINED = (
    "Per variant, the law that describes its curve (fitted to the speedups; see gilbench's "
    f"{LAWS_DOC}, '{LAWS_HEADING}'). Amdahl: a serial fraction p that never runs in parallel; the curve "
    "flattens at 1/p and never falls. USL: contention sigma (work that queues: the GIL, a "
    "lock) and coherency kappa (a cost every pair of workers pays: shared state, cache lines, "
    "hand-offs); with kappa > 0 the curve peaks at N* = sqrt((1 - sigma) / kappa) and falls. "
    "The USL is preferred only where its extra parameter lowers the information criterion "
    "(AICc) by 2; a law that explains less than half of the variance and misses by more than "
    "10 % is not quoted. Intervals: 2.5-97.5 % of a bootstrap over rounds."
)


def laws_section(table) -> list[Block]:
    """The laws quoted, with what they mean; the curves with none, counted by why. A curve whose law is 'none' (no
    accepted loss to explain, too few worker counts, or no law describing it) shows no fitted numbers at all."""
    laws = law_table(table)
    unquoted = unquoted_laws(table)
    if laws is None and not unquoted:
        return []
    said = "; ".join(f"{count} {'curve' if count == 1 else 'curves'} {why}" for why, count in unquoted.items())
    blocks: list[Block] = [Heading("Scaling laws")]
    if laws is not None:
        blocks += [Paragraph(LAWS_EXPLAINED), laws]
    if said:
        blocks.append(
            Paragraph(
                ("No scaling law is quoted in this run: " if laws is None else "No law is quoted for ") + said + "."
            )
        )
    return blocks


# Why a curve has no law quoted (unquoted_laws), in the order the report counts them.
NO_LAW_FEW = "with too few worker counts up to the usable CPUs to fit one"
NO_LAW_NO_LOSS = (
    "with no loss to explain (no speedup below linear accepted under the run's error budget: the report's claims "
    "come from that budget, and a law explains a loss)"
)
NO_LAW_NO_FIT = "that neither Amdahl's law nor the USL describes (each misses by more than 10 %)"


def unquoted_laws(table) -> dict[str, int]:
    """The variant curves (not serial) with no law quoted, counted by why (NO_LAW_*): too few worker counts, no
    accepted loss (budget.decide sets their law to 'none'), or no law that describes them."""
    from .rules import LAW_MIN_COUNTS

    if "law" not in table:
        return {}
    found: dict[str, int] = {}
    series = table[(table["variant"] != BASELINE_VARIANT) & table["speedup"].notna()]
    for _, part in series.groupby(["workload", "python_executable", "variant"], sort=False):
        if not (part["law"].fillna("").isin(["", "none"])).all():
            continue
        if part["fitted_counts"].max() < LAW_MIN_COUNTS:
            why = NO_LAW_FEW
        elif "claims" in part and not part["claims"].fillna("").str.contains("below-linear", regex=False).any():
            why = NO_LAW_NO_LOSS
        else:
            why = NO_LAW_NO_FIT
        found[why] = found.get(why, 0) + 1
    return {why: found[why] for why in (NO_LAW_FEW, NO_LAW_NO_LOSS, NO_LAW_NO_FIT) if why in found}


SUMMARY_HEAD = [
    "workload",
    "variant",
    "workers",
    "median s",
    "interval s (coverage)",
    "speedup",
    "efficiency",
    "of ceiling",
    "busy cores",
    "start-up",
    "Karp-Flatt",
    "peak RSS MB",
]


def summary_section(table) -> list[Block]:
    """Every cell: its median and interval, speedup, efficiency, busy cores and memory."""
    coverages = sorted(set(round(float(c) * 100, 1) for c in table["ci_coverage"])) if "ci_coverage" in table else []
    text = (
        "Median of the measured repetitions (disturbed ones left out). The interval is a "
        "distribution-free order-statistic interval of the median; its exact coverage depends only on "
        "the number of repetitions and is given per row (here: "
        + ", ".join(f"{c:g} %" for c in coverages)
        + "; 5 repetitions can give at most 93.75 %). "
        "Speedup is against the serial median of the same workload and interpreter."
    )
    rows = [
        [
            r["workload"],
            r["variant"],
            str(int(r["workers"])),
            f"{r['median_s']:.3f}",
            f"{interval(r['ci_low_s'], r['ci_high_s'], 3, brackets=False)} ({pct(r.get('ci_coverage', math.nan), 1)})",
            speedup(r["speedup"]),
            pct(r["efficiency"]),
            pct(r["ceiling_efficiency"]),
            f"{r['busy_cores']:.2f}",
            pct(r["startup_share"]),
            "-" if math.isnan(r["karp_flatt"]) else f"{r['karp_flatt']:.3f}",
            f"{r['peak_rss_mb']:.0f}",
        ]
        for _, r in table.sort_values(["workload", "python_version", "variant", "workers"]).iterrows()
    ]
    return [Heading("Summary"), Paragraph(text), Table(SUMMARY_HEAD, rows)]


def build_blocks(
    table,
    env: dict,
    charts: dict[str, Path | list[Path]],  # the overview: one file; per workload: its charts
    missing: list[str],
    source: str,
    tasks=None,
    trace_summary=None,
    tutorial_checks: list[dict] | None = None,
    spectrum=None,
    results=None,  # results.csv's rows (the context check; without them it is left out)
) -> list[Block]:
    """The whole report, section by section."""
    from ..charts import groups

    r = Inputs(table, env, charts, missing, source, tasks, trace_summary, tutorial_checks, spectrum, results)
    blocks: list[Block] = [Heading("gilbench report", 1), *answers_section(r)]
    if spectrum is not None:
        blocks += spectrum_blocks(spectrum, charts.get("spectrum"), env)
    if "overview" in charts:
        blocks.append(Image(charts["overview"]))  # type: ignore[arg-type]
    blocks.append(Paragraph(f"Built from `{source}` alone; rebuild with `gilbench report`."))
    blocks += environment_section(env)
    blocks += precision_blocks(table, env.get("config", {}), env.get("plan"))
    blocks += merged_section(env) + run_sections(r)
    parts = groups(table)
    for part, context in zip(parts, context_checks(parts, results), strict=True):
        blocks += workload_section(r, part, context)
    blocks += laws_section(table) + summary_section(table) + input_blocks(env)
    return blocks


def spectrum_blocks(spectrum, chart, env: dict | None = None) -> list[Block]:
    """The spectrum over the run's benchmarks (bench/spectrum.py, words in bench/report/suite.py): what it shows, the
    chart, the table."""
    blocks: list[Block] = [Heading("The spectrum: which kinds of code gain")]
    lines = spectrum_findings(spectrum, env)
    if lines:
        blocks.append(Bullets(lines))
    if chart is not None:
        blocks.append(Image(chart))
    blocks.append(Paragraph(spectrum_explained(spectrum)))
    blocks.append(Table(*spectrum_table(spectrum)))
    return blocks


INPUTS_NAMED = 20  # up to this many files of a kind are named in the report; inputs.csv lists every one


def input_blocks(env: dict) -> list[Block]:
    """After the results: what each workload took as inputs (the files used, by name) and what it skipped."""
    from ..inputs import INPUTS, SKIPS_SAID_EACH, describe_inputs

    blocks: list[Block] = []
    for name, found in (env.get("inputs") or {}).items():
        if not blocks:
            blocks.append(Heading("Inputs"))
        used, skipped = found.get("used", []), found.get("skipped", [])
        text = f"Inputs of **{name}**: {describe_inputs(found)}."
        if used:
            text += (
                " Used, in the order the cells take them: "
                + ", ".join(f"`{f}`" for f in used[:INPUTS_NAMED])
                + (f" and {len(used) - INPUTS_NAMED} more" if len(used) > INPUTS_NAMED else "")
                + "."
            )
        if len(used) > INPUTS_NAMED or len(skipped) > SKIPS_SAID_EACH:
            text += f" Every file with its status and reason: `{INPUTS}` in the run folder."
        if skipped and len(skipped) <= SKIPS_SAID_EACH:
            text += " Skipped files, each with its reason:"
        blocks.append(Paragraph(text))
        if skipped and len(skipped) <= SKIPS_SAID_EACH:
            blocks.append(Bullets([f"`{file}`: {reason}" for file, reason in skipped]))
    return blocks


def law_table(table) -> Table | None:
    """The Scaling laws table: one row per variant curve (not serial) whose law is quoted; a curve with none ('none':
    not fitted, not describing it, or no accepted loss to explain) has no row: its fitted numbers are not quoted."""
    if "law" not in table:
        return None
    rows = []
    series = table[(table["variant"] != BASELINE_VARIANT) & table["speedup"].notna()]
    several = table["python_executable"].nunique() > 1
    for _, part in series.groupby(["workload", "python_executable", "variant"], sort=False):
        r = part.iloc[0]
        if r["law"] in ("", "none") or r["law"] != r["law"]:
            continue
        peak = r["usl_peak_workers"]
        rows.append(
            [
                r["workload"] + (f" ({r['python_version']}{'t' if r['free_threaded'] else ''})" if several else ""),
                r["variant"],
                ", ".join(str(int(n)) for n in sorted(part["workers"])),
                r["law"],
                "-" if r["amdahl_p"] != r["amdahl_p"] else f"{r['amdahl_p']:.3f} ({r['amdahl_error']:.0%})",
                "-"
                if r["usl_sigma"] != r["usl_sigma"]
                else between(r["usl_sigma"], r["usl_sigma_low"], r["usl_sigma_high"]),
                "-"
                if r["usl_kappa"] != r["usl_kappa"]
                else between(r["usl_kappa"], r["usl_kappa_low"], r["usl_kappa_high"], 4),
                "-" if peak != peak else f"{peak:.1f}",
                "-" if r["usl_error"] != r["usl_error"] else f"{r['usl_error']:.0%}",
            ]
        )
    order = list(VARIANTS)
    rows.sort(key=lambda x: (x[0], order.index(x[1]) if x[1] in order else len(order)))
    head = ["workload", "variant", "workers", "law", "Amdahl p (error)", "USL sigma", "USL kappa", "USL peak N*"]
    return Table([*head, "USL error"], rows) if rows else None
