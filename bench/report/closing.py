"""The terminal's closing lines after a run: the answer per workload, the precision reached, the unstable cells, the
tutorial check, failures only threads had, and the spectrum's benchmarks that are not thread-safe. Found as data
(rule id, subject, facts), worded plain (no Markdown) by one phrase per rule id."""

from __future__ import annotations

from ..analysis import BASELINE_VARIANT, UNSTABLE_SPREAD, precision_met, set_aside_facts
from ..native import reference_setting, setting_words
from ..spectrum import NOT_SAFE, SERIES
from ..suites.pyperformance import is_isolated, is_suite_name, plain_name
from ..variants import VARIANTS, in_family
from .budget import group
from .evidence import has_native_pools
from .findings import Finding
from .findings import answer as answer_finding
from .numbers import estimate, halfwidth, interval, number, pct, speedup
from .suite import ISOLATED_STILL_SHARES, failure, with_interval
from .wording import answer as answer_words
from .wording import set_aside

LISTED = 6  # cells named in one closing line; the report names them all


def listed(items) -> str:
    items = list(items)
    more = len(items) - LISTED
    return ", ".join(items[:LISTED]) + (f" and {more} more (see the report)" if more > 0 else "")


def _cell(r, table) -> str:
    return f"{_name(r, table)} {r['variant']} x{int(r['workers'])}"


def _name(r, table) -> str:
    """A row's workload as the terminal names it: the benchmark's plain name (json_loads, not
    pyperformance:json_loads), with its interpreter (3.13.15t), start method, size and --native-threads setting
    (`native threads limited to 1`) where the run had several."""
    said = []
    if table["python_executable"].nunique() > 1:
        said.append(f"{r['python_version']}{'t' if r['free_threaded'] else ''}")
    for column in ("start_method", "size"):
        if table[column].nunique() > 1:
            said.append(str(r[column]))
    if "native_setting" in table and table["native_setting"].nunique() > 1:
        said.append(setting_words(str(r["native_setting"])))
    return plain_name(str(r["workload"])) + (f" ({', '.join(said)})" if said else "")


def answer_findings(table) -> list[Finding]:
    """The report's answer of each workload (and interpreter), for the terminal and a notebook's display."""
    from ..charts import groups

    found = []
    for part in groups(table):
        answer = answer_finding(group(part))
        if answer is not None:
            found.append(Finding("answer", _name(part.iloc[0], table), {"answer": answer}))
    return found


def run_findings(table, precision: float, auto: bool, repeat, budget: float, measured_s, planned_s) -> list[Finding]:
    """What a user must know before trusting the table: the answers, the precision reached, the unstable cells."""
    if table.empty or "speedup_halfwidth" not in table:
        return []
    found = answer_findings(table)  # the answers first
    speedups = table[table["variant"] != BASELINE_VARIANT]
    if "too_busy" in speedups:  # no speedup to hold to a precision: the set-aside line names them
        speedups = speedups[~speedups["too_busy"].astype(bool)]
    met = precision_met(speedups, precision)
    missed = [(_cell(r, table), r["speedup_halfwidth"]) for _, r in speedups[~met].iterrows()]
    facts = {"precision": precision, "auto": auto, "repeat": repeat, "met": int(met.sum()), "of": len(speedups)}
    found.append(Finding("precision", "run", facts | {"missed": missed}))
    if auto and planned_s == planned_s:
        found.append(Finding("plan-cost", "run", {"measured_s": measured_s, "planned_s": planned_s, "budget": budget}))
    unstable = table[table["unstable"].astype(bool)] if "unstable" in table else table.iloc[0:0]
    if not unstable.empty:  # each with whether its speedups met the precision all the same
        every = precision_met(table, precision)
        cells = [
            (_cell(r, table), r["spread"], bool(every[_speedups_of(table, r)].all())) for _, r in unstable.iterrows()
        ]
        found.append(Finding("unstable", "run", {"cells": cells, "precision": precision, "auto": auto}))
    aside = set_aside_facts(table)
    if aside is not None:
        found.append(Finding("set-aside", "run", aside | {"run_wide": True}))
    return found


def _speedups_of(table, r):
    """The rows whose speedups a cell's spread enters: its own, or for the serial baseline every speedup over it."""
    same = (table["workload"] == r["workload"]) & (table["python_executable"] == r["python_executable"])
    if r["variant"] != BASELINE_VARIANT:
        return same & (table["variant"] == r["variant"]) & (table["workers"] == r["workers"])
    return same & (table["size"] == r["size"])


def tutorial_findings(checks: list[dict]) -> list[Finding]:
    """--check-against-tutorial, per interpreter and worker count: both speedups and their ratio."""
    return [Finding("tutorial-ratio", f"x{c['workers']}", c) for c in checks]


def failure_findings(frame) -> list[Finding]:
    """Per workload whose failures all came from thread variants while serial or process cells succeeded: it may
    share module state between tasks, which threads of one process share and processes each copy."""
    threads, found = in_family("threads"), []
    for workload, part in frame.groupby("workload", sort=False):
        if is_suite_name(str(workload)):  # said by the suite's lines, with its isolated mode
            continue
        ok = part["ok"].astype(bool)
        failed, succeeded = set(part.loc[~ok, "variant"]), set(part.loc[ok, "variant"])
        if failed and failed <= threads and succeeded - threads:
            facts = {"failed": sorted(failed), "succeeded": sorted(succeeded - threads)}
            found.append(Finding("threads-only-failure", str(workload), facts))
    return found


def suite_findings(spectrum, chart) -> list[Finding]:
    """A run with pyperformance benchmarks: where the spectrum is, and each benchmark that is not thread-safe as
    written, with what its isolated mode (a private copy of its module per thread) gave."""
    if spectrum is None:
        return []
    found = [Finding("spectrum-chart", "run", {"chart": chart})] if chart.exists() else []
    names = set(spectrum["workload"])
    for _, r in spectrum.iterrows():
        if r["safety"] not in NOT_SAFE:
            continue
        twin = None if is_isolated(r["workload"]) else r["workload"] + "@isolated"  # no isolated mode of its own
        isolated = dict(spectrum[spectrum["workload"] == twin].iloc[0]) if twin in names else None
        found.append(Finding("not-thread-safe", r["workload"], {"row": dict(r), "twin": twin, "isolated": isolated}))
    for _, r in spectrum.iterrows():
        if r.get("unavailable") and r.get("unavailable") == r.get("unavailable"):
            found.append(Finding("unavailable", r["workload"], {"under": r["unavailable"]}))
    return found


def _precision(f) -> str:
    how = "sized by --repeat auto" if f["auto"] else f"--repeat {f['repeat']}"
    text = f"precision +-{f['precision'] * 100:g} % ({how}): {f['met']} of {f['of']} speedups met it"
    if f["missed"]:
        text += "; not met: " + listed(f"{cell} ({halfwidth(half)})" for cell, half in f["missed"])
    return text


def _unstable(f) -> str:
    """The unstable cells, and what is true of each: where its speedups met the precision, its spread is already in
    their intervals (more blocks paid for it); only those that missed it want more blocks, which --repeat auto gives
    within --budget."""
    goal = f"+-{f['precision'] * 100:g} %"
    more = (
        "a larger --budget, within which --repeat auto adds them" if f["auto"] else "--repeat auto, which adds blocks"
    )
    parts = []
    for ok, said in (
        (True, f"the speedups met the precision ({goal}) all the same: the spread is already in their intervals"),
        (False, f"the speedups missed the precision ({goal}): more blocks ({more}) or a quieter machine"),
    ):
        cells = [f"{cell} ({pct(spread)})" for cell, spread, met in f["cells"] if met == ok]
        if cells:
            parts.append(f"{listed(cells)}: {said}")
    return f"unstable (repetitions spread more than {UNSTABLE_SPREAD * 100:g} %): " + "; ".join(parts)


def _tutorial(c) -> str:
    (t, tl, th, _), (g, gl, gh, _), (r, rl, rh, _) = c["tutorial_speedup"], c["gilbench_speedup"], c["ratio"]
    return (
        f"count x{c['workers']}, the tutorial's own scripts {estimate(t, tl, th, unit='x')}, gilbench's "
        f"multiprocessing {estimate(g, gl, gh, unit='x')} over the same {c['blocks']} blocks; ratio "
        f"{estimate(r, rl, rh, digits=3)}" + (" (contains 1.00)" if rl <= 1 <= rh else " (excludes 1.00)")
    )


def _isolated(f) -> str:
    t, twin = f["isolated"], f["twin"]
    if twin is None:  # it is the isolated mode itself
        return ""
    if t is None:
        return f". Run {twin} for a private copy of its module per thread"  # the name --workloads takes
    parts = [
        f"{label} {with_interval(t[key], t[key + '_low'], t[key + '_high'])}"
        for key, label, _ in SERIES
        if key.startswith("threads") and t[key] == t[key]
    ]
    return (
        f". Its isolated mode ({twin}: a private copy of its module per thread) "
        + (
            "ran correctly in every repetition"
            if not t.get("failed_cells")
            else f"failed too ({t['failed_cells']}): it shares state outside its own module as well"
        )
        + (": " + ", ".join(parts) if parts else "")
    )


def _not_thread_safe(f) -> str:
    row = f["row"]
    said = failure(row) if row["safety"] == "no" else f"even isolated: {failure(row)}: {ISOLATED_STILL_SHARES}"
    return (
        f"{plain_name(f['row']['workload'])} is NOT thread-safe as written: it shares module state; {said}"
        + _isolated(f)
    )


PHRASES = {
    "answer": lambda f: answer_words(f["answer"], plain=True),
    "precision": _precision,
    "plan-cost": lambda f: (
        f"measuring took {f['measured_s']:.0f} s; the plan after the pilot predicted {f['planned_s']:.0f} s "
        f"(budget {f['budget']:g} s)"
    ),
    "unstable": _unstable,
    "tutorial-ratio": _tutorial,
    "threads-only-failure": lambda f: (
        f"{f['workload']} failed only under threads ({', '.join(f['failed'])}) and ran under "
        f"{', '.join(f['succeeded'])}: its tasks may share module state (module globals or objects made at import "
        "that run_task changes), which threads of one process share and each process has its own copy of; keep a "
        "task's state inside the task"
    ),
    "spectrum-chart": lambda f: f"the spectrum (which kinds of code gain): {f['chart']} and the report's first table",
    "not-thread-safe": _not_thread_safe,
    "unavailable": lambda f: f"{plain_name(f['workload'])} unavailable under {f['under']}",
    "set-aside": set_aside,
}


def lines(found: list[Finding]) -> list[str]:
    """The findings in words, one terminal line each; an answer line is prefixed with its workload."""
    out = []
    for f in found:
        facts = dict(f.facts) | {"workload": f.subject}
        text = PHRASES[f.rule](facts)
        out.append(f"{f.subject}: {text}" if f.rule == "answer" else text)
    return out


def format_table(table) -> str:
    """The terminal's table of a run's cells: serial first, then the variants in their own order."""
    columns = ["workload", "variant", "workers", "median_s", "speedup", "interval", "busy_cores", "startup_s"]
    shown = table.copy()
    shown["interval"] = [
        "" if v == BASELINE_VARIANT or not (lo == lo and hi == hi) else interval(lo, hi, brackets=False)
        for v, lo, hi in zip(shown["variant"], shown["speedup_low"], shown["speedup_high"], strict=True)
    ]
    if shown["python_executable"].nunique() > 1:
        shown["python"] = [
            f"{v}{'t' if ft else ''}" for v, ft in zip(shown["python_version"], shown["free_threaded"], strict=True)
        ]
        columns.insert(0, "python")
    several = "native_setting" in shown and shown["native_setting"].nunique() > 1
    if several:  # --native-threads leave,1: each setting's cells over its own serial cell, the setting named
        shown["native"] = shown["native_setting"]
        reference = reference_setting(shown["native_setting"])
        shown["_native"] = shown["native_setting"] != reference  # the reference setting (leave) first
        columns.insert(columns.index("variant"), "native")
    if has_native_pools(
        shown
    ):  # the cores the native pools used too, which busy_cores (the Python threads') leaves out
        columns.insert(columns.index("busy_cores") + 1, "process_busy_cores")
    if "disturbed_kept" in shown and (shown["disturbed_kept"] > 0).any():
        too_busy = shown["too_busy"] if "too_busy" in shown else shown["disturbed_kept"] * 0
        shown["note"] = [
            ("too busy: no answer" if t else "busy machine") if k else ""
            for k, t in zip(shown["disturbed_kept"], too_busy, strict=True)
        ]
        columns.append("note")
    # serial first, then the variants in their own order (bench/variants.py); interpreters and workloads as run
    order = {name: i for i, name in enumerate(VARIANTS)}
    shown["_variant"] = [order.get(v, len(order)) for v in shown["variant"]]
    shown["_workload"] = shown["workload"].map({w: i for i, w in enumerate(dict.fromkeys(shown["workload"]))})
    keys = (["python"] if "python" in columns else []) + ["_workload"] + (["_native"] if several else [])
    keys += ["_variant", "variant", "workers"]
    shown = shown.sort_values(keys, kind="stable")[columns]
    if "scaling" in table and (table["scaling"] == "weak").all():  # Gustafson's: N x T(1 share) / T(N)
        shown = shown.rename(columns={"speedup": "scaled_speedup"})
    return shown.to_string(
        index=False,
        formatters={
            "median_s": lambda v: number(v, 3),
            "speedup": speedup,
            "scaled_speedup": speedup,
            "busy_cores": number,
            "process_busy_cores": number,
            "startup_s": lambda v: number(v, 3),
        },
    )
