"""Report text cut into segments at the offsets of spans and evidence quotes, for display.

Marks may nest (a span inside an evidence quote, a quote inside another): a mark inside
another becomes its child segment. Marks that cross (one starts inside another and ends
after it) are split at the outer one's end; the pieces after the first have ``first``
False (the page shows the label once). Page starts of documents become empty ``page``
segments between the top-level ones. Templates render every segment's text escaped.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Segment:
    """A run of report text; ``kind`` is "" (plain), "span", "evidence" or "page"."""

    text: str
    kind: str = ""
    label: str = ""
    title: str = ""
    children: list[Segment] = field(default_factory=list)  # nested marks (and plain text)
    first: bool = True  # False for the later pieces of a mark split by a crossing one


@dataclass
class Mark:
    start: int
    end: int
    kind: str
    label: str
    title: str


@dataclass
class _Node:
    index: int
    start: int
    end: int
    first: bool
    children: list[_Node] = field(default_factory=list)


def _tree(text: str, marks: list[Mark]) -> tuple[_Node, set[int]]:
    root = _Node(-1, 0, len(text), True)
    heap = [
        (m.start, -m.end, i, True) for i, m in enumerate(marks) if 0 <= m.start < m.end <= len(text)
    ]
    heapq.heapify(heap)
    stack = [root]
    shown: set[int] = set()
    while heap:
        start, neg_end, i, first = heapq.heappop(heap)
        end = -neg_end
        while len(stack) > 1 and stack[-1].end <= start:
            stack.pop()
        parent = stack[-1]
        if end > parent.end:  # crosses the mark it starts in: split at that mark's end
            heapq.heappush(heap, (parent.end, -end, i, False))
            end = parent.end
        node = _Node(i, start, end, first)
        parent.children.append(node)
        stack.append(node)
        shown.add(i)
    return root, shown


def _fill(text: str, node: _Node, marks: list[Mark]) -> list[Segment]:
    out: list[Segment] = []
    cursor = node.start
    for child in node.children:
        if child.start > cursor:
            out.append(Segment(text[cursor : child.start]))
        m = marks[child.index]
        inner = _fill(text, child, marks) if child.children else []
        out.append(
            Segment(text[child.start : child.end], m.kind, m.label, m.title, inner, child.first)
        )
        cursor = child.end
    if cursor < node.end:
        out.append(Segment(text[cursor : node.end]))
    return out


def segments(text: str, marks: Iterable[Mark]) -> tuple[list[Segment], set[int]]:
    """Cut ``text`` at the marks' offsets (nested marks as children); marks out of range
    are left out. Returns the top-level segments and the indices of the marks shown."""
    listed = list(marks)
    root, shown = _tree(text, listed)
    out = _fill(text, root, listed)
    return out or [Segment(text)], shown


def with_page_starts(segs: list[Segment], starts: dict[int, str]) -> list[Segment]:
    """Insert an empty ``page`` segment (label: the page number) at each offset of
    ``starts`` that falls between or inside top-level plain segments (offset 0 too)."""
    if not starts:
        return segs
    out: list[Segment] = []
    cursor = 0
    for seg in segs:
        end = cursor + len(seg.text)
        if seg.kind:
            if cursor in starts:
                out.append(Segment("", "page", starts[cursor]))
            out.append(seg)
        else:
            cuts = sorted(o for o in starts if cursor <= o < end or (o == cursor == end))
            last = cursor
            for o in cuts:
                if o > last:
                    out.append(Segment(seg.text[last - cursor : o - cursor]))
                out.append(Segment("", "page", starts[o]))
                last = o
            if last < end:
                out.append(Segment(seg.text[last - cursor :]))
        cursor = end
    return out
