"""Amounts as written: numbers in Dutch and English conventions, ranges, dimensions,
comparisons, and unit conversion with pint (property tests over formats and units)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractinator.amounts import (
    AmountError,
    amounts_in,
    convert,
    is_known_unit,
    parse_amount,
    parse_number,
    pick_value,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("14", 14.0),
        ("1,4", 1.4),
        ("1.4", 1.4),
        ("0,5", 0.5),
        ("1.250", 1250.0),  # Dutch thousands
        ("12.500", 12500.0),
        ("0.125", 0.125),  # a zero whole part: a decimal
        ("1,250", 1.25),  # a lone comma is a decimal comma
        ("1.250,5", 1250.5),
        ("1,250.5", 1250.5),
        ("1.250.000", 1250000.0),
        ("1,250,000", 1250000.0),
        ("1.2345", 1.2345),
    ],
)
def test_numbers_follow_dutch_and_english_conventions(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "numbers", "units", "kind", "comparator"),
    [
        ("1,4 cm", [1.4], ["cm"], "single", None),
        ("3,2 x 2,1 cm", [3.2, 2.1], [None, "cm"], "dimensions", None),
        ("32x21x10 mm", [32.0, 21.0, 10.0], [None, None, "mm"], "dimensions", None),
        ("3,2 cm x 21 mm", [3.2, 21.0], ["cm", "mm"], "dimensions", None),
        ("4-6 mm", [4.0, 6.0], [None, "mm"], "range", None),
        ("4 tot 6 mm", [4.0, 6.0], [None, "mm"], "range", None),
        ("4 à 6 mm", [4.0, 6.0], [None, "mm"], "range", None),
        ("< 5 mm", [5.0], ["mm"], "single", "<"),
        ("≤3 mm", [3.0], ["mm"], "single", "<="),
        ("> 10 ml", [10.0], ["ml"], "single", ">"),
        ("ca. 12 mm", [12.0], ["mm"], "single", "~"),
        ("tot 8 mm", [8.0], ["mm"], "single", "<="),
        ("1.250 ml", [1250.0], ["ml"], "single", None),
        ("12 mmol/L", [12.0], ["mmol/L"], "single", None),
        ("PSA 6,4 ng/ml", [6.4], ["ng/ml"], "single", None),
        ("een nodus van 6 mm groot", [6.0], ["mm"], "single", None),
        ("8", [8.0], [None], "single", None),
        (",6 weken", [6.0], ["weken"], "single", None),  # a comma before it is punctuation
        ("30 pakjaren", [30.0], ["pakjaren"], "single", None),  # pack-years, defined for pint
        ("30 sigaretten", [30.0], [None], "single", None),  # a word, not a unit
        ("-> 10,4 ng/ml", [10.4], ["ng/ml"], "single", None),  # an arrow, not "more than"
        ("kleiner dan 4 mm", [4.0], ["mm"], "single", "<"),
        ("groter dan 2 cm", [2.0], ["cm"], "single", ">"),
        ("less than 5 mm", [5.0], ["mm"], "single", "<"),
        ("anderhalve centimeter", [1.5], ["centimeter"], "single", None),  # in words
        ("ruim veertig jaar", [40.0], ["jaar"], "single", None),
        ("vijfentwintig jaar", [25.0], ["jaar"], "single", None),
        ("tweeëntwintig mm", [22.0], ["mm"], "single", None),
        ("halfjaarlijkse controle", [0.5], ["jaar"], "single", None),  # how often, as a word
        ("driemaandelijks", [3.0], ["maand"], "single", None),
        ("wekelijks", [1.0], ["week"], "single", None),
    ],
)
def test_amounts_are_read_as_written(text, numbers, units, kind, comparator):
    a = parse_amount(text)
    assert (a.numbers, a.units, a.kind, a.comparator) == (numbers, units, kind, comparator)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Roken  : ex-roker\nPakjaren  : 38\nAlcohol : geen", [([38.0], ["Pakjaren"], "38")]),
        ("Pakjaren: 38 (schatting)", [([38.0], ["Pakjaren"], "38")]),
        ("Jaar: 2019", []),  # a time unit as a label is a date
        ("L: 3", []),  # a letter is no litre
        ("gestopt 2021\nPakjaren: 38", [([38.0], ["Pakjaren"], "38")]),  # no unit across lines
        ("laesie 12\nmm", []),
    ],
)
def test_a_unit_written_as_the_label_before_its_number(text, found):
    assert [(a.numbers, a.units, text[a.span[0] : a.span[1]]) for a in amounts_in(text)] == found


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("niet meetbaar", "no number"),
        ("was 12 mm, nu 15 mm", "more than one amount"),
        ("1,4 cm (serie 3)", "more than one amount"),
        ("3 xyz x 4 mm", "unknown unit 'xyz'"),
        ("2-3 x 4 mm", "mixes a range and dimensions"),
    ],
)
def test_what_is_not_one_amount_says_why(text, reason):
    with pytest.raises(AmountError, match=reason):
        parse_amount(text)


def test_conversion_with_pint():
    assert convert(1.4, "cm", "mm") == 14.0
    assert convert(1, "cc", "ml") == 1.0
    assert convert(1, "cm3", "ml") == 1.0
    assert convert(0.8, "mg/dl", "mg/l") == 8.0
    assert convert(45, "µmol/l", "mmol/l") == 0.045
    assert convert(6.4, "ug/l", "ng/ml") == 6.4
    assert convert(2, "jaar", "months") == 24.0
    assert convert(1500, "g", "kg") == 1.5
    with pytest.raises(AmountError, match="a length is not a volume"):
        convert(1, "cm", "ml")
    with pytest.raises(AmountError, match="unknown unit"):
        convert(1, "furlongs per dinner", "mm")


def test_known_units_and_units_in_text():
    assert is_known_unit("mm") and is_known_unit("%") and is_known_unit("umol/l")
    assert is_known_unit("pack-years") and not is_known_unit("sigaretten")
    assert convert(30, "pakjaren", "pack-years") == 30 and convert(2, "py", "pakjaar") == 2
    with pytest.raises(AmountError, match="is not a length"):
        convert(30, "pakjaren", "mm")
    found = list(amounts_in("Segment 7: laesie 3,2 x 2,1 cm (serie 3), ER 90-100%, < 5 mm. T2N1."))
    assert [(f.numbers, f.written_unit, f.kind) for f in found] == [
        ([3.2, 2.1], "cm", "dimensions"),
        ([90.0, 100.0], "%", "range"),
        ([5.0], "mm", "single"),
    ]  # numbers without a unit ("Segment 7", "serie 3", "T2N1") are no amounts
    assert found[2].comparator == "<" and found[0].span == (18, 30)


@pytest.mark.parametrize(
    ("pick", "value"),
    [("largest", 32.0), ("smallest", 10.0), ("first", 21.0), ("last", 10.0), ("mean", 21.0)],
)
def test_pick_one_value(pick, value):
    assert pick_value([21.0, 32.0, 10.0], pick) == value


# ------------------------------------------------------------------------------------------
# properties: any number written in any convention, with any unit, reads back right

UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


def _dutch(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}".replace(".", ",")


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=999),
    frac=st.integers(min_value=0, max_value=99),
    unit=st.sampled_from(sorted(UNITS)),
    dutch=st.booleans(),
    space=st.sampled_from(["", " ", "\u00a0"]),
)
def test_any_written_size_converts_to_mm(whole, frac, unit, dutch, space):
    x = whole + frac / 100
    written = _dutch(x, 2) if dutch else f"{x:.2f}"
    a = parse_amount(f"{written}{space}{unit}")
    assert a.numbers == [pytest.approx(x)]
    assert convert(a.numbers[0], a.units[0], "mm") == pytest.approx(x * UNITS[unit])


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=1000, max_value=999_999_999),
    style=st.sampled_from(["nl", "en"]),
)
def test_thousands_separators_in_both_conventions(n, style):
    if style == "en" and n < 1_000_000:
        n *= 1000  # "1,250" alone is a Dutch decimal comma (1.25), as documented
    grouped = f"{n:,}"
    written = grouped.replace(",", ".") if style == "nl" else grouped
    assert parse_number(written) == n


@settings(max_examples=100, deadline=None)
@given(
    dims=st.lists(st.integers(min_value=1, max_value=99), min_size=2, max_size=3),
    sep=st.sampled_from(["x", " x ", "×", " * "]),
)
def test_dimensions_pick_the_largest_by_default(dims, sep):
    a = parse_amount(sep.join(str(d) for d in dims) + " mm")
    assert a.kind == "dimensions" and a.numbers == dims
    assert pick_value(a.numbers, "largest") == max(dims)
