"""The spine for one case: prompt -> engine -> validate (re-ask) -> [aggregate samples] ->
ground spans and evidence -> record."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .checks import check_changes, check_message, doubts
from .chunking import merge_records, plan_chunks, truncate
from .compute import finish_computed
from .config import GenerationConfig
from .consistency import aggregate, agrees, average_probabilities, vote_probabilities
from .cut_answers import asked_again, joined, kept_part
from .engines.base import Engine, GenerationRequest, GenerationResult, Message
from .engines.options import option_literals
from .errors import ContextOverflow, EngineError, EngineUnreachable
from .grounding import check_spans_copied, ground_evidence, ground_spans
from .prompt import build_messages
from .reading import drop_unreadable_entries, read_amounts
from .records import AmountReading, Record, RecordError, add_counts, record_key
from .task.evidence import split_evidence
from .task.spans import spans_as_list
from .task.spec import Example, Task
from .validate import InvalidOutput, reask_message, validate_output, validate_repaired


@dataclass
class CompiledTask:
    """A task with its schema and validator built once for the whole run."""

    task: Task
    schema: dict[str, Any] = field(init=False)
    model: type[BaseModel] = field(init=False)
    fingerprint: str = field(init=False)

    option_fields: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.schema = self.task.json_schema()
        self.model = self.task.output_model()
        self.fingerprint = self.task.fingerprint()
        self.option_fields = {
            name: option_literals(spec.values, spec.type == "boolean", spec.nullable)
            for name, spec in self.task.answer_fields().items()
            if spec.type in ("boolean", "enum")
        }


@dataclass
class _Sample:
    """One sampled answer after its validate/re-ask loop."""

    output: dict[str, Any] | None = None  # validated, quote keys taken out
    quotes: dict[str, str | None] = field(default_factory=dict)
    error: RecordError | None = None
    raw_output: str | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int | None = None
    completion_tokens: int = 0
    prompt_seconds: float | None = None
    generation_seconds: float | None = None
    option_probs: dict[str, dict[str, float]] | None = None
    probability_method: str | None = None
    repaired: str | None = None  # why the answer was cut and closed (see REPAIRED)
    amounts: dict[str, AmountReading] = field(default_factory=dict)  # path -> reading
    answer: str | None = None  # the accepted answer as the model wrote it
    checked: list[str] = field(default_factory=list)  # what the model was asked to check
    before_check: dict[str, Any] | None = None  # the answer the check was asked about
    history_shortened: bool = False  # a re-ask carried only the latest answer (context)


async def _sample(
    compiled: CompiledTask,
    engine: Engine,
    gen: GenerationConfig,
    text: str,
    examples: list[Example] | None,
    seed: int | None,
) -> _Sample:
    """Ask, validate, and re-ask with the validation error until valid or out of re-asks."""
    sample = _Sample()
    extra: list[Message] = []
    checked = False  # the second look at a valid answer: once, not counted as a re-ask
    for attempt in range(gen.max_reasks + 2):
        if attempt - checked > gen.max_reasks:
            break  # re-asks used up (the last answer's error stays in the sample)
        try:
            last, extra = await _generate_fitting(
                sample, compiled, engine, gen, text, examples, extra, seed
            )
        except EngineUnreachable:
            raise
        except ContextOverflow as e:
            sample.error = RecordError(type="context_overflow", message=str(e))
            sample.prompt_tokens = e.prompt_tokens
            break
        except EngineError as e:
            sample.error = RecordError(type="engine_error", message=str(e))
            break
        sample.attempts = attempt + 1
        add_counts(sample, last)
        last_try = attempt - checked == gen.max_reasks
        try:
            output = validate_output(last.text, compiled.model)
            dropped = drop_unreadable_entries(compiled.task, output, text) if last_try else []
            amounts = read_amounts(compiled.task, output, text, null_unreadable=last_try)
            if not last_try:
                check_spans_copied(compiled.task, output, text)
        except InvalidOutput as e:
            cut_off = last.finish_reason in ("length", "repetition")
            kept = validate_repaired(last.text, compiled.model) if cut_off else None
            if kept is not None:  # keep what was complete, and say so in the record
                shown = json.dumps(kept, ensure_ascii=False)  # reading replaces its amounts
                try:
                    dropped = drop_unreadable_entries(compiled.task, kept, text) if last_try else []
                    amounts = read_amounts(compiled.task, kept, text, null_unreadable=last_try)
                except InvalidOutput as problem:  # an amount of the kept part: ask again
                    sample.error = RecordError(type=problem.kind, message=str(problem))
                    sample.raw_output = last.text
                    extra = extra + [
                        Message(role="assistant", content=shown),
                        Message(role="user", content=reask_message(problem)),
                    ]
                    continue
                sample.repaired = REPAIRED[last.finish_reason] + _read_note(amounts, dropped, "; ")
                turn = None if checked else _second_look(sample, compiled, kept, text, amounts)
                if turn is not None:  # the kept part is checked like a whole answer
                    checked, extra = True, extra + _check_turn(shown, turn)
                    continue
                _accept(sample, compiled, kept, amounts, last)
                break
            rest = None
            if cut_off:
                rest = await _ask_rest(sample, compiled, engine, gen, text, last, seed)
            if rest is not None:  # the fields after a cut list, asked for on their own
                output, amounts, combined, missing, shown = rest
                sample.repaired = (
                    f"{REPAIRED[last.finish_reason]}; the fields after it "
                    f"({', '.join(missing)}) were asked for on their own"
                ) + _read_note(amounts, [], "; ")
                turn = None if checked else _second_look(sample, compiled, output, text, amounts)
                if turn is not None:  # the joined answer is checked like a whole answer
                    checked, extra = True, extra + _check_turn(shown, turn)
                    continue
                _accept(sample, compiled, output, amounts, combined)
                break
            kind = "truncated" if last.finish_reason == "length" else e.kind
            if last.finish_reason == "repetition":
                kind = "repetition"
            message = str(e)
            if kind == "truncated":
                message = f"the answer hit the output budget of {gen.max_tokens} tokens: {e}"
            if kind == "repetition":
                message = f"the answer started repeating itself and was stopped: {e}"
            sample.error = RecordError(type=kind, message=message)
            sample.raw_output = last.text
            if kind in ("truncated", "repetition"):
                break  # asking again with the same budget would truncate again
            extra = extra + [
                Message(role="assistant", content=last.text),
                Message(role="user", content=reask_message(e)),
            ]
            continue
        turn = None if checked else _second_look(sample, compiled, output, text, amounts)
        if turn is not None:  # a value in doubt by the report's own words: ask once to check
            checked, extra = True, extra + _check_turn(last.text, turn)
            continue
        # re-asks used up: kept, with the unreadable amounts null, and said so
        sample.repaired = _read_note(amounts, dropped) or None
        _accept(sample, compiled, output, amounts, last)
        break
    return sample


async def _generate_fitting(
    sample: _Sample,
    compiled: CompiledTask,
    engine: Engine,
    gen: GenerationConfig,
    text: str,
    examples: list[Example] | None,
    extra: list[Message],
    seed: int | None,
) -> tuple[GenerationResult, list[Message]]:
    """Ask with the whole re-ask history; when that no longer fits the context (long cut
    answers carried turn after turn), ask again with only the latest answer and what to
    change in it, and note it in the sample. Raises ContextOverflow when even that does
    not fit."""
    try:
        return await engine.generate(_request(compiled, gen, text, examples, extra, seed)), extra
    except ContextOverflow:
        if len(extra) <= 2:
            raise
    latest = extra[-2:]
    sample.history_shortened = True
    return await engine.generate(_request(compiled, gen, text, examples, latest, seed)), latest


def _second_look(
    sample: _Sample,
    compiled: CompiledTask,
    output: dict[str, Any],
    text: str,
    amounts: dict[str, AmountReading],
) -> list[str] | None:
    """The doubts about a valid answer (checks.py), kept in the sample with the answer they
    are about; None when there are none."""
    doubted = doubts(compiled.task, output, text, amounts)
    if not doubted:
        return None
    sample.checked, sample.before_check = doubted, copy.deepcopy(output)
    return doubted


def _check_turn(answer: str, doubted: list[str]) -> list[Message]:
    """The answer as the model gave it (or as kept and joined), then the check's question."""
    return [
        Message(role="assistant", content=answer),
        Message(role="user", content=check_message(doubted)),
    ]


def _read_note(amounts: dict[str, AmountReading], dropped: list[str], sep: str = "") -> str:
    """What the record says of amounts that could not be read when the re-asks were used
    up: set to null, or their list entry left out."""
    nulled = [f"'{p}' ({r.text!r})" for p, r in amounts.items() if r.problem]
    notes = []
    if nulled:
        notes.append("amounts not readable as written, set to null: " + ", ".join(nulled))
    if dropped:
        notes.append("list entries left out for one of their amounts: " + "; ".join(dropped))
    return sep + "; ".join(notes) if notes else ""


async def _ask_rest(
    sample: _Sample,
    compiled: CompiledTask,
    engine: Engine,
    gen: GenerationConfig,
    text: str,
    cut: GenerationResult,
    seed: int | None,
) -> tuple[dict[str, Any], dict[str, AmountReading], GenerationResult, list[str], str] | None:
    """A cut answer whose complete part lacks later fields: ask for those fields alone and
    join the two (read, with the fields asked again, the joined answer as JSON); None when
    nothing can be kept or the rest is not valid either."""
    kept = kept_part(compiled.task, cut.text)
    if kept is None:
        return None
    part, lacking = kept
    rest_task = CompiledTask(lacking)
    try:
        result = await engine.generate(_request(rest_task, gen, text, None, None, seed))
    except EngineUnreachable:
        raise
    except EngineError:
        return None
    add_counts(sample, result)
    try:
        rest = validate_output(result.text, rest_task.model)
        shown = json.dumps(joined(part, rest), ensure_ascii=False)
        output = validate_output(shown, compiled.model)
        amounts = read_amounts(compiled.task, output, text, null_unreadable=True)
    except InvalidOutput:
        return None
    combined = result.model_copy(
        update={
            "text": f"{cut.text}\n{result.text}",
            "option_probs": {**(cut.option_probs or {}), **(result.option_probs or {})} or None,
            "probability_method": result.probability_method or cut.probability_method,
        }
    )
    return output, amounts, combined, asked_again(lacking, compiled.task), shown


def _request(
    compiled: CompiledTask,
    gen: GenerationConfig,
    text: str,
    examples: list[Example] | None,
    followup: list[Message] | None = None,
    seed: int | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        messages=build_messages(compiled.task, text, examples=examples, followup=followup),
        json_schema=compiled.schema,
        schema_key=compiled.fingerprint,
        max_tokens=gen.max_tokens,
        temperature=gen.temperature,
        seed=seed,
        option_fields=(compiled.option_fields or None) if gen.probabilities else None,
    )


REPAIRED = {
    "length": "the answer hit the output budget; kept its complete entries",
    "repetition": "the answer started repeating itself; kept it up to the first repeat",
}


def _accept(
    sample: _Sample,
    compiled: CompiledTask,
    output: dict[str, Any],
    amounts: dict[str, AmountReading],
    last: GenerationResult,
) -> None:
    sample.error = None
    sample.raw_output = last.text if sample.repaired else None
    sample.answer = last.text
    sample.quotes = split_evidence(compiled.task, output)
    sample.output = output
    sample.amounts = amounts
    sample.option_probs = last.option_probs
    sample.probability_method = last.probability_method


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

    def request_for(t: str) -> GenerationRequest:
        return _request(compiled, gen, t, examples)

    chunks = await plan_chunks(engine, text, request_for)
    if chunks is None:
        await _extract_text(record, compiled, engine, gen, text, examples)
        if record.error is not None and record.error.type == "context_overflow":
            # a server's refusal may have told the engine its context window: split now
            chunks = await plan_chunks(engine, text, request_for)
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
    samples: list[_Sample] = []
    for i in range(gen.samples):
        seed = None if gen.seed is None else gen.seed + i
        samples.append(await _sample(compiled, engine, gen, text, examples, seed))
        if samples[-1].error and samples[-1].error.type == "context_overflow":
            break  # the prompt is the same for every sample: none can fit
    _fill_record(record, compiled, gen, samples, text)
    return record


def _fill_record(
    record: Record,
    compiled: CompiledTask,
    gen: GenerationConfig,
    samples: list[_Sample],
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
    valid: list[_Sample],
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
