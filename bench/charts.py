"""Charts from a summary (and tasks) table. matplotlib is imported here only, lazily."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from .analysis import BASELINE_VARIANT, CEILING, amdahl, usl
from .storage import atomic_write, file_stem
from .variants import VARIANTS

P = ParamSpec("P")
R = TypeVar("R")

UNKNOWN_COLOUR, UNKNOWN_MARKER = "#999999", "o"  # a variant in an old CSV that this gilbench does not define
FORMATS = ("png", "svg")


_collecting: list[dict] = []  # figures kept instead of written, for the Python API (see `collect`)


@contextlib.contextmanager
def collect() -> Iterator[dict]:
    """Inside this block the chart functions write nothing: each figure is kept under its file stem
    ('speedup-count', 'states-count', ...) in the dict this yields, for a notebook to show."""
    figures: dict = {}
    _collecting.append(figures)
    try:
        yield figures
    finally:
        _collecting.remove(figures)


def finish(fig, out, stem: str) -> list[Path]:
    """Write the figure (PNG and SVG); or, inside `collect()`, keep it."""
    if _collecting:
        _collecting[-1][stem] = fig
        return []
    return _save(fig, out, stem)


# gilbench's look, applied only while it draws (matplotlib.rc_context): the user's rcParams stay as they were
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_FIGURE_KEYWORDS = ("figsize", "layout", "dpi")


class _Figures:
    """What the chart functions need of pyplot. Outside a notebook: figures that belong to no backend and no pyplot
    figure list, so drawing charts neither chooses nor changes the user's backend, nor leaves figures open. In a
    notebook: pyplot's figures on the notebook's own backend (which makes them display inline), taken off pyplot's
    list at once so that a cell does not show them twice."""

    @staticmethod
    def subplots(*args, **kwargs):
        if "ipykernel" in sys.modules:
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(*args, **kwargs)
            plt.close(fig)  # still drawable and displayable; no longer pyplot's
            return fig, axes
        from matplotlib.figure import Figure

        fig = Figure(**{k: kwargs.pop(k) for k in _FIGURE_KEYWORDS if k in kwargs})
        return fig, fig.subplots(*args, **kwargs)


def pyplot() -> _Figures:
    """The figure maker every chart draws with (see _Figures): also for charts drawn outside this module."""
    return _Figures()


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Draw (and save) inside gilbench's style, leaving matplotlib's global settings alone."""

    @functools.wraps(draw)
    def draw_styled(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # its stubs take literal keys only
            return draw(*args, **kwargs)

    return draw_styled


def _variants(part):
    present = [v for v in part["variant"].unique() if v not in (BASELINE_VARIANT, CEILING)]
    order = list(VARIANTS)
    return sorted(present, key=lambda v: order.index(v) if v in order else len(order))


def colour(variant: str) -> str:
    return VARIANTS[variant].colour if variant in VARIANTS else UNKNOWN_COLOUR


def marker(variant: str) -> str:
    return VARIANTS[variant].marker if variant in VARIANTS else UNKNOWN_MARKER


def _workers_axis(ax, counts):
    counts = sorted(set(int(c) for c in counts))
    if counts and counts[-1] / counts[0] >= 8:
        ax.set_xscale("log", base=2)
    ax.set_xticks(counts)
    ax.set_xticklabels([str(c) for c in counts])
    ax.minorticks_off()
    ax.set_xlabel("workers")


def _usable_marker(ax, usable, counts):
    if counts and min(counts) <= usable <= max(counts):
        ax.axvline(usable, color="#777777", linestyle=":", linewidth=1)
        # along the line, just left of it, from the top down: markers sit on the line's other worker counts
        # or below the top, so the label no longer runs into them
        ax.annotate(
            f"{usable} usable CPUs",
            (usable, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-2, -3),
            textcoords="offset points",
            fontsize=7,
            color="#555555",
            ha="right",
            va="top",
            rotation=90,
        )


def _dodge(k: int, n: int) -> float:
    """Variants side by side at one worker count (a factor on the log-ish worker axis), so equal values
    (threads under the GIL all at 1.0 busy core) do not hide each other."""
    return 1 + 0.025 * (k - (n - 1) / 2)


def quoted_ceiling(part):
    """The ceiling's rows where it is the machine's limit: not where its own workers were unevenly busy or a variant
    beat it (`ceiling_unquoted`, bench/report/balance.py)."""
    c = part[part["variant"] == CEILING].sort_values("workers")
    return c[c["ceiling_unquoted"] == ""] if "ceiling_unquoted" in c else c


def _ceiling(part):
    c = quoted_ceiling(part)
    return c["workers"].to_numpy(), c["speedup"].to_numpy()


FIT_STYLES = {"amdahl": (0, (4, 3)), "usl": (0, (6, 2, 1, 2))}  # dashed: Amdahl; dash-dot: USL


def weak(part) -> bool:
    return "scaling" in part and (part["scaling"] == "weak").any()


def draw_fit(ax, v, counts) -> str | None:
    """The law that describes this variant's curve better (the summary's `law`), drawn in its own line style over
    the measured range; nothing where neither law describes the curve."""
    law = v["law"].iloc[0] if "law" in v else ""
    if law not in FIT_STYLES:
        return None
    grid = np.geomspace(min(counts), max(counts), 60)
    first = v.iloc[0]
    if "fitted" in v and v["fitted"].any():  # the range the law was fitted on: oversubscribed points are not
        fitted = v.loc[v["fitted"].astype(bool), "workers"]
        grid = np.geomspace(min(fitted), max(fitted), 60)
    y = amdahl(grid, first["amdahl_p"]) if law == "amdahl" else usl(grid, first["usl_sigma"], first["usl_kappa"])
    scale = first.get("fit_scale", 1.0)
    y = y * (scale if scale == scale else 1.0)  # the fit is of speedup over the variant's own 1-worker speedup
    ax.plot(grid, y, color=colour(v["variant"].iloc[0]), linestyle=FIT_STYLES[law], linewidth=1, alpha=0.8)
    return law


def draw_speedup(ax, part, *, fits=True, title=None):
    """Speedup vs workers: a line per variant with CI error bars, ideal, machine ceiling, and per variant the law
    (Amdahl or USL) that describes its curve, where one does."""
    counts = sorted(part["workers"].unique())
    ax.plot(counts, counts, color="#999999", linestyle="--", linewidth=1, label="ideal (linear)")
    cw, cs = _ceiling(part)
    if len(cw):
        ax.plot(
            cw, cs, color="#444444", linewidth=5, alpha=0.25, solid_capstyle="round", label="machine ceiling (measured)"
        )
    variants = _variants(part)
    drawn = set()
    for k, variant in enumerate(variants):
        v = part[part["variant"] == variant].sort_values("workers")
        yerr = np.vstack(
            [(v["speedup"] - v["speedup_low"]).clip(lower=0), (v["speedup_high"] - v["speedup"]).clip(lower=0)]
        )
        dodge = _dodge(k, len(variants))  # side by side, so error bars do not hide each other
        ax.errorbar(
            v["workers"] * dodge,
            v["speedup"],
            yerr=yerr,
            color=colour(variant),
            marker=marker(variant),
            markersize=5,
            linewidth=1.8,
            capsize=3,
            label=variant,
        )
        if fits:  # a fit that does not describe the data is not drawn
            drawn.add(draw_fit(ax, v, counts))
    for law, label in (("amdahl", "Amdahl fit"), ("usl", "USL fit (contention + coherency)")):
        if law in drawn:  # legend entries for the line styles, in grey: the colour is the variant's
            ax.plot([], [], color="#555555", linestyle=FIT_STYLES[law], linewidth=1, label=label)
    _workers_axis(ax, counts)
    _usable_marker(ax, int(part["usable_cpus"].iloc[0]), counts)
    ax.set_ylabel("scaled speedup N x T(1 share) / T(N)" if weak(part) else "speedup over serial (x)")
    if "speedup_coverage" in part and part["speedup_coverage"].notna().any():  # say what the bars are
        low = float(part.loc[part["variant"] != BASELINE_VARIANT, "speedup_coverage"].min())
        paired = "speedup_method" in part and part["speedup_method"].astype(str).str.startswith("paired-t").any()
        ax.set_xlabel(
            f"workers   (bars: paired-block t interval, {low * 100:.0f} %)"
            if paired
            else f"workers   (bars: order-statistic interval, coverage >= {low * 100:.1f} %)"
        )
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)


def draw_efficiency(ax, part):
    counts = sorted(part["workers"].unique())
    ax.axhline(100, color="#999999", linestyle="--", linewidth=1, label="ideal (linear)")
    c = quoted_ceiling(part)
    if len(c):
        ax.plot(
            c["workers"],
            c["efficiency"] * 100,
            color="#444444",
            linewidth=5,
            alpha=0.25,
            label="machine ceiling (measured)",
        )
    variants = _variants(part)
    for k, variant in enumerate(variants):
        v = part[part["variant"] == variant].sort_values("workers")
        ax.plot(
            v["workers"] * _dodge(k, len(variants)),
            v["efficiency"] * 100,
            color=colour(variant),
            marker=marker(variant),
            markersize=5,
            linewidth=1.8,
            label=variant,
        )
    _workers_axis(ax, counts)
    _usable_marker(ax, int(part["usable_cpus"].iloc[0]), counts)
    ax.set_ylabel("weak-scaling efficiency T(1) / T(N) (%)" if weak(part) else "efficiency = speedup / workers (%)")
    ax.set_ylim(0, max(110, float(np.nanmax(part["efficiency"].to_numpy() * 100)) + 10))


def draw_busy(ax, part):
    """Busy cores: task CPU time / compute time. Threads under the GIL sit on the 1-core line."""
    counts = sorted(part["workers"].unique())
    ax.plot(counts, counts, color="#999999", linestyle="--", linewidth=1, label="ideal (linear)")
    ax.axhline(1.0, color="#B22222", linestyle=":", linewidth=1.2, label="one core (what the GIL allows)")
    variants = _variants(part)
    for k, variant in enumerate(variants):
        v = part[part["variant"] == variant].sort_values("workers")
        ax.plot(
            v["workers"] * _dodge(k, len(variants)),
            v["busy_cores"],
            color=colour(variant),
            marker=marker(variant),
            markersize=5,
            linewidth=1.8,
            label=variant,
        )
    _workers_axis(ax, counts)
    _usable_marker(ax, int(part["usable_cpus"].iloc[0]), counts)
    ax.set_ylabel("busy cores (task CPU s / compute s)")
    ax.set_ylim(0, max(counts) * 1.1 + 0.2)


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = []
    for fmt in FORMATS:
        path = out / f"{file_stem(stem)}.{fmt}"
        # a half-written chart never replaces a good one
        paths.append(atomic_write(path, None, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, bbox_inches="tight")))
    return paths


def _interpreter(row) -> str:
    if row["free_threaded"]:
        return f"Python {row['python_version']}t ({'GIL re-enabled' if row['gil_enabled'] else 'no GIL'})"
    return f"Python {row['python_version']}"


def group_label(part) -> str:
    """A group's title (see `groups`): workload, size, interpreter with its GIL, host."""
    row = part.iloc[0]
    gil = (
        "free-threaded, GIL off"
        if row["free_threaded"] and not row["gil_enabled"]
        else ("free-threaded, GIL on" if row["free_threaded"] else "GIL")
    )
    size = f"{row['size']} per worker, weak scaling" if row.get("scaling") == "weak" else row["size"]
    return f"{row['workload']} ({size}) - Python {row['python_version']} ({gil}), {row['host']}"


def groups(table) -> list:
    """One part per (workload, size, interpreter, start method, --native-threads setting); a file-name suffix tells
    apart parts of the same workload (e.g. one run under two interpreters, or at two native-thread settings)."""
    from .analysis import BASELINE
    from .native import reference_setting
    from .registry import BUILTIN

    parts = [part.copy() for _, part in table.groupby(BASELINE, sort=False)]
    order = {name: i for i, name in enumerate(BUILTIN)}
    reference = reference_setting(table["native_setting"]) if "native_setting" in table and len(table) else ""
    parts.sort(
        key=lambda p: (
            order.get(p["workload"].iloc[0], len(order)),
            p["workload"].iloc[0],
            bool(p["free_threaded"].iloc[0]),
            "native_setting" in p and p["native_setting"].iloc[0] != reference,  # leave (the reference) first
        )
    )
    for part in parts:
        part.attrs["suffix"] = _file_suffix(
            part, [p for p in parts if p["workload"].iloc[0] == part["workload"].iloc[0]]
        )
    return parts


def _file_suffix(part, same_workload: list) -> str:
    """What tells a part's files apart from its workload's other parts: nothing where the workload has one part; the
    interpreter and start method where they (or its size) differ; the --native-threads setting only where the
    workload ran at several (`-native-1`), so a run at one setting keeps the file names it had before the option."""
    if len(same_workload) == 1:
        return ""
    row = part.iloc[0]
    interpreter = f"-py{row['python_version']}{'t' if row['free_threaded'] else ''}-{row['start_method']}"
    several = len({p["native_setting"].iloc[0] for p in same_workload if "native_setting" in p}) > 1
    setting = f"-native-{row['native_setting']}" if several else ""
    return (interpreter if len({_key_without_setting(p) for p in same_workload}) > 1 else "") + setting


def _key_without_setting(part) -> tuple:
    """A part's group key (analysis.BASELINE) less its --native-threads setting."""
    from .analysis import BASELINE

    return tuple(str(part[c].iloc[0]) for c in BASELINE if c != "native_setting" and c in part)


@styled
def chart_workload(table_part, tasks_part, out: Path) -> list[Path]:
    """The scaling figure (speedup, efficiency, busy cores), a speedup chart alone, and the timeline."""
    plt = pyplot()
    name = f"{table_part['workload'].iloc[0]}"
    suffix = _suffix(table_part)
    written = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    draw_speedup(axes[0], table_part, title="scaled speedup (weak scaling)" if weak(table_part) else "speedup")
    draw_efficiency(axes[1], table_part)
    axes[1].set_title("efficiency: same time for N x the work?" if weak(table_part) else "efficiency")
    draw_busy(axes[2], table_part)
    axes[2].set_title("busy cores: the GIL made visible")
    fig.suptitle(group_label(table_part), fontsize=12)
    handles: dict = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(6, len(handles)), frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    written += finish(fig, out, f"scaling-{name}{suffix}")

    fig, ax = plt.subplots(figsize=(7, 4.6))
    draw_speedup(ax, table_part, title=group_label(table_part))
    ax.legend(loc="upper left", fontsize=8, frameon=True, framealpha=0.9)
    fig.tight_layout()
    written += finish(fig, out, f"speedup-{name}{suffix}")
    if tasks_part is not None and not tasks_part.empty:
        written += chart_timeline(table_part, tasks_part, out, name + suffix)
    return written


def _suffix(part) -> str:
    """Distinguishes charts of the same workload run under different interpreters in one run."""
    return getattr(part, "attrs", {}).get("suffix", "")


def fitting_count(counts, usable: int | None):
    """The largest worker count above 1 that fits the usable CPUs (oversubscribed workers wait for cores and blur
    the picture of what the variant itself does), else the largest above 1; None without one."""
    above = [int(n) for n in counts if n > 1]
    fitting = [n for n in above if usable is None or n <= usable]
    return max(fitting or above, default=None)


def pick_timeline(workers_available, usable: int | None = None):
    """The largest worker count measured for both threading and multiprocessing (falling back to pools) that fits
    the usable CPUs - oversubscribed processes would wait for cores and blur the GIL's picture - else the largest."""
    for pair in (("threading", "multiprocessing"), ("thread-pool", "process-pool")):
        n = fitting_count(set(workers_available.get(pair[0], [])) & set(workers_available.get(pair[1], [])), usable)
        if n is not None:
            return pair, n
    return None, None


MAX_BARS = 400  # more task bars than this in one panel, or
MAX_LANES = 32  # more worker rows than this: the panel becomes a heat map (see _draw_heat)
HEAT_BINS = 160


def _lane_label(variant: str, pid: int, tid: int) -> str:
    return f"pid {pid}" + (f" / thread {tid % 100000}" if variant.startswith("thread") else "")


def _draw_bars(ax, sel, lanes, variant, cmap, norm) -> None:
    """A bar per task, in its worker's row, coloured by its CPU share; edges only where bars are few."""
    edge = len(sel) <= 60
    for lane_key, part in sel.groupby(["pid", "thread_id"]):
        lane = lanes[lane_key]
        ax.broken_barh(
            list(zip(part["start_s"], part["wall_s"], strict=True)),
            (lane - 0.35, 0.7),
            facecolors=[cmap(norm(v)) for v in part["cpu_share"]],
            edgecolors="white" if edge else "none",
            linewidth=0.5 if edge else 0,
        )
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([_lane_label(variant, p, t) for p, t in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.5)


def _draw_heat(ax, sel, lanes, variant, cmap, norm) -> str:
    """Too many tasks or workers for bars: time in bins, workers in at most MAX_LANES rows (groups of workers),
    each cell coloured by the CPU the tasks running there used per second of wall time and worker; where no task
    ran, the background shows. Returns what a row is."""
    ordered = list(lanes)
    per_row = max(1, -(-len(ordered) // MAX_LANES))
    rows = [ordered[k : k + per_row] for k in range(0, len(ordered), per_row)]
    row_of = {key: r for r, group in enumerate(rows) for key in group}
    end = float(sel["end_s"].max())
    edges = np.linspace(0, end, HEAT_BINS + 1)
    width = edges[1] - edges[0]
    cpu = np.zeros((len(rows), HEAT_BINS))
    busy = np.zeros((len(rows), HEAT_BINS))
    for start, stop, share, key in zip(
        sel["start_s"], sel["end_s"], sel["cpu_share"], zip(sel["pid"], sel["thread_id"], strict=True), strict=True
    ):
        first, last = int(start // width), min(HEAT_BINS - 1, int(stop // width))
        for b in range(max(0, first), last + 1):
            overlap = min(stop, edges[b + 1]) - max(start, edges[b])
            if overlap > 0:
                busy[row_of[key], b] += overlap
                cpu[row_of[key], b] += overlap * (share if share == share else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(busy > 0, cpu / busy, np.nan)  # the CPU share of the task time in that cell
    ax.set_facecolor("#f0f0f0")  # no task: the light background, not a colour of the bar
    ax.imshow(
        np.ma.masked_invalid(value),
        aspect="auto",
        cmap=cmap,
        norm=norm,
        interpolation="nearest",
        extent=(0, end, len(rows) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(rows)))
    if per_row == 1:
        ax.set_yticklabels([_lane_label(variant, p, t) for p, t in ordered])
        return "a row per worker"
    ax.set_yticklabels([f"workers {k * per_row + 1}-{min(len(ordered), (k + 1) * per_row)}" for k in range(len(rows))])
    return f"a row per {per_row} workers"


@styled
def chart_timeline(table_part, tasks_part, out: Path, stem: str) -> list[Path]:
    """Gantt: a row per worker, a bar per task coloured by its CPU share of wall time; with many tasks or workers,
    the same as a heat map (time bins x groups of workers), so it stays readable at any size."""
    plt = pyplot()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    measured = tasks_part[~tasks_part["warmup"]]
    available = {v: sorted(g["workers"].unique()) for v, g in measured.groupby("variant")}
    pair, n = pick_timeline(available, int(table_part["usable_cpus"].iloc[0]))
    if pair is None:
        return []
    cmap, norm = colormaps["cividis"], Normalize(0, 1)
    rows_shown = min(n, MAX_LANES)
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 2.2 + (0.45 if n <= MAX_LANES else 0.25) * rows_shown), sharex=True, layout="constrained"
    )
    for ax, variant in zip(axes, pair, strict=True):
        sel = measured[(measured["variant"] == variant) & (measured["workers"] == n)]
        # the repetition with the median wall time: typical, not the luckiest
        spans = sel.groupby(["repeat", "attempt"] if "attempt" in sel else ["repeat"])["end_s"].max()
        rep = spans.index[np.argsort(spans.to_numpy())[len(spans) // 2]]
        keys = rep if isinstance(rep, tuple) else (rep,)
        for column, value in zip(["repeat", "attempt"], keys, strict=False):  # keys: (repeat,) or (repeat, attempt)
            sel = sel[sel[column] == value]
        firsts = sel.groupby(["pid", "thread_id"])["start_s"].min().sort_values()
        lanes = {key: i for i, key in enumerate(firsts.index)}
        if len(sel) > MAX_BARS or len(lanes) > MAX_LANES:
            how = _draw_heat(ax, sel, lanes, variant, cmap, norm)
            what = f"{len(sel)} tasks on {len(lanes)} workers, {how}, time in {HEAT_BINS} bins"
        else:
            _draw_bars(ax, sel, lanes, variant, cmap, norm)
            what = f"{len(sel)} tasks"
        cpu = sel["cpu_s"].sum() / max(sel["wall_s"].sum(), 1e-12)
        ax.set_title(f"{variant}, {n} workers: tasks ran on CPU {cpu:.0%} of their wall time\n({what})", fontsize=9)
        ax.set_xlabel("seconds since the repetition started")
        ax.grid(axis="y", visible=False)
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=axes,
        label="CPU share of task wall time\n(dark: waiting for the GIL or a core;\nlight grey: no task)",
        fraction=0.03,
        pad=0.02,
    )
    fig.suptitle(f"task timeline - {group_label(table_part)}", fontsize=11)
    paths = finish(fig, out, f"timeline-{stem}")
    return paths


@styled
def chart_overview(table, out: Path) -> list[Path]:
    """One page, all workloads: speedup and busy cores side by side. The README's picture."""
    plt = pyplot()
    parts = groups(table)
    fig, axes = plt.subplots(len(parts), 2, figsize=(12, 3.6 * len(parts) + 0.8), squeeze=False)
    several = table["python_executable"].nunique() > 1
    for row, part in zip(axes, parts, strict=True):
        first = part.iloc[0]
        who = f"{first['workload']}" + (f", {_interpreter(first)}" if several else "")
        draw_speedup(row[0], part, fits=False, title=f"{who}: speedup over serial")
        draw_busy(row[1], part)
        row[1].set_title(f"{who}: busy cores")
    handles: dict = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    first = parts[0].iloc[0]
    pythons = sorted({_interpreter(p.iloc[0]) for p in parts})
    fig.suptitle(
        f"gilbench on {first['host']} ({int(first['usable_cpus'])} usable CPUs), {' and '.join(pythons)}", fontsize=12
    )
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.7 / (3.6 * len(parts) + 0.8), 1, 0.97))
    paths = finish(fig, out, "overview")
    return paths


COMPARE_STYLES: list = ["-", "--", ":", "-."]  # one line style per run; matplotlib's stubs accept these literals only
COMPARE_LEGEND_WIDTH = 2.3  # inches on the right of a compare chart for its two legends


def _run_letters(count: int) -> list[str]:
    """The names of the runs in a compare chart's legends: A, B, ... then numbers past Z."""
    return [chr(ord("A") + i) if i < 26 else str(i + 1) for i in range(count)]


def _draw_compare_panel(ax, tables: list, workload: str, baseline: str, shown: list) -> None:
    """One workload's panel of a compare chart: every run's variants, the run told by the line style; appends the
    variants drawn to `shown` (for the legend)."""
    counts: set[int] = set()
    first = tables[0][(tables[0]["workload"] == workload) & (tables[0]["variant"] == BASELINE_VARIANT)]
    for i, table in enumerate(tables):
        part = table[table["workload"] == workload]
        counts |= set(part["workers"])
        if baseline == "first":
            if first.empty:
                continue
            speedup = part["scale"] * first["median_s"].iloc[0] / part["median_s"]
        else:
            speedup = part["speedup"]
        for variant in _variants(part):
            rows = part["variant"] == variant
            v = part[rows].assign(y=speedup[rows]).sort_values("workers")
            ax.plot(
                v["workers"],
                v["y"],
                color=colour(variant),
                linestyle=COMPARE_STYLES[i % len(COMPARE_STYLES)],
                marker=marker(variant),
                markersize=4,
                linewidth=1.6,
            )
            if variant not in shown:
                shown.append(variant)
    ordered = sorted(counts)
    ax.plot(ordered, ordered, color="#999999", linestyle="--", linewidth=1)
    _workers_axis(ax, ordered)
    ax.set_ylabel(
        "speedup over run A's serial (x)" if baseline == "first" else "speedup over each run's own serial (x)"
    )
    ax.set_ylim(bottom=0)
    ax.set_title(workload)


def _compare_legends(fig, shown: list, runs: int) -> None:
    """The two legends right of a compare chart's panels: the variants (colour) and the runs (line style)."""
    from matplotlib.lines import Line2D

    variant_handles = [Line2D([], [], color=colour(v), marker=marker(v), label=v) for v in shown]
    letters = _run_letters(runs)
    run_handles = [
        Line2D([], [], color="#333333", linestyle=COMPARE_STYLES[i % len(COMPARE_STYLES)], label=f"run {letters[i]}")
        for i in range(runs)
    ]
    left = 1 - COMPARE_LEGEND_WIDTH / fig.get_figwidth()
    fig.legend(
        handles=variant_handles,
        loc="upper left",
        bbox_to_anchor=(left, 0.9),
        fontsize=8,
        title="variant",
        frameon=False,
    )
    fig.legend(
        handles=run_handles, loc="lower left", bbox_to_anchor=(left, 0.25), fontsize=8, title="run", frameon=False
    )


COMPARE_COLUMNS = 3  # panels per row of a compare chart: more workloads wrap into rows, not one wide strip
COMPARE_PANEL_IN = (5.5, 4.2)  # inches of one panel (width, height)


@styled
def chart_compare(tables: list, labels: list[str], out: Path, baseline: str = "own") -> list[Path]:
    """Overlay several runs (machines, interpreters) on one speedup chart per workload, in rows of COMPARE_COLUMNS
    panels; `tables` hold what the runs share (render.compare keeps the cells compared). Colour: the variant; line
    style: the run, named by a letter in the legends beside the plot, with the full labels under it. `baseline`:
    'own' (each run's speedup over its own serial) or 'first' (over the first run's serial: a slower single thread
    shows)."""
    import textwrap

    plt = pyplot()
    workloads = list(dict.fromkeys(w for t in tables for w in t["workload"]))
    columns = min(COMPARE_COLUMNS, len(workloads))
    rows = -(-len(workloads) // columns)
    letters = _run_letters(len(tables))
    width_in = COMPARE_PANEL_IN[0] * columns + COMPARE_LEGEND_WIDTH
    width = int(width_in * 12)  # characters of 9-point text across the figure
    key = "\n".join(textwrap.fill(f"{letters[i]}: {label}", width) for i, label in enumerate(labels))
    lines = key.count("\n") + 1
    key_in = 0.5 + 0.16 * lines  # inches under the panels for the runs' labels
    fig, axes = plt.subplots(
        rows, columns, figsize=(width_in, COMPARE_PANEL_IN[1] * rows + 0.8 + key_in), squeeze=False
    )
    shown: list = []
    for ax, workload in zip(axes.flat, workloads, strict=False):
        _draw_compare_panel(ax, tables, workload, baseline, shown)
    for ax in list(axes.flat)[len(workloads) :]:
        ax.set_visible(False)
    _compare_legends(fig, shown, len(tables))
    which = (
        "baseline: run A's serial (a slower single thread shows)"
        if baseline == "first"
        else "baseline: each run's own serial"
    )
    fig.suptitle(textwrap.fill("compare, the cells the runs share; " + which, width), fontsize=11)
    fig.text(0.01, 0.01, key, fontsize=8, va="bottom", ha="left")
    height = fig.get_figheight()
    # the panels stop a little left of the legends, above the runs' labels
    fig.tight_layout(rect=(0, key_in / height, 1 - COMPARE_LEGEND_WIDTH / width_in, 1 - 0.6 / height))
    return finish(fig, out, "compare")


STATE_COLOURS = {"running": "#2e8b57", "waiting for a core": "#e69f00", "blocked": "#d9d9d9"}
STATE_WINDOW_SWITCHES = 20  # a state chart shows 20 switch intervals (100 ms at CPython's default): hand-offs visible


def pick_states(summary_part, usable: int) -> list[tuple[str, int]]:
    """The panels of a state chart: every traced variant (not serial, not the ceiling) at the largest traced worker
    count that fits the usable CPUs, and one process variant oversubscribed, where the run went past the CPUs."""
    traced = summary_part[summary_part["unavailable"].fillna("") == ""]
    panels = []
    order = list(VARIANTS)
    present = sorted(
        set(traced["variant"]) - {BASELINE_VARIANT, CEILING}, key=lambda v: order.index(v) if v in order else len(order)
    )
    for variant in present:
        n = fitting_count(traced[traced["variant"] == variant]["workers"], usable)
        if n is not None:
            panels.append((variant, n))
    for variant in present:
        if VARIANTS.get(variant) and VARIANTS[variant].family == "processes":
            over = [n for n in traced[traced["variant"] == variant]["workers"].astype(int) if n > usable]
            if over and (variant, max(over)) not in panels:
                panels.append((variant, max(over)))
                break
    return panels


def _draw_state_panel(ax, row, mine, variant: str, n: int, usable: int) -> None:
    """One traced cell's panel: its worker threads (or processes) as rows, coloured by state, over a window of
    STATE_WINDOW_SWITCHES switch intervals in the middle of the repetition; `row` is the cell's trace summary."""
    starts = mine.groupby(["pid", "thread_id"])["start_s"].min().sort_values()
    lanes = {key: i for i, key in enumerate(starts.index)}
    window = STATE_WINDOW_SWITCHES * float(row["switch_interval_s"])
    busy = mine[mine["state"] != "blocked"]
    first = float(busy["start_s"].min()) if not busy.empty else float(mine["start_s"].min())
    last = float(mine["end_s"].max())
    mid = first + (last - first) / 2
    low, high = (first, last) if last - first <= window else (mid - window / 2, mid + window / 2)
    shown = mine[(mine["end_s"] > low) & (mine["start_s"] < high)]
    for (pid, tid, state), seg in shown.groupby(["pid", "thread_id", "state"]):
        ax.broken_barh(
            list(zip(seg["start_s"], seg["end_s"] - seg["start_s"], strict=True)),
            (lanes[(pid, tid)] - 0.38, 0.76),
            facecolors=STATE_COLOURS.get(state, UNKNOWN_COLOUR),
            linewidth=0,
        )
    ax.set_xlim(low, high)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_yticks(range(len(lanes)))
    threads = variant in VARIANTS and VARIANTS[variant].family in ("threads", "interpreters", "serial")
    native = set(map(tuple, mine.loc[mine["native"], ["pid", "thread_id"]].to_numpy())) if "native" in mine else set()
    ax.set_yticklabels(
        [
            f"native thread {tid}" if (pid, tid) in native else f"thread {tid}" if threads else f"process {pid}"
            for pid, tid in lanes
        ]
    )
    ax.grid(axis="y", visible=False)
    over = f" on {usable} CPUs (oversubscribed)" if n > usable else ""
    ax.set_title(
        f"{variant}, {n} workers{over}: running {row['running_share']:.0%}, waiting for a core "
        f"{row['waiting_share']:.0%}, blocked {row['blocked_share']:.0%} of the worker threads' time; "
        f"{row['handoffs_per_s']:.0f} hand-offs/s",
        fontsize=9,
        loc="left",
    )
    ax.set_xlabel(
        f"seconds since the repetition started ({(high - low) * 1000:.0f} ms shown"
        + (f" of {(last - first) * 1000:.0f} ms" if high - low < last - first - 1e-9 else "")
        + ")"
    )


@styled
def chart_states(summary_part, trace_part, out: Path, stem: str, title: str, usable: int) -> list[Path]:
    """A state timeline per traced cell: the worker threads as rows, coloured by what each was doing (read by a
    sampler from /proc): running, waiting for a core, blocked (the GIL, a lock, I/O)."""
    panels = pick_states(summary_part, usable)
    if not panels or trace_part is None or trace_part.empty:
        return []

    def sampled(variant, n):  # a cell shorter than a few readings may end before the sampler saw a worker
        shown = trace_part["worker"] | (trace_part["native"] if "native" in trace_part else False)
        return trace_part[(trace_part["variant"] == variant) & (trace_part["workers"] == n) & shown]

    panels = [(variant, n) for variant, n in panels if not sampled(variant, n).empty]
    if not panels:
        return []
    plt = pyplot()
    from matplotlib.patches import Patch

    heights = []
    for variant, n in panels:
        mine = sampled(variant, n)
        heights.append(max(1, mine.groupby(["pid", "thread_id"]).ngroups))
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(11, 1.6 + sum(0.32 * h + 0.9 for h in heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": [h + 2 for h in heights]},
        layout="constrained",
    )  # room for the two-line title at any number of rows
    for ax, (variant, n) in zip(axes[:, 0], panels, strict=True):
        row = summary_part[(summary_part["variant"] == variant) & (summary_part["workers"] == n)].iloc[0]
        _draw_state_panel(ax, row, sampled(variant, n), variant, n, usable)
    first_row = summary_part.iloc[0]
    fig.legend(
        [Patch(facecolor=c) for c in STATE_COLOURS.values()],
        ["running", "waiting for a core (runnable, in a run queue)", "blocked (the GIL, a lock, I/O, sleep)"],
        loc="outside lower center",
        ncol=3,
        frameon=False,
    )
    fig.suptitle(
        f"thread states - {title}\nsampled from /proc every {first_row['interval_s'] * 1000:.1f} ms by a "
        f"separate process (switch interval {first_row['switch_interval_s'] * 1000:.0f} ms); the sampler "
        f"used {summary_part['sampler_cpu_share'].median():.0%} of one core",
        fontsize=10,
    )
    paths = finish(fig, out, f"states-{stem}")
    return paths
