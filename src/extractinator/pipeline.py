"""The spine for one case: prompt -> engine -> validate (re-ask) -> [aggregate samples] ->
ground spans and evidence -> compute -> record. One answer's asking and re-asking is in
asking.py; a text too long for the context is run in chunks (chunking)."""

from __future__ import annotations

import time
from typing import Any

from .asking import Sample, answer, request_for
from .checks import check_changes
from .chunking import merge_records, plan_chunks, truncate
from .compiled import CompiledTask
from .compute import finish_computed
from .config import GenerationConfig
from .consistency import aggregate, agrees, average_probabilities, vote_probabilities
from .engines.base import Engine, GenerationRequest
from .grounding import ground_evidence, ground_spans
from .records import Record, RecordError, add_counts, record_key
from .task.spans import spans_as_list
from .task.spec import Example, Task

__all__ = ["CompiledTask", "extract_case"]


async def extract_case(
    compiled: CompiledTask,
    engine: Engine,
    gen: GenerationConfig,
    case_id: str,
    row: int,
    text: str,
    examples: list[Example] | None = None,
) -> Record:
    """Run one case to a record. Never raises for a per-case problem; EngineUnreachable
    propagates because no later case can succeed either. With ``gen.samples`` K > 1 the
    case is answered K times (seed, seed + 1, ...) and the valid answers are aggregated.
    A text too long for the engine's context is run in chunks and merged (chunking.py)."""
    started = time.perf_counter()
    key = record_key(case_id, text, compiled.fingerprint, engine.model_id)
    record = Record(id=case_id, row=row, status="failed", key=key)
    if not text.strip():
        record.error = RecordError(type="empty_input", message="the input text is empty")
        return record

    def request_of(t: str) -> GenerationRequest:
        return request_for(compiled, gen, t, examples)

    chunks = await plan_chunks(engine, text, request_of)
    if chunks is None:
        await _extract_text(record, compiled, engine, gen, text, examples)
        if record.error is not None and record.error.type == "context_overflow":
            # a server's refusal may have told the engine its context window: split now
            chunks = await plan_chunks(engine, text, request_of)
            if chunks is not None:
                record = Record(id=case_id, row=row, status="failed", key=key)
    if chunks is not None:
        cut = compiled.task.long_text == "truncate"
        if cut:
            chunks = truncate(chunks, compiled.task.truncation_side)
        parts = []
        for chunk in chunks:
            part = Record(id=case_id, row=row, status="failed", key=key)
            parts.append(await _extract_text(part, compiled, engine, gen, chunk.text, examples))
        merge_records(record, compiled.task, chunks, parts)
        finish_computed(record, compiled.task)  # again, on the merged facts
        if cut:
            record.extra["chunking"]["truncated"] = {
                "side": compiled.task.truncation_side or "right",
                "of_chars": len(text),
            }
    record.seconds = round(time.perf_counter() - started, 4)
    return record


async def _extract_text(
    record: Record,
    compiled: CompiledTask,
    engine: Engine,
    gen: GenerationConfig,
    text: str,
    examples: list[Example] | None,
) -> Record:
    """Sample one text (the case's, or one chunk of it) and fill the record from it."""
    samples: list[Sample] = []
    for i in range(gen.samples):
        seed = None if gen.seed is None else gen.seed + i
        samples.append(await answer(compiled, engine, gen, text, examples, seed))
        if samples[-1].error and samples[-1].error.type == "context_overflow":
            break  # the prompt is the same for every sample: none can fit
    _fill_record(record, compiled, gen, samples, text)
    return record


def _fill_record(
    record: Record,
    compiled: CompiledTask,
    gen: GenerationConfig,
    samples: list[Sample],
    text: str,
) -> None:
    """Token counts summed over the samples; the single answer, or the aggregate."""
    task = compiled.task
    for s in samples:
        add_counts(record, s)
    valid = [s for s in samples if s.output is not None]
    failed = [s for s in samples if s.output is None]
    if gen.samples > 1 and failed:
        record.sample_errors = [s.error for s in failed if s.error is not None]
    if not valid:
        first = failed[0]
        record.error = first.error
        if gen.samples > 1 and first.error is not None:
            record.error = RecordError(
                type=first.error.type,
                message=f"all {len(samples)} samples failed; sample 1: {first.error.message}",
            )
        record.raw_output = first.raw_output
        return
    record.status = "ok"
    if gen.samples == 1:
        chosen = valid[0]
        output = chosen.output or {}
        record.repaired = chosen.repaired
        record.raw_output = chosen.raw_output
        quotes = chosen.quotes
        amounts = chosen.amounts
        record.probabilities = chosen.option_probs
        record.probability_method = chosen.probability_method
        if chosen.history_shortened:
            record.extra["reask_history_shortened"] = True
        if chosen.checked:  # the audit trail of the second look (checks.py)
            record.extra["checked"] = chosen.checked
            changed = check_changes(chosen.before_check or {}, output)
            if changed:
                record.extra["changed_by_check"] = changed
    else:
        outputs = [_spans_as_lists(task, s.output or {}) for s in valid]
        consensus = aggregate(task.answer_fields(), outputs)
        output = consensus.output
        record.agreement = consensus.agreement
        record.samples = outputs
        at = _agreeing_samples(task, outputs, output)
        quotes = {name: valid[at[name]].quotes.get(name) for name in task.evidence_fields()}
        amounts = {
            path: reading
            for name, i in at.items()
            for path, reading in valid[i].amounts.items()
            if path == name or path.startswith((f"{name}.", f"{name}["))
        }
        _set_probabilities(record, compiled, gen, valid, outputs)
    if quotes:
        record.evidence = ground_evidence(text, quotes, output)
    record.output = ground_spans(task, output, text)
    record.amounts = amounts or None
    voters = [s.output or {} for s in valid] if gen.samples > 1 else None
    finish_computed(record, task, voters)
    if record.status == "failed":
        record.raw_output = valid[0].answer


def _spans_as_lists(task: Task, output: dict[str, Any]) -> dict[str, Any]:
    """A sample's output with spans fields as ``[{text, label}]`` (as records hold them)."""
    out = dict(output)
    for name in task.span_fields():
        if out.get(name) is not None:
            out[name] = spans_as_list(task.fields[name], out[name])
    return out


def _agreeing_samples(
    task: Task, outputs: list[dict[str, Any]], aggregate: dict[str, Any]
) -> dict[str, int]:
    """Per answer field, the first sample whose value is the aggregate's (its quote and
    amount readings go with the aggregate)."""
    return {
        name: next(
            (i for i, o in enumerate(outputs) if agrees(spec, o.get(name), aggregate[name])), 0
        )
        for name, spec in task.answer_fields().items()
    }


def _set_probabilities(
    record: Record,
    compiled: CompiledTask,
    gen: GenerationConfig,
    valid: list[Sample],
    outputs: list[dict[str, Any]],
) -> None:
    """The engine's option probabilities averaged over the samples when every sample has
    them, else the vote fractions over the allowed values ("sampling")."""
    if not gen.probabilities or not compiled.option_fields:
        return
    scored = [s.option_probs for s in valid if s.option_probs]
    if len(scored) == len(valid):
        record.probabilities = average_probabilities(scored)
        record.probability_method = valid[0].probability_method
    else:
        record.probabilities = vote_probabilities(compiled.option_fields, outputs)
        record.probability_method = "sampling"
