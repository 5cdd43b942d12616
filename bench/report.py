"""The report: environment, summary table, charts, and what the numbers say, in plain words.

Every sentence about a workload is chosen by the measured numbers and quotes them; nothing
here reads the same whatever the data. Markdown and a self-contained HTML page are rendered
from the same blocks.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from .analysis import BASELINE_VARIANT, CEILING, USL_MIN_COUNTS, describes, verdict, verdict_meaning
from .variants import VARIANTS, in_family

THREADS = in_family("threads")
PROCESSES = in_family("processes")
INTERPRETERS = in_family("interpreters")
GIL_BOUND_BUSY = 1.25  # busy cores below this with N > 1 threads: they took turns


def _x(v):
    return "-" if v != v else f"{v:.2f}x"


def _pct(v):
    return "-" if v != v else f"{v * 100:.0f} %"


def describe_variant(row, usable, serial_busy: float = 1.0, falling: bool = False, busy_machine: bool = False) -> str:
    """One sentence on one variant at its largest worker count: the causes whose evidence holds (bench/rules.py),
    or that the result is within the run's noise. `busy_machine`: some cell of this curve (or its serial baseline)
    kept repetitions that other programs disturbed; then neither its CPU cost nor a law is read as its own."""
    from . import rules

    v, n, s, busy = row["variant"], int(row["workers"]), row["speedup"], row["busy_cores"]
    text = (
        f"**{v}**: {_x(s)} [{row['speedup_low']:.2f}-{row['speedup_high']:.2f}] at {n} workers, {busy:.2f} busy "
        f"cores, efficiency {_pct(row['efficiency'])}"
    )
    evidence = rules.Evidence(dict(row), usable, serial_busy)
    reasons = rules.sentences(evidence)
    if busy_machine:
        reasons = [r for r in reasons if not r.startswith("the same work cost")]
        reasons.append(
            "measured on a busy machine (other programs kept taking CPU through the re-runs), so its CPU "
            "cost and the shape of its curve may be theirs: no contention or scaling law is read from them"
        )
    if not reasons and not (evidence.below_linear or evidence.above_one and s > min(n, usable)):
        reasons.append(rules.noise_phrase(row))
    elif not reasons:
        reasons.append(f"below linear, and no cause shows in this run's measures ({rules.noise_phrase(row)})")
    if not evidence.cpu_bound and n > 1:
        reasons.append(
            f"the serial cell kept only {serial_busy:.2f} of a core busy: this work waits (I/O, sleep) "
            "rather than computes, so cores and the GIL do not explain it"
        )
    if evidence.cpu_bound and not busy_machine:
        reasons += law_sentences(row, falling)
    return text + ": " + "; ".join(reasons) + "."


def _between(value, low, high, digits=2) -> str:
    interval = f" [{low:.{digits}f}-{high:.{digits}f}]" if low == low and high == high else ""
    return f"{value:.{digits}f}{interval}"


def _quality(r2, error) -> str:
    return f"R^2 {r2:.2f}, typical error {error:.0%}"


def _contention(sigma: float, gil: bool) -> str:
    """sigma (or Amdahl's p, the same thing where kappa = 0) in words."""
    if sigma >= 0.95:
        return (
            " - each added thread waits for the GIL: the work runs one thread at a time, no parallel part at all"
            if gil
            else " - no parallel part at all: the work runs one worker at a time"
        )
    if sigma >= 0.5:
        return (
            f" - each added thread mostly waits for the GIL: {sigma:.0%} of the work runs one thread at a time"
            if gil
            else f" - {sigma:.0%} of the work queues, one worker at a time"
        )
    if sigma >= 0.05:
        return f" - {sigma:.0%} of the work does not overlap (it waits its turn: a queue, a lock, the GIL)"
    return ""


def law_sentences(row, falling: bool = False) -> list[str]:
    """Which scaling law describes this variant's curve, its parameters with their intervals, and what they mean
    for this kind of worker. Quoted only where a law's fit explains at least half of the variance."""
    v, law = row["variant"], row.get("law", "")
    sigma, kappa, peak = (
        row.get("usl_sigma", math.nan),
        row.get("usl_kappa", math.nan),
        row.get("usl_peak_workers", math.nan),
    )
    threads = v in THREADS or v in INTERPRETERS
    gil = bool(row["gil_enabled"]) and v in THREADS
    if law == "usl":
        text = (
            f"USL fit: contention sigma = {_between(sigma, row['usl_sigma_low'], row['usl_sigma_high'])}, "
            f"coherency kappa = {_between(kappa, row['usl_kappa_low'], row['usl_kappa_high'], 4)} "
            f"({_quality(row['usl_r2'], row['usl_error'])}; intervals: bootstrap over rounds)"
        )
        text += _contention(sigma, gil)
        if peak == peak:  # kappa > 0, and its interval excludes 0
            who = (
                "threads pay for handing the GIL back and forth"
                if gil
                else "threads pay for shared state (reference counts, cache lines)"
                if threads
                else "workers pay for each other (start-up, IPC, cores they share)"
            )
            text += f"; kappa > 0: {who}, " + (
                "so no worker count beats one worker: the curve falls from the start"
                if peak < 1.05
                else f"so the curve peaks near {peak:.1f} workers and falls after"
            )
        r2 = row.get("amdahl_r2", math.nan)
        if r2 == r2:
            text += (
                "; it describes the curve better than Amdahl's law, by the information criterion"
                if describes(r2, row["amdahl_error"])
                else f"; Amdahl's law does not describe this curve ({_quality(r2, row['amdahl_error'])})"
            )
        return [text]
    if law == "amdahl":
        p = row["amdahl_p"]
        text = (
            f"Amdahl fit: serial fraction p = {p:.3f} ({_quality(row['amdahl_r2'], row['amdahl_error'])})"
            + _contention(p, gil)
        )
        text += (
            f"; the USL's coherency term (kappa = {kappa:.4f}) does not earn its place"
            if sigma == sigma
            else f"; too few worker counts to test the USL (it needs {USL_MIN_COUNTS})"
        )
        return [text]
    out = []
    if falling:
        out.append(
            "speedup falls as workers are added (the last interval lies below the first): a cost that grows "
            "with the workers outweighs the work"
        )
    if row.get("fitted_counts", 0) < 3:
        return out  # too few worker counts to fit: said once per workload (workload_findings)
    fitted = [
        f"{name} {_quality(row.get(law + '_r2', math.nan), row.get(law + '_error', math.nan))}"
        for name, law in (("Amdahl", "amdahl"), ("USL", "usl"))
        if row.get(law + "_r2", math.nan) == row.get(law + "_r2", math.nan)
    ]
    if fitted:
        out.append(
            "neither Amdahl's law nor the USL describes this curve (" + ", ".join(fitted) + "), so no law is quoted"
        )
    if sigma != sigma:
        out.append(f"too few worker counts for the USL (it needs {USL_MIN_COUNTS})")
    return out


CEILING_SHARE_EXPECTED = 0.95  # a process pool within 5 % of the machine's own limit needs no excuse
STRAGGLER_SHARE = 0.05  # workers finishing this far apart (share of the time) left cores idle: worth naming


def ceiling_gap(part, tasks) -> list[str]:
    """At the usable CPU count, each process variant against the measured ceiling; below 95 %, the evidence
    from tasks.csv: start-up, how the tasks were chunked, and stragglers (the last worker's finish)."""
    usable = int(part["usable_cpus"].iloc[0])
    at = part[(part["workers"] == usable) & part["variant"].isin(PROCESSES)]
    lines = []
    for _, row in at.iterrows():
        share = row["ceiling_efficiency"]
        if share != share:
            continue
        text = (
            f"At {usable} workers, **{row['variant']}** reached {share * 100:.1f} % of the measured ceiling "
            f"({_x(row['speedup'])} vs {_x(row['ceiling_speedup'])})"
        )
        if share >= CEILING_SHARE_EXPECTED or tasks is None:
            lines.append(text + ".")
            continue
        if not row["speedup_high"] < row.get("ceiling_speedup_low", math.nan):  # the gap's evidence: no overlap
            lines.append(text + ": the two intervals overlap, so the gap is within this run's noise.")
            continue
        mine = tasks[
            (tasks["workload"] == row["workload"])
            & (tasks["size"] == row["size"])
            & (tasks["variant"] == row["variant"])
            & (tasks["workers"] == usable)
            & ~tasks["warmup"]
            & (tasks["python_executable"] == row["python_executable"])
        ]
        reasons = [f"start-up {row['startup_s']:.3f} s ({_pct(row['startup_share'])} of the time)"]
        if not mine.empty:
            per_rep = []
            for _, rep in mine.groupby(["repeat", "attempt"] if "attempt" in mine else ["repeat"]):
                ends = rep.groupby(["pid", "thread_id"])["end_s"].max()
                per_rep.append((ends.max() - ends.min(), len(rep) / max(1, len(ends))))
            straggle = sorted(x for x, _ in per_rep)[len(per_rep) // 2]
            per_worker = sorted(y for _, y in per_rep)[len(per_rep) // 2]
            reasons.append(f"{per_worker:.1f} tasks per worker")
            share_idle = straggle / row["median_s"]
            reasons.append(
                f"the workers' last tasks ended up to {straggle:.3f} s apart ({_pct(share_idle)} of the time"
                + (": stragglers, while the others sat idle)" if share_idle > STRAGGLER_SHARE else ")")
            )
        ceiling_row = part[(part["variant"] == CEILING) & (part["workers"] == usable)]
        if not ceiling_row.empty and row["speedup_high"] >= ceiling_row["speedup_low"].iloc[0]:
            reasons.append(
                f"its speedup interval ({row['speedup_low']:.2f}x-{row['speedup_high']:.2f}x) overlaps "
                f"the ceiling's ({ceiling_row['speedup_low'].iloc[0]:.2f}x-"
                f"{ceiling_row['speedup_high'].iloc[0]:.2f}x): the gap may be this run's noise"
            )
        lines.append(text + ": " + "; ".join(reasons) + " (from tasks.csv).")
    return lines


MIN_CONTEXT_COVERAGE = 0.8  # as for a verdict: an interval of lower coverage cannot say there is a bias


def context_check(part) -> list[str]:
    """The run's own calibration of context bias: at 1 worker every variant does the serial work in another
    context (a worker thread, a forked process). Its *compute* time (first task in to last result out) should
    match serial's: its start-up (creating a pool, a cluster) is a cost serial does not pay, not a bias, so the
    check compares compute times, per block. No verdict where the interval's coverage is below 80 %."""
    one = part[(part["workers"] == 1) & ~part["variant"].isin([BASELINE_VARIANT])]
    paired = "compute_speedup" in one and one["compute_speedup"].notna().any()
    col = "compute_speedup" if paired else "speedup"
    one = one[one[col].notna()]
    if one.empty:
        return []
    low, high = (
        (one["compute_speedup_low"], one["compute_speedup_high"])
        if paired
        else (one["speedup_low"], one["speedup_high"])
    )
    coverage = one["speedup_coverage"].fillna(0)
    listed = ", ".join(f"{r['variant']} {_x(r[col])}" for _, r in one.iterrows())
    what = "serial compute time / variant compute time, per block" if paired else "total times (an older run)"
    if not (coverage >= MIN_CONTEXT_COVERAGE).all():
        return [
            f"Context check at 1 worker ({what}): {listed}; its intervals' coverage is below "
            f"{MIN_CONTEXT_COVERAGE * 100:.0f} %, too low to tell a bias of the serial baseline from noise."
        ]
    outside = one[(low > 1) | (high < 1)]
    if outside.empty:
        agree = agreement(one.assign(speedup=one[col]))
        if agree:
            return [
                f"Context check at 1 worker (the same work as serial, in a worker thread or process; {what}): "
                f"{listed}. " + agree
            ]
        return [
            f"Context check at 1 worker (the same work as serial, in a worker thread or process; {what}): "
            f"{listed}; every interval contains 1.00x, so no bias of the serial baseline shows beyond this run's "
            "noise."
        ]
    faster = outside[col] > 1  # the variant ran the work faster than the serial cell: serial was slow
    side = "slower" if faster.all() else "faster" if (~faster).all() else "off"
    return [
        f"Context check at 1 worker ({what}): {listed}. The intervals of "
        + ", ".join(outside["variant"])
        + f" exclude 1.00x: the serial baseline ran the same work {side} than "
        "those workers did, so every speedup of this workload carries that bias."
    ]


ANSWER_TIES = 3  # variants named as tied with the best in one answer line


def answer(part) -> str:
    """One line a newcomer can act on: which variant to use here, its speedup and interval, and the one reason."""
    from . import rules

    variants = part[~part["variant"].isin([BASELINE_VARIANT, CEILING]) & part["speedup"].notna()]
    if variants.empty:
        return ""
    usable = int(part["usable_cpus"].iloc[0])
    best = variants.loc[variants["speedup"].idxmax()]
    where = (
        f"{best['variant']} x{int(best['workers'])}: {_x(best['speedup'])} [{best['speedup_low']:.2f}-"
        f"{best['speedup_high']:.2f}]"
    )
    if not best["speedup_low"] > 1:
        return f"**Stay serial**: no variant beat the serial loop beyond this run's noise (best: {where})."
    tied = variants[
        (variants.index != best.name)
        & (variants["speedup_high"] >= best["speedup_low"])
        & (variants["speedup_low"] <= best["speedup_high"])
    ]
    tie = ""
    if not tied.empty:
        named = [
            f"{r['variant']} x{int(r['workers'])}" for _, r in tied.sort_values("speedup", ascending=False).iterrows()
        ]
        tie = (
            " (tied within the intervals with "
            + ", ".join(named[:ANSWER_TIES])
            + (f" and {len(named) - ANSWER_TIES} more" if len(named) > ANSWER_TIES else "")
            + ")"
        )
    serial = part[part["variant"] == BASELINE_VARIANT]
    serial_busy = float(serial["busy_cores"].iloc[0]) if not serial.empty else 1.0
    reason = ""
    threads = variants[variants["variant"].isin(THREADS) & (variants["workers"] > 1)]
    if best["variant"] in PROCESSES and not threads.empty:
        t = threads.loc[threads["speedup"].idxmax()]
        e = rules.Evidence(dict(t), usable, serial_busy)
        if rules.RULES[0].holds(e):  # gil-turns
            reason = (
                f"threads cannot overlap here: the best threads kept {t['busy_cores']:.2f} cores busy "
                f"({_x(t['speedup'])}), the GIL lets one run at a time"
            )
    if not reason:
        found = [
            line
            for line in rules.sentences(rules.Evidence(dict(best), usable, serial_busy))
            if not line.startswith("oversubscribed")
        ]  # a fact about the count, not a reason to choose it
        reason = (
            found[0]
            if found
            else (
                "the work waits rather than computes (the serial cell kept "
                f"{serial_busy:.2f} of a core busy), so workers overlap their waiting"
                if serial_busy < rules.CPU_BOUND_BUSY
                else ""
            )
        )
    return f"**Use {where}**{tie}" + (f"; {reason}" if reason else "") + "."


def variant_table(part):
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
                f"{_x(r['speedup'])} [{r['speedup_low']:.2f}-{r['speedup_high']:.2f}]",
                f"{r['busy_cores']:.2f}",
                _pct(r["efficiency"]),
                _pct(r["startup_share"]),
                r.get("law", "") or "-",
            ]
        )
    order = list(VARIANTS)
    rows.sort(key=lambda x: (order.index(x[0]) if x[0] in order else len(order), int(x[1])))
    header = ["variant", "workers", "speedup on total_s [95 %]", "busy cores", "efficiency", "start-up", "law"]
    return ("table", (header, rows))


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
    from .tutorial import VARIANT, WORKLOAD

    if part["workload"].iloc[0] != WORKLOAD:
        return []
    python = part["python_executable"].iloc[0]
    lines = []
    for c in checks:
        if c["python_executable"] != python:
            continue

        def ci(v):
            return f"{_x(v[0])} [{v[1]:.2f}-{v[2]:.2f}]" if v[1] == v[1] else f"{_x(v[0])} (no interval)"

        ratio, low, high, _ = c["ratio"]
        text = (
            f"Against the tutorial's own two scripts, run between the cells of the same {c['blocks']} blocks at "
            f"{c['workers']} workers: the tutorial's speedup {ci(c['tutorial_speedup'])}, gilbench's {VARIANT} "
            f"{ci(c['gilbench_speedup'])}; gilbench's over the tutorial's {ci(c['ratio'])}"
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
            f" Stopwatch by stopwatch (cell / script): serial {ci(c['serial_stopwatch'])}, parallel "
            f"{ci(c['parallel_stopwatch'])}."
        )
        lines.append(text)
    return lines


AGREEMENT = 0.05  # 1-worker variants whose medians all lie this far on one side of 1.00x agree on a bias


def agreement(one) -> str:
    """Where each 1-worker interval contains 1.00x but every median lies on the same side of it by more than 5 %:
    they agree, and a bias they all share is the serial baseline's. Empty where they do not agree (or are fewer
    than three)."""
    s = one["speedup"]
    if len(one) < 3 or not ((s < 1 - AGREEMENT).all() or (s > 1 + AGREEMENT).all()):
        return ""
    slower = bool((s < 1).all())
    text = (
        f"Each interval alone contains 1.00x, but all {len(one)} medians lie on one side, "
        f"{s.min():.2f}x-{s.max():.2f}x: the same work ran {'slower' if slower else 'faster'} in every other context "
        f"than in the serial cell, so the serial baseline itself is the odd one out and every speedup of this "
        f"workload carries that bias"
    )
    inflation = one["cpu_inflation"] if "cpu_inflation" in one else None
    if inflation is not None and inflation.notna().all():
        text += f" (the workers' CPU time was {inflation.min():.2f}x-{inflation.max():.2f}x the serial cell's: " + (
            "the work itself cost more CPU, it did not wait)"
            if slower and inflation.min() > 1 + AGREEMENT / 2
            else "not a difference of CPU time alone)"
        )
    text += (
        ". A serial median from few repetitions can land in a fast or slow spell of the machine; more "
        "blocks (`--precision 0.05`) tell a spell from a bias."
    )
    first = one.iloc[0]
    if slower and bool(first["free_threaded"]) and not bool(first["gil_enabled"]):
        threads = one[one["variant"].isin(THREADS)]
        processes = one[one["variant"].isin(PROCESSES)]
        text += (
            " On a free-threaded build one cost falls on threads only: objects made by the thread that imported "
            "the workload (module globals, the task list) are that thread's, and every other thread changes "
            "their reference counts with atomic operations (biased reference counting, PEP 703), so a worker "
            "thread that keeps changing module state (attributes of objects made at import) pays at every "
            "access; a forked process inherits the importing thread and does not (README, 'Reading the numbers')."
        )
        if not processes.empty and (processes["speedup"] < 1 - AGREEMENT).all():
            text += (
                " Here the process variants are slower too, which that cost cannot explain: read it as the "
                "serial baseline's spell."
            )
        elif not threads.empty:
            text += " Here only thread variants are slower: that cost fits."
    return text


def workload_findings(part, tasks=None) -> list[str]:
    usable = int(part["usable_cpus"].iloc[0])
    lines = []
    busy = part[part["disturbed_kept"] > 0] if "disturbed_kept" in part else part.iloc[0:0]
    if not busy.empty:
        lines.append(
            "**Measured on a busy machine**: other programs kept taking CPU through every re-run of "
            + ", ".join(
                f"{r['variant']} x{int(r['workers'])} ({int(r['disturbed_kept'])} of {int(r['repeats'])} "
                f"repetitions, up to {r['other_cores_max']:.2f} cores)"
                for _, r in busy.iterrows()
            )
            + "; those times are kept, and may be slower than this machine can do."
        )
    variants = part[~part["variant"].isin([BASELINE_VARIANT, CEILING])]
    if variants.empty:
        return lines + ["Only the serial baseline was run: there is no speedup to show."]
    if variants["speedup"].isna().all():
        return lines + ["No speedups: this workload has no successful serial baseline."]
    first = part.iloc[0]
    if first["free_threaded"] and part["gil_enabled"].any():
        if str(first["python_gil_env"]) == "1":
            lines.append("The GIL was on in this free-threaded build because PYTHON_GIL=1 was given (--gil 1).")
        else:
            lines.append(
                "**GIL re-enabled**: this is a free-threaded build, but the GIL was on inside the workers: "
                "a module the workload imports lacks free-threading support and turned it back on."
            )
    serial = part[part["variant"] == BASELINE_VARIANT]
    if not serial.empty:
        lines.append(
            f"Serial baseline: {serial['median_s'].iloc[0]:.3f} s (median of {int(serial['repeats'].iloc[0])})."
        )
    thread_rows = variants[variants["variant"].isin(THREADS) & (variants["workers"] > 1)]
    proc_rows = variants[variants["variant"].isin(PROCESSES) & (variants["workers"] > 1)]
    serial_busy = float(serial["busy_cores"].iloc[0]) if not serial.empty else 1.0
    if not thread_rows.empty and not proc_rows.empty:
        from . import rules

        t = thread_rows.loc[thread_rows["speedup"].idxmax()]
        p = proc_rows.loc[proc_rows["speedup"].idxmax()]
        te, pe = rules.Evidence(dict(t), usable, serial_busy), rules.Evidence(dict(p), usable, serial_busy)
        if rules.RULES[0].holds(te) and pe.above_one and p["speedup_low"] > t["speedup_high"]:  # gil-turns
            lines.append(
                f"The GIL is visible here: the best threads reached {_x(t['speedup'])} with "
                f"{t['busy_cores']:.2f} busy cores, while processes reached {_x(p['speedup'])} with "
                f"{p['busy_cores']:.2f}."
            )
        elif rules.RULES[1].holds(te) or rules.RULES[2].holds(te):  # gil-released, no-gil
            lines.append(
                f"Threads kept up with processes ({_x(t['speedup'])} vs {_x(p['speedup'])}): "
                + (
                    "the GIL is off in this interpreter."
                    if not t["gil_enabled"]
                    else "the heavy part runs in C with the GIL released."
                )
            )
    lines += context_check(part)
    lines += ceiling_gap(part, tasks)
    counts = {v: sorted(int(n) for n in rows["workers"]) for v, rows in variants.groupby("variant", sort=False)}
    if len({tuple(c) for c in counts.values()}) > 1:
        lines.append(
            "Worker counts differ by variant (`--variant-workers`): "
            + "; ".join(f"{v} {', '.join(map(str, c))}" for v, c in counts.items())
            + "."
        )
    fewer = part[part["repeats"] < part["repeats"].max()]
    if "speedup_method" in part and (part["speedup_method"] == "paired-t").any():
        fewer = fewer.iloc[0:0]  # paired blocks: the serial cell runs in every block, and sized cells stop when met
    if not fewer.empty:
        lines.append(
            f"{len(fewer)} of {len(part)} cells have fewer repetitions than the others "
            f"({int(fewer['repeats'].min())} instead of {int(part['repeats'].max())}): "
            + ", ".join(f"{r['variant']} x{int(r['workers'])}" for _, r in fewer.iterrows())
            + "."
        )
    if "fitted_counts" in variants and (variants["fitted_counts"] < 3).all():
        lines.append(
            f"No scaling law is fitted: too few worker counts up to the {usable} usable CPUs (Amdahl's law "
            f"needs 3, the USL {USL_MIN_COUNTS}; oversubscribed counts are drawn, not fitted)."
        )
    kept = part["disturbed_kept"] if "disturbed_kept" in part else part["workers"] * 0
    serial_disturbed = bool((kept[part["variant"] == BASELINE_VARIANT] > 0).any())
    for _, rows in variants.groupby("variant", sort=False):
        rows = rows.sort_values("workers")
        busy_machine = serial_disturbed or bool((kept[rows.index] > 0).any())
        # falling: the last interval lies wholly below the first one
        falling = len(rows) > 1 and rows["speedup_high"].iloc[-1] < rows["speedup_low"].iloc[0]
        lines.append(describe_variant(rows.iloc[-1], usable, serial_busy, falling, busy_machine))
    return lines


def gil_comparison(table) -> list[str]:
    """With runs under a GIL build and a free-threaded build: the single-thread cost and what threads gain."""
    lines: list[str] = []
    gil = table[~table["free_threaded"]]
    ft = table[table["free_threaded"]]
    if gil.empty or ft.empty:
        return lines
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
        meaning = verdict_meaning(mark, coverage) + (": a single-thread cost" if mark == "-" else "")
        text = (
            f"**{workload}**: the free-threaded build ({f['python_version'].iloc[0]}t) runs the serial baseline in "
            f"{fs['median_s'].iloc[0]:.3f} s vs {gs['median_s'].iloc[0]:.3f} s with the GIL "
            f"({cost:.2f}x the time, interval {low:.2f}-{high:.2f} at coverage >= {coverage * 100:.1f} %: "
            f"`{mark}` {meaning})"
        )
        gt, ftt = g[g["variant"].isin(THREADS)], f[f["variant"].isin(THREADS)]
        if not gt.empty and not ftt.empty:
            n = int(min(gt["workers"].max(), ftt["workers"].max()))
            best_g = gt[gt["workers"] == n]["speedup"].max()
            best_f = ftt[ftt["workers"] == n]
            row = best_f.loc[best_f["speedup"].idxmax()]
            text += (
                f"; at {n} threads: {_x(best_g)} over its own serial with the GIL, {_x(row['speedup'])} without "
                f"({row['variant']}, {row['busy_cores']:.2f} busy cores)"
            )
            overall = gs["median_s"].iloc[0] / row["median_s"]
            text += f", i.e. {_x(overall)} against the GIL build's serial baseline"
        if f["gil_enabled"].any():
            text += (
                "; warning: the GIL was re-enabled inside the free-threaded workers "
                "(an extension module without free-threading support)"
            )
        lines.append(text + ".")
    return lines


# ---------------------------------------------------------------- blocks -> markdown / html


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
            f"**{r['variant']}** x{int(r['workers'])}: running {_pct(r['running_share'])}, waiting for a core "
            f"{_pct(r['waiting_share'])}, blocked {_pct(r['blocked_share'])}, {r['handoffs_per_s']:.0f} hand-offs/s"
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
        f"{_pct(cost)} of one core (median over cells), CPU the workers could not use on a machine with "
        f"{usable} CPUs."
    )
    if not gone.empty:
        lines.append(f"{len(gone)} traced cells have no state timeline: {gone['unavailable'].iloc[0]}.")
    return lines


def precision_blocks(table, config: dict, plan: dict | None) -> list:
    """Which speedups reached the precision (and, for a sized run, what the plan predicted), and the unstable cells."""
    out: list[tuple[str, Any]] = []
    if "speedup_halfwidth" not in table or not config.get("precision"):
        return out
    from .analysis import UNSTABLE_SPREAD, precision_met

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
                f"{r['workload']} {r['variant']} x{int(r['workers'])} (+-{r['speedup_halfwidth'] * 100:.0f} % after "
                f"{int(r['speedup_blocks'])} blocks)"
                for _, r in missed.iterrows()
            )
            + (
                "; the budget ran out first: a larger `--budget`, or a quieter machine, gets there."
                if config.get("repeat_auto")
                else "; `--repeat auto` sizes the blocks to the precision."
            )
        )
    out.append(("p", text))
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
        out.append(
            ("table", (["block", "cell", "pilot blocks", "pair spread (sd of log ratio)", "blocks needed"], rows))
        )
    unstable = table[table["unstable"].astype(bool)] if "unstable" in table else table.iloc[0:0]
    if not unstable.empty:
        out.append(
            (
                "p",
                f"**Unstable cells** (repetitions spread more than {UNSTABLE_SPREAD * 100:g} %, as pyperf "
                "warns): "
                + ", ".join(
                    f"{r['workload']} {r['variant']} x{int(r['workers'])} ({r['spread'] * 100:.0f} %)"
                    for _, r in unstable.iterrows()
                )
                + ". Their medians move from run to run; their speedups are pinned down by pairing, and need "
                "more blocks: `--repeat auto` with `--precision`, or a quieter machine (no other programs, "
                "no power saving).",
            )
        )
    return out


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
):
    from .charts import groups

    blocks: list[tuple[str, Any]] = [("h1", "gilbench report")]
    answers = []
    for part in groups(table):  # the answer first: what to use here, per workload (details in its section)
        line = answer(part)
        if line:
            py = f"{part['python_version'].iloc[0]}{'t' if part['free_threaded'].iloc[0] else ''}"
            answers.append(f"{part['workload'].iloc[0]} (Python {py}): {line}")
    if answers:
        blocks.append(("ul", answers))
    if spectrum is not None:
        blocks += spectrum_blocks(spectrum, charts.get("spectrum"))
    if "overview" in charts:
        blocks.append(("img", charts["overview"]))
    blocks.append(("p", f"Built from `{source}` alone; rebuild with `gilbench report`."))
    if env:
        blocks.append(("h2", "Environment"))
        keys = [
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
        ]
        blocks.append(("table", (["what", "value"], [[k, str(env[k])] for k in keys if k in env])))
        if "config" in env:
            c = env["config"]
            warmups = c.get("warmup", 1)
            after = {0: "with no warm-up", 1: "after a warm-up"}.get(warmups, f"after {warmups} warm-ups")
            if c.get("paired_blocks"):
                budget = c.get("budget", c.get("budget_s"))  # budget_s: older run folders
                count = (
                    f"a pilot of {c.get('pilot_blocks')} blocks per worker count, then as many as each speedup "
                    f"needed to reach +-{c.get('precision', 0) * 100:g} %, within {budget:g} s"
                    if c.get("repeat_auto")
                    else f"{c.get('repeat')} blocks per worker count"
                )
                blocks.append(
                    (
                        "p",
                        f"Run `{env.get('run_id', '')}`: size {c.get('size')}, start method "
                        f"{c.get('start_method')}. Measured in paired blocks: a block runs the serial "
                        "baseline and every variant at one worker count back to back, in random order, "
                        "each in a fresh process; rounds of blocks in shuffled order (seed "
                        f"{env.get('seed')}), {count}, {after}. A speedup is the geometric mean of the "
                        "per-block ratios serial / variant; its interval is Student's t on the log ratios "
                        "at 95 % (`speedup_method` paired-t). Times are medians with order-statistic "
                        "intervals.",
                    )
                )
            else:
                blocks.append(
                    (
                        "p",
                        f"Run `{env.get('run_id', '')}`: size {c.get('size')}, {c.get('repeat')} "
                        f"repetitions per cell {after}, start method {c.get('start_method')}, order shuffled "
                        f"with seed {env.get('seed')}; measured before paired blocks, so each speedup's "
                        "interval joins the two medians' intervals (`speedup_method` unpaired-medians).",
                    )
                )
    config = env.get("config", {})
    blocks += precision_blocks(table, config, env.get("plan"))
    if env.get("merged_from"):
        plan = env.get("reference_plan", {})
        text = (
            "This folder merges "
            + " and ".join(f"run `{rid}` ({label})" for label, rid in env["merged_from"].items())
            + "; the environment above is the first run's."
        )
        if plan:
            text += (
                f" Planned: {plan.get('repeat')} repetitions per cell, no warm-up, every task at 16 workers sized "
                f"to about {plan.get('task_target_s')} s by a calibration on the machine; estimated "
                f"{plan.get('estimate_s')} s, took {plan.get('actual_s')} s. Each run stops at its share of the "
                "time budget, so cells it did not reach again keep fewer repetitions (said per workload below)."
            )
        blocks.append(("p", text))
    if "scaling" in table and (table["scaling"] == "weak").any():
        blocks.append(("h2", "Weak scaling"))
        blocks.append(
            (
                "p",
                "This run asks the weak-scaling question: **with more cores, can I do more work in the "
                "same time?** Each worker got one size profile's share of the work, so a cell at N workers "
                "did N times the serial cell's work (`scale` in results.csv). Efficiency is T(1) / T(N), "
                "the serial time for one share over this cell's time for N shares: 100 % means N workers "
                "did N times the work in the same time. The speedup shown is Gustafson's scaled speedup, "
                "N x T(1) / T(N): how much more work per second than one worker. Strong scaling (the "
                "default) asks the other question: does the same work get done faster?",
            )
        )
    if missing:
        blocks.append(
            (
                "p",
                "**No serial baseline** for " + ", ".join(missing) + ": speedups cannot be computed there; "
                "times and busy cores are still shown.",
            )
        )
    present = [v for v in VARIANTS if v in set(table["variant"])]
    present += sorted(set(table["variant"]) - set(present))  # variants an older or other gilbench defined
    blocks.append(("h2", "Variants in this run"))
    blocks.append(
        (
            "ul",
            [
                f"**{v}**: " + (VARIANTS[v].description if v in VARIANTS else "not defined by this gilbench")
                for v in present
            ],
        )
    )
    comparison = gil_comparison(table)
    if comparison:
        blocks.append(("h2", "GIL vs free-threaded"))
        blocks.append(("ul", comparison))
    for part in groups(table):
        w = part["workload"].iloc[0]
        key = w + part.attrs.get("suffix", "")
        blocks.append(
            (
                "h2",
                f"{w} - Python {part['python_version'].iloc[0]}"
                f"{' (free-threaded)' if part['free_threaded'].iloc[0] else ''}, size {part['size'].iloc[0]}",
            )
        )
        line = answer(part)
        if line:
            blocks.append(("p", line))
            blocks.append(variant_table(part))
            blocks.append(("p", STOPWATCH))
        blocks.append(
            (
                "ul",
                workload_findings(part, tasks)
                + tutorial_findings(part, tutorial_checks or [])
                + state_findings(part, trace_summary),
            )
        )
        shown = charts.get(key, [])
        for chart in shown if isinstance(shown, list) else [shown]:
            blocks.append(("img", chart))
    laws = law_table(table)
    if laws:
        blocks.append(("h2", "Scaling laws"))
        blocks.append(
            (
                "p",
                "Per variant, the law that describes its curve (fitted to the speedups; see README, "
                "'Scaling laws'). Amdahl: a serial fraction p that never runs in parallel; the curve "
                "flattens at 1/p and never falls. USL: contention sigma (work that queues: the GIL, a "
                "lock) and coherency kappa (a cost every pair of workers pays: shared state, cache lines, "
                "hand-offs); with kappa > 0 the curve peaks at N* = sqrt((1 - sigma) / kappa) and falls. "
                "The USL is preferred only where its extra parameter lowers the information criterion "
                "(AICc) by 2; a law that explains less than half of the variance and misses by more than "
                "10 % is not quoted ('none'). Intervals: 2.5-97.5 % of a bootstrap over rounds.",
            )
        )
        blocks.append(("table", laws))
    blocks.append(("h2", "Summary"))
    coverages = sorted(set(round(float(c) * 100, 1) for c in table["ci_coverage"])) if "ci_coverage" in table else []
    blocks.append(
        (
            "p",
            "Median of the measured repetitions (disturbed ones left out). The interval is a "
            "distribution-free order-statistic interval of the median; its exact coverage depends only on "
            "the number of repetitions and is given per row (here: "
            + ", ".join(f"{c:g} %" for c in coverages)
            + "; 5 repetitions can give at most 93.75 %). "
            "Speedup is against the serial median of the same workload and interpreter.",
        )
    )
    rows = []
    for _, r in table.sort_values(["workload", "python_version", "variant", "workers"]).iterrows():
        rows.append(
            [
                r["workload"],
                r["variant"],
                str(int(r["workers"])),
                f"{r['median_s']:.3f}",
                f"{r['ci_low_s']:.3f}-{r['ci_high_s']:.3f} ({r.get('ci_coverage', math.nan) * 100:.1f} %)",
                _x(r["speedup"]),
                _pct(r["efficiency"]),
                _pct(r["ceiling_efficiency"]),
                f"{r['busy_cores']:.2f}",
                _pct(r["startup_share"]),
                "-" if math.isnan(r["karp_flatt"]) else f"{r['karp_flatt']:.3f}",
                f"{r['peak_rss_mb']:.0f}",
            ]
        )
    blocks.append(
        (
            "table",
            (
                [
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
                ],
                rows,
            ),
        )
    )
    blocks += input_blocks(env)
    return blocks


def spectrum_blocks(spectrum, chart) -> list:
    """The spectrum over the run's benchmarks (bench/spectrum.py): what it shows, the chart, the table."""
    from . import spectrum as sp

    blocks: list[tuple[str, Any]] = [("h2", "The spectrum: which kinds of code gain")]
    lines = sp.findings(spectrum)
    if lines:
        blocks.append(("ul", lines))
    if chart is not None:
        blocks.append(("img", chart))
    blocks.append(("p", sp.EXPLAIN))
    blocks.append(("table", sp.table_rows(spectrum)))
    return blocks


INPUTS_NAMED = 20  # up to this many files of a kind are named in the report; inputs.csv lists every one


def input_blocks(env: dict) -> list:
    """After the results: what each workload took as inputs (the files used, by name) and what it skipped."""
    from .inputs import INPUTS, SKIPS_SAID_EACH, describe_inputs

    blocks: list[tuple[str, Any]] = []
    for name, found in (env.get("inputs") or {}).items():
        if not blocks:
            blocks.append(("h2", "Inputs"))
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
        blocks.append(("p", text))
        if skipped and len(skipped) <= SKIPS_SAID_EACH:
            blocks.append(("ul", [f"`{file}`: {reason}" for file, reason in skipped]))
    return blocks


def law_table(table):
    """The Scaling laws table: one row per variant curve (not serial)."""
    if "law" not in table:
        return None
    rows = []
    series = table[(table["variant"] != BASELINE_VARIANT) & table["speedup"].notna()]
    several = table["python_executable"].nunique() > 1
    for _, part in series.groupby(["workload", "python_executable", "variant"], sort=False):
        r = part.iloc[0]
        peak = r["usl_peak_workers"]
        rows.append(
            [
                r["workload"] + (f" ({r['python_version']}{'t' if r['free_threaded'] else ''})" if several else ""),
                r["variant"],
                ", ".join(str(int(n)) for n in sorted(part["workers"])),
                r["law"] or "none",
                "-" if r["amdahl_p"] != r["amdahl_p"] else f"{r['amdahl_p']:.3f} ({r['amdahl_error']:.0%})",
                "-"
                if r["usl_sigma"] != r["usl_sigma"]
                else _between(r["usl_sigma"], r["usl_sigma_low"], r["usl_sigma_high"]),
                "-"
                if r["usl_kappa"] != r["usl_kappa"]
                else _between(r["usl_kappa"], r["usl_kappa_low"], r["usl_kappa_high"], 4),
                "-" if peak != peak else f"{peak:.1f}",
                "-" if r["usl_error"] != r["usl_error"] else f"{r['usl_error']:.0%}",
            ]
        )
    order = list(VARIANTS)
    rows.sort(key=lambda x: (x[0], order.index(x[1]) if x[1] in order else len(order)))
    return (
        (
            [
                "workload",
                "variant",
                "workers",
                "law",
                "Amdahl p (error)",
                "USL sigma",
                "USL kappa",
                "USL peak N*",
                "USL error",
            ],
            rows,
        )
        if rows
        else None
    )


def to_markdown(blocks, base: Path) -> str:
    out = []
    for kind, body in blocks:
        if kind == "h1":
            out.append(f"# {body}\n")
        elif kind == "h2":
            out.append(f"## {body}\n")
        elif kind == "p":
            out.append(body + "\n")
        elif kind == "ul":
            out.append("\n".join(f"- {line}" for line in body) + "\n")
        elif kind == "img":
            out.append(f"![{body.stem}]({body.relative_to(base) if body.is_relative_to(base) else body})\n")
        elif kind == "table":
            head, rows = body
            out.append(
                "| "
                + " | ".join(head)
                + " |\n|"
                + "---|" * len(head)
                + "\n"
                + "\n".join("| " + " | ".join(r) + " |" for r in rows)
                + "\n"
            )
    return "\n".join(out)


def _inline(text: str) -> str:
    import re

    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def to_html(blocks) -> str:
    parts = []
    for kind, body in blocks:
        if kind in ("h1", "h2"):
            parts.append(f"<{kind}>{html.escape(body)}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{_inline(body)}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in body) + "</ul>")
        elif kind == "img":
            data = base64.b64encode(body.read_bytes()).decode()
            parts.append(f'<img alt="{html.escape(body.stem)}" src="data:image/png;base64,{data}">')
        elif kind == "table":
            head, rows = body
            parts.append(
                "<table><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "img{max-width:100%;border:1px solid #eee;margin:.5em 0}table{border-collapse:collapse;font-size:.85em}"
        "td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f4f4f4}"
        "code{background:#f4f4f4;padding:0 .2em}li{margin:.3em 0}"
    )
    head = f"<head><meta charset='utf-8'><title>gilbench report</title><style>{style}</style></head>"
    return f"<!doctype html><html>{head}<body>{''.join(parts)}</body></html>"
