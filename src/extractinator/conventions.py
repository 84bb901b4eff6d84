"""Conversion conventions a user writes in a field's description: "4 weeks = 1 month",
"1 jaar = 12 maanden". Clinicians count a month as four weeks where the units library
counts 30.4 days (6 weeks = 1.38 months there, 1.5 here); the description is the user's
word on it, so an equality written there between two units of the same kind replaces the
library's factor for that pair (both directions). Anything else in the description is
left alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .amounts import NUMBER_PATTERN, AmountError, convert, normalise_unit, parse_number

__all__ = ["Convention", "conventions_in", "convert_with"]

_WORD = r"[µμ]?[A-Za-z]+[²³23]?(?:\s*/\s*[µμ]?[A-Za-z]+[²³23]?)?"
_EQUALITY = re.compile(
    rf"(?<![\w.,])(?P<a>{NUMBER_PATTERN})\s*(?P<ua>{_WORD})\s*(?:=|==|is|equals)\s*"
    rf"(?P<b>{NUMBER_PATTERN})\s*(?P<ub>{_WORD})(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Convention:
    """``a`` of ``unit_a`` is ``b`` of ``unit_b`` (units normalised, e.g. week, month)."""

    a: float
    unit_a: str
    b: float
    unit_b: str

    def __str__(self) -> str:
        return f"{self.a:g} {self.unit_a} = {self.b:g} {self.unit_b}"


@lru_cache(maxsize=256)
def conventions_in(description: str | None) -> tuple[Convention, ...]:
    """The equalities between two known units of the same kind in ``description``."""
    found: list[Convention] = []
    for m in _EQUALITY.finditer(description or ""):
        ua, ub = normalise_unit(m.group("ua")), normalise_unit(m.group("ub"))
        if ua is None or ub is None or ua == ub:
            continue
        a, b = parse_number(m.group("a")), parse_number(m.group("b"))
        if a <= 0 or b <= 0:
            continue
        try:
            convert(1.0, m.group("ua"), m.group("ub"))
        except AmountError:  # "1 cm = 1 ml" is no conversion
            continue
        found.append(Convention(a, ua, b, ub))
    return tuple(found)


def convert_with(
    value: float, from_unit: str, to_unit: str, conventions: tuple[Convention, ...]
) -> tuple[float, Convention | None]:
    """``convert``, except that a convention between exactly these two units wins: 6 weeks
    in months with "4 weeks = 1 month" is 6 / 4 = 1.5 (in days it stays 42). Returns the
    value and the convention used, if any."""
    pair = (normalise_unit(from_unit), normalise_unit(to_unit))
    for c in conventions:
        if pair == (c.unit_a, c.unit_b):
            return convert(value * c.b / c.a, c.unit_b, to_unit), c
        if pair == (c.unit_b, c.unit_a):
            return convert(value * c.a / c.b, c.unit_a, to_unit), c
    return convert(value, from_unit, to_unit), None
