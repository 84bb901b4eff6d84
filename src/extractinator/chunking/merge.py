"""Long documents, part 2: the records of a text's chunks become one record.

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
matters more) merges fields whose rule is the default "first" by "last" instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..records import AmountReading, Evidence, Record, RecordError, add_counts
from ..task.spec import FieldSpec, Task
from .plan import DEFAULT_OVERLAP_CHARS, Chunk

__all__ = ["merge_outputs", "merge_records", "merge_values"]


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
        add_counts(record, part)
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


def _shifted(reading: AmountReading, offset: int) -> AmountReading:
    if reading.start is None or reading.end is None:
        return reading
    return reading.model_copy(update={"start": reading.start + offset, "end": reading.end + offset})


def _merge_provenance(record: Record, task: Task, ok: list[tuple[int, Chunk, Record]]) -> None:
    """Evidence, agreement and probabilities, from the chunk each field's value came from."""
    assert record.output is not None
    evidence: dict[str, Evidence] = {}
    agreement: dict[str, float] = {}
    amounts: dict[str, AmountReading] = {}
    for name, spec in task.fields.items():
        if spec.type == "spans":
            continue
        values = [(p.output or {}).get(name) for _, _, p in ok]
        w = _winner(values, record.output[name], task.merge_rule(name))
        _, chunk, part = ok[w]
        for path, reading in (part.amounts or {}).items():
            if path == name or path.startswith((f"{name}.", f"{name}[")):
                amounts[path] = _shifted(reading, chunk.start)
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
    record.amounts = amounts or None
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
