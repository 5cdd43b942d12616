"""The report as a pipeline: evidence -> rules -> findings -> wording -> document -> outputs.

evidence (a variant's row, a workload group's view) is read by rules (every gate and threshold, each with an id);
findings are what held, as data (rule id, subject, facts); wording is the only place they become words (one
phrase per rule id; bench/report/numbers.py formats every number); document arranges typed sections; outputs
renders them as Markdown, HTML and terminal lines. The CLI's closing lines, the spectrum's findings and compare's
verdicts are worded here too (closing.py, suite.py, compare.py).
"""

from .context import context_check
from .document import build_blocks, law_table
from .laws import law_sentences
from .outputs import to_html, to_markdown
from .workload import (
    CONTEXT_FIRST,
    answer,
    state_findings,
    tutorial_findings,
    workload_findings,
)

__all__ = [
    "CONTEXT_FIRST",
    "answer",
    "build_blocks",
    "context_check",
    "law_sentences",
    "law_table",
    "state_findings",
    "to_html",
    "to_markdown",
    "tutorial_findings",
    "workload_findings",
]
