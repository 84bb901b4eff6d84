"""One answer to one text: ask, validate and read it, re-ask with the reason until it is
valid or the re-asks are used up, take a second look at a valid answer once where the
report's own words put a value in doubt (checks.py), and keep what was complete of an answer
cut off by the output budget or the loop guard (cut_answers.py)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .checks import check_message, doubts
from .compiled import CompiledTask
from .config import GenerationConfig
from .cut_answers import asked_again, joined, kept_part
from .engines.base import Engine, GenerationRequest, GenerationResult, Message
from .errors import ContextOverflow, EngineError, EngineUnreachable
from .grounding import check_spans_copied
from .prompt import build_messages
from .reading import drop_unreadable_entries, read_amounts
from .records import AmountReading, RecordError, add_counts
from .task.evidence import split_evidence
from .task.spec import Example
from .validate import InvalidOutput, reask_message, validate_output, validate_repaired

__all__ = ["REPAIRED", "Sample", "answer", "request_for"]


@dataclass
class Sample:
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


async def answer(
    compiled: CompiledTask,
    engine: Engine,
    gen: GenerationConfig,
    text: str,
    examples: list[Example] | None,
    seed: int | None,
) -> Sample:
    """Ask, validate, and re-ask with the validation error until valid or out of re-asks."""
    sample = Sample()
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
                turns = _check_turns(sample, compiled, kept, text, amounts, shown, checked)
                if turns:  # the kept part is checked like a whole answer
                    checked, extra = True, extra + turns
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
                turns = _check_turns(sample, compiled, output, text, amounts, shown, checked)
                if turns:  # the joined answer is checked like a whole answer
                    checked, extra = True, extra + turns
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
        turns = _check_turns(sample, compiled, output, text, amounts, last.text, checked)
        if turns:  # a value in doubt by the report's own words: ask once to check
            checked, extra = True, extra + turns
            continue
        # re-asks used up: kept, with the unreadable amounts null, and said so
        sample.repaired = _read_note(amounts, dropped) or None
        _accept(sample, compiled, output, amounts, last)
        break
    return sample


async def _generate_fitting(
    sample: Sample,
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
        return await engine.generate(request_for(compiled, gen, text, examples, extra, seed)), extra
    except ContextOverflow:
        if len(extra) <= 2:
            raise
    latest = extra[-2:]
    sample.history_shortened = True
    return await engine.generate(request_for(compiled, gen, text, examples, latest, seed)), latest


def _check_turns(
    sample: Sample,
    compiled: CompiledTask,
    output: dict[str, Any],
    text: str,
    amounts: dict[str, AmountReading],
    answer: str,
    checked: bool,
) -> list[Message]:
    """The second look at a valid answer not looked at yet: the answer as the model gave it
    (or as kept and joined), then the question about the values the report's own words put
    in doubt (checks.py), kept in the sample with the answer they are about; [] when
    nothing is in doubt or the answer was looked at already."""
    doubted = [] if checked else doubts(compiled.task, output, text, amounts)
    if not doubted:
        return []
    sample.checked, sample.before_check = doubted, copy.deepcopy(output)
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
    sample: Sample,
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
        result = await engine.generate(request_for(rest_task, gen, text, None, None, seed))
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


def request_for(
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
    sample: Sample,
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
