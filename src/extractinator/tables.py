"""Tables in a report's text, and when each of their results was taken. Lab notes and print-
outs give results as tables: a row per test and a column per date ("Bepaling  21-11 06:10
20-11 06:05 ..."), newest first or last, or a row per date and a column per test ("| juni |
128 | 4,9 |"). A small model reads such a table as running text and copies a cell of the
wrong column. Here a table is found and cut into cells with their offsets, so the result of
a test at a given time can be looked up.

Two layouts are read: markdown rows (``| a | b |``, the ``|---|`` line skipped) and columns
aligned with spaces (three or more lines in a row, each with three or more cells apart by
two or more spaces or a tab; a cell belongs to the header cell that starts at or left of
it). The first line is the header; one indented past every row's first cell has no cell
over the rows' labels ("   14-6   12-6" over "Hb   7,1   7,6"), so an empty one is put there.

A time is a date ("21-11", "21-11-2026", "2026-11-21", with "06:10" after it), a month
("maart", "june"), a day of the week with or without a clock time ("ma 07:00", "vr",
"friday"; ordered within one week, Monday first: a table across a weekend is misread), a
word for now ("vandaag", "today", "nu", "huidig", "actueel"), which
is later than any date, or a word for after or before ("post-HD", "ontslag";
"pre-HD", "opname", "baseline"), later or earlier than any date. A table's times run
along its header (a column per time) when two or more header cells after the first are
times, down its first column (a row per time) when two or more rows start with one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["Cell", "Table", "tables_in", "time_of"]

_MARKDOWN_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_MARKDOWN_RULE = re.compile(r"^[ \t]*\|?[ \t:|-]*-{3,}[ \t:|-]*$")
_GAP = re.compile(r"\t+| {2,}")
_DATE = re.compile(
    r"\b(?:(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})(?:[-/.](?P<y>\d{2,4}))?)\b"
    r"(?:[ \t,]+(?P<h>\d{1,2})[:.](?P<min>\d{2})\b)?"
)
_NOW = re.compile(r"\b(?:vandaag|today|nu|now|huidig\w*|actueel|current)\b", re.IGNORECASE)
_BEFORE = re.compile(r"\b(?:pre|voor|opname|admission|baseline)\b", re.IGNORECASE)
_AFTER = re.compile(r"\b(?:post|ontslag|discharge)\b", re.IGNORECASE)  # not "na": natrium
_MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "february": 2,
    "mrt": 3, "maart": 3, "mar": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6, "jul": 7, "juli": 7, "july": 7, "aug": 8,
    "augustus": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "okt": 10,
    "oct": 10, "oktober": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}  # fmt: skip
_WEEKDAYS = {
    "ma": 1, "maandag": 1, "mon": 1, "monday": 1, "di": 2, "dinsdag": 2, "tue": 2,
    "tuesday": 2, "wo": 3, "woensdag": 3, "wed": 3, "wednesday": 3, "do": 4,
    "donderdag": 4, "thu": 4, "thursday": 4, "vr": 5, "vrijdag": 5, "fri": 5, "friday": 5,
    "za": 6, "zaterdag": 6, "sat": 6, "saturday": 6, "zo": 7, "zondag": 7, "sun": 7,
    "sunday": 7,
}  # fmt: skip
_CLOCK = re.compile(r"^(?P<h>\d{1,2})[:.](?P<min>\d{2})$")
_LATEST = (10_000,)
_AFTER_ALL = (9_999,)  # after any date, before now
_BEFORE_ALL = (-1,)  # before any date


@dataclass(frozen=True)
class Cell:
    """One cell: its text (stripped) and where it is in the report."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Table:
    """A table: its header cells, and its rows with a cell (or None) per header column."""

    header: list[Cell]
    rows: list[list[Cell | None]]
    start: int
    end: int

    def times_across(self) -> dict[int, tuple[int, ...]]:
        """The columns (by index) whose header is a time, with the time: where two or more
        header cells after the first are, else none."""
        times = {i: t for i, c in enumerate(self.header) if i and (t := time_of(c.text))}
        return times if len(times) >= 2 else {}

    def times_down(self) -> dict[int, tuple[int, ...]]:
        """The rows (by index) whose first cell is a time, with the time: where two or more
        are, else none."""
        times = {i: t for i, row in enumerate(self.rows) if row[0] and (t := time_of(row[0].text))}
        return times if len(times) >= 2 else {}


def time_of(text: str) -> tuple[int, ...] | None:
    """When ``text`` (a header or first cell) says a result was taken, as a sortable key, or
    None (see the module docstring)."""
    if _NOW.search(text):
        return _LATEST
    if _AFTER.search(text) and not _BEFORE.search(text):
        return _AFTER_ALL
    if _BEFORE.search(text) and not _AFTER.search(text):
        return _BEFORE_ALL
    m = _DATE.search(text)
    if m:
        if m["iy"]:
            year, month, day = int(m["iy"]), int(m["im"]), int(m["id"])
        else:
            year, month, day = int(m["y"] or 0), int(m["m"]), int(m["d"])
            year += 2000 if 0 < year < 100 else 0
        if 1 <= month <= 12 and 1 <= day <= 31:
            return (year, month, day, int(m["h"] or 0), int(m["min"] or 0))
    words = re.findall(r"[^\W\d_]+", text.lower())
    months = [_MONTHS[w] for w in words if w in _MONTHS]
    if len(months) == 1 and len(words) <= 2:
        return (0, months[0], 0, 0, 0)
    return _weekday(text)


def _weekday(text: str) -> tuple[int, ...] | None:
    """A day of the week, alone or with a clock time after it ("wo 06:30")."""
    day, _, clock = text.strip().lower().rstrip(".").partition(" ")
    day = day.rstrip(".")
    at = _CLOCK.match(clock.strip()) if clock.strip() else None
    if day not in _WEEKDAYS or (clock.strip() and at is None):
        return None
    return (0, 0, _WEEKDAYS[day], int(at["h"]) if at else 0, int(at["min"]) if at else 0)


def tables_in(text: str) -> list[Table]:
    """The tables of ``text`` (see the module docstring), in order."""
    lines = _lines(text)
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        if _MARKDOWN_ROW.match(lines[i][1]):
            block = _block(lines, i, lambda s: bool(_MARKDOWN_ROW.match(s)))
            rows = [_markdown_cells(s, o) for o, s in block if not _MARKDOWN_RULE.match(s)]
            if len(rows) >= 2:
                tables.append(_table(rows[0], [_by_order(r, rows[0]) for r in rows[1:]]))
        else:
            block = _block(lines, i, lambda s: len(_aligned_cells(s, 0)) >= 3)
            if len(block) >= 3:
                (head_at, _), *rest = block
                header = _aligned_cells(block[0][1], head_at)
                cells = [_aligned_cells(s, o) for o, s in rest]
                if all(
                    r[0].start - o < header[0].start - head_at
                    for r, (o, _) in zip(cells, rest, strict=True)
                ):
                    header = [Cell("", head_at, head_at), *header]  # no header over the labels
                rows = [
                    _by_place(r, o, header, head_at) for r, (o, _) in zip(cells, rest, strict=True)
                ]
                tables.append(_table(header, rows))
        i += max(1, len(block))
    return tables


def _lines(text: str) -> list[tuple[int, str]]:
    out, at = [], 0
    for line in text.splitlines(keepends=True):
        out.append((at, line.rstrip("\r\n")))
        at += len(line)
    return out


def _block(
    lines: list[tuple[int, str]], i: int, fits: Callable[[str], bool]
) -> list[tuple[int, str]]:
    block = []
    while i < len(lines) and lines[i][1].strip() and fits(lines[i][1]):
        block.append(lines[i])
        i += 1
    return block


def _markdown_cells(line: str, offset: int) -> list[Cell]:
    cells = []
    bars = [m.start() for m in re.finditer(r"\|", line)]
    for left, right in pairwise(bars):
        cells.append(_cell(line, offset, left + 1, right))
    return cells


def _aligned_cells(line: str, offset: int) -> list[Cell]:
    cells, at = [], 0
    for gap in [*_GAP.finditer(line), None]:
        end = gap.start() if gap else len(line)
        if line[at:end].strip():
            cells.append(_cell(line, offset, at, end))
        at = gap.end() if gap else end
    return cells


def _cell(line: str, offset: int, left: int, right: int) -> Cell:
    raw = line[left:right]
    lead = len(raw) - len(raw.lstrip())
    text = raw.strip()
    return Cell(text, offset + left + lead, offset + left + lead + len(text))


def _by_order(row: list[Cell], header: list[Cell]) -> list[Cell | None]:
    return [row[i] if i < len(row) else None for i in range(len(header))]


def _by_place(row: list[Cell], row_at: int, header: list[Cell], head_at: int) -> list[Cell | None]:
    """``row``'s cells (its line at ``row_at``) under the header cell (its line at
    ``head_at``) that starts at or left of each; where two fall under one, the first stays."""
    out: list[Cell | None] = [None] * len(header)
    for cell in row:
        under = [i for i, h in enumerate(header) if h.start - head_at <= cell.start - row_at + 1]
        i = under[-1] if under else 0
        if out[i] is None:
            out[i] = cell
    return out


def _table(header: list[Cell], rows: list[list[Cell | None]]) -> Table:
    cells = [c for row in [header, *rows] for c in row if c is not None]
    return Table(header, rows, min(c.start for c in cells), max(c.end for c in cells))
