"""Conversion conventions written in a field's description ("4 weeks = 1 month") replace
the units library's factor for exactly that pair of units."""

from __future__ import annotations

import pytest

from extractinator.conventions import Convention, conventions_in, convert_with
from extractinator.reading import read_amount
from extractinator.task.spec import FieldSpec

MONTHS = (
    "Time until the advised follow-up in months (4 weeks = 1 month; for a range the upper "
    "value); null if no follow-up or no time is given."
)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (MONTHS, [Convention(4.0, "week", 1.0, "month")]),
        ("interval; 1 jaar = 12 maanden, 2 wk = 0,5 mnd", [
            Convention(1.0, "year", 12.0, "month"), Convention(2.0, "week", 0.5, "month")
        ]),
        ("size in mm (1 cm = 10 mm)", [Convention(1.0, "cm", 10.0, "mm")]),
        # not a conversion: different kinds of quantity, unknown units, no units, same unit
        ("1 cm = 1 ml", []),
        ("1 pakje = 20 sigaretten", []),
        ("score 3 = 1 point", []),
        ("4 = 1", []),
        ("grade 1 = 1 week", []),
        ("1 week = 1 week", []),
        (None, []),
    ],
)  # fmt: skip
def test_only_equalities_between_convertible_units_are_conventions(description, expected):
    assert list(conventions_in(description)) == expected


@pytest.mark.parametrize(
    ("value", "unit", "to", "expected"),
    [
        (6, "weken", "months", 1.5),  # the convention, not the library's 1.38
        (1, "week", "months", 0.25),
        (3, "maanden", "weeks", 12.0),  # both directions
        (6, "weken", "days", 42.0),  # another pair: the library
        (1, "jaar", "months", 12.0),
    ],
)
def test_a_convention_wins_for_its_pair_of_units_only(value, unit, to, expected):
    conventions = conventions_in(MONTHS)
    assert convert_with(value, unit, to, conventions)[0] == pytest.approx(expected)


def test_without_a_convention_the_library_converts():
    value, used = convert_with(6, "weken", "months", ())
    assert value == pytest.approx(6 * 7 / (365.25 / 12)) and used is None


@pytest.mark.parametrize(
    ("written", "report", "months"),
    [
        ("4-6 wkn", "Controle over 4-6 wkn.", 1.5),  # a range: its upper value, by pick
        ("6", "Controle na 6 weken.", 1.5),  # the unit the report writes after it
        ("1 jaar", "Controle over 1 jaar.", 12.0),
    ],
)
def test_an_amount_is_read_with_the_fields_convention(written, report, months):
    spec = FieldSpec(type="number", unit="months", nullable=True, description=MONTHS)
    reading = read_amount(written, spec, report)
    assert reading.value == pytest.approx(months)
    # the record says which convention was used; a year is 12 months by the library too
    assert reading.convention == (None if "jaar" in written else "4 week = 1 month")
