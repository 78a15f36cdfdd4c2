"""Report content as data: the sections ``summary.md`` and ``report.html`` are made of.

A section function (:mod:`bessx.report`, :func:`bessx.health.health_section`) returns a
:class:`Section`: a title and blocks of :class:`Text`, :class:`Items`, :class:`Table` and
:class:`Heading`. :func:`to_markdown` renders sections as Markdown, :mod:`bessx.report_html`
renders the same objects as HTML, so the two documents cannot disagree. Text holds two kinds
of inline mark-up only, ```code``` and ``**strong**`` (and ``*emphasis*``); everything else
is plain text, escaped by each renderer (``|`` in Markdown tables, ``<`` and ``&`` in HTML).

:func:`date_ranges` prints a list of dates as runs of consecutive days, the form every
report of bessx uses for a list of dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "Block",
    "Heading",
    "Items",
    "Section",
    "Table",
    "Text",
    "cells",
    "date_ranges",
    "from_markdown",
    "inline_html",
    "markdown_table",
    "to_markdown",
]

#: A missing number in a table.
MISSING: Final = "–"
#: At most this many runs of dates are printed; the rest are counted.
MAX_RANGES: Final = 8


@dataclass(frozen=True)
class Text:
    """A paragraph (inline ```code```, ``**strong**`` and ``*emphasis*`` allowed)."""

    text: str


@dataclass(frozen=True)
class Items:
    """A bulleted list, one string per item (inline mark-up as in :class:`Text`)."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Heading:
    """A sub-heading within a section."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of text cells; a column is numeric (right-aligned) when all its cells are.

    Attributes
    ----------
    header
        The column names.
    rows
        The cells, one tuple per row, as many as ``header``.
    name
        A short identifier, the same in every rendering (the HTML table's ``id``).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    name: str = ""

    def numeric(self) -> list[bool]:
        """Whether each column holds numbers only (judged on its cells; empty: False)."""
        return [
            bool(self.rows) and all(_looks_numeric(row[k]) for row in self.rows)
            for k in range(len(self.header))
        ]


Block = Text | Items | Heading | Table


@dataclass(frozen=True)
class Section:
    """A titled part of a report.

    Attributes
    ----------
    key
        A short identifier (the HTML anchor).
    title
        The heading.
    blocks
        The content, in order.
    """

    key: str
    title: str
    blocks: tuple[Block, ...]

    def tables(self) -> list[Table]:
        """The tables of the section, in order."""
        return [block for block in self.blocks if isinstance(block, Table)]


# Markdown ---------------------------------------------------------------------------------------
def to_markdown(section: Section, *, level: int = 2) -> str:
    """A section as Markdown: ``## title``, then its blocks separated by blank lines.

    Examples
    --------
    >>> table = Table(("a", "n"), (("x|y", "2"),))
    >>> section = Section("s", "Flags", (Text("Two `gap` rows."), table))
    >>> print(to_markdown(section))
    ## Flags
    <BLANKLINE>
    Two `gap` rows.
    <BLANKLINE>
    | a | n |
    | --- | ---: |
    | x\\|y | 2 |
    """
    parts = [f"{'#' * level} {section.title}"]
    for block in section.blocks:
        if isinstance(block, Text):
            parts.append(_one_line(block.text))
        elif isinstance(block, Items):
            parts.append("\n".join(f"- {_escape(item)}" for item in block.items))
        elif isinstance(block, Heading):
            parts.append(f"{'#' * (level + 1)} {block.text}")
        else:
            parts.append(markdown_table(block))
    return "\n\n".join(parts)


def from_markdown(text: str, key: str = "") -> Section:
    r"""A section written as Markdown text, read back into blocks (the inverse of
    :func:`to_markdown` for the Markdown it writes).

    For sections written as text: ``## title``, paragraphs, ``- `` items, ``### ``
    sub-headings and pipe tables (``\|`` in a cell is a ``|``). A table's name is the key
    and its number in the section (``key-1``, ...). Anything else is kept as a paragraph.

    Examples
    --------
    >>> text = "## Flags\n\nTwo `gap` rows.\n\n| a | n |\n| --- | ---: |\n| x\\|y | 2 |"
    >>> section = from_markdown(text)
    >>> section.title, section.blocks[1]
    ('Flags', Table(header=('a', 'n'), rows=(('x|y', '2'),), name='flags-1'))
    >>> to_markdown(section) == text
    True
    """
    lines = text.strip("\n").split("\n")
    title = lines[0].lstrip("#").strip() if lines and lines[0].startswith("#") else ""
    key = key or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    body = lines[1:] if title else lines
    blocks: list[Block] = []
    chunks: list[list[str]] = [[]]
    for line in body:
        if line.strip():
            chunks[-1].append(line)
        elif chunks[-1]:
            chunks.append([])
    for chunk in chunks:
        if not chunk:
            continue
        if chunk[0].startswith("#"):
            blocks.append(Heading(chunk[0].lstrip("#").strip()))
            chunk = chunk[1:]
            if not chunk:
                continue
        if all(line.startswith("|") for line in chunk) and len(chunk) >= 2:
            rows = [
                tuple(
                    cell.strip().replace("\\|", "|")
                    for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])
                )
                for line in chunk
            ]
            count = sum(isinstance(block, Table) for block in blocks) + 1
            blocks.append(Table(rows[0], tuple(rows[2:]), f"{key}-{count}"))
        elif all(line.startswith("- ") for line in chunk):
            blocks.append(Items(tuple(line[2:].replace("\\|", "|") for line in chunk)))
        else:
            blocks.append(Text(" ".join(chunk)))
    return Section(key, title, tuple(blocks))


def markdown_table(table: Table) -> str:
    """A Markdown pipe table (``|`` in cells escaped, numbers right-aligned)."""
    align = ["---:" if right else "---" for right in table.numeric()]
    lines = [
        "| " + " | ".join(_escape(name) for name in table.header) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _one_line(text: str) -> str:
    return str(text).replace("\n", " ")


def _looks_numeric(text: str) -> bool:
    if text == MISSING:
        return True
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit()


# HTML inline mark-up ----------------------------------------------------------------------------
_INLINE: Final = re.compile(r"`([^`]*)`|\*\*(.+?)\*\*|\*([^*\s][^*]*)\*")


def inline_html(text: str) -> str:
    """Text with its inline mark-up as HTML: every other character escaped.

    Examples
    --------
    >>> inline_html("**2 flags** in `<b&c>` on *one* day")
    '<strong>2 flags</strong> in <code>&lt;b&amp;c&gt;</code> on <em>one</em> day'
    """
    from markupsafe import escape

    parts = []
    position = 0
    for match in _INLINE.finditer(text):
        parts.append(str(escape(text[position : match.start()])))
        code, strong, emphasis = match.groups()
        if code is not None:
            parts.append(f"<code>{escape(code)}</code>")
        elif strong is not None:
            parts.append(f"<strong>{inline_html(strong)}</strong>")
        else:
            parts.append(f"<em>{inline_html(emphasis)}</em>")
        position = match.end()
    parts.append(str(escape(text[position:])))
    return "".join(parts)


# Dates ------------------------------------------------------------------------------------------
def date_ranges(dates: Iterable[object], *, limit: int = MAX_RANGES) -> str:
    """Dates as runs of consecutive days: ``2022-10-04 to 2023-03-31 (179 days), 2023-04-05``.

    Parameters
    ----------
    dates
        Dates (anything :class:`pandas.DatetimeIndex` takes); order and repeats do not
        matter.
    limit
        Runs printed at most; the rest are counted (``and 3 more runs, 12 days``).

    Returns
    -------
    str
        ``""`` for no dates.

    Examples
    --------
    >>> date_ranges(["2022-10-05", "2022-10-04", "2022-10-06", "2022-10-09"])
    '2022-10-04 to 2022-10-06 (3 days), 2022-10-09'
    >>> date_ranges(pd.date_range("2022-10-04", "2023-03-31"))
    '2022-10-04 to 2023-03-31 (179 days)'
    >>> date_ranges(["2022-01-01", "2022-01-03", "2022-01-05"], limit=1)
    '2022-01-01 and 2 more runs (2 days)'
    """
    runs = _runs(pd.DatetimeIndex(list(dates)))
    shown = [_run_text(first, last) for first, last in runs[:limit]]
    text = ", ".join(shown)
    rest = runs[limit:]
    if rest:
        days = sum(int((last - first).days) + 1 for first, last in rest)
        text += f" and {len(rest)} more run{'s' if len(rest) > 1 else ''} ({days} day"
        text += "s)" if days > 1 else ")"
    return text


def _runs(dates: pd.DatetimeIndex) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    days = np.unique(dates.normalize().values.astype("datetime64[D]"))
    if not len(days):
        return []
    breaks = np.flatnonzero(np.diff(days) != np.timedelta64(1, "D")) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks - 1, [len(days) - 1]])
    return [
        (pd.Timestamp(days[s]), pd.Timestamp(days[e])) for s, e in zip(starts, ends, strict=True)
    ]


def _run_text(first: pd.Timestamp, last: pd.Timestamp) -> str:
    if first == last:
        return f"{first:%Y-%m-%d}"
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d} ({(last - first).days + 1} days)"


def cells(rows: Iterable[Sequence[object]]) -> tuple[tuple[str, ...], ...]:
    """Table rows as tuples of strings."""
    return tuple(tuple(str(cell) for cell in row) for row in rows)
