"""Compile a task to a JSON Schema (constrained decoding) and a pydantic model (validation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from .evidence import model_with_evidence, schema_with_evidence

if TYPE_CHECKING:
    from .spec import FieldSpec, Task

_CACHE: dict[str, type[BaseModel]] = {}


def field_json_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON Schema of one field (inline, no $refs: grammar converters like that best)."""
    t = spec.type
    schema: dict[str, Any]
    if spec.is_amount:  # copied as written ("1,4 cm", or the number); read in code
        schema = {"anyOf": [{"type": "number"}, {"type": "string"}]}
    elif t == "boolean":
        schema = {"type": "boolean"}
    elif t in ("integer", "number"):
        schema = {"type": t}
        if spec.minimum is not None:
            schema["minimum"] = int(spec.minimum) if t == "integer" else spec.minimum
        if spec.maximum is not None:
            schema["maximum"] = int(spec.maximum) if t == "integer" else spec.maximum
    elif t == "string":
        schema = {"type": "string"}
    elif t == "enum":
        values = list(spec.values or [])
        if spec.nullable:
            values.append(None)
        return {"enum": values}
    elif t == "list":
        assert spec.items is not None
        schema = {"type": "array", "items": field_json_schema(spec.items)}
    elif t == "object":
        schema = object_schema(spec.fields or {})
    elif t == "spans" and spec.span_layout == "by_label":
        schema = {
            "type": "object",
            "properties": {
                label: {"type": "array", "items": {"type": "string"}} for label in spec.label_names
            },
            "required": spec.label_names,
            "additionalProperties": False,
        }
    elif t == "spans" and spec.span_layout == "pairs":
        schema = {
            "type": "array",
            "items": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"enum": spec.label_names}],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
            },
        }
    elif t == "spans":
        schema = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "label": {"enum": spec.label_names},
                },
                "required": ["text", "label"],
                "additionalProperties": False,
            },
        }
    else:  # pragma: no cover - FieldSpec validation rejects unknown types
        raise ValueError(f"unknown field type {t!r}")
    if spec.nullable:
        return {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}]}
    return schema


def object_schema(fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """The object the model writes: every field but the computed ones."""
    answered = {name: spec for name, spec in fields.items() if spec.compute is None}
    return {
        "type": "object",
        "properties": {name: field_json_schema(spec) for name, spec in answered.items()},
        "required": list(answered),
        "additionalProperties": False,
    }


def task_json_schema(task: Task) -> dict[str, Any]:
    return schema_with_evidence(task, object_schema(task.answer_fields()))


class SpanOut(BaseModel):
    """A span as the model returns it, before grounding."""

    text: str
    label: str


def _python_type(spec: FieldSpec, path: str, final: bool = False) -> Any:
    """The type of one field in an answer, or (``final``) in a record's output: amounts
    there are numbers in the field's unit and spans ``[{"text", "label", ...}]``."""
    t = spec.type
    py: Any
    if spec.is_amount and not final:  # text as written; a bare number: the field's unit
        py = float | str
    elif t == "boolean":
        py = bool
    elif t in ("integer", "number"):
        base = int if t == "integer" else float
        constraints: dict[str, Any] = {}
        if spec.minimum is not None:
            constraints["ge"] = spec.minimum
        if spec.maximum is not None:
            constraints["le"] = spec.maximum
        from typing import Annotated

        py = Annotated[base, Field(**constraints)] if constraints else base
    elif t == "string":
        py = str
    elif t == "enum":
        py = Literal[tuple(spec.values or [])]  # type: ignore[misc]
    elif t == "list":
        assert spec.items is not None
        py = list[_python_type(spec.items, f"{path}[]", final)]  # type: ignore[misc]
    elif t == "object":
        py = _model(spec.fields or {}, path, final)
    elif t == "spans" and final:
        labels = tuple(spec.label_names)
        py = list[  # type: ignore[misc]
            create_model(
                f"SpanFinal_{_safe(path)}",
                __base__=SpanOut,
                __config__=ConfigDict(extra="allow"),
                label=(Literal[labels], ...),  # type: ignore[valid-type]
            )
        ]
    elif t == "spans" and spec.span_layout == "by_label":
        py = create_model(  # type: ignore[call-overload]
            f"Spans_{_safe(path)}",
            __config__=ConfigDict(extra="ignore", populate_by_name=False),
            **{
                f"l{i}_{_safe(label)}": (list[str], Field(alias=label))
                for i, label in enumerate(spec.label_names)
            },
        )
    elif t == "spans" and spec.span_layout == "pairs":
        py = list[tuple[str, Literal[tuple(spec.label_names)]]]  # type: ignore[misc]
    elif t == "spans":
        labels = tuple(spec.label_names)
        py = list[  # type: ignore[misc]
            create_model(
                f"Span_{_safe(path)}",
                __base__=SpanOut,
                label=(Literal[labels], ...),  # type: ignore[valid-type]
            )
        ]
    else:  # pragma: no cover
        raise ValueError(f"unknown field type {t!r}")
    return py | None if spec.nullable else py


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "field"


def _model(fields: dict[str, FieldSpec], path: str, final: bool = False) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for i, (name, spec) in enumerate(fields.items()):
        if spec.compute is not None and not final:
            continue
        definitions[f"f{i}_{_safe(name)}"] = (
            _python_type(spec, f"{path}.{name}" if path else name, final),
            Field(alias=name),
        )
    prefix = "Value" if final else "Output"
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{prefix}_{_safe(path)}" if path else prefix,
        __config__=ConfigDict(extra="ignore", populate_by_name=False),
        **definitions,
    )


def value_model(fields: dict[str, FieldSpec]) -> type[BaseModel]:
    """A pydantic model of final values, as records hold them and labels and task-file
    examples give them: amounts as numbers in the field's unit (range-checked), computed
    fields included, spans as ``[{"text", "label"}]``."""
    return _model(fields, "", final=True)


def task_output_model(task: Task) -> type[BaseModel]:
    """A pydantic model that validates one answer; dump it with ``by_alias=True``."""
    key = task.fingerprint()
    if key not in _CACHE:
        _CACHE[key] = model_with_evidence(task, _model(task.fields, ""))
    return _CACHE[key]
