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
  ureum 23,8 mmol/l" holds no later creatinine); or, in the same sentence, right after a
  clock time or a word for today and named by nothing else ("Kalium 3,2 mmol/l om 06:00; na
  KCl iv om 18:00: 3,8 mmol/l"; "Kalium gisteren 5,8 mmol/l, vanochtend 4,9 mmol/l"), the
  last such;
- not another test by a qualifier before its name ("vrij PSA 1,1 ng/ml", "urine
  kreatinine"), or by the material its line starts with ("Urine (portie):
  kreatinine 12,8 mmol/l" after a serum "kreatinine 49 µmol/l"; a heading "URINE" over a
  block of lines, up to a blank line);
- not a limit ("bij kalium > 6,5 mmol/l", "transfusiegrens Hb < 5,5 mmol/l": a value
  written with "<" or ">");
- not named in the clause before it as another amount field's ("van 104 naar 139 µmol/l"
  after "kreatinine" is not a later potassium).
"""

from __future__ import annotations

import re
from typing import Any

from .amounts import amounts_in, convertible, is_known_unit, label_before, with_label
from .field_names import asks_most_recent, names, naming_words, same_word
from .records import AmountReading
from .task.spec import Task

__all__ = ["recent_amount_doubts"]

_REFERENCE = re.compile(r"(?:ref\w*|norm\w*)[\s:.]*$|\(\s*$", re.IGNORECASE)
# a qualifier before the test's name makes it another test ("vrij PSA 1,1 ng/ml")
_QUALIFIED = re.compile(r"\b(?:vrije?|free|urine)\b[^\n\d,;]{0,12}$", re.IGNORECASE)
# flags and linking words right before a value: not the name of a test
# a line that starts with a material: the results on it are of that material, and those
# below a heading line that names one, up to a blank line (blood when none is named)
_MATERIAL = re.compile(
    r"^[ \t]*(urine|liquor|csf|ascites|pleuravocht|punctaat|feces|faeces|sputum|serum|plasma"
    r"|bloed|blood|volbloed)\b",
    re.IGNORECASE | re.MULTILINE,
)
_BLOOD = {"serum", "plasma", "bloed", "blood", "volbloed"}
# a clock time right before a value: the time of a result named earlier in the sentence
_AT_CLOCK = re.compile(
    r"(?:\b\d{1,2}[:.]\d{2}\s*(?:u(?:ur)?\.?)?|\b(?:vanochtend|vanmiddag|vanavond|vandaag"
    r"|this morning|today))\s*:?\s*$",
    re.IGNORECASE,
)  # "om 18:00: 3,8 mmol/l", "vanochtend 4,9 mmol/l"
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
        timed: list[str] = []  # results at a clock time later in the copied one's sentence
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
            if _material(text, begin) != _material(text, reading.start):
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
            elif _AT_CLOCK.search(text[max(0, begin - 16) : begin]) and _one_sentence(
                text[reading.end : begin]
            ):
                timed.append(text[begin:end])
        if same or repeated or timed:
            written = same[-1] if same else repeated[0] if repeated else timed[-1]
            doubts.append(
                f'"{name}" is "{reading.text}", but the report writes "{written}" after it. '
                "The task asks for the most recent value: if that is a later result of the "
                "same test, give it as written; if not, keep your answer."
            )
    return doubts


def _one_sentence(between: str) -> bool:
    """Whether the text between two amounts stays within one sentence."""
    return "\n" not in between and not re.search(r"[.!?](?:\s|$)", between)


def _material(text: str, at: int) -> str | None:
    """The material a result at ``at`` is of: named at the start of its own line, or by a
    heading line (no numbers) above it in the same paragraph; None for blood (the
    default)."""
    paragraph = text.rfind("\n\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    own = True
    while True:
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        m = _MATERIAL.match(line)
        if m is not None and (own or not any(c.isdigit() for c in line)):
            word = m.group(1).lower()
            return None if word in _BLOOD else word
        if start == 0 or start <= paragraph + 2:
            return None
        start, own = text.rfind("\n", 0, start - 1) + 1, False
