"""Evidence quotes: for each evidence field the model first copies the words of the report
that support its value (``<field>_evidence``, a string or null), then gives the value.

The key sits right before its field in the schema, so the model quotes first and decides
after. The pipeline takes the quotes out of the validated answer and grounds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

if TYPE_CHECKING:
    from .spec import Task

SUFFIX = "_evidence"


def evidence_key(field_name: str) -> str:
    return field_name + SUFFIX


def schema_with_evidence(task: Task, schema: dict[str, Any]) -> dict[str, Any]:
    """The task's object schema with a nullable quote key right before each evidence field."""
    wanted = set(task.evidence_fields())
    if not wanted:
        return schema
    properties: dict[str, Any] = {}
    for name, sub in schema["properties"].items():
        if name in wanted:
            properties[evidence_key(name)] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
        properties[name] = sub
    return {**schema, "properties": properties, "required": list(properties)}


def model_with_evidence(task: Task, model: type[BaseModel]) -> type[BaseModel]:
    """The output model plus an optional quote per evidence field (a missing quote is null:
    it makes the value unsupported, not the answer invalid)."""
    names = task.evidence_fields()
    if not names:
        return model
    quotes: dict[str, Any] = {
        f"q{i}_evidence": (str | None, Field(default=None, alias=evidence_key(name)))
        for i, name in enumerate(names)
    }
    return create_model(f"{model.__name__}WithEvidence", __base__=model, **quotes)  # type: ignore[call-overload, no-any-return]


def example_with_evidence(task: Task, output: dict[str, Any]) -> dict[str, Any]:
    """A few-shot example's output in answer order: a quote key (the example's own
    ``<field>_evidence`` if it gives one, else null) before each evidence field."""
    wanted = set(task.evidence_fields())
    if not wanted:
        return output
    rendered: dict[str, Any] = {}
    for name, value in output.items():
        if name.endswith(SUFFIX) and name[: -len(SUFFIX)] in wanted:
            continue
        if name in wanted:
            rendered[evidence_key(name)] = output.get(evidence_key(name))
        rendered[name] = value
    return rendered


def split_evidence(task: Task, output: dict[str, Any]) -> dict[str, str | None]:
    """Remove the quote keys from a validated answer (in place); field -> quote."""
    return {name: output.pop(evidence_key(name), None) for name in task.evidence_fields()}
