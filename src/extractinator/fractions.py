"""Counts written as fractions: "0/19 lymfeklieren", "(1/13)", "3 van 11". A small model
asked for a part and a total often copies the first number into both. When an answer holds
two or more whole numbers without a unit, and one of them is the first number of a fraction
in the report whose second number no such field holds, the model is asked to check that
field (the part or the total?; see checks.py), named with its description. Fields that all
hold the same part are asked about in one line: asked about each alone, the model kept "0"
in both "nodes examined" and "nodes positive" for "(0/19)" (dev2 and dev3, 4 of 4). A field
holding the part of a fraction whose total another field holds is settled.

Reports also count per station and then over all ("regio I 0/10, regio II 0/8, regio III
3/5 ... Lymfeklieren 3/23"). When two fields hold the part and the total of one fraction
and the report writes a fraction with a larger total that no field holds (and a part at
least as large), the model is asked whether that one counts what the fields ask for."""

from __future__ import annotations

import re
from typing import Any

from .task.spec import FieldSpec, Task

__all__ = ["fraction_doubts"]

# not a decimal ("1,5/2"), a date ("12/03/2024") or a longer number on either side
_FRACTION = re.compile(
    r"(?<![\d/])(?<!\d[.,])(\d{1,4})\s*(?:/|\bvan\b|\bof\b)\s*(\d{1,4})(?![\d/]|[.,]\d)", re.I
)


def fraction_doubts(task: Task, output: dict[str, Any], text: str) -> list[str]:
    """One line per fraction in ``text`` whose first number top-level whole-number fields
    (no unit) hold and whose second number none holds, naming those fields; empty when the
    answer has fewer than two such fields."""
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
    asked: dict[tuple[int, int, str], list[str]] = {}  # (part, total, written) -> fields
    for name, value in counts.items():
        if any(part == value and total in held - {value} for part, total, _ in fractions):
            continue  # the answer holds this fraction's part and total: settled
        candidates = [
            (total, written)
            for part, total, written in fractions
            if part == value and total != part and total not in held
        ]
        if candidates:  # of several ("0/8", "0/22", "totaal 0/30") the largest whole
            total, written = max(candidates)
            asked.setdefault((value, total, written), []).append(name)
    fields = task.answer_fields()
    return [
        _doubt(names, part, total, written, fields)
        for (part, total, written), names in asked.items()
    ] + _larger_totals(counts, fractions, fields)


def _larger_totals(
    counts: dict[str, int], fractions: list[tuple[int, int, str]], fields: dict[str, FieldSpec]
) -> list[str]:
    """A part and a total copied from one fraction of the report ("regio I 0/10") where it
    also writes one with a larger total that no field holds ("Lymfeklieren 3/23"): the count
    over all may be asked. One line per such pair of fields, naming the largest total."""
    held = set(counts.values())
    lines = []
    seen: set[tuple[str, str]] = set()
    for part, total, written in fractions:
        if part == total:
            continue
        larger = [
            (t, p, w) for p, t, w in fractions if t > total and part <= p <= t and t not in held
        ]
        pairs = [
            (whole, piece)
            for whole, v in counts.items()
            if v == total
            for piece, u in counts.items()
            if u == part and piece != whole and (whole, piece) not in seen
        ]
        if not larger or not pairs:
            continue
        big_total, big_part, big_written = max(larger)
        for whole, piece in pairs:
            seen.add((whole, piece))
            lines.append(
                f"{_named(whole, fields)} and {_named(piece, fields)} are {total} and {part}, "
                f'as in "{written}"; the report also writes "{big_written}", {big_part} of a '
                f"total of {big_total}. If that counts all of what these fields ask for, give "
                f"{big_total} and {big_part}; if it counts something else, keep your answer."
            )
    return lines


def _named(name: str, fields: dict[str, FieldSpec]) -> str:
    description = fields[name].description
    return f'"{name}"' + (f" ({description})" if description else "")


def _doubt(
    names: list[str], part: int, total: int, written: str, fields: dict[str, FieldSpec]
) -> str:
    """The question about the fields holding the part of one fraction, each named with its
    description: a small model that copied "0" into "nodes examined" and "nodes positive"
    keeps both when asked about each alone, not seeing that one asks for the total."""
    named = [_named(n, fields) for n in names]
    if len(names) == 1:
        return (
            f'{named[0]} is {part}: the report writes "{written}", {part} of a total of '
            f'{total}. Should "{names[0]}" be the part ({part}) or the total ({total})?'
        )
    listed = " and ".join([", ".join(named[:-1]), named[-1]])
    are = "are both" if len(names) == 2 else "are all"
    return (
        f'{listed} {are} {part}: the report writes "{written}", {part} of a total of {total}. '
        f"A field that asks for the total should be {total}; one that asks for the part stays "
        f"{part}."
    )
