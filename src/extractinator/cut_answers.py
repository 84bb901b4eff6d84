"""An answer cut off inside a list (stopped in a loop, or at the output budget) keeps the
list's complete entries; when the fields after the list are then missing, they are asked
for on their own, so one looping list does not cost the whole case. A ``by_label`` spans
answer cut inside one label keeps the labels it wrote, and the labels after the cut are
asked for the same way."""

from __future__ import annotations

import json
from typing import Any

from .task.spec import FieldSpec, Task
from .validate import InvalidOutput, close_truncated_json, parse_json, validate_output

MAX_CANDIDATES = 50  # closed-off versions of a cut answer tried, longest first


def sub_task(task: Task, fields: dict[str, FieldSpec]) -> Task:
    """The task asking only for ``fields`` (no computed fields, and no examples: their
    answers hold the other fields too)."""
    return task.model_copy(update={"fields": fields, "examples": []})


def _with_labels(spec: FieldSpec, names: list[str]) -> FieldSpec:
    """A spans field asking for the labels ``names`` only (their descriptions kept)."""
    labels = spec.labels
    kept = {n: labels[n] for n in names} if isinstance(labels, dict) else names
    return spec.model_copy(update={"labels": kept})


def _split(spec: FieldSpec, value: Any) -> tuple[FieldSpec | None, FieldSpec | None]:
    """The part of one written field that is kept, and the part still to ask: a
    ``by_label`` spans answer lacking labels splits into the labels written and the rest."""
    if spec.type != "spans" or spec.span_layout != "by_label" or not isinstance(value, dict):
        return spec, None
    written = [n for n in spec.label_names if n in value]
    lacking = [n for n in spec.label_names if n not in value]
    if not lacking:
        return spec, None
    if not written:
        return None, spec
    return _with_labels(spec, written), _with_labels(spec, lacking)


def kept_part(task: Task, answer: str) -> tuple[dict[str, Any], Task] | None:
    """The longest closed-off version of a cut answer whose fields so far are valid, and
    the task asking for what it lacks (the answer fields after the cut, and the labels of a
    spans field cut inside); None when nothing is kept or nothing lacks."""
    fields = task.answer_fields()
    for candidate in close_truncated_json(answer)[:MAX_CANDIDATES]:
        try:
            data = parse_json(candidate)
        except InvalidOutput:
            continue
        kept: dict[str, FieldSpec] = {}
        lacking: dict[str, FieldSpec] = {}
        for name, spec in fields.items():
            have, lack = _split(spec, data[name]) if name in data else (None, spec)
            if have is not None:
                kept[name] = have
            if lack is not None:
                lacking[name] = lack
        if not kept or not lacking:
            continue
        written = json.dumps({n: data[n] for n in kept})
        try:
            return validate_output(written, sub_task(task, kept).output_model()), sub_task(
                task, lacking
            )
        except InvalidOutput:
            continue
    return None


def joined(part: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """The kept part and the answer to the rest as one answer: a spans field cut inside
    gets its later labels from the rest."""
    both = dict(part)
    for name, value in rest.items():
        earlier = both.get(name)
        both[name] = {**earlier, **value} if isinstance(earlier, dict) else value
    return both


def asked_again(rest: Task, task: Task) -> list[str]:
    """What the rest asks for, as the record's note says it: a field, or the labels of a
    spans field cut inside ("findings: ALLERGY, DIAGNOSIS")."""
    return [
        f"{name}: {', '.join(spec.label_names)}"
        if spec.type == "spans" and spec.label_names != task.fields[name].label_names
        else name
        for name, spec in rest.fields.items()
    ]
