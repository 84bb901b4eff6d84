"""The ways a model may write a spans field, and the one way records hold them.

Records (and everything after the pipeline) hold spans as ``[{"text", "label"}, ...]``.
The model writes ``[["text", "LABEL"], ...]`` ("pairs", the default), that list of objects
("list"), or ``{"LABEL": ["text", ...], ...}`` ("by_label"): the layouts differ in how many
tokens the model must generate per mention (measured in benchmarks/RESULTS.md).
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
    """An example output with every spans field in the layout the model is asked for."""
    return {
        name: spans_in_layout(fields[name], value)
        if name in fields and fields[name].type == "spans"
        else value
        for name, value in output.items()
    }
