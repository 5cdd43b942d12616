"""scripts/reference.py (`make reference`): which parts run, what each one's folder keeps, and that one failing or
skipped part leaves the others running, with the closing table saying which. No gilbench run: a stand-in runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gilbench import registry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
try:
    import reference
finally:
    sys.path.remove(str(ROOT / "scripts"))


def test_parts_run_in_their_own_order_whatever_order_names_them():
    assert [p.name for p in reference.select("trace,weak")] == ["weak", "trace"]
    assert reference.select("all") == list(reference.PARTS)


def test_an_unknown_part_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown part 'wek'.*weak"):
        reference.select("wek")


def test_every_built_in_workload_is_measured_by_a_part():
    measured = {reference.NATIVE_WORKLOAD, *reference.GIL_WORKLOADS.split(",")}
    assert measured == set(registry.BUILTIN)


def test_only_the_native_part_limits_native_threads():
    """--native-threads leave,1 doubles every workload of a run: it belongs to the NumPy workload's part alone."""
    limiting = [p.name for p in reference.PARTS if "--native-threads" in p.args]
    assert limiting == ["native"]


def test_twin_parts_are_skipped_with_the_reason_when_no_free_threaded_interpreter_is_given():
    found = reference.Interpreters.find("", "", Path("gilbench"))
    ft = next(p for p in reference.PARTS if p.name == "ft")
    trace = next(p for p in reference.PARTS if p.name == "trace")
    assert reference.pythons(ft, found) == "no free-threaded interpreter (PYTHON_FT=)"
    assert reference.pythons(trace, found) == []  # this project's interpreter alone


def test_a_failed_part_keeps_its_old_folder_and_the_next_part_still_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reference, "WORK", tmp_path / "work")
    root = tmp_path / "root"
    (root / "vm-weak").mkdir(parents=True)
    (root / "vm-weak" / "old.csv").write_text("kept\n")

    def runner(cmd):
        if "weak" in cmd:
            return 3
        run = reference.WORK / "runs" / "r1"
        run.mkdir(parents=True)
        for name in ("report.md", "report.html", "overview.svg", "speedup-count.svg", "results.csv"):
            (run / name).write_text(f"{name}\n")
        (reference.WORK / "latest").symlink_to(run)
        return 0

    monkeypatch.setattr(reference, "run", runner)
    rc = reference.main(["--label", "vm", "--root", str(root), "--parts", "weak,trace,ft"])
    out = capsys.readouterr().out
    table = out[out.index("part  ") :]
    assert rc == 1
    assert "weak   failed (exit 3)" in table
    assert "trace  measured" in table
    assert "ft     skipped: no free-threaded interpreter (PYTHON_FT=)" in table
    assert "1 of 3 parts measured" in table
    assert (root / "vm-weak" / "old.csv").exists()
    assert sorted(p.name for p in (root / "vm-trace").iterdir()) == ["overview.svg", "report.md", "results.csv"]
    assert not reference.WORK.exists()


def test_skipped_parts_alone_are_no_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "WORK", tmp_path / "work")
    assert reference.main(["--label", "vm", "--root", str(tmp_path), "--parts", "ft,pyperformance"]) == 0


def test_a_part_drops_its_per_workload_charts_from_the_folder_and_the_report(tmp_path):
    (tmp_path / "report.md").write_text("# r\n![spectrum](spectrum.png)\n![timeline-a](timeline-a.png)\n")
    (tmp_path / "timeline-a.png").write_text("")
    (tmp_path / "spectrum.png").write_text("")
    reference.slim(tmp_path, ("timeline-",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "spectrum.png"]
    assert (tmp_path / "report.md").read_text() == "# r\n![spectrum](spectrum.png)\n"


def test_python_gil_holding_a_path_is_refused(monkeypatch):
    """make exports its command line's variables: PYTHON_GIL=PATH would reach every free-threaded cell."""
    monkeypatch.setenv("PYTHON_GIL", "python3.13")
    with pytest.raises(SystemExit) as exc:
        reference.main(["--label", "vm", "--parts", "weak"])
    assert exc.value.code == 2
