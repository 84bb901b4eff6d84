"""Build the chat messages for one case.

Layout, for prefix caching: one system message with everything that is the same for every
case (instructions, field descriptions, rules), then the fixed few-shot examples as
user/assistant turns, then the case text as the last user message. Engines that keep a KV
cache (llama.cpp) evaluate only the case's own tokens after the first case.
Grammar-constrained decoding sees the schema's structure but not its prose, so every field
description, unit and allowed value is written out here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .engines.base import Message
from .task.evidence import evidence_key, example_with_evidence
from .task.inputs import case_text
from .task.spans import output_in_layout
from .task.spec import Example, FieldSpec, Task

PROMPT_VERSION = "3"

RULES = """Rules:
- Answer with one JSON object with exactly the keys listed above, and nothing else.
- Use only what the report states. Where a key's description says what to give when \
something is absent (for example 0 or "none"), give that; otherwise, when a value is not \
stated, use null where null is allowed, false for yes/no questions, and an empty list for \
lists.
- Reports may be in Dutch and use a decimal comma: "1,4 cm" means 1.4 cm. Write numbers as \
plain JSON numbers with a decimal point, converted to the unit asked for \
(for example 1,4 cm = 14 mm).
- Copy entity text exactly as written in the report (same spelling, no translation)."""
# replaces the number rule above when the task has amounts (read and converted in code)
AMOUNT_RULE = """- Amounts (a number with its unit): give them as the report writes them, as \
text with the unit (e.g. "1,4 cm", "3,2 x 2,1 cm", "< 5 mm", "6 weken") or just the number; \
do not convert them, the system does. Other numbers: plain JSON numbers."""


def describe_type(spec: FieldSpec) -> str:
    """A short human description of a field's type, unit, range and nullability."""
    t = spec.type
    if spec.is_amount:
        desc = f"amount as written in the report; the system converts it to {spec.unit}"
    elif t == "boolean":
        desc = "true or false"
    elif t in ("integer", "number"):
        desc = "whole number" if t == "integer" else "number"
        if spec.unit:
            desc += f" in {spec.unit}"
        if spec.minimum is not None and spec.maximum is not None:
            desc += f", {_num(spec.minimum)} to {_num(spec.maximum)}"
        elif spec.minimum is not None:
            desc += f", at least {_num(spec.minimum)}"
        elif spec.maximum is not None:
            desc += f", at most {_num(spec.maximum)}"
    elif t == "string":
        desc = "text"
    elif t == "enum":
        desc = "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in spec.values or [])
    elif t == "list":
        assert spec.items is not None
        desc = f"list of {describe_type(spec.items)}"
    elif t == "object":
        inner = "; ".join(
            f'"{name}": {describe_type(sub)}' for name, sub in (spec.fields or {}).items()
        )
        desc = "object with {" + inner + "}"
    elif t == "spans" and spec.span_layout == "by_label":
        labels = ", ".join(spec.label_names)
        desc = (
            "object with one list per label (" + labels + "): the text of every mention of "
            "that label, copied exactly from the report, in order of appearance"
        )
    elif t == "spans" and spec.span_layout == "pairs":
        labels = ", ".join(spec.label_names)
        desc = (
            'list of ["text", "label"] pairs, label one of ' + labels + "; one pair per "
            "mention, text copied exactly from the report, in order of appearance"
        )
    elif t == "spans":
        labels = ", ".join(spec.label_names)
        desc = (
            'list of {"text", "label"} entities, label one of ' + labels + "; one entry per "
            "mention, text copied exactly from the report, in order of appearance"
        )
    else:  # pragma: no cover
        desc = t
    if spec.nullable:
        desc += ", or null"
    return desc


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _field_lines(fields: dict[str, FieldSpec], indent: str = "") -> list[str]:
    lines = []
    for name, spec in fields.items():
        if spec.compute is not None:  # computed from the answer, never written by the model
            continue
        line = f'{indent}- "{name}" ({describe_type(spec)})'
        if spec.description:
            line += f": {spec.description.strip()}"
        lines.append(line)
        if spec.type == "spans" and isinstance(spec.labels, dict):
            for label, label_desc in spec.labels.items():
                lines.append(f"{indent}    - {label}: {label_desc}")
        sub = spec.fields or (spec.items.fields if spec.items else None)
        if sub and any(s.description for s in sub.values()):
            lines.extend(_field_lines(sub, indent + "    "))
    return lines


def _output_key_lines(task: Task) -> list[str]:
    """The field lines, with each evidence field's quote key listed right before it."""
    wanted = set(task.evidence_fields())
    if not wanted:
        return _field_lines(task.answer_fields())
    lines = []
    for name, spec in task.answer_fields().items():
        if name in wanted:
            lines.append(
                f'- "{evidence_key(name)}" (text, or null): the exact words from the report '
                f'that support "{name}", copied character for character (same spelling, no '
                "translation, a short phrase or sentence); null when the report says nothing "
                "about it"
            )
        lines.extend(_field_lines({name: spec}))
    return lines


def system_prompt(task: Task) -> str:
    parts = [
        "You extract structured data from clinical reports.",
        task.description.strip(),
        "Output keys:\n" + "\n".join(_output_key_lines(task)),
        rules(task),
    ]
    return "\n\n".join(parts)


def rules(task: Task) -> str:
    """The general rules; with amounts in the task, the amount rule replaces the number one."""
    if not any(_has_amount(spec) for spec in task.answer_fields().values()):
        return RULES
    lines = RULES.split("\n- ")
    kept = [line for line in lines if not line.startswith("Reports may be in Dutch")]
    return "\n- ".join(kept) + "\n" + AMOUNT_RULE


def _has_amount(spec: FieldSpec) -> bool:
    if spec.is_amount:
        return True
    if spec.items is not None and _has_amount(spec.items):
        return True
    return any(_has_amount(s) for s in (spec.fields or {}).values())


def format_input(task: Task, value: str | dict[str, Any]) -> str:
    """An example's input: a text, or a mapping of the task's input columns, made into text
    exactly as a data row with those values would be."""
    if isinstance(value, str):
        return value
    return case_text(value, task.input, "example input")


def build_messages(
    task: Task,
    text: str,
    *,
    examples: list[Example] | None = None,
    followup: list[Message] | None = None,
) -> list[Message]:
    """System instructions, the task's fixed examples, per-case examples (e.g. chosen by
    similarity), the case text, then any follow-up turns (re-asks)."""
    messages = [Message(role="system", content=system_prompt(task))]
    for ex in [*task.examples, *(examples or [])]:
        messages.append(Message(role="user", content=format_input(task, ex.input)))
        messages.append(
            Message(
                role="assistant",
                content=json.dumps(
                    output_in_layout(
                        task.fields, example_with_evidence(task, task.in_answer_order(ex.output))
                    ),
                    ensure_ascii=False,
                ),
            )
        )
    messages.append(Message(role="user", content=text))
    messages.extend(followup or [])
    return messages


def template_hash() -> str:
    """Identifies the prompt template (rules + layout) for the run manifest and resume key."""
    return hashlib.sha256((PROMPT_VERSION + RULES + AMOUNT_RULE).encode()).hexdigest()[:16]
