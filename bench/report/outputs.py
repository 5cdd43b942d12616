"""The report's outputs: one typed document rendered as Markdown, as a self-contained HTML page, and as terminal
lines. Each renderer reads the blocks' types; none reads their words."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from .layout import Block, Bullets, Heading, Image, Paragraph, Table


def to_markdown(blocks: list[Block], base: Path) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}\n")
        elif isinstance(block, Paragraph):
            out.append(block.text + "\n")
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {line}" for line in block.items) + "\n")
        elif isinstance(block, Image):
            path = block.path
            out.append(f"![{path.stem}]({path.relative_to(base) if path.is_relative_to(base) else path})\n")
        elif isinstance(block, Table):
            out.append(
                "| "
                + " | ".join(block.head)
                + " |\n|"
                + "---|" * len(block.head)
                + "\n"
                + "\n".join("| " + " | ".join(r) + " |" for r in block.rows)
                + "\n"
            )
    return "\n".join(out)


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "img{max-width:100%;border:1px solid #eee;margin:.5em 0}table{border-collapse:collapse;font-size:.85em}"
    "td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f4f4f4}"
    "code{background:#f4f4f4;padding:0 .2em}li{margin:.3em 0}"
)


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in block.items) + "</ul>"
    if isinstance(block, Image):
        data = base64.b64encode(block.path.read_bytes()).decode()
        return f'<img alt="{html.escape(block.path.stem)}" src="data:image/png;base64,{data}">'
    return (
        "<table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in block.head)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in block.rows)
        + "</table>"
    )


def to_html(blocks: list[Block]) -> str:
    head = f"<head><meta charset='utf-8'><title>gilbench report</title><style>{STYLE}</style></head>"
    return f"<!doctype html><html>{head}<body>{''.join(map(_html_block, blocks))}</body></html>"


def to_terminal(lines: list[str], prefix: str = "gilbench: ") -> list[str]:
    """Closing lines for the terminal (stderr), worded plain by bench/report/closing.py: one line each."""
    return [prefix + line for line in lines]
