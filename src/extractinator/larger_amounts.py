"""A smaller finding's size where the task asks for the largest finding. Reports measure
several findings ("Rechts 11 uur: laesie 11 x 8 mm. Links 4 uur: eenvoudige cyste 18 mm";
"solide 5 mm ROK en matglasnodus 12 mm"), and a small model copies the first or the most
suspicious one where the field asks for "the largest breast lesion" or "the largest
nodule". When a field's description asks for the largest of a kind of finding (not only the
largest diameter of one), the model is shown the largest larger amount of the same kind of
quantity once, to check, where the report writes one:

- not in the clinical information (``clinical_amounts``), not a distance to a landmark
  (``distances``), not about another organ than the field's (``organs``), not an earlier
  examination's (a word such as "voorheen", "eerder", "previously" in the clause before
  it), not a thickness ("verdikt", "wandverdikking", "thickening" there), not an organ's
  own dimension ("Lever: vergroot (craniocaudaal 19 cm)", ``organs.is_organ_dimension``);
- compared by its largest number, converted to the field's unit.

The model is told what the field asks for and to keep its answer for another kind of
finding (another organ's, a lymph node). Fields computed from a list of findings
(``summaries``) are left out: their value comes from the list.
"""

from __future__ import annotations

import re
from typing import Any

from .amounts import AmountError, amounts_in, convert, convertible, is_known_unit, pick_value
from .clinical_amounts import clause_before, clinical_sections, is_earlier
from .distances import is_distance
from .field_names import MEASURE_WORDS, WORD
from .organs import about_another_organ, is_organ_dimension, subject
from .records import AmountReading
from .summaries import summaries_of
from .task.spec import FieldSpec, Task

__all__ = ["is_earlier", "larger_amount_doubts", "largest_of"]

_LARGEST = {"largest", "biggest", "grootste"}
_ENDS = {"in", "on", "of", "at", "op", "van", "with", "met", "per", "bij", "seen"}
_MAX_WORDS = 3
# a thickness is not a finding's diameter ("Appendix verdikt (11 mm)", "wandverdikking over
# 5 cm")
_THICKNESS = re.compile(r"\b(?:\w*verdik\w*|\w*dikte|thicken\w*|thickness)\b", re.IGNORECASE)


def largest_of(spec: FieldSpec) -> str | None:
    """The kind of finding whose largest the field asks for ("breast lesion" in "Largest
    diameter of the largest breast lesion in mm"), or None where it asks for none (the
    largest diameter of one tumour)."""
    words = [m.group() for m in WORD.finditer(spec.description or "")]
    for i, word in enumerate(words[:-1]):
        if word.lower() not in _LARGEST or words[i + 1].lower() in MEASURE_WORDS:
            continue
        kind = []
        for w in words[i + 1 : i + 1 + _MAX_WORDS]:
            if w.lower() in _ENDS or w.lower() in MEASURE_WORDS:
                break
            kind.append(w)
        if kind and kind[0].lower() not in {"diameter", "dimension", "axis"}:
            return " ".join(kind)
    return None


def larger_amount_doubts(
    task: Task, output: dict[str, Any], text: str, readings: dict[str, AmountReading]
) -> list[str]:
    """One line per top-level field asking for the largest of a kind of finding, answered
    with an amount smaller than another the report writes (see the module docstring)."""
    summarised = {s.field for s in summaries_of(task)}
    doubts = []
    for name, spec in task.answer_fields().items():
        value = output.get(name)
        reading = readings.get(name)
        kind = largest_of(spec) if spec.is_amount else None
        if (
            kind is None
            or name in summarised
            or spec.unit is None
            or not is_known_unit(spec.unit)
            or not isinstance(value, int | float)
            or reading is None
        ):
            continue
        own = subject([spec.description, task.description])
        found = _larger(spec.unit, float(value), text, own)
        if found is not None:
            doubts.append(
                f'"{name}" is "{reading.text}", but the report also writes "{found}". The task '
                f"asks for the largest {kind}: if that is a larger {kind}, give it as written; "
                f"if it is not a {kind} (another organ's finding, a lymph node, a distance), "
                "keep your answer."
            )
    return doubts


def _larger(unit: str, value: float, text: str, own: frozenset[str]) -> str | None:
    """The clause of the largest amount of ``unit``'s kind larger than ``value`` that the
    report writes outside the clinical information, not as a distance, not as an earlier
    examination's and not about another organ than ``own``; None where there is none."""
    sections = clinical_sections(text)
    best: tuple[float, str] | None = None
    for a in amounts_in(text):
        begin, end = a.span
        if not a.written_unit or not convertible(a.written_unit, unit):
            continue
        if any(s <= begin < e for s, e in sections) or is_distance(text, a):
            continue
        if about_another_organ(text, begin, end, own) or is_organ_dimension(text, begin):
            continue
        clause = clause_before(text, begin)
        if is_earlier(text, begin) or _THICKNESS.search(clause):
            continue
        try:
            size = convert(pick_value(a.numbers, "largest"), a.written_unit, unit)
        except AmountError:
            continue
        if size > value * 1.01 and (best is None or size > best[0]):
            best = (size, " ".join((clause + text[begin:end]).split()))
    return best[1] if best else None
