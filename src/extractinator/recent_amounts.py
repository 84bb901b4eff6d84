"""An earlier result where the task asks for the most recent one. Notes give a test more
than once ("Hb 5,1 mmol/l ... Na transfusie: Hb 5,9 mmol/l"; "K 7,1 mmol/l (gehemolyseerd
monster?); herhaalde bepaling: 6,8 mmol/l"), and a small model copies the first. When the
task's or the field's description asks for the most recent value, the model is shown a
later result once, where the report writes one that can hardly be another test's:

- of the same kind of quantity as the field, a single value (not a range), not a
  reference value ("ref", "norm", or inside brackets that open right before it);
- written after the copied amount and either preceded by the same label (the word right
  before the copied amount: "Hb", "K", "kalium"; not a flag such as "H", "L" or "(H)" or
  a word such as "naar", "van", "tot" that any value may follow), or with a word for a
  repeat between the two ("herhaald", "controle", "repeat", "later", "daarna"); of
  several, the last with the same label, else the first result after the first such word,
  unless that one is named as another amount field's ("Controle-lab: Hb 6,7 mmol/l,
  ureum 23,8 mmol/l" holds no later creatinine);
- not another test by a qualifier before its name ("vrij PSA 1,1 ng/ml", "urine
  kreatinine");
- not a limit ("bij kalium > 6,5 mmol/l", "transfusiegrens Hb < 5,5 mmol/l": a value
  written with "<" or ">");
- not named in the clause before it as another amount field's ("van 104 naar 139 µmol/l"
  after "kreatinine" is not a later potassium).
"""

from __future__ import annotations

import re
from typing import Any

from .amounts import amounts_in, convertible, is_known_unit, label_before, with_label
from .field_names import names, naming_words, same_word
from .records import AmountReading
from .task.spec import Task

__all__ = ["asks_most_recent", "recent_amount_doubts"]

_MOST_RECENT = re.compile(
    r"most recent|latest|last (?:value|result|measurement)|meest recente?|recentste"
    r"|laatste (?:waarde|uitslag|meting)",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"(?:ref\w*|norm\w*)[\s:.]*$|\(\s*$", re.IGNORECASE)
# a qualifier before the test's name makes it another test ("vrij PSA 1,1 ng/ml")
_QUALIFIED = re.compile(r"\b(?:vrije?|free|urine)\b[^\n\d,;]{0,12}$", re.IGNORECASE)
# flags and linking words right before a value: not the name of a test
_NOT_LABELS = {"h", "l", "hh", "ll", "n", "naar", "van", "tot", "to", "from", "en", "and", "of"}
_REPEAT = re.compile(
    r"\b(?:herhaal\w*|herhaling|controle|repeat\w*|later|daarna|nadien)\b", re.IGNORECASE
)


def _other_fields_words(task: Task, name: str) -> set[str]:
    """The words that name the task's other amount fields and not field ``name``."""
    fields = task.answer_fields()
    own = naming_words(name, fields[name])
    return {
        w
        for other, spec in fields.items()
        if other != name and spec.is_amount
        for w in naming_words(other, spec)
        if not any(same_word(w, o) for o in own)
    }


def asks_most_recent(task: Task, name: str) -> bool:
    """Whether the task's or field ``name``'s description asks for the most recent value."""
    return bool(
        _MOST_RECENT.search(task.description or "")
        or _MOST_RECENT.search(task.fields[name].description or "")
    )


def recent_amount_doubts(
    task: Task, output: dict[str, Any], text: str, readings: dict[str, AmountReading]
) -> list[str]:
    """One line per top-level amount field answered with a result the report writes again
    later (see the module docstring)."""
    doubts = []
    for name, spec in task.answer_fields().items():
        reading = readings.get(name)
        if (
            not spec.is_amount
            or spec.unit is None
            or not is_known_unit(spec.unit)
            or output.get(name) is None
            or reading is None
            or reading.start is None
            or reading.end is None
            or not asks_most_recent(task, name)
        ):
            continue
        label = label_before(text, reading.start)
        if label in _NOT_LABELS:
            label = None
        others = _other_fields_words(task, name)
        repeat = _REPEAT.search(text, reading.end)
        same: list[str] = []
        repeated: list[str] = []  # the first result after the word for a repeat, if the field's
        first_after_repeat = True
        for later in amounts_in(text):
            begin, end = later.span
            if begin < reading.end or later.kind == "range" or later.written_unit is None:
                continue
            if later.comparator in ("<", ">", "<=", ">="):
                continue  # a limit ("bij kalium > 6,5 mmol/l"), not a result
            if not convertible(later.written_unit, spec.unit):
                continue
            if _REFERENCE.search(text[max(0, begin - 20) : begin]):
                continue
            if _QUALIFIED.search(text[max(0, begin - 20) : begin]):
                continue
            another = names(text, begin, others) is not None
            after_repeat = repeat is not None and begin >= repeat.end() and first_after_repeat
            if after_repeat:
                first_after_repeat = False
            if another:
                continue
            if label is not None and label_before(text, begin) == label:
                same.append(with_label(text, begin, end))
            elif after_repeat:
                repeated.append(with_label(text, begin, end))
        if same or repeated:
            written = same[-1] if same else repeated[0]
            doubts.append(
                f'"{name}" is "{reading.text}", but the report writes "{written}" after it. '
                "The task asks for the most recent value: if that is a later result of the "
                "same test, give it as written; if not, keep your answer."
            )
    return doubts
