"""The spine for one case: prompt -> engine -> validate (re-ask) -> ground spans -> record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .align import align_spans
from .config import GenerationConfig
from .engines.base import Engine, GenerationRequest, GenerationResult, Message
from .engines.options import option_literals
from .errors import ContextOverflow, EngineError, EngineUnreachable
from .prompt import build_messages
from .records import Record, RecordError, record_key
from .task.spec import Example, Task
from .validate import InvalidOutput, reask_message, validate_output


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
            for name, spec in self.task.fields.items()
            if spec.type in ("boolean", "enum")
        }


def ground_spans(task: Task, output: dict[str, Any], text: str) -> dict[str, Any]:
    """Replace each spans field's [{text, label}] with aligned spans carrying offsets."""
    for name in task.span_fields():
        spans = output.get(name)
        if not spans:
            continue
        aligned = align_spans(text, [(s["text"], s["label"]) for s in spans])
        output[name] = [a.model_dump() for a in aligned]
    return output


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
    propagates because no later case can succeed either."""
    started = time.perf_counter()
    key = record_key(case_id, text, compiled.fingerprint, engine.model_id)
    record = Record(id=case_id, row=row, status="failed", key=key)
    if not text.strip():
        record.error = RecordError(type="empty_input", message="the input text is empty")
        return record

    extra: list[Message] = []
    last: GenerationResult | None = None
    for attempt in range(gen.max_reasks + 1):
        request = GenerationRequest(
            messages=build_messages(compiled.task, text, examples=examples, followup=extra),
            json_schema=compiled.schema,
            schema_key=compiled.fingerprint,
            max_tokens=gen.max_tokens,
            temperature=gen.temperature,
            seed=gen.seed,
            option_fields=(compiled.option_fields or None) if gen.probabilities else None,
        )
        try:
            last = await engine.generate(request)
        except EngineUnreachable:
            raise
        except ContextOverflow as e:
            record.error = RecordError(type="context_overflow", message=str(e))
            record.prompt_tokens = e.prompt_tokens
            break
        except EngineError as e:
            record.error = RecordError(type="engine_error", message=str(e))
            break
        record.attempts = attempt + 1
        record.prompt_tokens += last.prompt_tokens
        record.completion_tokens += last.completion_tokens
        if last.prompt_tokens_evaluated is not None:
            record.prompt_tokens_evaluated = (
                record.prompt_tokens_evaluated or 0
            ) + last.prompt_tokens_evaluated
        try:
            output = validate_output(last.text, compiled.model)
        except InvalidOutput as e:
            kind = "truncated" if last.finish_reason == "length" else e.kind
            message = str(e)
            if kind == "truncated":
                message = f"the answer hit the output budget of {gen.max_tokens} tokens: {e}"
            record.error = RecordError(type=kind, message=message)
            record.raw_output = last.text
            if kind == "truncated":
                break  # asking again with the same budget would truncate again
            extra = extra + [
                Message(role="assistant", content=last.text),
                Message(role="user", content=reask_message(e)),
            ]
            continue
        record.status = "ok"
        record.error = None
        record.raw_output = None
        record.output = ground_spans(compiled.task, output, text)
        record.probabilities = last.option_probs
        record.probability_method = last.probability_method
        break
    record.seconds = round(time.perf_counter() - started, 4)
    return record
