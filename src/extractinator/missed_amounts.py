"""Amounts answered null that the report does write. A small model often leaves an amount
out ("pack_years": null for "daarvoor 45 pakjaren"), and when it is shown the amount it
takes it. So the hint must be given only where the amount is very likely the one asked:
the field is top-level and answered null, no other amount field of the task asks for the
same kind of quantity, and the report writes exactly one amount of that kind. Lengths are
left out: a report gives many sizes and distances (of lesions, nodes, organs, margins,
landmarks), and one length in a report is weak evidence that it is the size asked for
(on the held-out dev half, five of six such hints would have pointed at the wrong one)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .amounts import amounts_in, convertible, is_known_unit, kind_of
from .task.spec import FieldSpec, Task

__all__ = ["missed_amount_doubts"]

_LENGTH = "a length"


def missed_amount_doubts(task: Task, output: dict[str, Any], text: str) -> list[str]:
    """One line per null top-level amount field whose kind of quantity the report writes
    exactly once (see the module docstring); empty when there is none."""
    kinds = Counter(kind_of(spec.unit) for spec in _amount_specs(task.answer_fields()))
    doubts = []
    for name, spec in task.answer_fields().items():
        if not spec.is_amount or output.get(name) is not None or not _known(spec):
            continue
        kind = kind_of(spec.unit or "")
        if kind == _LENGTH or kinds[kind] > 1:
            continue
        found = {
            text[a.span[0] : a.span[1]]: (tuple(a.numbers), a.written_unit)
            for a in amounts_in(text)
            if a.written_unit and convertible(a.written_unit, spec.unit or "")
        }
        if len(set(found.values())) == 1:  # one amount, maybe written more than once
            written = next(iter(found))
            doubts.append(
                f'"{name}" is null, but the report writes "{written}". If that is what '
                f'"{name}" asks for, give it as written; if not, keep null.'
            )
    return doubts


def _known(spec: FieldSpec) -> bool:
    return spec.unit is not None and is_known_unit(spec.unit)


def _amount_specs(fields: dict[str, FieldSpec]) -> list[FieldSpec]:
    """Every amount field with a known unit, in lists and objects too."""
    out = []
    for spec in fields.values():
        if spec.is_amount and _known(spec):
            out.append(spec)
        if spec.items is not None:
            out.extend(_amount_specs({"": spec.items}))
        if spec.fields:
            out.extend(_amount_specs(spec.fields))
    return out
