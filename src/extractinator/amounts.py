"""Amounts as written in reports ("1,4 cm", "3,2 x 2,1 cm", "4-6 mm", "< 5 mm", "1.250 ml",
"6 weken"), read in code and converted with a maintained units library (pint).

A small model copies such text well and converts it badly, so the model copies and this
module computes. Numbers follow Dutch and English conventions: with both separators the
last one is the decimal mark ("1.250,5", "1,250.5"); a lone comma is a decimal comma
("1,4"), except in groups of three ("1,250,000"); a lone dot followed by exactly three
digits after a 1-3 digit whole part is a thousands separator ("1.250", "12.500"), any
other dot a decimal point ("1.4", "0.125").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

__all__ = [
    "NUMBER_PATTERN",
    "NUMBER_WORD_PATTERN",
    "PICKS",
    "amounts_in",
    "AmountError",
    "OtherFindingsAmount",
    "ParsedAmount",
    "convert",
    "convertible",
    "first_amount",
    "is_known_unit",
    "kind_of",
    "number_word",
    "label_before",
    "with_label",
    "places_of",
    "parse_amount",
    "parse_number",
    "pick_value",
    "word_amounts_in",
]

Pick = Literal["largest", "smallest", "first", "last", "mean"]
PICKS: tuple[str, ...] = Pick.__args__  # type: ignore[attr-defined]
Comparator = Literal["<", "<=", ">", ">=", "~"]


class AmountError(ValueError):
    """Text that is not one amount, or a unit that does not convert; the message says why
    in words the model can act on when it is asked again."""


class OtherFindingsAmount(AmountError):
    """An amount the report writes only of another finding than the field's (another
    organ's, one the task says does not count): a list entry holding it is that finding."""


@dataclass
class ParsedAmount:
    """One amount as written: its numbers (one; two for a range; two or three for the
    dimensions of a size), the unit written after each number (None where none was
    written), and a comparison prefix if there was one."""

    text: str
    numbers: list[float]
    units: list[str | None]
    kind: Literal["single", "range", "dimensions"] = "single"
    comparator: Comparator | None = None
    span: tuple[int, int] = (0, 0)  # where the amount itself is in ``text``
    notes: list[str] = field(default_factory=list)

    @property
    def written_unit(self) -> str | None:
        """The unit written last (the one a size like "3,2 x 2,1 cm" shares)."""
        return next((u for u in reversed(self.units) if u), None)


# ------------------------------------------------------------------------------------------
# numbers

# a number starts with a digit: ",6 weken" copied from "..., 6 weken" is 6 weeks, not 0.6
_NUMBER = r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
NUMBER_PATTERN = _NUMBER  # a written number, for other readers of amounts


def parse_number(text: str) -> float:
    """One written number ("1,4", "1.250", "1.250,5", "1,250.5") as a float."""
    s = text.strip()
    if not re.fullmatch(_NUMBER, s):
        raise AmountError(f"{text!r} is not a number")
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        decimal = "." if s.rfind(".") > s.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        return float(s.replace(thousands, "").replace(decimal, "."))
    sep = "." if dots else "," if commas else None
    if sep is None:
        return float(s)
    whole, *groups = s.split(sep)
    if len(groups) > 1:  # 1.250.000 / 1,250,000
        return float(s.replace(sep, ""))
    thousands_dot = sep == "." and len(groups[0]) == 3 and whole not in ("", "0")
    if thousands_dot:  # 1.250 (Dutch thousands)
        return float(whole + groups[0])
    return float(f"{whole or '0'}.{groups[0]}")


# ------------------------------------------------------------------------------------------
# units

# written forms -> a unit pint knows (keys are lower case, without spaces)
_UNIT_WORDS = {
    "mm": "mm",
    "millimeter": "mm",
    "millimetre": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "centimetre": "cm",
    "m": "m",
    "meter": "m",
    "µm": "um",
    "um": "um",
    "micrometer": "um",
    "ml": "ml",
    "milliliter": "ml",
    "millilitre": "ml",
    "cc": "ml",
    "cm3": "cm**3",
    "cm³": "cm**3",
    "mm3": "mm**3",
    "mm³": "mm**3",
    "l": "l",
    "liter": "l",
    "litre": "l",
    "dl": "dl",
    "mm2": "mm**2",
    "mm²": "mm**2",
    "cm2": "cm**2",
    "cm²": "cm**2",
    "g": "g",
    "gr": "g",
    "gram": "g",
    "kg": "kg",
    "kilo": "kg",
    "kilogram": "kg",
    "mg": "mg",
    "milligram": "mg",
    "µg": "ug",
    "ug": "ug",
    "mcg": "ug",
    "microgram": "ug",
    "ng": "ng",
    "%": "percent",
    "procent": "percent",
    "percent": "percent",
    "s": "s",
    "sec": "s",
    "seconde": "s",
    "seconden": "s",
    "second": "s",
    "seconds": "s",
    "min": "minute",
    "minuut": "minute",
    "minuten": "minute",
    "minute": "minute",
    "minutes": "minute",
    "uur": "hour",
    "uren": "hour",
    "h": "hour",
    "hr": "hour",
    "hour": "hour",
    "hours": "hour",
    "dag": "day",
    "dagen": "day",
    "d": "day",
    "day": "day",
    "days": "day",
    "wk": "week",
    "wkn": "week",
    "week": "week",
    "weken": "week",
    "weeks": "week",
    "mnd": "month",
    "mnden": "month",
    "maand": "month",
    "maanden": "month",
    "month": "month",
    "months": "month",
    "jr": "year",
    "jaar": "year",
    "jaren": "year",
    "year": "year",
    "years": "year",
    "mol": "mol",
    "mmol": "mmol",
    "µmol": "umol",
    "umol": "umol",
    "nmol": "nmol",
    # smoking history: packs a day times years smoked
    "pakjaar": "pack_year",
    "pakjaren": "pack_year",
    "packyear": "pack_year",
    "packyears": "pack_year",
    "pack-year": "pack_year",
    "pack-years": "pack_year",
    "py": "pack_year",
}
# the unit pattern written after a number: a word or %, maybe a power, maybe "/ something"
_NOT_UNIT = r"(?!(?:x|tot|to|until|a|à|t/m|en|and|of|or)(?:\b|\d))"
_UNIT_TOKEN = (
    rf"{_NOT_UNIT}(?:[µμ]?[A-Za-z]+[²³23]?|%)"
    r"(?:\s*/\s*(?:[µμ]?[A-Za-z]+[²³23]?|\d+(?:[.,]\d+)?))*"
)


def _unit_part(word: str) -> str | None:
    key = word.strip().lower().replace("μ", "µ")
    return _UNIT_WORDS.get(key)


def normalise_unit(written: str) -> str | None:
    """A written unit ("mmol/L", "µg/l", "cc", "weken", "ng/ml") as a pint expression, or
    None when it is not a unit this module knows."""
    parts = [p.strip() for p in written.split("/")]
    if not parts or not parts[0]:
        return None
    out = []
    for i, part in enumerate(parts):
        if i > 0 and re.fullmatch(r"\d+(?:[.,]\d+)?", part):  # "mg/100 ml" style
            out.append(str(parse_number(part)))
            continue
        unit = _unit_part(part)
        if unit is None:
            return None
        out.append(unit if i == 0 else f"({unit})")
    return "/".join(out)


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint  # imported when an amount is first converted (~1.5 s)

    registry = pint.UnitRegistry()
    registry.define("pack_year = [smoking_history]")  # units pint does not have
    return registry


@lru_cache(maxsize=512)
def _quantity_unit(unit: str) -> Any:
    reg = _registry()
    expr = normalise_unit(unit)
    if expr is None:
        raise AmountError(f"unknown unit {unit!r}")
    try:
        return reg.Quantity(1, expr).units
    except Exception as e:  # pint's UndefinedUnitError and parse errors
        raise AmountError(f"unknown unit {unit!r} ({type(e).__name__})") from None


def is_known_unit(unit: str) -> bool:
    """Whether a unit (a field's ``unit``) is one amounts can convert to."""
    try:
        _quantity_unit(unit)
    except AmountError:
        return False
    return True


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (both written units)."""
    source, target = _quantity_unit(from_unit), _quantity_unit(to_unit)
    reg = _registry()
    try:
        converted = reg.Quantity(value, source).to(target).magnitude
    except Exception:  # DimensionalityError: a length asked for as a volume, etc.
        raise AmountError(
            f"{_num(value)} {from_unit} cannot be converted to {to_unit} "
            f"({_dimension(source)} is not {_dimension(target)})"
        ) from None
    return _clean(float(converted))


def convertible(unit: str, to: str) -> bool:
    """Whether an amount in ``unit`` converts to ``to`` (both written units)."""
    try:
        convert(1.0, unit, to)
    except AmountError:
        return False
    return True


def kind_of(unit: str) -> str:
    """The kind of quantity a known unit measures: "a length", "a time", "a molar
    concentration", ... (AmountError for an unknown unit)."""
    return _dimension(_quantity_unit(unit))


def _dimension(unit: Any) -> str:
    names = {
        "[length]": "a length",
        "[length] ** 3": "a volume",
        "[length] ** 2": "an area",
        "[mass]": "a mass",
        "[time]": "a time",
        "[mass] / [length] ** 3": "a mass concentration",
        "[substance] / [length] ** 3": "a molar concentration",
        "dimensionless": "a ratio",
    }
    dim = str(_registry().Quantity(1, unit).dimensionality)
    return names.get(dim, dim)


def _clean(x: float) -> float:
    """Round away binary noise (1.4 cm -> 14.000000000000002 mm)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, max(0, 10 - int(math.floor(math.log10(abs(x))))))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# ------------------------------------------------------------------------------------------
# amounts

_COMPARATORS: list[tuple[str, Comparator]] = [
    (r"<=|≤|=<", "<="),
    (r">=|≥|=>", ">="),
    (r"<", "<"),
    (r"(?<![-–])>", ">"),  # not the head of an arrow ("9,1 -> 10,4 ng/ml")
    (r"kleiner\s+dan|minder\s+dan|less\s+than|smaller\s+than|fewer\s+than", "<"),
    (r"groter\s+dan|meer\s+dan|more\s+than|larger\s+than|greater\s+than", ">"),
    (r"±|~|\+/-|ca\.?|circa|ongeveer|approx\.?|approximately|about|bijna", "~"),
    (r"max\.?|maximaal|maximum|tot|up to|hooguit|at most", "<="),
    (r"min\.?|minimaal|minimum|ten minste|tenminste|minstens|at least", ">="),
]
_COMPARATOR = "|".join(f"(?P<c{i}>{p})" for i, (p, _) in enumerate(_COMPARATORS))
_RANGE_SEP = r"\s*(?:-|–|—|tot|t/m|à|a|to|until)\s*"
_DIM_SEP = r"\s*[x×*]\s*"
_AMOUNT = re.compile(
    rf"(?:(?P<cmp>{_COMPARATOR})\s*)?"
    rf"(?P<n0>{_NUMBER})(?:[ \t]*(?P<u0>{_UNIT_TOKEN}))?"
    rf"(?:(?P<sep1>{_DIM_SEP}|{_RANGE_SEP})(?P<n1>{_NUMBER})(?:[ \t]*(?P<u1>{_UNIT_TOKEN}))?"
    rf"(?:(?P<sep2>{_DIM_SEP})(?P<n2>{_NUMBER})(?:[ \t]*(?P<u2>{_UNIT_TOKEN}))?)?)?",
    re.IGNORECASE,
)


# amounts written in words ("een half jaar", "twee weken", "anderhalf jaar", "six weeks"):
# read only where the answer holds no digit at all
_NUMBER_WORDS = {
    "een half": 0.5, "een halve": 0.5, "half": 0.5, "halve": 0.5, "a half": 0.5,
    "anderhalf": 1.5, "anderhalve": 1.5, "one and a half": 1.5,
    "een": 1, "één": 1, "eén": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
    "zeven": 7, "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12,
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "dertien": 13, "veertien": 14, "vijftien": 15, "zestien": 16, "zeventien": 17,
    "achttien": 18, "negentien": 19, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60, "zeventig": 70,
    "tachtig": 80, "negentig": 90, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_NUMBER_WORDS.update(_TENS)
_NUMBER_WORDS.update(  # "vijfentwintig", "tweeëntwintig"
    {
        f"{one}{'ën' if one.endswith('e') else 'en'}{ten}": n + t
        for n, one in enumerate(
            ("een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"), start=1
        )
        for ten, t in list(_TENS.items())[:8]
    }
)
NUMBER_WORD_PATTERN = "|".join(re.escape(w) for w in sorted(_NUMBER_WORDS, key=len, reverse=True))


def number_word(word: str) -> float | None:
    """The number a word writes ("zes", "veertig", "vijfentwintig", "anderhalf"), or None."""
    found = _NUMBER_WORDS.get(" ".join(word.lower().split()))
    return None if found is None else float(found)


_WORD_AMOUNT = re.compile(
    rf"(?<!\w)(?P<w>{NUMBER_WORD_PATTERN})\s+(?P<u>{_UNIT_TOKEN})", re.IGNORECASE
)


# how often, as one word: "jaarlijkse controle" is every 1 jaar, "halfjaarlijks" every 0.5
_PERIOD = re.compile(
    r"(?<!\w)(?P<w>half|twee|drie|vier|zes)?(?P<u>jaar|maand|week|wek)(?:e)?lijkse?(?!\w)",
    re.IGNORECASE,
)
_PERIOD_COUNT = {"half": 0.5, "twee": 2, "drie": 3, "vier": 4, "zes": 6}


def word_amounts_in(text: str) -> Iterator[ParsedAmount]:
    """Every amount written in words with a known unit, in order ("een half jaar" = 0.5
    jaar, "zes maanden", "halfjaarlijks" = 0.5 jaar)."""
    found = []
    for m in _WORD_AMOUNT.finditer(text):
        unit = m.group("u").strip()
        if normalise_unit(unit) is None:
            continue
        number = number_word(m.group("w")) or 0.0
        found.append(ParsedAmount(text, [number], [unit], span=(m.start(), m.end())))
    for m in _PERIOD.finditer(text):
        number = float(_PERIOD_COUNT.get((m.group("w") or "").lower(), 1))
        unit = "week" if m.group("u").lower() == "wek" else m.group("u")
        found.append(ParsedAmount(text, [number], [unit], span=(m.start(), m.end())))
    yield from sorted(found, key=lambda a: a.span[0])


def _word_amount(text: str) -> ParsedAmount | None:
    """The first amount written in words with a known unit."""
    return next(word_amounts_in(text), None)


def parse_amount(text: str) -> ParsedAmount:
    """Read the one amount in ``text`` (words around it are allowed, a second number is
    not). Raises AmountError with a reason the model can act on."""
    norm = _normalised(text)
    m = _AMOUNT.search(norm)
    if m is None:
        worded = _word_amount(norm)
        if worded is not None:
            return worded
        raise AmountError(f"no number in {text!r}: write the amount as digits and its unit")
    rest = norm[: m.start()] + " " + norm[m.end() :]
    if re.search(r"\d", rest):
        raise AmountError(
            f"{text!r} holds more than one amount: give only the one asked for, as written"
        )
    return _parsed(text, m)


# a unit written as the label before its number, in a list or table ("Pakjaren : 38");
# not a time unit ("Jaar: 2019" is a date)
_LABEL_UNIT = re.compile(
    rf"(?<![\w/])(?P<u>[^\W\d_][\w-]*)[ \t]*:[ \t]*(?P<n>{_NUMBER})(?![\w.,]|[ \t]*[^\W\d_%])",
)


def amounts_in(text: str, *, bare: bool = False) -> Iterator[ParsedAmount]:
    """Every amount in ``text`` written with a known unit, in order, each with its span
    ("3,2 x 2,1 cm", "90-100%", "< 5 mm", the 38 of "Pakjaren : 38"); with ``bare``,
    numbers written without one too."""
    labelled = {m.span("n"): m.group("u") for m in _LABEL_UNIT.finditer(_normalised(text))}
    for m in _AMOUNT.finditer(_normalised(text)):
        try:
            found = _parsed(text, m)
        except AmountError:
            continue
        unit = labelled.get(found.span)
        if found.written_unit is None and unit and _labels_an_amount(unit):
            found = ParsedAmount(text, found.numbers, [unit], span=found.span)
        if bare or found.written_unit is not None:
            yield found


def _labels_an_amount(word: str) -> bool:
    """Whether a label word is a unit its number is in ("Pakjaren"), not a time ("Jaar")
    or a letter ("L: 3" is no litre)."""
    return len(word) > 2 and normalise_unit(word) is not None and kind_of(word) != "a time"


def _normalised(text: str) -> str:
    """Same length as ``text``, so spans found in it hold for ``text``."""
    return text.replace("\u00a0", " ").replace("−", "-")


def _parsed(text: str, m: re.Match[str]) -> ParsedAmount:
    count = sum(1 for i in range(3) if m.group(f"n{i}"))
    numbers = [parse_number(m.group(f"n{i}")) for i in range(count)]
    units: list[str | None] = []
    for i in range(count):
        token = (m.group(f"u{i}") or "").strip()
        if token and normalise_unit(token) is None and i < count - 1:
            raise AmountError(f"unknown unit {token!r} in {text!r}")
        # a word after the last number that is no unit ("6 mm groot" has one) is just a word
        units.append(token if token and normalise_unit(token) else None)
    kind: Literal["single", "range", "dimensions"] = "single"
    if count > 1:
        kind = "dimensions" if re.fullmatch(_DIM_SEP, m.group("sep1")) else "range"
        if kind == "range" and count == 3:
            raise AmountError(f"{text!r} mixes a range and dimensions")
    comparator = None
    if m.group("cmp"):
        i = next(i for i in range(len(_COMPARATORS)) if m.group(f"c{i}"))
        comparator = _COMPARATORS[i][1]
    return ParsedAmount(
        text=text,
        numbers=numbers,
        units=units,
        kind=kind,
        comparator=comparator,
        span=(m.start(), m.end()),
    )


_WITH_UNIT = re.compile(rf"(?<![\w.,])({_NUMBER})\s*({_UNIT_TOKEN})", re.IGNORECASE)


def first_amount(text: str) -> int | None:
    """Where the first amount with a known unit starts in ``text`` ("50 mg", "0,4 mg",
    "1.000 mg"), or None; numbers without a unit ("type 2", "1dd1") are no amounts."""
    for m in _WITH_UNIT.finditer(text):
        if normalise_unit(m.group(2).strip()):
            return m.start()
    return None


def places_of(numbers: list[float], unit: str, text: str) -> list[ParsedAmount]:
    """Where ``text`` writes an amount with exactly these numbers and a unit that converts
    to ``unit`` (any unit when ``unit`` is unknown): the places a copied amount may have
    come from."""
    return [
        a
        for a in amounts_in(text)
        if a.numbers == numbers
        and (not is_known_unit(unit) or convertible(a.written_unit or "", unit))
    ]


_LABEL = re.compile(r"[^\W\d_][\w+\-]*")
LABEL_REACH = 14  # characters before an amount in which its label is looked for


def label_before(text: str, start: int) -> str | None:
    """The word right before the amount at ``start`` that names it ("Hb" in "Hb 5,1
    mmol/l", "er" in "ER 90-100%"), lower case, a trailing "+"/"-" dropped ("K+")."""
    words = _LABEL.findall(text[max(0, start - LABEL_REACH) : start])
    return words[-1].lower().rstrip("+-") if words else None


def with_label(text: str, begin: int, end: int) -> str:
    """The amount at ``begin:end`` with the label right before it on its line ("Hb 5,9
    mmol/l"), as the report writes it."""
    before = text[max(0, begin - LABEL_REACH) : begin]
    found = list(_LABEL.finditer(before))
    if not found or "\n" in before[found[-1].start() :]:
        return text[begin:end]
    start = begin - len(before) + found[-1].start()
    while start > 0 and text[start - 1].isalpha():  # the whole word
        start -= 1
    return text[start:end]


def pick_value(numbers: list[float], pick: str) -> float:
    """One value from a range or the dimensions of a size, by the field's ``pick``."""
    if pick == "largest":
        return max(numbers)
    if pick == "smallest":
        return min(numbers)
    if pick == "first":
        return numbers[0]
    if pick == "last":
        return numbers[-1]
    if pick == "mean":
        return _clean(sum(numbers) / len(numbers))
    raise ValueError(f"unknown pick {pick!r}")
