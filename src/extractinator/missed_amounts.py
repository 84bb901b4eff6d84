"""Amounts answered null, or with a bare number, where the report writes the amount. A
small model often leaves an amount out ("pack_years": null for "daarvoor 45 pakjaren") or
takes a number without a unit from elsewhere ("psa": "0,09" from "PSA-dichtheid 0,09" where
the report writes "PSA 8,9 ng/ml"), and when it is shown the amount it takes it. So the
hint is given only where the amount can hardly be another one: the field is top-level, no
other amount field of the task asks for the same kind of quantity, and the report writes
exactly one amount of that kind. Lengths are left out: a report gives many sizes and
distances (of lesions, nodes, organs, margins, landmarks), and one length in a report is
weak evidence that it is the size asked for (on the held-out dev half, five of six such
hints would have pointed at the wrong one).

A null is also doubted where the report names the field right before one amount of its
kind ("circumferential_margin_mm" or "(CRM)": "afstand tot het circumferentiële snijvlak
1,2 cm"), a length too, however many others the report writes. The name is a word of the
field's name or of a short bracket in its description, less the words for the measurement
itself ("size", "distance", "largest"), in the clause right before the amount or in the
heading of its line ("Circumferentieel resectievlak: vrij; de kleinste afstand bedraagt
11 mm") (``field_names``). On the held-out dev half this hint came once, rightly.

A size field answered null because its copy was refused (a distance, another organ's
size: see ``reading``) is doubted too, where the report writes exactly one length that
may be the size: not in the clinical information, not a distance to a landmark, not a
specimen's size (``specimens``), not about another organ (``organs``). The model tried to
give a size, so the report has one to give; "4 cm van de tepel" refused, "een laesie van
0,8 cm" is shown.

No amount is shown for a field whose presence field is false ("interval_months" where
"follow_up_advised" is false: ``absence``). Amounts written in words count ("anderhalve
centimeter"). For a field tied to this examination (``clinical_amounts``), amounts in the
clinical information are never shown: a copy of one would be refused.

An answer copied from the clinical information ("afstand tot MRF 1 mm" on the MRI before
the operation) is doubted where the report itself, outside it, names the field before one
amount of another value ("CRM 1,5 mm"). Amounts are compared in the field's unit, reduced
by its ``pick``: "0,3 cm" and "CRM 3 mm" are one margin.

Where the named amount is followed in its sentence by later values of its kind ("PSA
vorig jaar 5,2 ng/ml, thans 6,1 ng/ml"), the hint quotes them all: the name stands before
the first, the answer may be a later one."""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import chain
from typing import Any

from .absence import absent_values
from .amounts import (
    AmountError,
    ParsedAmount,
    amounts_in,
    convert,
    convertible,
    is_known_unit,
    kind_of,
    pick_value,
    with_label,
    word_amounts_in,
)
from .clinical_amounts import clinical_sections, is_about_this_examination, is_earlier
from .distances import is_distance, is_size_field
from .field_names import (
    NAMED_REACH,
    asks_most_recent,
    heading_names,
    names,
    naming_words,
    same_word,
)
from .organs import about_another_organ, is_organ_dimension, subject
from .pack_years import is_pack_year_unit, not_the_patients
from .records import AmountReading
from .specimens import is_specimen_size
from .tables import tables_in
from .task.spec import FieldSpec, Task

__all__ = ["missed_amount_doubts"]

_LENGTH = "a length"
_CONCENTRATIONS = ("a mass concentration", "a molar concentration")  # labelled lab results
# the label that starts a list item right before a value: "..., albumine 41" / "\nKreatinine: 82"
_LIST_ITEM = re.compile(r"(?:^|[,;:(]|[.]\s|\n)[ \t]*([^\W\d_][\w-]*)[ \t]*[:=]?[ \t]*\Z")
_HEADER_UNIT = re.compile(r"\(([^()\d]{1,12})\)")  # "nu (mm)", "Hb (mmol/l)"
_BOUNDS = ("<", "<=", ">", ">=")  # a limit, not a measurement ("~" is "ca.": measured)
_SENTENCE_BREAK = re.compile(r"[.;]\s|\n")
# words between two values that make the second a later one of the same thing
_LATER = re.compile(
    r"\b(?:thans|nu|now|huidige?|actueel|vandaag|today|currently|recent\w*|daarna|later"
    r"|nadien|naar|to|herhaal\w*|gestegen|gedaald|opgelopen|rose|fell|laatste|last|latest)\b",
    re.IGNORECASE,
)


def missed_amount_doubts(
    task: Task, output: dict[str, Any], text: str, readings: dict[str, AmountReading]
) -> list[str]:
    """One line per top-level amount field whose kind of quantity the report writes exactly
    once (see the module docstring) and whose answer is null, or a number the report does
    not write with a unit (``readings``: how the answer's amounts were read, by path)."""
    kinds = Counter(kind_of(spec.unit) for spec in _amount_specs(task.answer_fields()))
    none_present = {a.field for a in absent_values(task) if output.get(a.presence) is False}
    doubts = []
    for name, spec in task.answer_fields().items():
        if not spec.is_amount or not _known(spec):
            continue
        reading = readings.get(name)
        bare = reading is not None and reading.value is not None and reading.unit_from == "field"
        kind = kind_of(spec.unit or "")
        of_kind = [
            a
            for a in sorted(chain(amounts_in(text), word_amounts_in(text)), key=_start)
            if a.written_unit and convertible(a.written_unit, spec.unit or "")
        ]
        if is_pack_year_unit(spec.unit):  # not the husband's "ca. 30 pakjaren"
            of_kind = [a for a in of_kind if not not_the_patients(text, a.span[0])]
        if output.get(name) is not None and reading is not None and not bare:
            doubts += _from_clinical_information(name, spec, reading, of_kind, text)
        if output.get(name) is not None and reading is not None and kind in _CONCENTRATIONS:
            doubts += _from_another_test(name, spec, reading, of_kind, text)
        if (output.get(name) is not None and not bare) or name in none_present:
            continue
        if is_about_this_examination(spec, (task.description,)):  # the rest would be refused
            sections = clinical_sections(text)
            of_kind = [a for a in of_kind if not _inside(a.span[0], sections)]
        if kind == _LENGTH and _in_a_table_header(text, spec.unit or ""):
            continue  # its cells are sizes too ("| nu (mm) |" over "| 11 x 8 |")
        found = _one(of_kind, spec, text) if kind != _LENGTH and kinds[kind] == 1 else None
        if found is not None and kind in _CONCENTRATIONS:  # not "albumine 41 g/l" for a CRP
            own = naming_words(name, spec)
            if any(
                _labelled_for_another(text, a, own) for a in of_kind if a.numbers == list(found[1])
            ):
                found = None
        if found is None and not bare:
            found = _named(name, spec, of_kind, text)
        if found is None and reading is not None and reading.problem and is_size_field(spec):
            own = subject([spec.description, task.description])
            found = _one([a for a in of_kind if _may_be_a_size(a, text, own)], spec, text)
        if found is None:
            continue
        written, numbers = found
        if reading is not None and bare:
            if reading.numbers and set(reading.numbers) <= set(numbers):
                continue  # the same number, only read without its unit
            doubts.append(
                f'"{name}" is {reading.text}, which the report writes without a unit, but the '
                f'report writes "{written}". If that is what "{name}" asks for, give it as '
                "written; if not, keep your answer."
            )
        elif len(series := list(amounts_in(written))) > 1 and asks_most_recent(task, name):
            last = written[series[-1].span[0] : series[-1].span[1]]
            doubts.append(
                f'"{name}" is null, but the report writes "{written}", the most recent '
                f'"{last}". If that is what "{name}" asks for, give the most recent as '
                "written; if not, keep null."
            )
        else:
            doubts.append(
                f'"{name}" is null, but the report writes "{written}". If that is what '
                f'"{name}" asks for, give it as written; if not, keep null.'
            )
    return doubts


def _value(amount: ParsedAmount, spec: FieldSpec) -> float | None:
    """``amount`` in the field's unit, reduced by its ``pick`` ("0,3 cm" and "3 mm" are one
    margin; "11 x 8 x 7 mm" and "11 mm" one size); None where it does not convert."""
    try:
        return convert(
            pick_value(amount.numbers, spec.pick_rule), amount.written_unit or "", spec.unit or ""
        )
    except AmountError:
        return None


def _one(
    amounts: list[ParsedAmount], spec: FieldSpec, text: str
) -> tuple[str, tuple[float, ...]] | None:
    """The words and numbers of the one amount in ``amounts`` (maybe written more than
    once, in other units or with more dimensions), or None for none or several."""
    found = {text[a.span[0] : a.span[1]]: a for a in amounts}
    if len({_value(a, spec) for a in found.values()}) != 1:
        return None
    written, amount = next(iter(found.items()))
    return _in_digits(written, amount), tuple(amount.numbers)


def _in_digits(written: str, amount: ParsedAmount) -> str:
    """An amount written in words with its numbers beside it ("zeventig milliliter (70
    milliliter)"): a small model shown only the words does not take them."""
    if any(ch.isdigit() for ch in written):
        return written
    numbers = " x ".join(f"{n:g}" for n in amount.numbers)
    return f"{written} ({numbers} {amount.written_unit})"


def _from_clinical_information(
    name: str, spec: FieldSpec, reading: AmountReading, amounts: list[ParsedAmount], text: str
) -> list[str]:
    """The doubt about an answer copied from the clinical information ("afstand tot MRF
    1 mm" on an earlier MRI) where the report itself, outside it, names the field before
    one amount of another value ("CRM 1,5 mm")."""
    sections = clinical_sections(text)
    if reading.start is None or not _inside(reading.start, sections):
        return []
    outside = [a for a in amounts if not _inside(a.span[0], sections)]
    written = _named_elsewhere(name, spec, outside, text, reading.value)
    if written is None:
        return []
    return [
        f'"{name}" is "{reading.text}", written in the clinical information, but the report '
        f'itself writes "{written}". If that is what "{name}" asks for, give it as written; '
        "if not, keep your answer."
    ]


def _named_elsewhere(
    name: str, spec: FieldSpec, amounts: list[ParsedAmount], text: str, value: float | None
) -> str | None:
    """The words of the one amount of ``amounts`` the report names by the field
    (``_named``), where its value is not ``value`` (an answer's); None otherwise."""
    found = _named(name, spec, amounts, text)
    if found is None or value is None:
        return None
    written, numbers = found
    named = next(_value(a, spec) for a in amounts if tuple(a.numbers) == numbers)
    return None if named is None or math.isclose(named, value) else written


def _from_another_test(
    name: str, spec: FieldSpec, reading: AmountReading, amounts: list[ParsedAmount], text: str
) -> list[str]:
    """The doubt about a lab result copied from another test's item of a list ("18,4" for
    creatinine from "ureum 18,4 mmol/l (verhoogd), kreatinine 104 µmol/l") where the report
    names the field before one amount of another value."""
    at = reading.start
    copied = next((a for a in amounts if at is not None and a.span[0] <= at < a.span[1]), None)
    own = naming_words(name, spec)
    if copied is None or not _labelled_for_another(text, copied, own):
        return []
    written = _named_elsewhere(name, spec, amounts, text, reading.value)
    if written is None or text[copied.span[0] : copied.span[1]] in written:
        return []  # none, or the copy is a later value of the named series ("..., nu 4,3")
    return [
        f'"{name}" is "{reading.text}", written as "{with_label(text, *copied.span)}", but '
        f'the report writes "{written}". If that is what "{name}" asks for, give it as '
        "written; if not, keep your answer."
    ]


def _in_a_table_header(text: str, unit: str) -> bool:
    """Whether a table of the report gives a unit of ``unit``'s kind in a header cell ("nu
    (mm)"): its cells are amounts of that kind written without a unit, so the amounts
    written with one are not all the report's."""
    for table in tables_in(text):
        for cell in table.header:
            for written in _HEADER_UNIT.findall(cell.text if cell else ""):
                if is_known_unit(written) and convertible(written, unit):
                    return True
    return False


def _labelled_for_another(text: str, amount: ParsedAmount, own: set[str]) -> bool:
    """Whether a lab result is an item of a list of results labelled by another test's name
    ("calcium 2,89 mmol/l (verhoogd), albumine 41 g/l, fosfaat ..."): the word right before
    it (a colon aside) starts the item, after a comma, semicolon, colon, bracket, a
    sentence's or a line's start, and is no word of the field's (``own``)."""
    item = _LIST_ITEM.search(text, 0, amount.span[0])
    return item is not None and not any(same_word(item.group(1), w) for w in own)


def _inside(at: int, sections: list[tuple[int, int]]) -> bool:
    return any(s <= at < e for s, e in sections)


def _may_be_a_size(amount: ParsedAmount, text: str, own: frozenset[str]) -> bool:
    """Whether ``amount`` may be the size a field about the organs ``own`` asks for: not in
    the clinical information, not an earlier examination's, not a distance to a landmark,
    not a specimen's size, not about another organ, not an organ's own dimension."""
    begin, end = amount.span
    return not (
        _inside(begin, clinical_sections(text))
        or is_earlier(text, begin)
        or is_distance(text, amount)
        or is_specimen_size(text, amount)
        or about_another_organ(text, begin, end, own)
        or is_organ_dimension(text, begin)
    )


def _named(
    name: str, spec: FieldSpec, amounts: list[ParsedAmount], text: str
) -> tuple[str, tuple[float, ...]] | None:
    """The words (from the naming word on) and numbers of the one amount of ``amounts``
    that the report names by a word of the field (``field_names``), or None."""
    labels = naming_words(name, spec)
    found: dict[float | None, tuple[str, tuple[float, ...]]] = {}
    bounds: dict[float | None, tuple[str, tuple[float, ...]]] = {}
    for a in amounts:
        at = names(text, a.span[0], labels)
        if at is None:
            at = heading_names(text, a.span[0], labels)
        if at is not None:
            end = _chain_end(a, amounts, text)
            # a bound ("CRM positief (< 1 mm)") gives way to the measurement it summarises
            into = bounds if a.comparator in _BOUNDS else found
            shown = _in_digits(text[at:end], a)
            into.setdefault(_value(a, spec), (shown, tuple(a.numbers)))
    if not found:
        found = bounds
    if len(found) != 1:
        return None
    return next(iter(found.values()))


def _chain_end(first: ParsedAmount, amounts: list[ParsedAmount], text: str) -> int:
    """Where the later values of ``first``'s thing end: amounts of ``amounts`` that follow
    it in its sentence, each within ``NAMED_REACH`` characters of the one before and after
    a word for a later value ("thans", "naar"). "PSA vorig jaar 5,2 ng/ml, thans 6,1 ng/ml"
    is shown whole; "Hb 7,1 mmol/l, K 4,2 mmol/l" is not."""
    end = first.span[1]
    for a in sorted(amounts, key=lambda a: a.span[0]):
        if a.span[0] < end:
            continue
        gap = text[end : a.span[0]]
        listed = not re.sub(r"\([^()]*\)|[\s,]", "", gap)  # "5,1 ng/ml (jan), 6,4 ng/ml"
        if len(gap) > NAMED_REACH or _SENTENCE_BREAK.search(gap):
            break
        if not (listed or _LATER.search(gap)):
            break
        end = a.span[1]
    return end


def _start(amount: ParsedAmount) -> int:
    return amount.span[0]


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
