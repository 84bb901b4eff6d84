"""Long documents: a text whose prompt does not fit the model's context is split into
overlapping chunks, each chunk is run like a case, and the chunks' records become one.

Splitting (:func:`split_text`) cuts on paragraph, then line, then sentence boundaries,
falling back to words and then characters for a single huge sentence; every chunk is as
large as fits and starts a little before the previous one ends (``overlap_chars``), so a
mention cut by one chunk's end is whole in the next. :func:`plan_chunks` sizes chunks with
the engine's own token count of the request built for each chunk (instructions and
examples included).

Merging (:func:`merge_outputs`), per top-level field and its ``merge`` rule
(``FieldSpec.merge``; the type's default first in ``MERGE_RULES``):

- spans: the union, offsets in the full text; a mention found twice (the overlap) is kept
  once (same label, start and end; ungrounded mentions once per text and label);
- booleans: "any" (true when a chunk says true) or "all" (false when a chunk says false);
  nulls count only when every chunk says null;
- numbers: "max", "min", "first" (the first value given, in text order) or "last";
- enums, strings, objects: "first" or "last"; strings may "concat" (distinct values, one a
  line);
- lists: "concat" (members in text order, duplicates dropped), "first" or "last".

"first" takes the first stated value (not null, not empty), else the first non-null one;
"last" the last stated one. A task with ``truncation_side: left`` (the end of the text
matters more) merges fields whose rule is the default "first" by "last" instead, and with
``long_text: truncate`` keeps only the chunk at the end that matters (:func:`truncate`).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .engines.base import Engine, GenerationRequest
from .records import Evidence, Record, RecordError
from .task.spec import FieldSpec, Task

__all__ = [
    "DEFAULT_OVERLAP_CHARS",
    "Chunk",
    "merge_outputs",
    "merge_records",
    "merge_values",
    "plan_chunks",
    "split_text",
    "truncate",
]

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


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _stated(value: Any) -> bool:
    return value is not None and value != [] and value != ""


def merge_values(spec: FieldSpec, values: list[Any], rule: str | None = None) -> Any:
    """One non-spans field's values from the chunks (text order) -> one value, by ``rule``
    (default: the field's own rule)."""
    rule = rule or spec.merge_rule
    given = [v for v in values if v is not None]
    if not given:
        return None
    if rule == "any":
        return True if True in given else given[0]
    if rule == "all":
        return False if False in given else given[0]
    if rule == "max":
        return max(given)
    if rule == "min":
        return min(given)
    if rule == "concat" and spec.type == "list":
        seen: dict[str, Any] = {}
        for value in given:
            for member in value:
                seen.setdefault(_key(member), member)
        return list(seen.values())
    if rule == "concat":  # strings
        distinct = list(dict.fromkeys(v for v in given if _stated(v)))
        return "\n".join(distinct) if distinct else given[0]
    if rule == "last":
        return next((v for v in reversed(given) if _stated(v)), given[-1])
    return next((v for v in given if _stated(v)), given[0])  # "first"


def _shifted_spans(spans: list[dict[str, Any]] | None, offset: int) -> list[dict[str, Any]]:
    shifted = []
    for span in spans or []:
        span = dict(span)
        if span.get("start") is not None:
            span["start"] += offset
            span["end"] += offset
        shifted.append(span)
    return shifted


def _union_spans(per_chunk: list[list[dict[str, Any]] | None], starts: list[int]) -> Any:
    if all(spans is None for spans in per_chunk):
        return None
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for spans, offset in zip(per_chunk, starts, strict=True):
        for span in _shifted_spans(spans, offset):
            if span.get("start") is None:
                key: tuple[Any, ...] = (span["label"], "text", span["text"])
            else:
                key = (span["label"], span["start"], span["end"])
            seen.setdefault(key, span)
    return list(seen.values())


def merge_outputs(
    task: Task, chunk_outputs: Sequence[tuple[int, dict[str, Any] | None]]
) -> dict[str, Any]:
    """Merge the chunks' outputs, given as (chunk start in the full text, output) in text
    order; spans fields hold grounded spans with offsets in their chunk. Failed chunks
    (output None) are skipped."""
    valid = [(start, out) for start, out in chunk_outputs if out is not None]
    starts = [start for start, _ in valid]
    merged: dict[str, Any] = {}
    for name, spec in task.fields.items():
        values = [out.get(name) for _, out in valid]
        if spec.type == "spans":
            merged[name] = _union_spans(values, starts)
        else:
            merged[name] = merge_values(spec, values, task.merge_rule(name))
    return merged


def _winner(values: list[Any], merged: Any, rule: str) -> int:
    """The chunk the merged value came from: the first giving it (the last, for rule
    "last"), else the first that stated anything (lists, concatenated strings), else the
    first."""
    key = _key(merged)
    order = range(len(values) - 1, -1, -1) if rule == "last" else range(len(values))
    for i in order:
        if _key(values[i]) == key:
            return i
    return next((i for i, value in enumerate(values) if _stated(value)), 0)


def truncate(chunks: list[Chunk], side: str | None) -> list[Chunk]:
    """``long_text: truncate``: the one chunk kept, the text's end for ``side`` "left"
    (its start is cut), else its start."""
    return [chunks[-1] if side == "left" else chunks[0]]


def _add_counts(into: Record, part: Record) -> None:
    into.attempts += part.attempts
    into.prompt_tokens += part.prompt_tokens
    into.completion_tokens += part.completion_tokens
    for attr in ("prompt_tokens_evaluated", "prompt_seconds", "generation_seconds"):
        more = getattr(part, attr)
        if more is not None:
            setattr(into, attr, (getattr(into, attr) or 0) + more)


def merge_records(
    record: Record,
    task: Task,
    chunks: list[Chunk],
    parts: list[Record],
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
) -> None:
    """Fill ``record`` from the records of its chunks (one per chunk, in text order).

    The case fails only when every chunk failed; failed chunks are listed in
    ``extra["chunk_errors"]``. Evidence and agreement are those of the chunk each value
    came from, offsets shifted to the full text. Probabilities: a boolean field keeps
    those of its deciding chunk (highest P(true) for "any", lowest for "all"); enum fields
    have none; ``probability_method`` is "chunked". The samples of ``--samples`` are not
    kept (their offsets are per chunk)."""
    record.chunks = len(chunks)
    record.extra["chunking"] = {
        "chunks": len(chunks),
        "overlap_chars": overlap_chars,
        "merge": {name: task.merge_rule(name) for name in task.fields},
        "ranges": [[c.start, c.end] for c in chunks],
    }
    for part in parts:
        _add_counts(record, part)
    errors = [
        {
            "chunk": i + 1,
            "start": c.start,
            "end": c.end,
            **(p.error or RecordError(type="unknown", message="no output")).model_dump(),
            "raw_output": p.raw_output,
        }
        for i, (c, p) in enumerate(zip(chunks, parts, strict=True))
        if not p.ok
    ]
    if errors:
        record.extra["chunk_errors"] = errors
    ok = [(i, c, p) for i, (c, p) in enumerate(zip(chunks, parts, strict=True)) if p.ok]
    if not ok:
        first = errors[0]
        record.error = RecordError(
            type=first["type"],
            message=f"all {len(chunks)} chunks failed; chunk 1: {first['message']}",
        )
        record.raw_output = first["raw_output"]
        return
    record.status = "ok"
    record.output = merge_outputs(task, [(c.start, p.output) for _, c, p in ok])
    repaired = [(i, p) for i, _, p in ok if p.repaired]
    if repaired:
        record.repaired = "; ".join(f"chunk {i + 1}: {p.repaired}" for i, p in repaired)
        record.raw_output = repaired[0][1].raw_output
    errs = [e for _, _, p in ok for e in p.sample_errors or []]
    record.sample_errors = errs or None
    _merge_provenance(record, task, ok)


def _merge_provenance(record: Record, task: Task, ok: list[tuple[int, Chunk, Record]]) -> None:
    """Evidence, agreement and probabilities, from the chunk each field's value came from."""
    assert record.output is not None
    evidence: dict[str, Evidence] = {}
    agreement: dict[str, float] = {}
    for name, spec in task.fields.items():
        if spec.type == "spans":
            continue
        values = [(p.output or {}).get(name) for _, _, p in ok]
        w = _winner(values, record.output[name], task.merge_rule(name))
        _, chunk, part = ok[w]
        found = (part.evidence or {}).get(name)
        if found is not None:
            if found.start is not None and found.end is not None:
                update = {"start": found.start + chunk.start, "end": found.end + chunk.start}
                found = found.model_copy(update=update)
            evidence[name] = found
        if part.agreement and name in part.agreement:
            agreement[name] = part.agreement[name]
    record.evidence = evidence or None
    record.agreement = agreement or None
    scored = [p for _, _, p in ok if p.probabilities]
    if not scored:
        return
    kept: dict[str, dict[str, float]] = {}
    for name, spec in task.fields.items():
        options = [p.probabilities[name] for p in scored if name in (p.probabilities or {})]
        if spec.type != "boolean" or not options:
            continue
        pick = min if spec.merge_rule == "all" else max
        kept[name] = pick(options, key=lambda probs: probs.get("true", 0.0))
    record.probabilities = kept or None
    record.probability_method = "chunked"
