"""Two interpreters set side by side (a GIL build and a free-threaded one): what differs between them besides the
GIL. Only twins (the same version built the same way, with and without the GIL) measure the cost of free threading;
any other pair also measures a version or a build. The builds come from environment.json's `interpreters` (each
interpreter of the run, recorded by gilbench since it records them); an older run records only the versions."""

from __future__ import annotations

from ..environment import are_twins, interpreter_differences
from .findings import Finding

TWIN_HELP = "the GIL twin of the free-threaded build measures that (docs/free-threaded.md: make bench-ft PYTHON_TWIN=)"


def build_of(env: dict, python: str, version: str) -> dict:
    """The recorded build of the interpreter results.csv names `python`, else what the rows tell: its version."""
    for info in env.get("interpreters") or []:
        if python in (info.get("python"), info.get("executable")):
            return info
    return {"version": str(version)}


def pair(env: dict, gil: tuple[str, str], ft: tuple[str, str]) -> Finding:
    """`gil` and `ft`: (python_executable, python_version) as results.csv records them. The finding: `twins`,
    `not-twins` (with what differs besides the GIL) or `build-unknown` (the run did not record the builds)."""
    a, b = build_of(env, *gil), build_of(env, *ft)
    facts = {"gil": str(gil[1]), "ft": str(ft[1])}
    if "configure_args" not in a or "configure_args" not in b:
        differ: list[tuple[str, object, object]] = (
            [("version", facts["gil"], facts["ft"])] if facts["gil"] != facts["ft"] else []
        )
        return Finding("build-unknown", "interpreters", facts | {"differences": differ})
    if are_twins(a, b):
        return Finding("twins", "interpreters", facts)
    differ = [d for d in interpreter_differences(a, b) if d[0] != "GIL"]
    return Finding("not-twins", "interpreters", facts | {"differences": differ})


def interpreters(table) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The run's GIL builds and its free-threaded builds, each as (python_executable, python_version)."""
    pythons = table.drop_duplicates("python_executable")
    both: tuple[list, list] = ([], [])
    for r in pythons.itertuples():
        both[bool(r.free_threaded)].append((r.python_executable, r.python_version))
    return both


def twin_pythons(env: dict, table) -> set[str]:
    """The run's GIL builds that are twins of one of its free-threaded builds (as results.csv names them)."""
    gil, ft = interpreters(table)
    return {g[0] for g in gil for f in ft if pair(env, g, f).rule == "twins"}


def _names(differences) -> str:
    """ "version differs", "version and compiler differ"."""
    whats = [what for what, _, _ in differences]
    if len(whats) == 1:
        return f"{whats[0]} differs"
    return ", ".join(whats[:-1]) + " and " + whats[-1] + " differ"


def _details(differences) -> str:
    return "; ".join(f"{what}: {a or '(none)'} against {b or '(none)'}" for what, a, b in differences)


PHRASES = {
    "twins": lambda f: (
        f"{f['ft']}t and {f['gil']} are twins (the same version built the same way, with and without the GIL): "
        f"{f['measured']} are the cost of free threading alone."
    ),
    "not-twins": lambda f: (
        f"{f['ft']}t against {f['gil']}: {_names(f['differences'])} besides the GIL "
        f"({_details(f['differences'])}), so {f['measured']} are not the cost of free threading alone; "
        f"{TWIN_HELP}."
    ),
    "build-unknown": lambda f: (
        f"{f['ft']}t against {f['gil']}: "
        + (f"{_names(f['differences'])}, and " if f["differences"] else "")
        + f"how they were built was not recorded, so {f['measured']} are not known to be the cost of "
        f"free threading alone; {TWIN_HELP}."
    ),
}


def words(finding: Finding, measured: str = "the serial times below") -> str:
    """The pair in words; `measured`: what the sentence says its verdict of (what follows it in the document)."""
    return PHRASES[finding.rule]({**finding.facts, "measured": measured})
