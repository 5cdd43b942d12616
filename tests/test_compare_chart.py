"""compare's chart keeps its legend off the lines, and can put every run on one baseline."""

from __future__ import annotations

import pytest
from gilbench import charts, render
from gilbench.cli import main as cli_main

from tests.helpers import row, write_run


def _runs(tmp_path):
    fast = write_run(
        tmp_path / "fast",
        [row(v, n, t, r) for r in (1, 2, 3, 4, 5) for v, n, t in (("serial", 1, 1.0), ("threading", 2, 1.0))],
    )
    slow = write_run(
        tmp_path / "slow",
        [
            row(v, n, t, r, run_id="r2")
            for r in (1, 2, 3, 4, 5)
            for v, n, t in (("serial", 1, 2.5), ("threading", 2, 1.25))
        ],
    )
    return fast, slow


@pytest.mark.parametrize("baseline, expected", [("own", 2.0), ("first", 0.8)])
def test_compare_chart_baseline_and_legend(tmp_path, baseline, expected):
    fast, slow = _runs(tmp_path)
    with charts.collect() as found:
        render.compare([fast, slow], tmp_path / "cmp", baseline=baseline)
    fig = found["compare"]
    ax = fig.axes[0]
    assert ax.get_legend() is None and len(fig.legends) == 2  # beside the plot, not over its lines
    texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "run A" in texts and "run B" in texts and max(map(len, texts)) <= 20, texts
    said = fig._suptitle.get_text() + ax.get_ylabel()
    assert ("run A's serial" if baseline == "first" else "own serial") in said, said
    slow_line = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata()) == 1]
    assert slow_line and slow_line[0].get_ydata()[0] == pytest.approx(expected)
    assert all(len(line) <= 140 for line in fig._suptitle.get_text().splitlines())


def test_compare_refuses_an_unknown_baseline(tmp_path, capsys):
    fast, slow = _runs(tmp_path)
    assert cli_main(["compare", str(fast), str(slow), "--baseline", "median", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'median'" in err[0] and "own" in err[0] and "first" in err[0], err
    assert not (tmp_path / "c").exists()
