"""Long documents, part 1: a text whose prompt does not fit the model's context is split
into overlapping chunks, each run like a case (``merge.py`` makes their records one).

Splitting (:func:`split_text`) cuts on paragraph, then line, then sentence boundaries,
falling back to words and then characters for a single huge sentence; every chunk is as
large as fits and starts a little before the previous one ends (``overlap_chars``), so a
mention cut by one chunk's end is whole in the next. :func:`plan_chunks` sizes chunks with
the engine's own token count of the request built for each chunk (instructions and
examples included). With ``long_text: truncate`` only the chunk at the end that matters is
kept (:func:`truncate`).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..engines.base import Engine, GenerationRequest

__all__ = ["DEFAULT_OVERLAP_CHARS", "Chunk", "plan_chunks", "split_text", "truncate"]

DEFAULT_OVERLAP_CHARS = 200
_SAFETY = 0.9  # chunks are sized to this share of the token budget estimated per character
_MAX_RESPLITS = 6  # times a chunk that turned out too long is split again

# cut points (where a chunk may end and the next begin), best first
_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"\n\s*"),  # line
    re.compile(r"[.!?]+[\"')\]]*\s+"),  # sentence
    re.compile(r"\s+"),  # word
)


@dataclass(frozen=True)
class Chunk:
    """A piece of the full text: ``full[start:end] == text``."""

    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def split_text(
    text: str, fits: Callable[[str], bool], overlap_chars: int = DEFAULT_OVERLAP_CHARS
) -> list[Chunk]:
    """Overlapping chunks covering ``text``, each as large as ``fits`` allows (assumed to
    hold for every prefix of a piece that fits). Each chunk ends on the best boundary that
    keeps it at least half as long as the longest piece that fits. Raises ValueError when
    not even one character fits."""
    if overlap_chars < 0:
        raise ValueError(f"overlap_chars must be >= 0, got {overlap_chars}")
    cuts = _Cuts(text)
    chunks: list[Chunk] = []
    start: int | None = 0
    while start is not None:
        end, after = cuts.next_chunk(start, fits, overlap_chars)
        chunks.append(Chunk(start, text[start:end]))
        start = after
    return chunks


class _Cuts:
    """A text's cut points: where a chunk may end (paragraph, line, sentence, word; best
    first) and where the next may begin (sentence, else word)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ends = [sorted({m.end() for m in rx.finditer(text)}) for rx in _BOUNDARIES]
        self.starts = [sorted({c for level in self.ends[:-1] for c in level}), self.ends[-1]]

    def next_chunk(
        self, start: int, fits: Callable[[str], bool], overlap_chars: int
    ) -> tuple[int, int | None]:
        """The end of the chunk at ``start`` and where the next one begins (None: last)."""
        text = self.text
        if fits(text[start:]):
            return len(text), None
        longest = _longest_fit(text, start, fits)
        if longest == start:
            raise ValueError(f"not even one character fits, at offset {start}")
        end = _best_cut(self.ends, start, longest)
        return end, _next_start(self.starts, start, end, overlap_chars)


def _longest_fit(text: str, start: int, fits: Callable[[str], bool]) -> int:
    """The largest end with ``fits(text[start:end])``, knowing the whole rest does not fit."""
    lo, hi = start, len(text)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(text[start:mid]):
            lo = mid
        else:
            hi = mid
    return lo


def _best_cut(cuts: list[list[int]], start: int, longest: int) -> int:
    for level in cuts:
        i = bisect_right(level, longest) - 1
        if i >= 0 and level[i] > start and 2 * (level[i] - start) >= longest - start:
            return level[i]
    return longest


def _next_start(starts: list[list[int]], start: int, end: int, overlap_chars: int) -> int:
    """Where the next chunk begins: the earliest sentence (else word) start in the last
    ``overlap_chars`` of this chunk (at most a quarter of it), so that the two overlap."""
    overlap = min(overlap_chars, (end - start) // 4)
    if overlap <= 0:
        return end
    lo = end - overlap
    for level in starts:
        i = bisect_left(level, lo)
        if i < len(level) and level[i] < end:
            return level[i]
    return lo


async def plan_chunks(
    engine: Engine,
    text: str,
    request_for: Callable[[str], GenerationRequest],
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
) -> list[Chunk] | None:
    """The chunks to run ``text`` in, each one's request (``request_for(chunk)``) fitting
    the engine's context with its output budget; None when the whole text fits, or when
    the engine cannot count tokens, or when even the instructions alone do not fit."""
    if not text:
        return None
    whole = request_for(text)
    full = await engine.count_tokens(whole)
    n_ctx = engine.context_size  # after counting: a server engine learns it then
    if not n_ctx or full is None or full + whole.max_tokens <= n_ctx:
        return None
    base = await engine.count_tokens(request_for(""))
    if base is None or n_ctx - whole.max_tokens - base <= 0:
        return None
    budget = n_ctx - whole.max_tokens - base  # tokens left for the text of one chunk
    max_chars = int(budget * len(text) / max(full - base, 1) * _SAFETY)

    async def tokens(piece: str) -> int:
        return (await engine.count_tokens(request_for(piece)) or 0) - base

    try:
        return await _fitting(text, max_chars, budget, tokens, overlap_chars)
    except ValueError:
        return None


async def _fitting(
    text: str,
    max_chars: int,
    budget: int,
    tokens: Callable[[str], Awaitable[int]],
    overlap_chars: int,
) -> list[Chunk]:
    """Size each chunk by the estimated character budget and check its real token count;
    a chunk still too long is cut again, shorter by what it used over the budget."""
    cuts = _Cuts(text)
    out: list[Chunk] = []
    start: int | None = 0
    while start is not None:
        limit = max_chars
        for _ in range(_MAX_RESPLITS + 1):
            end, after = cuts.next_chunk(start, lambda s, n=limit: len(s) <= n, overlap_chars)
            used = await tokens(text[start:end])
            if used <= budget:
                break
            limit = min(int((end - start) * budget / used * _SAFETY), end - start - 1)
        else:
            raise ValueError(f"no chunk at offset {start} fits")
        if text[start:end].strip():  # a run of whitespace alone is not worth a request
            out.append(Chunk(start, text[start:end]))
        start = after
    return out


def truncate(chunks: list[Chunk], side: str | None) -> list[Chunk]:
    """``long_text: truncate``: the one chunk kept, the text's end for ``side`` "left"
    (its start is cut), else its start."""
    return [chunks[-1] if side == "left" else chunks[0]]
