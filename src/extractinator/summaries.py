"""Summary amounts answered beside the findings they sum up.

A task that asks for a list of findings with a size each (``lesions: [{size_mm}]``) and,
beside it, the largest of them (``largest_lesion_mm``) gets two answers to one question
from the model. The entries are copied one by one, next to their finding; the summary is
picked from the whole report, where a small model takes the wrong finding's size (an
aorta's 3,4 cm for the largest liver lesion, measured on the held-out dev half). So the
summary is computed from the entries, in code:

- the summary field is a top-level amount whose name holds "largest", "biggest",
  "maximum" or "max" (or "smallest", "minimum", "min") and the name of a list of findings
  ("lesion" for ``lesions``), and that list's entries have exactly one amount of the same
  kind of quantity (a length for a length);
- its value is the largest (smallest) entry amount, in the summary's unit; when the list
  is empty it is null (no finding, nothing to measure) if the field may be null; when no
  entry has an amount, the model's answer stands.

``summary: false`` on the field keeps the model's answer. A changed value is listed in
the record's ``extra["summarised"]`` and its amount reading is the entry's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .amounts import AmountError, convert, convertible
from .records import Record
from .task.spec import FieldSpec, Task

__all__ = ["Summary", "apply_summaries", "summaries_of"]

_LARGEST = {"largest", "biggest", "maximum", "max", "maximal", "grootste", "maximale"}
_SMALLEST = {"smallest", "minimum", "min", "minimal", "kleinste", "minimale"}


@dataclass(frozen=True)
class Summary:
    """``field`` is the ``pick`` of ``items[].item`` over the list ``items``."""

    field: str
    items: str
    item: str
    pick: Literal["max", "min"]

    def __str__(self) -> str:
        return f"the {'largest' if self.pick == 'max' else 'smallest'} {self.item} in {self.items}"


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def _names_list(words: list[str], list_name: str) -> bool:
    """Whether a word of the summary's name is the list's name or its singular (lesion for
    lesions, mass for masses, laesie for laesies)."""
    plurals = set(_words(list_name))
    return any(w + end in plurals for w in words if len(w) >= 3 for end in ("", "s", "es", "en"))


def _entry_amounts(spec: FieldSpec, unit: str) -> list[str]:
    items = spec.items
    if items is None or items.fields is None:
        return []
    return [
        n for n, s in items.fields.items() if s.is_amount and s.unit and convertible(s.unit, unit)
    ]


def summaries_of(task: Task) -> tuple[Summary, ...]:
    """The summary fields of ``task`` (see the module docstring)."""
    found = []
    findings = {n: s for n, s in task.fields.items() if s.is_findings}
    for name, spec in task.fields.items():
        if not spec.is_amount or spec.summary is False or spec.unit is None:
            continue
        words = _words(name)
        pick: Literal["max", "min"] | None = (
            "max" if _LARGEST & set(words) else "min" if _SMALLEST & set(words) else None
        )
        if pick is None:
            continue
        fits = [
            (list_name, entry[0])
            for list_name, list_spec in findings.items()
            if _names_list(words, list_name)
            and len(entry := _entry_amounts(list_spec, spec.unit)) == 1
        ]
        if len(fits) == 1:
            found.append(Summary(name, fits[0][0], fits[0][1], pick))
    return tuple(found)


def apply_summaries(record: Record, task: Task) -> None:
    """Set each summary field of an ok record's output from its list's entries."""
    output = record.output
    if not record.ok or output is None:
        return
    for s in summaries_of(task):
        entries = output.get(s.items)
        if not isinstance(entries, list):
            continue
        spec = task.fields[s.field]
        item_unit = (task.fields[s.items].items.fields or {})[s.item].unit  # type: ignore[union-attr]
        sized = [
            (i, e[s.item])
            for i, e in enumerate(entries)
            if isinstance(e, dict) and isinstance(e.get(s.item), int | float)
        ]
        if not entries:
            if not spec.nullable:
                continue
            value, at = None, None
        elif not sized:
            continue
        else:
            at, amount = (max if s.pick == "max" else min)(sized, key=lambda p: p[1])
            value = _in_unit(amount, item_unit, spec)
            if value is None:
                continue
        before = output.get(s.field)
        if before == value or (before is not None and value is not None and _same(before, value)):
            continue
        output[s.field] = value
        _move_reading(record, s, at, value, spec)
        record.extra.setdefault("summarised", []).append(
            f"{s.field}: {_show(before)} -> {_show(value)}, "
            + (str(s) if at is not None else f"{s.items} is empty")
        )


def _in_unit(amount: float, unit: str | None, spec: FieldSpec) -> float | int | None:
    try:
        value = convert(float(amount), unit or "", spec.unit or "") if unit else float(amount)
    except AmountError:
        return None
    value = round(value, 6)
    return int(round(value)) if spec.type == "integer" else value


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1.0)


def _show(value: Any) -> str:
    return "null" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _move_reading(record: Record, s: Summary, at: int | None, value: Any, spec: FieldSpec) -> None:
    """The summary's amount reading becomes its entry's (none when it is null)."""
    readings = record.amounts or {}
    readings.pop(s.field, None)
    entry = readings.get(f"{s.items}[{at}].{s.item}") if at is not None else None
    if entry is not None:
        readings[s.field] = entry.model_copy(update={"value": value, "unit": spec.unit or ""})
    record.amounts = readings or None
