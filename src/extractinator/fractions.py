"""Counts written as fractions: "0/19 lymfeklieren", "(1/13)", "3 van 11". A small model
asked for a part and a total often copies the first number into both. When an answer holds
two or more whole numbers without a unit, and one of them is the first number of a fraction
in the report whose second number no such field holds, the model is asked to check that
field (the part or the total?; see checks.py)."""

from __future__ import annotations

import re
from typing import Any

from .task.spec import Task

__all__ = ["fraction_doubts"]

# not a decimal ("1,5/2"), a date ("12/03/2024") or a longer number on either side
_FRACTION = re.compile(
    r"(?<![\d/])(?<!\d[.,])(\d{1,4})\s*(?:/|\bvan\b|\bof\b)\s*(\d{1,4})(?![\d/]|[.,]\d)", re.I
)


def fraction_doubts(task: Task, output: dict[str, Any], text: str) -> list[str]:
    """One line per top-level whole-number field (no unit) that holds the first number of a
    fraction in ``text`` whose second number no such field holds; empty when the answer has
    fewer than two such fields."""
    counts = {
        name: value
        for name, spec in task.answer_fields().items()
        if spec.type == "integer"
        and spec.unit is None
        and isinstance(value := output.get(name), int)
        and not isinstance(value, bool)
    }
    if len(counts) < 2:
        return []
    held = set(counts.values())
    fractions = [(int(m.group(1)), int(m.group(2)), m.group(0)) for m in _FRACTION.finditer(text)]
    doubts = []
    for name, value in counts.items():
        candidates = [
            (total, written)
            for part, total, written in fractions
            if part == value and total != part and total not in held
        ]
        if candidates:  # of several ("0/8", "0/22", "totaal 0/30") the largest whole
            total, written = max(candidates)
            doubts.append(
                f'"{name}" is {value}: the report writes "{written}", {value} of a total of '
                f'{total}. Should "{name}" be the part ({value}) or the total ({total})?'
            )
    return doubts
