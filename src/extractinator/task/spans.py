"""How the model writes an answer (spans layouts, amounts as text), and the one way
records hold it.

The ways a model may write a spans field, and the one way records hold them.

Records (and everything after the pipeline) hold spans as ``[{"text", "label"}, ...]``.
The model writes ``{"LABEL": ["text", ...], ...}`` ("by_label", the default),
``[["text", "LABEL"], ...]`` ("pairs") or that list of objects ("list"): the layouts differ in
how many tokens the model must generate per mention and in accuracy (both measured in
benchmarks/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

from .spec import FieldSpec


def spans_as_list(spec: FieldSpec, value: Any) -> list[dict[str, str]]:
    """A spans field's value as the model wrote it -> ``[{"text", "label"}]``, labels in
    the task's label order and mentions in the order given."""
    if not value:
        return []
    if isinstance(value, dict):
        return [
            {"text": text, "label": label}
            for label in spec.label_names
            for text in value.get(label) or []
        ]
    return [
        {"text": s[0], "label": s[1]}
        if isinstance(s, list | tuple)
        else {"text": s["text"], "label": s["label"]}
        for s in value
    ]


def spans_in_layout(spec: FieldSpec, spans: Any) -> Any:
    """``[{"text", "label"}]`` (e.g. a task file example) -> the layout the model writes."""
    if spans is None or isinstance(spans, dict) or spec.span_layout == "list":
        return spans
    if spec.span_layout == "pairs":
        return [[s["text"], s["label"]] if isinstance(s, dict) else s for s in spans]
    grouped: dict[str, list[str]] = {label: [] for label in spec.label_names}
    for span in spans:
        grouped.setdefault(span["label"], []).append(span["text"])
    return grouped


def output_in_layout(fields: dict[str, FieldSpec], output: dict[str, Any]) -> dict[str, Any]:
    """An example output as the model writes it: computed fields left out (the model never
    writes them), amounts as text ("14 mm" for a number given in the field's unit, text
    kept as written) and every spans field in the layout the model is asked for."""
    shown: dict[str, Any] = {}
    for name, value in output.items():
        spec = fields.get(name)
        if spec is None:
            shown[name] = value
        elif spec.compute is not None:
            continue
        elif spec.type == "spans":
            shown[name] = spans_in_layout(spec, value)
        else:
            shown[name] = amounts_as_text(spec, value)
    return shown


def amounts_as_text(spec: FieldSpec, value: Any) -> Any:
    """A value with every amount in it as the model writes amounts (nested ones too)."""
    if value is None:
        return None
    if spec.type == "object" and isinstance(value, dict):
        subs = spec.fields or {}
        return {k: amounts_as_text(subs[k], v) if k in subs else v for k, v in value.items()}
    if spec.type == "list" and spec.items is not None and isinstance(value, list):
        return [amounts_as_text(spec.items, v) for v in value]
    if spec.is_amount and isinstance(value, (int, float)) and not isinstance(value, bool):
        number = str(int(value)) if float(value).is_integer() else str(value)
        return f"{number} {spec.unit}"
    return value
