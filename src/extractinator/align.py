"""Ground entity strings extracted by a model to character offsets in the source text.

Three tiers, tried in order for every span:

1. ``exact``: the text occurs verbatim. The n-th mention of a string maps to its n-th
   occurrence (occurrences at word boundaries first); surplus mentions reuse the first one.
2. ``fuzzy`` (normalised): the text occurs after case folding, diacritic removal and
   whitespace collapsing on both sides; offsets are mapped back to the original source.
3. ``fuzzy`` (token-level): the window of source word tokens with the longest common
   subsequence against the span's tokens, accepted when enough span tokens are matched.

Anything else is ``none`` with ``start``/``end`` set to ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

__all__ = ["Alignment", "AlignedSpan", "align_spans", "span_is_consistent"]

Alignment = Literal["exact", "fuzzy", "none"]

_TOKEN = re.compile(r"\S+")


class AlignedSpan(BaseModel):
    """One extracted span and where it was found in the source (``source[start:end]``)."""

    text: str
    label: str
    start: int | None
    end: int | None
    alignment: Alignment


def span_is_consistent(source: str, span: AlignedSpan) -> bool:
    """True when the span is exact and its offsets slice back to exactly its text."""
    if span.alignment != "exact" or span.start is None or span.end is None:
        return False
    return 0 <= span.start < span.end <= len(source) and source[span.start : span.end] == span.text


def _fold(ch: str) -> str:
    """Case-fold, decompose (NFKD) and drop combining marks from one character."""
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _Normalised:
    """A folded, whitespace-collapsed copy of a text with a map back to original offsets.

    Normalised char ``k`` came from original chars ``starts[k]:ends[k]``.
    """

    def __init__(self, text: str) -> None:
        chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        for i, ch in enumerate(text):
            folded = _fold(ch)
            if not folded and self.ends:  # a lone combining mark belongs to the previous char
                self.ends[-1] = i + 1
            for c in folded:
                if c.isspace():
                    if chars and chars[-1] == " ":
                        self.ends[-1] = i + 1
                        continue
                    c = " "
                chars.append(c)
                self.starts.append(i)
                self.ends.append(i + 1)
        self.text = "".join(chars)

    def tokens(self) -> list[tuple[str, int, int]]:
        """Word tokens with edge punctuation stripped, as (token, original start, original end)."""
        out: list[tuple[str, int, int]] = []
        for m in _TOKEN.finditer(self.text):
            raw = m.group()
            tok = raw.strip(_punct(raw))
            if tok:
                a = m.start() + len(raw) - len(raw.lstrip(_punct(raw)))
                out.append((tok, self.starts[a], self.ends[a + len(tok) - 1]))
        return out


def _punct(tok: str) -> str:
    """The non-alphanumeric characters of a token (for stripping its edges)."""
    return "".join({c for c in tok if not c.isalnum()})


def _occurrences(haystack: str, needle: str) -> list[int]:
    """All (possibly overlapping) start indices of needle; word-boundary ones first."""
    found: list[int] = []
    pos = haystack.find(needle)
    while pos != -1:
        found.append(pos)
        pos = haystack.find(needle, pos + 1)

    def at_boundary(pos: int) -> bool:
        end = pos + len(needle)
        left = pos == 0 or not (haystack[pos - 1].isalnum() and needle[0].isalnum())
        right = end == len(haystack) or not (haystack[end].isalnum() and needle[-1].isalnum())
        return left and right

    return sorted(found, key=lambda p: (not at_boundary(p), p))


def _window_lcs(masks: dict[int, int], m: int, window: Sequence[int]) -> tuple[int, int]:
    """Bit-parallel LCS (Hyyrö) of the span against ``window``: the LCS length and the first
    window index at which that length is reached."""
    full = (1 << m) - 1
    v, best, at = full, 0, -1
    for j, tok in enumerate(window):
        mask = masks.get(tok)
        if mask:
            u = v & mask
            v = ((v + u) | (v - u)) & full
            lcs = m - v.bit_count()
            if lcs > best:
                best, at = lcs, j
                if best == m:
                    break
    return best, at


class _Aligner:
    """Per-source state: normalised text, tokens and which intervals are already taken."""

    def __init__(self, source: str, fuzzy_threshold: float) -> None:
        self.source = source
        self.threshold = fuzzy_threshold
        self.norm = _Normalised(source)
        self.used: set[tuple[int, int]] = set()
        self.exact_seen: Counter[str] = Counter()
        self._occ_cache: dict[tuple[bool, str], list[int]] = {}
        self._tokens: list[tuple[str, int, int]] | None = None
        self._vocab: dict[str, int] = {}
        self._ids: list[int] = []

    def _occ(self, normalised: bool, needle: str) -> list[int]:
        key = (normalised, needle)
        if key not in self._occ_cache:
            hay = self.norm.text if normalised else self.source
            self._occ_cache[key] = _occurrences(hay, needle)
        return self._occ_cache[key]

    def align(self, text: str, label: str) -> AlignedSpan:
        found = self._exact(text) if text.strip() else None
        kind: Alignment = "exact"
        if found is None and text.strip():
            kind = "fuzzy"
            found = self._normalised(text) or self._token_fuzzy(text)
        if found is None:
            return AlignedSpan(text=text, label=label, start=None, end=None, alignment="none")
        self.used.add(found)
        return AlignedSpan(text=text, label=label, start=found[0], end=found[1], alignment=kind)

    def _exact(self, text: str) -> tuple[int, int] | None:
        occ = self._occ(False, text)
        if not occ:
            return None
        nth = self.exact_seen[text]
        self.exact_seen[text] += 1
        start = occ[nth] if nth < len(occ) else occ[0]
        return start, start + len(text)

    def _normalised(self, text: str) -> tuple[int, int] | None:
        needle = _Normalised(text).text.strip()
        if not needle:
            return None
        spans = [
            (self.norm.starts[k], self.norm.ends[k + len(needle) - 1])
            for k in self._occ(True, needle)
        ]
        return next((s for s in spans if s not in self.used), spans[0] if spans else None)

    def _token_fuzzy(self, text: str) -> tuple[int, int] | None:
        if self._tokens is None:
            self._tokens = self.norm.tokens()
            for tok, _, _ in self._tokens:
                self._ids.append(self._vocab.setdefault(tok, len(self._vocab)))
        tokens = self._tokens
        want = [
            self._vocab.get(tok, -1 - k) for k, (tok, _, _) in enumerate(_Normalised(text).tokens())
        ]
        if not want:
            return None
        m = len(want)
        needed = next((k for k in range(1, m + 1) if k / m >= self.threshold), None)
        if needed is None:
            return None
        masks: dict[int, int] = {}
        for i, tok in enumerate(want):
            masks[tok] = masks.get(tok, 0) | (1 << i)
        if sum(t >= 0 for t in want) < needed:
            return None  # too few of the span's tokens occur anywhere in the source
        # the first matched source token equals one of the first m - needed + 1 span tokens
        anchors = set(want[: m - needed + 1])
        width = m + max(3, m // 2)  # room for words the span left out
        hits = [0]  # prefix counts of source tokens that occur in the span
        for t in self._ids:
            hits.append(hits[-1] + (t in masks))
        best: tuple[int, int, bool, int] | None = None  # (-matched, extent, used, start index)
        best_span: tuple[int, int] | None = None
        for p, t in enumerate(self._ids):
            if t not in anchors:
                continue
            bound = min(m, hits[min(p + width, len(self._ids))] - hits[p])
            if bound < needed or (best is not None and bound < -best[0]):
                continue
            matched, last = _window_lcs(masks, m, self._ids[p : p + width])
            if matched < needed or (best is not None and (-matched, last) > best[:2]):
                continue
            # a window whose first token is unmatched is beaten on extent by a later anchor
            span = (tokens[p][1], tokens[p + last][2])
            key = (-matched, last, span in self.used, p)
            if best is None or key < best:
                best, best_span = key, span
                if key == (-m, m - 1, False, p):
                    break  # complete, contiguous, unused, starting here: nothing later beats it
        return best_span


def align_spans(
    source: str, spans: Sequence[tuple[str, str]], *, fuzzy_threshold: float = 0.75
) -> list[AlignedSpan]:
    """Align ``(text, label)`` spans to ``source``; the output keeps the input order and length.

    ``fuzzy_threshold`` is the fraction of a span's word tokens that a token-level fuzzy match
    must recover (in order) from a window of the source.
    """
    aligner = _Aligner(source, fuzzy_threshold)
    return [aligner.align(text, label) for text, label in spans]
