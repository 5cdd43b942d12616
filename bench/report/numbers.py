"""The one formatter for the numbers the report, the terminal and compare quote: a value, a percentage, an interval.

Every speedup, share and interval gilbench prints goes through these functions, so a reader sees one style; the
parameters name the few variants the committed reports use (digits, a unit after each end, brackets or none).
A missing value (NaN) prints as "-".
"""

from __future__ import annotations

MISSING = "-"


def _known(v) -> bool:
    return v == v


def number(value, digits: int = 2, unit: str = "") -> str:
    """`1.23` (or `1.23x` with unit "x"); "-" for a missing value."""
    return f"{value:.{digits}f}{unit}" if _known(value) else MISSING


def speedup(value, digits: int = 2) -> str:
    """A speedup or a time ratio: `1.23x`."""
    return number(value, digits, "x")


def pct(share, digits: int = 0) -> str:
    """A share as a percentage: `12 %` (0.12)."""
    return f"{share * 100:.{digits}f} %" if _known(share) else MISSING


def interval(low, high, digits: int = 2, unit: str = "", brackets: bool = True) -> str:
    """`[1.10-1.35]`; with unit "x" each end carries it (`1.10x-1.35x`); brackets=False for an interval inside a
    sentence's own parentheses."""
    text = f"{low:.{digits}f}{unit}-{high:.{digits}f}{unit}"
    return f"[{text}]" if brackets else text


def estimate(value, low, high, digits: int = 2, unit: str = "", unknown: str | None = None) -> str:
    """A value with its interval: `1.23x [1.10-1.35]`. Where the interval is missing, `unknown` follows the value
    instead ("" leaves it out); unknown=None quotes the interval as it is (a one-block speedup's reads
    `[nan-nan]` in the report's tables, so that no cell of a table goes without the same shape)."""
    head = number(value, digits, unit)
    if unknown is not None and not (_known(low) and _known(high)):
        return head + unknown
    return f"{head} {interval(low, high, digits)}"


# Where a speedup has no interval (fewer than two paired blocks: no spread to take it from), in words, not "nan".
NO_INTERVAL = "no interval: under 2 blocks"


def halfwidth(share) -> str:
    """The precision of a speedup: `+-5 %`; NO_INTERVAL where it has none."""
    return f"+-{share * 100:.0f} %" if _known(share) else NO_INTERVAL
