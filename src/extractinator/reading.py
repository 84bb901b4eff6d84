"""Read the amounts in a validated answer: the model copied each amount as the report
writes it ("1,4 cm", "3,2 x 2,1 cm", "< 5 mm"); here it is parsed, given the unit the report
wrote after it when the model left the unit out, converted to the field's unit, reduced to
one value by the field's ``pick``, checked against the field's range, and grounded in the
report. What was read is kept beside the value (``Record.amounts``)."""

from __future__ import annotations

import math
import re
from itertools import chain
from typing import Any

from .absent_subjects import check_not_denied
from .align import align_spans
from .amounts import (
    AmountError,
    OtherFindingsAmount,
    ParsedAmount,
    amounts_in,
    convertible,
    is_known_unit,
    label_before,
    normalise_unit,
    parse_amount,
    parse_number,
    pick_value,
    word_amounts_in,
)
from .clinical_amounts import check_not_clinical_information
from .conventions import conventions_in, convert_with
from .distances import check_not_a_distance
from .excluded_findings import check_not_excluded, not_counted
from .field_names import check_not_named_for_another, field_labels, naming_words, same_word
from .organs import (
    about_another_organ,
    check_not_an_enlarged_organ,
    check_not_another_organ,
    subject,
)
from .pack_years import computed_pack_years, fill_implied_pack_years
from .records import AmountReading
from .specimens import check_not_the_specimen
from .task.spec import FieldSpec, Task
from .validate import InvalidOutput

__all__ = ["amount_paths", "drop_unreadable_entries", "read_amounts"]


def amount_paths(fields: dict[str, FieldSpec], output: dict[str, Any]) -> list[tuple[str, Any]]:
    """(path, container) of every amount value in an answer, in field order: top-level
    ``name``, nested ``name.sub`` and ``name[2].sub``."""
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, spec: FieldSpec, value: Any) -> None:
        if value is None:
            return
        if spec.type == "object" and isinstance(value, dict):
            for sub, sub_spec in (spec.fields or {}).items():
                walk(f"{prefix}.{sub}", sub_spec, value.get(sub))
        elif spec.type == "list" and spec.items is not None and isinstance(value, list):
            for i, item in enumerate(value):
                walk(f"{prefix}[{i}]", spec.items, item)
        elif spec.is_amount:
            found.append((prefix, value))

    for name, spec in fields.items():
        if spec.compute is None:
            walk(name, spec, output.get(name))
    return found


_NULL_WORDS = {"null", "none"}


MAX_PROBLEMS_SHOWN = 5  # the amounts a re-ask names; the rest are counted


def read_amounts(
    task: Task, output: dict[str, Any], text: str, *, null_unreadable: bool = False
) -> dict[str, AmountReading]:
    """Replace every amount in ``output`` (in place) by its value in the field's unit and
    return path -> reading. Raises InvalidOutput (the re-ask message) when an amount cannot
    be read, does not convert, or falls outside the field's range; with
    ``null_unreadable`` (the re-asks are used up) such an amount of a nullable field
    becomes null instead, its reading saying why (``problem``), and only the others raise.
    A pack-years field answered null where the report implies them is computed
    (``pack_years.fill_implied_pack_years``)."""
    readings: dict[str, AmountReading] = {}
    problems: list[str] = []

    def visit(
        prefix: str, spec: FieldSpec, holder: Any, key: Any, around: tuple[str | None, ...]
    ) -> None:
        value = holder[key]
        if value is None:
            return
        described = (spec.description, *around)  # the field's, its lists', the task's
        if spec.type == "object" and isinstance(value, dict):
            for sub, sub_spec in (spec.fields or {}).items():
                if sub in value:
                    visit(f"{prefix}.{sub}", sub_spec, value, sub, described)
        elif spec.type == "list" and spec.items is not None and isinstance(value, list):
            for i in range(len(value)):
                visit(f"{prefix}[{i}]", spec.items, value, i, described)
        elif spec.is_amount:
            if spec.nullable and isinstance(value, str) and value.strip().lower() in _NULL_WORDS:
                holder[key] = None  # JSON null written as text ("null"): the same answer
                return
            try:
                reading = read_amount(value, spec, text, prefix, around)
                if text and prefix in task.fields:  # a top-level field
                    fields = task.answer_fields()
                    check_not_named_for_another(
                        fields, prefix, reading.start, reading.end, text, reading.text
                    )
            except AmountError as e:
                if null_unreadable and spec.nullable:
                    holder[key] = None
                    readings[prefix] = AmountReading(
                        text=str(value), value=None, unit=spec.unit or "", problem=str(e)
                    )
                else:
                    problems.append(f"field '{prefix}': {e}")
                return
            holder[key] = reading.value
            readings[prefix] = reading

    for name, spec in task.fields.items():
        if spec.compute is None and name in output:
            visit(name, spec, output, name, (task.description,))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > MAX_PROBLEMS_SHOWN:  # a runaway list: the re-ask stays short
            shown.append(f"and {len(problems) - MAX_PROBLEMS_SHOWN} more amounts of this answer")
        raise InvalidOutput("invalid_amount", "; ".join(shown))
    if text:
        readings.update(fill_implied_pack_years(task, output, text))
    return readings


def drop_unreadable_entries(task: Task, output: dict[str, Any], text: str) -> list[str]:
    """When the re-asks are used up: remove from ``output`` (in place) every list entry that
    holds an amount which cannot be read and whose field does not allow null (an entry the
    model made up: "size": "none"), so that one entry does not fail the case, and every
    entry whose amount the report writes only of another finding (another organ's, one the
    task does not count: the entry is that finding). Returns one note per removed entry, its
    path as answered and why."""
    notes: list[str] = []

    def prune(prefix: str, spec: FieldSpec, value: Any, around: tuple[str | None, ...]) -> None:
        described = (spec.description, *around)
        if spec.type == "object" and isinstance(value, dict):
            for sub, sub_spec in (spec.fields or {}).items():
                prune(f"{prefix}.{sub}", sub_spec, value.get(sub), described)
        elif spec.type == "list" and spec.items is not None and isinstance(value, list):
            kept = []
            for i, item in enumerate(value):
                why = _unreadable(spec.items, item, text, described)
                if why is not None:
                    notes.append(f"{prefix}[{i}] ({why})")
                    continue
                kept.append(item)
                prune(f"{prefix}[{i}]", spec.items, item, described)
            value[:] = kept

    for name, spec in task.answer_fields().items():
        prune(name, spec, output.get(name), (task.description,))
    return notes


def _unreadable(
    spec: FieldSpec, value: Any, text: str, around: tuple[str | None, ...]
) -> str | None:
    """Why an amount in ``value`` (not inside a further list) that may not be null cannot
    be read; None when every such amount reads."""
    if value is None:
        return None
    if spec.type == "object" and isinstance(value, dict):
        for sub, sub_spec in (spec.fields or {}).items():
            why = _unreadable(sub_spec, value.get(sub), text, (spec.description, *around))
            if why is not None:
                return f"{sub}: {why}"
    elif spec.is_amount:
        try:
            read_amount(value, spec, text, around=around)
        except OtherFindingsAmount as e:
            return str(e)  # the entry is that other finding, null or not
        except AmountError as e:
            if not spec.nullable:
                return str(e)
    return None


def read_amount(
    written: str | float,
    spec: FieldSpec,
    text: str,
    name: str = "",
    around: tuple[str | None, ...] = (),
) -> AmountReading:
    """One amount as written -> its reading in ``spec``'s unit (AmountError when it cannot).

    A number without a unit (text "1,2", or a JSON number 1.2) is read as the amount of the
    report it stands in: the first amount written with a unit that converts to the field's
    ("1,2" copied from "1,2 cm" is 1.2 cm; "3,2" from "3,2 x 2,1 cm" is that size, "90"
    from "ER 90-100%" that range, each reduced by the field's ``pick``), preferring one
    named by the field (``name`` "er_percent": "ER 90-100%" over "> 90% tubulair"); found
    nowhere with a unit, it is in the field's unit. Text must be a copy of the report (or
    the report's amount with its unit in other words: "1 year" for "1 jaar"), and so must
    a JSON number, or be the exact conversion of a report amount (``_converted_in_report``:
    a number the report does not write, 1.4 for "anderhalve centimeter", is made up);
    pack-years that the report implies by packs a day and years smoked are read as
    computed (``pack_years``). ``around`` holds the descriptions of the lists and objects
    around the field and the task's, innermost first: they say what the field is about (an
    organ, this examination)."""
    assert spec.unit is not None
    is_json_number = isinstance(written, (int, float)) and not isinstance(written, bool)
    shown = _num(float(written)) if is_json_number else str(written)
    parsed = parse_amount(shown)
    computed = computed_pack_years(parsed.numbers, parsed.written_unit, spec.unit, text)
    copied = not text or computed is not None or copied_from(parsed, text)
    same = None if copied else _same_in_other_words(parsed, text)
    begun = None if copied or same else _size_begun(parsed, text)
    converted_from = None if copied or same or begun else _converted_in_report(parsed, spec, text)
    if not copied and same is None and begun is None and converted_from is None:
        raise AmountError(
            f"{shown!r} is not in the report as written: copy the number and its unit "
            'exactly as the report writes them (e.g. "95%", "1,4 cm"), or null'
        )
    at: tuple[int, int] | None = same.span if same is not None else None
    read = parsed
    if begun is not None:
        read, at, unit_from = begun, begun.span, "answer"
        units = _shared_units(read.units)
    elif converted_from is not None:
        read, at, unit_from = converted_from, converted_from.span, "report"
        units = _shared_units(read.units)
    elif parsed.written_unit is None:
        own = subject((spec.description, *around))
        found = _amount_in_report(parsed, spec, text, name, own) if text else None
        unit_from = "report" if found else "field"
        if found is not None:
            read, at = found, found.span
        elif text and computed is None:
            _check_percentage_written(spec, shown)
            _check_not_another_quantity(parsed, spec, text, shown)
            _check_not_a_compound(parsed, spec, name, text, shown)
        units = _shared_units(read.units) if found else [spec.unit] * len(parsed.numbers)
    else:  # "3,2 x 2,1 cm": numbers without their own unit share the next one written
        unit_from = "answer"
        units = _shared_units(parsed.units)
    convertible = is_known_unit(spec.unit)
    conventions = conventions_in(spec.description)
    converted = [
        convert_with(n, u or spec.unit, spec.unit, conventions) if convertible and u else (n, None)
        for n, u in zip(read.numbers, units, strict=True)
    ]
    values = [v for v, _ in converted]
    used = next((str(c) for _, c in converted if c is not None), computed)
    value = pick_value(values, spec.pick_rule)
    if spec.type == "integer":
        value = float(round(value))
    check_not_a_distance(spec, read, text, shown)
    check_not_the_specimen(spec, read, text, shown)
    check_not_clinical_information(spec, read, text, shown, around)
    described = (spec.description, *around)
    check_not_another_organ(subject(described), spec, read.numbers, text, shown)
    check_not_an_enlarged_organ(spec, read.numbers, text, shown)
    check_not_excluded(not_counted(name, spec, described), spec, read.numbers, text, shown)
    check_not_denied(spec, text, shown)
    _check_range(spec, value, shown)
    if at is None and text and not is_json_number:
        at = _place_named(parsed, spec, text, name)
    if at is None and text and not is_json_number:
        grounded = align_spans(text, [(shown, "amount")])[0]
        at = (grounded.start, grounded.end) if grounded.start is not None else None
    return AmountReading(
        text=shown,
        value=int(value) if spec.type == "integer" else value,
        unit=spec.unit,
        written_unit=units[-1] if unit_from != "field" else None,
        unit_from=unit_from,
        numbers=read.numbers,
        kind=read.kind,
        comparator=read.comparator or parsed.comparator,
        start=at[0] if at else None,
        end=at[1] if at else None,
        alignment="exact" if at else "none",
        convention=used,
    )


def _same_in_other_words(parsed: ParsedAmount, text: str) -> ParsedAmount | None:
    """The report's amount that a copy not found as written stands for, its unit written in
    other words ("1 year" for "1 jaar", "3 months" for "3 maanden"): the same numbers and
    the same unit once read, where every amount of the report with those numbers has that
    unit; None otherwise. Asked only of a copy not found as written."""
    unit = normalise_unit(parsed.written_unit or "")
    if unit is None:
        return None
    found = [a for a in amounts_in(text) if a.numbers == parsed.numbers]
    if not found or any(normalise_unit(a.written_unit or "") != unit for a in found):
        return None
    return found[0]


def _size_begun(parsed: ParsedAmount, text: str) -> ParsedAmount | None:
    """The report's size of two or three dimensions that a one-number copy begins, its
    first number with the size's unit ("2,4 cm" for "Segment VII: 2,4 x 1,9 cm"): the model
    dropped the other dimensions, so the size is read whole and the field's ``pick``
    chooses. None unless the report writes exactly one such size (maybe more than once).
    Asked only of a copy not found as written."""
    if parsed.kind != "single" or parsed.written_unit is None:
        return None
    unit = normalise_unit(parsed.written_unit)
    found = [
        a
        for a in amounts_in(text)
        if a.kind == "dimensions"
        and a.numbers[0] == parsed.numbers[0]
        and normalise_unit(a.written_unit or "") == unit
    ]
    if len({tuple(a.numbers) for a in found}) != 1:
        return None
    return found[0]


def _converted_in_report(parsed: ParsedAmount, spec: FieldSpec, text: str) -> ParsedAmount | None:
    """The report's amount that a bare number not found as written is the exact conversion
    of, into the field's unit ("6" for "een half jaar" or "zes maanden" in months, "14" for
    "1,4 cm" in mm, "12" for "1 jaar", "2" for "8 weken" where the field says "4 weeks = 1
    month"): the model converted it itself, rightly. So is a number with a unit for an
    amount the report writes in words, which cannot be copied in digits ("70 ml" for "circa
    zeventig milliliter", "15 mm" for "anderhalve centimeter"), compared in the field's unit;
    one with a unit for an amount in digits is not ("11 mm" for "1,1 cm": a copy is asked
    for). The first such amount (in digits, then in words); None when there is none."""
    unit = spec.unit or ""
    if len(parsed.numbers) != 1 or not is_known_unit(unit):
        return None
    conventions = conventions_in(spec.description)
    target = parsed.numbers[0]
    if parsed.written_unit is not None:
        if not convertible(parsed.written_unit, unit):
            return None
        target, _ = convert_with(target, parsed.written_unit, unit, conventions)
    digits = amounts_in(text) if parsed.written_unit is None else []
    for found in chain(digits, word_amounts_in(text)):
        for number, written in zip(found.numbers, _shared_units(found.units), strict=True):
            if written is None or not convertible(written, unit):
                continue
            value, _ = convert_with(number, written, unit, conventions)
            if math.isclose(value, target, rel_tol=1e-6):
                return found
    return None


def _place_named(
    parsed: ParsedAmount, spec: FieldSpec, text: str, name: str
) -> tuple[int, int] | None:
    """Where the report writes the copy ``parsed`` (numbers and unit) named by the field,
    when it writes it more than once ("0%" for ``pr_percent`` in "ER 0%, PR 0%": the
    second); None when it writes it once or no place is named by the field."""
    unit = normalise_unit(parsed.written_unit or "")
    places = [
        a
        for a in amounts_in(text)
        if a.numbers == parsed.numbers and normalise_unit(a.written_unit or "") == unit
    ]
    if len(places) < 2:
        return None
    labels = field_labels(name, spec)
    return next((a.span for a in places if label_before(text, a.span[0]) in labels), None)


def _shared_units(units: list[str | None]) -> list[str | None]:
    """Numbers without their own unit take the next unit written ("3,2 x 2,1 cm")."""
    out = list(units)
    for i in range(len(out) - 2, -1, -1):
        out[i] = out[i] or out[i + 1]
    last = next((u for u in out if u), None)
    return [u or last for u in out]


def _amount_in_report(
    parsed: ParsedAmount, spec: FieldSpec, text: str, name: str, own: frozenset[str]
) -> ParsedAmount | None:
    """The amount of the report (written with a unit) that the copied number(s) stand in:
    the same numbers, or one number of a range or size, whose unit converts to the field's
    unit (any unit when the field's unit is unknown). Of several, those about the field's
    organs ``own`` or none ("6" for a liver lesion: "segment 5 (6 mm)", not "Oesophagus:
    wandverdikking over ca. 6 cm"), then the first named by the field (``field_labels``),
    else the first."""
    check = is_known_unit(spec.unit or "")
    candidates = []
    for found in amounts_in(text):
        same = found.numbers == parsed.numbers
        within = len(parsed.numbers) == 1 and parsed.numbers[0] in found.numbers
        if not (same or within):
            continue
        if not check or convertible(found.written_unit or "", spec.unit or ""):
            candidates.append(found)
    if len(candidates) > 1 and own:
        candidates = [
            c for c in candidates if not about_another_organ(text, *c.span, own)
        ] or candidates
    if len(candidates) > 1:
        labels = field_labels(name, spec)
        named = [c for c in candidates if label_before(text, c.span[0]) in labels]
        return (named or candidates)[0]
    return candidates[0] if candidates else None


def _check_not_another_quantity(
    parsed: ParsedAmount, spec: FieldSpec, text: str, shown: str
) -> None:
    """A number copied without a unit that the report writes only as another kind of
    quantity ("4" where the report has "4 cm" and the field is a time in months) is not
    this field's amount: the model took a number from elsewhere. Raise the re-ask."""
    if not is_known_unit(spec.unit or "") or len(parsed.numbers) != 1:
        return
    number = parsed.numbers[0]
    others: list[str] = []
    for found in amounts_in(text, bare=True):
        if number not in found.numbers:
            continue
        unit = found.written_unit
        if unit is None or _is_flag(unit) or convertible(unit, spec.unit or ""):
            return  # written bare (or with a lab flag) or as this kind of quantity somewhere
        start, end = found.span
        others.append(text[start:end])
    if others:
        raise AmountError(
            f"{shown!r} is written in the report only as {others[0]!r}, which is not an "
            f"amount in {spec.unit}: give the amount this field asks for as the report "
            "writes it, with its unit, or null"
        )


# the field's name joined to a word for a derived measure names another quantity of that
# thing ("PSA-dichtheid 0,12", "PSA density 0,12"; not "PSA-waarde 6,1")
_COMPOUND = re.compile(
    r"([^\W\d_]+)[- ]+(dichtheid|density|ratio|index|snelheid|velocity|verdubbelingstijd"
    r"|doubling\s+time|quoti[eë]nt|quotient)[ \t]*[:=]?[ \t]*$",
    re.IGNORECASE,
)


def _check_not_a_compound(
    parsed: ParsedAmount, spec: FieldSpec, name: str, text: str, shown: str
) -> None:
    """A number copied without a unit that the report writes only after the field's name
    joined to another word ("0,12" from "PSA-dichtheid 0,12" for a PSA in ng/ml) is another
    quantity of that thing. Raise the re-ask."""
    if len(parsed.numbers) != 1 or not name:
        return
    own, labels = naming_words(name, spec), field_labels(name, spec)
    compounds = []
    for found in amounts_in(text, bare=True):
        if found.numbers != parsed.numbers:
            continue
        m = _COMPOUND.search(text[max(0, found.span[0] - 40) : found.span[0]])
        other = m.group(2) if m else ""
        if not (m and any(same_word(m.group(1), w) for w in own)):
            return  # written somewhere not as a compound of the field's name
        if any(same_word(other, w) for w in labels):
            return  # the field's own words ("psa-density" for a PSA density)
        compounds.append(f"{m.group(0).strip()} {text[found.span[0] : found.span[1]]}")
    if compounds:
        raise AmountError(
            f"{shown!r} is written in the report as {compounds[0]!r}, another quantity than "
            "this field asks for: give the amount this field asks for as the report writes "
            "it, with its unit, or null"
        )


def _check_percentage_written(spec: FieldSpec, shown: str) -> None:
    """Reports write a percentage with its sign ("ER 90%", "80-90%"). A number for a
    percentage field that the report writes nowhere as a percentage is another number (a
    score: "Allred score 7"; a count): raise the re-ask."""
    if normalise_unit(spec.unit or "") == "percent":
        raise AmountError(
            f"{shown!r} is not written in the report as a percentage: give the percentage "
            'as the report writes it, with "%", or null'
        )


def _is_flag(unit: str) -> bool:
    """ "H" or "L" after a number may be a unit or a lab table's flag ("7,1 L" low, "18 H"
    high): too ambiguous to call the number another quantity. Other letters are units or
    parts of a code ("9G", a needle's gauge; "3T", a scanner's field)."""
    return unit.strip() in ("H", "L")


_SQUASH = str.maketrans({".": ",", "×": "x", "*": "x", "–": "-", "—": "-", "−": "-", "μ": "µ"})


def _squash(s: str) -> str:
    """Text compared for copying: no spaces, lower case, one decimal mark, one dash. A space
    between a number (or its comma) and the next number stays as "|": "graad 3, 2,4 cm"
    must not read as "3,2,4"."""
    s = re.sub(r"(?<=[\d,])\s+(?=\d)", "|", s.lower().translate(_SQUASH))
    return "".join(s.split())


def copied_from(parsed: ParsedAmount, text: str) -> bool:
    """Whether the amount (its numbers and what stands between and after them) is in the
    report as written, spaces, case and the decimal mark aside: "95" and "95 %" are copies
    of "ER 95%", ".95" and "14 cm" (from "14G") are not; "7 mm" is a copy of "7 en 9 mm"."""
    start, end = parsed.span
    core = _squash(parsed.text[start:end])
    body = _squash(text)
    if _occurs(core, body):
        return True
    # the copy dropped a comparison word or a unit: its numbers alone must still be there
    numbers = _squash(" x ".join(_written_numbers(parsed.text[start:end])))
    if parsed.written_unit is None:
        return _occurs(numbers, body)
    return _in_a_list(parsed, text)


# numbers before the last, the last after "en", "and", "of" or "or": "4, 6 en "; "7 en "
_LISTED = re.compile(r"(?:\d[\d.,]*\s*,\s*)*\d[\d.,]*\s+(?:en|and|of|or)\s+$", re.IGNORECASE)


def _in_a_list(parsed: ParsedAmount, text: str) -> bool:
    """Whether a one-number copy with a unit ("7 mm") is one of a list of numbers that share
    the unit written after the last ("twee noduli van 7 en 9 mm", "4, 6 en 8 mm")."""
    if parsed.kind != "single" or parsed.written_unit is None:
        return False
    unit = normalise_unit(parsed.written_unit)
    for amount in amounts_in(text):
        if amount.kind != "single" or normalise_unit(amount.written_unit or "") != unit:
            continue
        listed = _LISTED.search(text, max(0, amount.span[0] - 40), amount.span[0])
        if listed and parsed.numbers[0] in _listed_numbers(listed.group()):
            return True
    return False


def _listed_numbers(words: str) -> list[float]:
    out = []
    for n in _written_numbers(words):
        try:
            out.append(parse_number(n.rstrip(".,")))
        except AmountError:
            continue
    return out


def _occurs(copy: str, body: str) -> bool:
    """Whether ``copy`` stands in ``body`` as whole numbers: "5%" is not in "15%", nor "5"
    in "2,5" or "50" (both squashed: the decimal mark is ",")."""
    pattern = re.escape(copy)
    if copy[:1].isdigit():
        pattern = r"(?<!\d)(?<!\d,)" + pattern
    if copy[-1:].isdigit():
        pattern += r"(?!\d)(?!,\d)"
    return re.search(pattern, body) is not None


def _written_numbers(s: str) -> list[str]:
    return re.findall(r"\d[\d.,]*|[.,]\d+", s)


def _check_range(spec: FieldSpec, value: float, written: str) -> None:
    unit = f" {spec.unit}" if spec.unit else ""
    shown = _num(value)
    if spec.minimum is not None and value < spec.minimum:
        raise AmountError(
            f"{written!r} is {shown}{unit}, below the minimum {_num(spec.minimum)}{unit}"
        )
    if spec.maximum is not None and value > spec.maximum:
        raise AmountError(
            f"{written!r} is {shown}{unit}, above the maximum {_num(spec.maximum)}{unit}: "
            "copy the amount and its unit exactly as the report writes them"
        )


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def amount_example(value: Any, spec: FieldSpec) -> Any:
    """A task-file example's amount in the form the model writes it: a number given in
    the field's unit becomes "14 mm"; text is kept as written."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    shown = re.sub(r"\.0$", "", str(value))
    return f"{shown} {spec.unit}"
