"""One error budget for every claim a report makes: Holm's procedure over the run's candidate claims.

A claim is a rule (bench/report/rules.py) that could be said of one row of the summary: its facts hold (a thread
variant, the GIL on, more than one worker) and its statistical tests remain. Each test is one-sided (a speedup
below linear, busy cores below 1.25, a CPU inflation above 1.10, ...) and gives a p-value from the row's own
statistics (the per-block log ratios for a speedup, the repetitions for busy cores); a claim that needs several
tests holds only where all do, so its p-value is the largest of theirs (an intersection-union test). Every
candidate claim of a run, over all its workloads, interpreters and worker counts, enters one family, and Holm's
step-down procedure accepts claims so that the chance that the report makes any false claim at all is at most
ALPHA (5 %), whatever the claims' dependence. The numbers keep their 95 % intervals; only the words are held to
the budget, so a row may show an interval that excludes linear and still not be called "below linear" (the
report says so). docs/measuring.md, "One error budget for the report's words", explains the choice.
"""

from __future__ import annotations

from ..analysis import BASELINE, BASELINE_VARIANT, CEILING, CELL
from .evidence import PROCESSES, Evidence, Group
from .evidence import group as evidence_group
from .rules import claim_rules
from .significance import ACROSS_WINS, CLAIMS, FAMILY, across_p, gap_p, holm, record, speedup_p


def _ceiling_rows(table) -> dict:
    """The machine ceiling's rows that are quoted (bench/report/balance.py leaves out a ceiling whose own slices
    were uneven or that a variant beat), by (BASELINE key, workers)."""
    rows = table[table["variant"] == CEILING]
    if "ceiling_unquoted" in rows:
        rows = rows[~rows["ceiling_unquoted"].fillna("").astype(str).str.len().astype(bool)]
    return {(tuple(r[c] for c in BASELINE), int(r["workers"])): dict(r) for _, r in rows.iterrows()}


def candidates(table) -> tuple[dict, dict]:
    """The run's family: every distinct test a candidate claim needs, test key -> p-value; and every candidate
    claim, (rule id, the tested row's CELL key) -> its test keys. A claim is false only where one of its tests'
    hypotheses is, so Holm over the distinct tests bounds the chance of any false claim (and a test that several
    rules share counts once). A claim tested on the machine ceiling's row (machine-ceiling) is one claim, however
    many variants quote it."""
    serial = {
        tuple(r[c] for c in BASELINE): float(r["busy_cores"])
        for _, r in table[table["variant"] == BASELINE_VARIANT].iterrows()
    }
    ceilings = _ceiling_rows(table)
    tests: dict = {}
    claims: dict = {}
    for _, r in table[~table["variant"].isin([BASELINE_VARIANT, CEILING])].iterrows():
        row = dict(r)
        base = tuple(row[c] for c in BASELINE)
        e = Evidence(row, int(row["usable_cpus"]), serial.get(base, 1.0))
        key = tuple(row[c] for c in CELL)
        ceiling = ceilings.get((base, int(row["workers"])))
        for rule in claim_rules():
            if not rule.tests or not rule.when(e):
                continue
            on_ceiling = any(t.quantity == "ceiling" for t in rule.tests)
            if on_ceiling and ceiling is None:
                continue
            tested = tuple(ceiling[c] for c in CELL) if on_ceiling and ceiling is not None else key
            claims[(rule.id, tested)] = record(rule.tests, e, tested, tests, ceiling)
    # the ceiling's gap: a process variant at the usable CPUs below the quoted ceiling (bench/report/ceiling.py)
    for _, r in table[table["variant"].isin(PROCESSES) & (table["workers"] == table["usable_cpus"])].iterrows():
        row = dict(r)
        ceiling = ceilings.get((tuple(row[c] for c in BASELINE), int(row["workers"])))
        if ceiling is not None:
            key = tuple(row[c] for c in CELL)
            tk = (key, "ceiling-gap", True, 1.0)
            tests.setdefault(tk, gap_p(row, ceiling))
            claims[("ceiling-gap", key)] = [tk]
    # the answer's "every variant was slower": one claim per workload, on its best variant
    variants = table[~table["variant"].isin([BASELINE_VARIANT, CEILING]) & table["speedup"].notna()]
    for _, part in variants.groupby(BASELINE, sort=False):
        best = dict(part.loc[part["speedup"].idxmax()])
        key = tuple(best[c] for c in CELL)
        tk = (key, "speedup", True, 1.0)
        tests.setdefault(tk, speedup_p(best, 1.0, below=True))
        claims[("below-one", key)] = [tk]
        # a run of several --native-threads settings: the best of a setting against the reference setting's serial
        # cell (analysis.reference_setting), above 1.00x: "limit the pools and use this variant", one claim a setting
        if str(best.get("across_setting", "") or ""):
            tk = (key, "across", False, 1.0)
            tests.setdefault(tk, across_p(best))
            claims[(ACROSS_WINS, key)] = [tk]
    return tests, claims


def decide(table, extra: dict | None = None):
    """The summary with its claims decided (`extra`: more candidate claims, (rule id, CELL key) -> p-value, such
    as bench/report/context.py's `context_claims`): column CLAIMS (the rule ids accepted for each row, including
    those tested on its machine ceiling's row) and FAMILY (the number of distinct tests in the run's family). Laws
    are quoted only for a series with an accepted loss (a row below linear): a law explains a loss, and an
    unaccepted one is not a loss to explain."""
    if table.empty:
        return table.assign(**{CLAIMS: "", FAMILY: 0})
    tests, claims = candidates(table)
    for claim, p in (extra or {}).items():  # claims tested on results.csv's rows (the context check)
        tests[claim] = p
        claims[claim] = [claim]
    passed = holm(tests)
    by_row: dict = {}
    for (rule_id, key), keys in claims.items():
        if all(k in passed for k in keys):
            by_row.setdefault(key, set()).add(rule_id)
    ceilings = _ceiling_rows(table)
    said = []
    for _, r in table.iterrows():
        mine = set(by_row.get(tuple(r[c] for c in CELL), ()))
        ceiling = ceilings.get((tuple(r[c] for c in BASELINE), int(r["workers"])))
        if ceiling is not None and r["variant"] != CEILING:
            mine |= {rid for rid in by_row.get(tuple(ceiling[c] for c in CELL), ()) if rid == "machine-ceiling"}
        said.append(";".join(sorted(mine)))
    table = table.assign(**{CLAIMS: said, FAMILY: len(tests)})
    if "law" in table:
        lossy = table[table[CLAIMS].str.contains("below-linear", regex=False)]
        keep = {tuple(k) for k in lossy[BASELINE + ["variant"]].to_numpy()}
        series = [tuple(k) for k in table[BASELINE + ["variant"]].to_numpy()]
        table["law"] = [law if key in keep else "none" for law, key in zip(table["law"], series, strict=True)]
    return table


def group(part) -> Group:
    """A workload's rows as the rules read them (bench/report/evidence.py), their claims decided: rows decided with
    their run keep its decisions; a part given alone (a caller that skipped `decide`) is its own family."""
    return evidence_group(part if CLAIMS in part else decide(part))
