"""What the report finds in measured numbers (rule ids and facts, not words): the answer line, a busy machine, the
context check; and what the terminal table and compare quote."""

from __future__ import annotations

import re

from gilbench import analysis, storage
from gilbench.cli import main as cli_main
from gilbench.report import closing, findings, workload
from gilbench.report.budget import group

from tests.helpers import gil_run, paired_block, row, write_run


def _table(folder):
    return analysis.summarize(storage.load_results(folder))


def test_fastest_says_tied_when_the_intervals_overlap(tmp_path):
    """gil_run: multiprocessing and process-pool both at 1.05 s at 2 workers: no winner inside the noise."""
    table = _table(gil_run(tmp_path / "run"))
    fastest = findings.answer(group(table[table["workload"] == "count"]))  # the answer line says which to use
    assert fastest is not None and fastest.rule == "use"
    named = {fastest.facts["best"]["variant"]} | {name.split()[0] for name in fastest.facts["tied"]}
    assert {"multiprocessing", "process-pool"} <= named, fastest


def test_fastest_names_one_winner_when_it_is_clear(tmp_path):
    rows = []
    for r in (1, 2, 3, 4, 5):
        rows += [
            row("serial", 1, 2.0, r),
            row("multiprocessing", 2, 1.0 + 0.001 * r, r, busy=2.0),
            row("threading", 2, 2.0 + 0.001 * r, r),
        ]
    table = _table(write_run(tmp_path / "run", rows))
    fastest = findings.answer(group(table))
    assert fastest is not None and fastest.rule == "use" and not fastest.facts["tied"], fastest
    assert (fastest.facts["best"]["variant"], int(fastest.facts["best"]["workers"])) == ("multiprocessing", 2)


def test_terminal_table_lists_serial_first_then_the_variants_own_order(tmp_path):
    text = closing.format_table(_table(gil_run(tmp_path / "run")))
    order = [line.split()[1] for line in text.strip().splitlines()[1:]]
    assert order[0] == "serial"
    firsts = list(dict.fromkeys(order))
    assert firsts == ["serial", "threading", "multiprocessing", "thread-pool", "process-pool", "ceiling"], firsts


def test_compare_terminal_and_markdown_quote_the_same_rounded_medians(tmp_path, capsys):
    """A median of 0.26649 s: compare.csv keeps 4 significant digits (0.2665), so re-reading it rounded differently."""
    a = write_run(
        tmp_path / "a",
        [row("serial", 1, t, r) for r, t in enumerate((0.26648, 0.26649, 0.2665), 1)]
        + [row("threading", 2, 0.3, r) for r in (1, 2, 3)],
    )
    b = write_run(
        tmp_path / "b",
        [row("serial", 1, t, r, run_id="r2") for r, t in enumerate((0.26648, 0.26649, 0.2665), 1)]
        + [row("threading", 2, 0.3, r, run_id="r2") for r in (1, 2, 3)],
    )
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    terminal = capsys.readouterr().out
    markdown = (tmp_path / "cmp" / "compare.md").read_text()
    said = lambda text: re.findall(r"serial\s+x1\s+(\S+ s -> \S+ s)", text)  # noqa: E731
    assert said(terminal) and said(terminal) == said(markdown), (said(terminal), said(markdown))


def _busy_run(folder, run_id="r1"):
    """Processes at 2 workers with 1.4x the serial CPU time, every repetition disturbed through all its re-runs."""
    rows = []
    for r in (1, 2, 3, 4, 5):
        rows.append(row("serial", 1, 2.0, r, run_id=run_id))
        rows.append(
            row("multiprocessing", 2, 1.6, r, busy=1.75, run_id=run_id, disturbed=True, attempt=3, other_cores=0.9)
        )
        rows.append(
            row("multiprocessing", 4, 1.7, r, busy=1.9, run_id=run_id, disturbed=True, attempt=3, other_cores=0.9)
        )
        rows.append(row("multiprocessing", 1, 2.0, r, run_id=run_id))
    return write_run(folder, rows)


def test_a_busy_run_does_not_tell_a_contention_story(tmp_path):
    table = _table(_busy_run(tmp_path / "run"))
    assert (table["disturbed_kept"] > 0).any()
    (row_, said), *_ = [(e, {f.rule for f in found}) for e, found in workload.variant_found(group(table))]
    assert "busy-machine" in said and "scaling-law" not in said, said  # its curve may be other programs'
    quiet = {f.rule for f in findings.variant_findings(row_)}
    assert "scaling-law" in quiet and "busy-machine" not in quiet, quiet  # the same row, read as undisturbed


def test_compare_keeps_the_busy_machine_flag(tmp_path, capsys):
    import pandas as pd

    busy = _busy_run(tmp_path / "busy")
    quiet = write_run(
        tmp_path / "quiet",
        [
            row(v, n, t, r, run_id="r2")
            for r in (1, 2, 3, 4, 5)
            for v, n, t in (
                ("serial", 1, 2.0),
                ("multiprocessing", 2, 1.05),
                ("multiprocessing", 4, 1.0),
                ("multiprocessing", 1, 2.0),
            )
        ],
    )
    assert cli_main(["compare", str(quiet), str(busy), "--out", str(tmp_path / "cmp")]) == 0
    terminal = capsys.readouterr().out
    flagged = [line for line in terminal.splitlines() if "multiprocessing" in line and "x2" in line]
    assert flagged and "busy machine" in flagged[0], terminal
    assert "busy machine" in (tmp_path / "cmp" / "compare.md").read_text()
    csv = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert csv.loc[(csv["variant"] == "multiprocessing") & (csv["workers"] == 2), "busy"].astype(bool).all()
    assert not csv.loc[csv["variant"] == "serial", "busy"].astype(bool).any()


NOISE = (-1, 1, 0, -1, 1, 0, 1, -1)  # a block's deviation, in units of a variant's spread: mean 0


def test_threads_tied_with_the_best_processes_are_the_answers_reason(tmp_path):
    """thumbnail as make bench measures it: multiprocessing best, threading tied with it on 1.9 busy cores (the work
    releases the GIL). The answer line gives that as its reason rather than saying none is given."""
    rows = []
    for r, (p, t) in enumerate(zip(NOISE, reversed(NOISE), strict=True), start=1):  # per-block noise, 1-3 %
        rows += [
            row("serial", 1, 2.0, r, block_workers=2),
            row("multiprocessing", 2, 1.04 * (1 + 0.01 * p), r, busy=1.95, block_workers=2),
            row("threading", 2, 1.05 * (1 + 0.03 * t), r, busy=1.9, block_workers=2),
        ]
    fastest = findings.answer(group(_table(write_run(tmp_path / "run", rows))))
    assert fastest is not None and fastest.rule == "use", fastest
    assert fastest.facts["best"]["variant"] == "multiprocessing" and fastest.facts["tied"] == ["threading x2"]
    assert fastest.facts["reason"] is not None and fastest.facts["reason"].rule == "threads-kept-up"


def test_threads_well_behind_the_best_processes_are_no_reason_for_them(tmp_path):
    """Threads that released the GIL but are not tied with the processes do not explain the processes' win."""
    rows = []
    for r, (p, t) in enumerate(zip(NOISE, reversed(NOISE), strict=True), start=1):
        rows += [
            row("serial", 1, 2.0, r, block_workers=2),
            row("multiprocessing", 2, 1.04 * (1 + 0.01 * p), r, busy=1.95, block_workers=2),
            row("threading", 2, 1.5 * (1 + 0.03 * t), r, busy=1.4, block_workers=2),
        ]
    fastest = findings.answer(group(_table(write_run(tmp_path / "run", rows))))
    assert fastest is not None and fastest.rule == "use" and not fastest.facts["tied"], fastest
    reason = fastest.facts["reason"]
    assert reason is None or reason.rule != "threads-kept-up", reason


def test_waiting_work_far_above_linear_is_not_measured_against_the_cores(tmp_path):
    """Sleeping tasks at 4 workers on 2 CPUs: 3.9x. Linear (the cores' bound on CPU work) says nothing of work that
    waits, so no 'no gain beyond linear this run can claim' line: the reason given is that the work waits."""
    rows = []
    for r in range(1, 7):
        drift = 1 + 0.01 * (r % 3)
        rows += paired_block(r, 4, 1.0, {"threading": 0.256}, drift=drift, busy=0.002, cpu_s=0.002)
    table = _table(write_run(tmp_path / "run", rows))
    (e, found), *_ = [(e, {f.rule for f in found}) for e, found in workload.variant_found(group(table))]
    assert e.n == 4 and e.get("speedup_low") > 2
    assert "not-cpu-bound" in found and not found & {"noise", "unexplained-loss"}, found
