"""The document's blocks: what a report is made of, typed, so each output renders by kind and never by words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Image:
    path: Path


@dataclass(frozen=True)
class Table:
    head: list[str]
    rows: list[list[str]]


Block = Heading | Paragraph | Bullets | Image | Table
