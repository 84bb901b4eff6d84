"""What a finding's fields are when the task's presence field says there is none. A plain
task asks whether a nodule is present and, beside it, the nodules' side ("none if no
nodule"), their count ("0 if none") and the largest size ("null if no nodule"). The model
answers each field on its own and says "nodule_present": false with "side": "right". The
descriptions state what each field is when there is nothing, so where the presence field
is false those fields are set to it, in code:

- a dependent field is a top-level field whose description says "<value> if no <thing>",
  "<value> if there is no <thing>" or "<value> if none"; the value is "none" (an enum
  option), "null" (a field that may be null), "0" or "false";
- its presence field is the one other top-level boolean whose name has a word for that thing
  (``field_names.same_word``: "nodule_present" for "nodule", "follow_up_advised" for
  "follow-up"); with "if none", the one boolean whose name has "present", "presence" or
  "any";
- a dependent field's value is changed only when its presence field is false, and listed
  in the record's ``extra["absent"]``; its option probabilities, if any, become certain;
- an amount the model copied from the report is kept: the report writing it is evidence
  against the presence field (on the held-out dev half, twice a follow-up interval was
  right where "follow_up_advised" was wrongly false).

A field whose description has no such clause is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .field_names import same_word
from .records import Record, option_key
from .task.spec import FieldSpec, Task

__all__ = ["Absent", "absent_values", "apply_absence"]

_IF_NO = re.compile(
    r"\b(none|null|0|false)\s+if\s+(?:there\s+(?:is|are)\s+)?(?:no\s+([^\W\d_]+)|none\b)",
    re.IGNORECASE,
)
_PRESENCE_WORDS = {"present", "presence", "any"}


@dataclass(frozen=True)
class Absent:
    """``field`` is ``value`` when the boolean ``presence`` is false."""

    field: str
    presence: str
    value: Any


def _value(word: str, spec: FieldSpec) -> tuple[bool, Any]:
    """Whether ``word`` ("none", "null", "0", "false") is a value ``spec`` allows, and it."""
    word = word.lower()
    if word == "null":
        return spec.nullable, None
    if word == "none":
        return spec.type == "enum" and "none" in (spec.values or []), "none"
    if word == "0":
        return spec.type in ("integer", "number"), 0
    return spec.type == "boolean", False


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def absent_values(task: Task) -> tuple[Absent, ...]:
    """The dependent fields of ``task`` with their presence field (see the module
    docstring)."""
    fields = task.answer_fields()
    booleans = {n: _words(n) for n, s in fields.items() if s.type == "boolean"}
    found = []
    for name, spec in fields.items():
        others = {b: words for b, words in booleans.items() if b != name}
        for m in _IF_NO.finditer(spec.description or ""):
            allowed, value = _value(m.group(1), spec)
            thing = m.group(2)
            if not allowed or (thing and thing.lower() in {"number", "size", "value", "time"}):
                continue
            if thing:
                presence = [
                    b for b, words in others.items() if any(same_word(w, thing) for w in words)
                ]
            else:
                presence = [b for b, words in others.items() if _PRESENCE_WORDS & set(words)]
            if len(presence) == 1:
                found.append(Absent(name, presence[0], value))
                break
    return tuple(found)


def _same(before: Any, value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return before is value
    return before == value and not isinstance(before, bool)


def apply_absence(record: Record, task: Task) -> None:
    """Set each dependent field of an ok record's output to its value when there is none,
    where its presence field is false (see the module docstring)."""
    output = record.output
    if not record.ok or output is None:
        return
    for a in absent_values(task):
        if output.get(a.presence) is not False or a.field not in output:
            continue
        reading = (record.amounts or {}).get(a.field)
        if reading is not None and reading.value is not None and reading.start is not None:
            continue  # an amount the report writes: evidence against the presence field
        before = output[a.field]
        if _same(before, a.value):
            continue
        output[a.field] = a.value
        if record.probabilities and a.field in record.probabilities:
            record.probabilities[a.field] = {option_key(a.value): 1.0}
        if record.amounts:
            record.amounts.pop(a.field, None)
        record.extra.setdefault("absent", []).append(
            f"{a.field}: {before!r} -> {a.value!r}, {a.presence} is false"
        )
