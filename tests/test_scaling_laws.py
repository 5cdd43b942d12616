"""The Universal Scalability Law next to Amdahl's, weak scaling, and when a fitted law is quoted at all."""

import json
import math

import numpy as np
import pytest
from gilbench import analysis, report, storage

from tests.helpers import row, write_run


# A small sigma (0.02) is resolved to 10 % only from quieter data: with 2 % noise some draws miss it by 10-17 %.
@pytest.mark.parametrize(
    "sigma,kappa,noise",
    [(0.05, 0.002, 0.02), (0.3, 0.01, 0.02), (0.1, 0.001, 0.02), (0.6, 0.05, 0.02), (0.02, 0.0005, 0.01)],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_usl_fit_recovers_known_contention_and_coherency(sigma, kappa, noise, seed):
    """Synthetic speedups from known sigma and kappa with noise: both come back within 10 %."""
    rng = np.random.default_rng(seed)
    workers = np.array([1, 2, 4, 8, 16, 32, 48, 64])
    speedup = analysis.usl(workers, sigma, kappa) * (1 + noise * rng.standard_normal(len(workers)))
    got_sigma, got_kappa, r2 = analysis.fit_usl(workers, speedup)
    assert got_sigma == pytest.approx(sigma, rel=0.10)
    assert got_kappa == pytest.approx(kappa, rel=0.10)
    assert r2 > 0.9
    assert analysis.usl_peak(got_sigma, got_kappa) == pytest.approx(math.sqrt((1 - sigma) / kappa), rel=0.1)


def test_usl_says_not_enough_points_for_two_worker_counts(tmp_path):
    assert all(math.isnan(v) for v in analysis.fit_usl([1, 2], [1.0, 1.8]))
    rows = []
    for r in (1, 2, 3):
        rows += [row("serial", 1, 2.0, r), row("process-pool", 1, 2.0, r), row("process-pool", 2, 1.1, r, busy=1.9)]
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "run", rows)))
    pool = table[table["variant"] == "process-pool"].iloc[-1]
    assert math.isnan(pool["usl_sigma"]) and math.isnan(pool["usl_kappa"]) and math.isnan(pool["usl_peak_workers"])
    assert report.law_sentences(pool) == [] and pool["law"] == "none"  # 2 points: too few for any law
    assert any(
        "No scaling law is fitted: too few worker counts up to the 2 usable CPUs" in line
        for line in report.workload_findings(table)
    )


def test_the_better_law_is_chosen_by_the_information_criterion():
    workers = np.array([1, 2, 4, 8, 16])
    falling = analysis.usl(workers, 0.05, 0.02)  # peaks near 7 workers: Amdahl cannot fall
    p, _ = analysis.fit_amdahl(workers, falling)
    sigma, kappa, _ = analysis.fit_usl(workers, falling)
    assert analysis.better_law(workers, falling, p, sigma, kappa) == "usl"
    flat = analysis.amdahl(workers, 0.2) * (
        1 + 0.002 * np.sin(workers)
    )  # Amdahl's own curve: kappa must not earn its place
    p, _ = analysis.fit_amdahl(workers, flat)
    sigma, kappa, _ = analysis.fit_usl(workers, flat)
    assert analysis.better_law(workers, flat, p, sigma, kappa) == "amdahl"
    noise = np.array([1.0, 2.6, 0.7, 3.9, 0.4])  # describes nothing: neither law is quoted
    p, _ = analysis.fit_amdahl(workers, noise)
    sigma, kappa, _ = analysis.fit_usl(workers, noise)
    assert analysis.better_law(workers, noise, p, sigma, kappa) == "none"


def _usl_run(folder, sigma, kappa, rounds=5, noise=0.02):
    rng = np.random.default_rng(3)
    rows = []
    for r in range(1, rounds + 1):
        drift = 1 + noise * rng.standard_normal()  # a round shares the machine's speed
        rows.append(row("serial", 1, 4.0 * drift, r, usable_cpus=16))
        for n in (1, 2, 4, 8, 16):  # 16 CPUs: every count is fitted
            t = 4.0 / analysis.usl(n, sigma, kappa) * drift * (1 + noise * rng.standard_normal())
            rows.append(row("thread-pool", n, t, r, gil_enabled=False, usable_cpus=16))
    return write_run(folder, rows)


def test_summary_quotes_sigma_kappa_with_intervals_and_the_report_translates_them(tmp_path):
    table = analysis.summarize(storage.load_results(_usl_run(tmp_path / "run", 0.1, 0.02)))
    pool = table[table["variant"] == "thread-pool"].iloc[0]
    assert pool["law"] == "usl"
    assert pool["usl_sigma_low"] <= pool["usl_sigma"] <= pool["usl_sigma_high"]
    assert pool["usl_kappa_low"] <= pool["usl_kappa"] <= pool["usl_kappa_high"]
    assert 0 < pool["usl_kappa_low"]  # a clearly falling curve: the interval excludes kappa = 0
    assert pool["usl_peak_workers"] == pytest.approx(math.sqrt(0.9 / 0.02), rel=0.25)
    assert (table["scaling"] == "strong").all()
    text = " ".join(report.law_sentences(pool))
    assert "sigma = " in text and "kappa = " in text and "peaks near" in text
    assert "threads pay for shared state" in text  # GIL off: coherency is shared state, not GIL hand-offs
    laws = report.law_table(table)
    assert laws is not None and laws.rows[0][1] == "thread-pool" and laws.rows[0][3] == "usl"


def test_gil_threads_read_as_waiting_for_the_gil(tmp_path):
    rows = []
    for r in (1, 2, 3, 4, 5):
        rows.append(row("serial", 1, 2.0, r, usable_cpus=4))
        for n, t in ((1, 2.0), (2, 2.01), (4, 2.02)):  # 4 CPUs: three fitted counts, enough for Amdahl's law
            rows.append(row("threading", n, t + 0.01 * r, r, busy=1.0, usable_cpus=4))
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "run", rows)))
    threads = table[(table["variant"] == "threading") & (table["workers"] == 4)].iloc[0]
    assert threads["law"] in ("amdahl", "usl")
    assert "each added thread waits for the GIL" in " ".join(report.law_sentences(threads))


def test_weak_scaling_speedup_is_gustafsons(tmp_path):
    """A weak cell at N workers did N shares: scaled speedup N * T(1) / T(N), efficiency T(1) / T(N)."""
    rows = []
    for r in (1, 2, 3):
        rows.append(row("serial", 1, 2.0, r, scaling="weak", scale=1))
        rows.append(row("process-pool", 2, 2.5, r, scaling="weak", scale=2, busy=1.9))
        rows.append(row("threading", 2, 4.0, r, scaling="weak", scale=2))
    table = analysis.summarize(storage.load_results(write_run(tmp_path / "run", rows))).set_index(
        ["variant", "workers"]
    )
    assert table.loc[("process-pool", 2), "speedup"] == pytest.approx(2 * 2.0 / 2.5)
    assert table.loc[("process-pool", 2), "efficiency"] == pytest.approx(2.0 / 2.5)
    assert table.loc[("threading", 2), "efficiency"] == pytest.approx(0.5)  # the GIL: twice the work, twice the time
    low, high = table.loc[("process-pool", 2), ["speedup_low", "speedup_high"]]
    assert low <= table.loc[("process-pool", 2), "speedup"] <= high
    assert table.loc[("threading", 2), "cpu_inflation"] == pytest.approx(1.0)  # per share of work, not per cell
    assert math.isnan(table.loc[("process-pool", 2), "karp_flatt"])  # a strong-scaling quantity


def test_old_results_without_scaling_columns_load_as_strong(tmp_path):
    folder = write_run(tmp_path / "run", [row("serial", 1, 2.0), row("threading", 2, 2.0)])
    path = folder / storage.RESULTS
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    drop = [header.index("scaling"), header.index("scale")]
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for record in csv.reader(lines):
        writer.writerow([v for i, v in enumerate(record) if i not in drop])
    path.write_text(out.getvalue())
    frame = storage.load_results(folder)
    assert list(frame["scaling"]) == ["strong", "strong"] and list(frame["scale"]) == [1, 1]


@pytest.mark.slow
def test_weak_scaling_run_grows_the_work_with_the_workers(tmp_path, run_cli):
    """sleep's share is its tasks, thumbnail's its images: at 2 workers each cell ran twice as many tasks
    (the generated photos included), recorded as scale 2; the serial baseline did one share."""
    result = run_cli(
        "run",
        "--size",
        "smoke",
        "--workloads",
        "sleep,thumbnail",
        "--variants",
        "serial,threading,process-pool",
        "--workers",
        "1,2",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--scaling",
        "weak",
        "--out",
        tmp_path / "out",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    frame = storage.load_results(tmp_path / "out" / "latest")
    assert frame["ok"].all()
    assert (frame["scaling"] == "weak").all()
    for workload, share in (("sleep", 8), ("thumbnail", 4)):
        mine = frame[frame["workload"] == workload]
        for _, r in mine.iterrows():
            expected = 1 if r["variant"] == "serial" else r["workers"]
            assert r["scale"] == expected
            assert r["tasks"] == share * expected, (workload, r["variant"], r["workers"])
        assert {json.loads(p)[analysis_share_key(workload)] for p in mine["params"]} == {share}  # the share is recorded
    assert "scaled_speedup" in result.stdout
    assert "Weak scaling" in (tmp_path / "out" / "latest" / "report.md").read_text()


def analysis_share_key(workload):
    from gilbench import registry

    return registry.resolve(workload).weak_parameter


def test_weak_scaling_needs_the_workload_to_define_a_share(tmp_path, run_cli):
    (tmp_path / "mine.py").write_text(
        "SIZES = {'smoke': {'n': 1}, 'standard': {'n': 1}}\n"
        "def make_tasks(p, w): return [1]\ndef run_task(t): return t\n"
        "def check(p, t, r): pass\n"
    )
    results = tmp_path / "out"
    result = run_cli(
        "run", "--workloads", tmp_path / "mine.py", "--scaling", "weak", "--size", "smoke", "--out", results
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gilbench: error: workload 'mine' does not say what one worker's share of work is "
        "(set WEAK_SCALING = '<parameter>' in its module), so --scaling weak cannot grow it"
    ]
    assert not results.exists()
    bad = run_cli("run", "--scaling", "sideways", "--out", results)
    assert bad.returncode == 2 and "--scaling 'sideways' is not one of strong, weak" in bad.stderr


def test_an_amdahl_fit_that_describes_nothing_is_not_quoted(tmp_path):
    rows = [row("serial", 1, 2.0, repeat=r, usable_cpus=8) for r in (1, 2, 3)]
    for r in (1, 2, 3):  # a curve that rises and falls: Amdahl's law cannot describe it (8 CPUs: all fitted)
        rows += [
            row("threading", 1, 1.0, repeat=r, usable_cpus=8),
            row("threading", 2, 2.0, repeat=r, usable_cpus=8),
            row("threading", 4, 0.9, repeat=r, usable_cpus=8),
        ]
    run = write_run(tmp_path / "run", rows)
    from gilbench import render

    render.report(run)
    text = (run / "report.md").read_text()
    assert "neither Amdahl's law nor the USL describes this curve" in text
    assert "Amdahl fit: serial fraction p = 0." not in text


def test_a_curve_with_no_law_quoted_shows_no_fitted_numbers(tmp_path):
    """The report's claims come from the run's error budget: a curve with no accepted loss has its law set to 'none'
    (budget.decide), and then neither its Amdahl p nor its USL parameters appear as if quoted."""
    from gilbench import render
    from gilbench.report import layout
    from gilbench.report.document import NO_LAW_NO_LOSS, laws_section

    table = render.analyse(_usl_run(tmp_path / "run", 0.1, 0.02)).table
    assert set(table.loc[table["variant"] == "thread-pool", "law"]) == {"usl"}  # a loss accepted: its law quoted
    quoted = laws_section(table)
    assert any(isinstance(b, layout.Table) and [r[3] for r in b.rows] == ["usl"] for b in quoted)
    unaccepted = table.assign(law="none", claims="")  # as budget.decide leaves a run with no loss accepted
    assert report.law_table(unaccepted) is None
    said = laws_section(unaccepted)
    assert not any(isinstance(b, layout.Table) for b in said)
    text = " ".join(b.text for b in said if isinstance(b, layout.Paragraph))
    assert text == f"No scaling law is quoted in this run: 1 curve {NO_LAW_NO_LOSS}."
    assert "Amdahl p" not in text and "sigma =" not in text


def test_a_run_with_too_few_worker_counts_quotes_no_law_and_says_why(tmp_path):
    from gilbench import render
    from gilbench.report.document import NO_LAW_FEW, laws_section

    rows = [
        row(v, n, 2.0 / (n if v == "process-pool" else 1), r)
        for r in (1, 2, 3)
        for v, n in (("serial", 1), ("process-pool", 1), ("process-pool", 2))
    ]
    said = laws_section(render.analyse(write_run(tmp_path / "run", rows)).table)
    assert [b.text for b in said[1:]] == [f"No scaling law is quoted in this run: 1 curve {NO_LAW_FEW}."]
