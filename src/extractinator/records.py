"""The result record: one per case, whatever happened to it."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from .align import Alignment

Status = Literal["ok", "failed"]


class RecordError(BaseModel):
    type: (
        str  # empty_input, context_overflow, invalid_json, invalid_output, truncated, engine_error
    )
    message: str


class Evidence(BaseModel):
    """The model's verbatim quote for one field, grounded in the input text."""

    quote: str | None
    start: int | None = None
    end: int | None = None
    alignment: Alignment = "none"
    # False when the quote is not in the text, or is missing while a value was given
    supported: bool


class AmountReading(BaseModel):
    """How one amount was read: the words the model copied, where they are in the report,
    what was written (numbers, unit, a range, dimensions, a comparison) and the value in
    the field's unit that the output holds."""

    text: str
    value: float | int | None  # None: not readable, the field set to null (see problem)
    unit: str  # the field's unit
    written_unit: str | None = None  # the unit as written (None: the field's unit assumed)
    # where the unit came from: the model's copy, the report right after the copied
    # number, or the field (nothing written)
    unit_from: Literal["answer", "report", "field"] = "answer"
    numbers: list[float] = Field(default_factory=list)  # as written, in the written unit
    kind: Literal["single", "range", "dimensions"] = "single"
    comparator: str | None = None  # "<", "<=", ">", ">=", "~" (about)
    start: int | None = None
    end: int | None = None
    alignment: Alignment = "none"
    # the conversion written in the field's description that was used ("4 week = 1 month"),
    # or how an amount the report implies was computed (pack-years from packs a day)
    convention: str | None = None
    # set when the amount could not be read after the re-asks and the value was set to
    # null: why (the record says so in `repaired` too)
    problem: str | None = None


class Record(BaseModel):
    """What the pipeline produced for one case: the validated output, or why there is none."""

    id: str
    row: int
    status: Status
    output: dict[str, Any] | None = None
    error: RecordError | None = None
    raw_output: str | None = None  # the model's last answer, kept when failed or repaired
    # set when a cut-off answer (output budget, or stopped repeating itself) was closed
    # after its last complete entry and accepted: says why; raw_output holds the original
    repaired: str | None = None
    attempts: int = 0  # model calls (1 + re-asks)
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int | None = None
    completion_tokens: int = 0
    seconds: float = 0.0
    # engine-reported prompt / generation time summed over attempts (None if not reported)
    prompt_seconds: float | None = None
    generation_seconds: float | None = None
    key: str = ""  # resume key: id + text + task + model
    # field -> {value: probability} for boolean/enum fields, and how it was obtained
    probabilities: dict[str, dict[str, float]] | None = None
    probability_method: str | None = None
    # self-consistency (--samples K > 1): per top-level field, the fraction of valid samples
    # agreeing with `output`; the valid samples' outputs; the errors of the failed samples
    agreement: dict[str, float] | None = None
    samples: list[dict[str, Any]] | None = None
    sample_errors: list[RecordError] | None = None
    # long documents: how many chunks the text was split into (None: not split); details
    # in extra["chunking"], failed chunks in extra["chunk_errors"]
    chunks: int | None = None
    evidence: dict[str, Evidence] | None = None  # field -> grounded quote (evidence fields)
    # amounts read as written: path ("size_mm", "lesions[0].size_mm") -> how it was read
    amounts: dict[str, AmountReading] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)  # layer-specific data (e.g. DRAGON)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def add_counts(into: Any, src: Any) -> None:
    """Add one answer's (or sample's, or chunk's) attempts, token counts and engine timings
    to a total; timings and evaluated counts stay None while nothing reported any."""
    into.prompt_tokens += src.prompt_tokens
    into.completion_tokens += src.completion_tokens
    if hasattr(into, "attempts") and hasattr(src, "attempts"):
        into.attempts += src.attempts
    for attr in ("prompt_tokens_evaluated", "prompt_seconds", "generation_seconds"):
        more = getattr(src, attr)
        if more is not None:
            setattr(into, attr, (getattr(into, attr) or 0) + more)


def option_key(value: Any) -> str:
    """How a boolean/enum value names its option in ``Record.probabilities``: strings as
    they are, everything else as JSON (``true``, ``3``, ``null``)."""
    return value if isinstance(value, str) else json.dumps(value)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def record_key(case_id: str, text: str, task_fingerprint: str, model_id: str) -> str:
    """Identity of one unit of work: rerunning the same case, task and model is skipped."""
    raw = "\x1f".join([case_id, text_hash(text), task_fingerprint, model_id])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]
