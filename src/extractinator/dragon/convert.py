"""Between DRAGON cases and extractinator: case text in, official prediction values out.

Every test uid gets a prediction. When a case failed (or the model's value cannot be mapped)
the documented fallback is used and counted:

| label type | fallback |
|---|---|
| binary (single / multi) | 0.5 per label (no ranking information) |
| multi-class (single / multi) | the most frequent training label (per position) |
| regression (single / multi) | the training median (per position) |
| NER (single / multi) | "O" for every token |
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..align import align_spans
from ..records import Record
from ..task.examples import example_problem
from .jobs import DragonJob
from .library import LibraryEntry


@dataclass
class LabelInventory:
    """What the labelled cases say about the label space."""

    positions: int  # labels per case (1 for single-label)
    classes: list[list[Any]] = field(default_factory=list)  # per position, by frequency
    medians: list[float] = field(default_factory=list)  # per position (regression)
    entity_labels: list[str] = field(default_factory=list)  # NER, without B-/I-


def inventory(job: DragonJob) -> LabelInventory:
    labels = [case[job.label_name] for case in job.labelled]
    kind = job.label_name
    if "entity" in kind:
        tags: Counter[str] = Counter()
        for seq in labels:
            for tag in seq:
                for t in tag if isinstance(tag, list) else [tag]:
                    if t != "O":
                        tags[t[2:]] += 1
        return LabelInventory(positions=1, entity_labels=[t for t, _ in tags.most_common()])
    multi = kind.startswith("multi_label")
    rows = [lab if multi else [lab] for lab in labels]
    n = max((len(r) for r in rows), default=1)
    inv = LabelInventory(positions=n)
    for i in range(n):
        column = [r[i] for r in rows if i < len(r) and r[i] is not None]
        if "regression" in kind:
            inv.medians.append(float(statistics.median(column)) if column else 0.0)
        else:
            inv.classes.append([v for v, _ in Counter(column).most_common()])
    return inv


def case_text(case: dict[str, Any], job: DragonJob, entry: LibraryEntry | None = None) -> str:
    """The text the model reads. NER token lists are joined with single spaces (so token
    offsets are known); other text_parts are put on labelled lines."""
    value = case[job.input_name]
    if isinstance(value, str):
        return value
    if "entity" in job.label_name:
        return " ".join(value)
    labels = (entry.dragon.parts_labels if entry else None) or []
    return "\n".join(
        f"{labels[i] if i < len(labels) else f'Text {i + 1}'}: {part}"
        for i, part in enumerate(value)
    )


def token_offsets(tokens: list[str]) -> list[tuple[int, int]]:
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return offsets


def spans_to_tags(
    text: str, tokens: list[str], spans: list[tuple[str, str]], multi: bool
) -> list[Any]:
    """BIO tags per token from (text, label) spans grounded in the joined token text.
    Spans are aligned per label, so a mention listed under two labels tags the same
    tokens twice (multi-label) instead of moving to a later occurrence."""
    offsets = token_offsets(tokens)
    tags: list[list[str]] = [[] for _ in tokens]
    by_label: dict[str, list[tuple[str, str]]] = {}
    for span_text, label in spans:
        by_label.setdefault(label, []).append((span_text, label))
    for label, group in by_label.items():
        for aligned in align_spans(text, group):
            if aligned.start is None or aligned.end is None:
                continue
            inside = [
                i for i, (s, e) in enumerate(offsets) if s < aligned.end and e > aligned.start
            ]
            for n, i in enumerate(inside):
                tag = f"{'B' if n == 0 else 'I'}-{label}"
                if multi:
                    if tag not in tags[i]:
                        tags[i].append(tag)
                elif not tags[i]:  # single-label: the first span to claim a token keeps it
                    tags[i].append(tag)
    if multi:
        return [t or ["O"] for t in tags]
    return [t[0] if t else "O" for t in tags]


def _match_class(value: Any, entry: LibraryEntry, known: list[Any]) -> Any | None:
    mapping = entry.dragon.prediction.values or {}
    mapped = mapping.get(str(value), value)
    for label in known:
        if str(label) == str(mapped):
            return label
    return None


def _probability(record: Record, field_name: str, value: Any) -> float:
    probs = (record.probabilities or {}).get(field_name)
    if probs and "true" in probs:
        return float(probs["true"])
    return 1.0 if value else 0.0


def to_prediction(
    record: Record | None,
    case: dict[str, Any],
    job: DragonJob,
    entry: LibraryEntry,
    inv: LabelInventory,
) -> tuple[Any, bool]:
    """(official value, whether a fallback was used) for one test case."""
    kind = job.label_name
    out = record.output if record is not None and record.ok and record.output else None
    fields = entry.dragon.prediction.field_names
    if "entity" in kind:
        tokens = case[job.input_name]
        multi = kind.startswith("multi_label")
        if out is None:
            return ([["O"]] * len(tokens) if multi else ["O"] * len(tokens)), True
        spans = [(s["text"], s["label"]) for s in out.get(fields[0]) or []]
        return spans_to_tags(" ".join(tokens), tokens, spans, multi), False
    values: list[Any] = []
    fallback = out is None
    for i, name in enumerate(fields):
        got = out.get(name) if out else None
        if "binary" in kind:
            values.append(0.5 if out is None else _probability(record, name, got))  # type: ignore[arg-type]
        elif "regression" in kind:
            if isinstance(got, (int, float)) and not isinstance(got, bool):
                values.append(float(got))
            else:  # no answer (null, or a failed case): the training median, counted
                values.append(inv.medians[min(i, len(inv.medians) - 1)])
                fallback = True
        else:
            known = inv.classes[min(i, len(inv.classes) - 1)]
            label = _match_class(got, entry, known) if out else None
            if label is None:
                label = known[0]
                fallback = True
            values.append(label)
    if kind.startswith("multi_label"):
        return values, fallback
    return values[0], fallback


def label_problem(output: dict[str, Any], entry: LibraryEntry) -> str | None:
    """Why a training label, as the task's output, would be a wrong few-shot answer (a
    label of the wrong type, a value the fields do not allow); None when it fits."""
    return example_problem(entry.task, output)


def label_to_output(
    label: Any, case: dict[str, Any], job: DragonJob, entry: LibraryEntry
) -> dict[str, Any] | None:
    """A labelled case as the task's output (for few-shot examples); None when the task
    has fields the label does not determine."""
    fields = entry.dragon.prediction.field_names
    if set(entry.task.fields) != set(fields):
        return None
    kind = job.label_name
    if "entity" in kind:
        tokens = case[job.input_name]
        spans: list[dict[str, str]] = []
        current: list[str] = []
        cur_label = ""
        flat = [t if isinstance(t, list) else [t] for t in label]
        # single-label view: the first B-/I- tag of each token
        for tok, tags in zip(tokens, flat, strict=False):
            tag = next((t for t in tags if t != "O"), "O")
            if tag.startswith("B-") or tag == "O" or tag[2:] != cur_label:
                if current:
                    spans.append({"text": " ".join(current), "label": cur_label})
                current, cur_label = ([tok], tag[2:]) if tag != "O" else ([], "")
            else:
                current.append(tok)
        if current:
            spans.append({"text": " ".join(current), "label": cur_label})
        return {fields[0]: spans}
    labels = label if kind.startswith("multi_label") else [label]
    inverse = {v: k for k, v in (entry.dragon.prediction.values or {}).items()}
    output: dict[str, Any] = {}
    for name, value in zip(fields, labels, strict=False):
        spec = entry.task.fields[name]
        if spec.type == "enum":
            value = inverse.get(str(value), value)
            match = [v for v in spec.values or [] if str(v) == str(value)]
            if not match:
                return None
            value = match[0]
        output[name] = value
    return output
