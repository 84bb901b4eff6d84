"""reports/matching.py: the one rule for "does the answer match the label"."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractinator.reports import matching as m
from extractinator.task.spec import FieldSpec

NUMBER = FieldSpec(type="number", nullable=True)
STRING = FieldSpec(type="string")
ENUM = FieldSpec(type="enum", values=["links", "rechts", 3, True])
BOOLEAN = FieldSpec(type="boolean", nullable=True)
STRINGS = FieldSpec(type="list", items={"type": "string"})
NUMBERS = FieldSpec(type="list", items={"type": "number"})
LESION = FieldSpec(
    type="object",
    fields={"site": {"type": "string"}, "size_mm": {"type": "number", "nullable": True}},
)
LESIONS = FieldSpec(type="list", items=LESION.model_dump(exclude_none=True))


def span(text, label, start=None, end=None):
    out = {"text": text, "label": label}
    if start is not None:
        out.update(start=start, end=end)
    return out


# ------------------------------------------------------------------------------ scalars


def test_numbers_within_a_relative_tolerance_and_null_equals_null():
    assert m.numbers_match(20, 21) and not m.numbers_match(20, 21.01)  # 5% by default
    assert m.numbers_match(100, 101, rel_tol=0.01) and not m.numbers_match(100, 101.5, 0.01)
    assert m.numbers_match(0, 0) and not m.numbers_match(0, 0.001)  # a truth of 0 is exact
    assert m.numbers_match(None, None)
    assert not m.numbers_match(None, 0) and not m.numbers_match(0, None)
    assert not m.numbers_match(1, True)  # a boolean is not a number
    assert not m.numbers_match(1, "1") and not m.numbers_match(float("nan"), float("nan"))
    assert m.values_match(NUMBER, -20, -20.9) and not m.values_match(NUMBER, -20, 20)


def test_strings_ignore_case_and_spacing_and_options_match_by_key():
    assert m.values_match(STRING, " Right  Lower lobe", "right lower\tLOBE")
    assert not m.values_match(STRING, "right lower lobe", "right lobe")
    assert m.values_match(ENUM, "links", "links") and not m.values_match(ENUM, "links", "Links")
    assert m.values_match(ENUM, 3, 3.0) and not m.values_match(ENUM, 3, True)
    assert m.values_match(ENUM, "rechts", "rechts") and not m.values_match(ENUM, 3, "3")
    assert m.values_match(BOOLEAN, None, None) and not m.values_match(BOOLEAN, False, None)
    assert m.option_key(None) == "null" and m.option_key("x") == "x" and m.option_key(3) == "3"


def test_objects_match_field_by_field():
    assert m.values_match(LESION, {"site": "RUL", "size_mm": 10}, {"site": "rul", "size_mm": 10.2})
    assert not m.values_match(LESION, {"site": "RUL", "size_mm": 10}, {"site": "RUL"})
    assert m.values_match(LESION, {"site": "RUL", "size_mm": None}, {"site": "RUL"})
    assert m.values_match(LESION, None, None) and not m.values_match(LESION, {"site": "x"}, None)


# ------------------------------------------------------------------------------ lists


def test_lists_are_multisets_and_null_is_empty():
    assert m.values_match(STRINGS, ["a", "B"], ["b ", "A"])  # order is not asked for
    assert m.values_match(STRINGS, None, []) and m.values_match(STRINGS, [], None)
    assert not m.values_match(STRINGS, ["a", "a"], ["a"])  # a repeated item counts twice
    c = m.list_counts(STRINGS, ["a", "a", "b"], ["a", "c"])
    assert (c.tp, c.fp, c.fn) == (1, 1, 2)
    assert c.precision == 0.5 and c.recall == pytest.approx(1 / 3) and c.f1 == pytest.approx(0.4)


def test_list_items_use_their_own_rule_with_a_maximum_matching():
    # 100.6 matches both labels (1%), 99.5 only 100: a greedy match in label order would
    # give 100.6 to 100 and find one hit; the maximum matching finds two.
    c = m.list_counts(NUMBERS, [100, 101.5], [100.6, 99.5], rel_tol=0.01)
    assert (c.tp, c.fp, c.fn) == (2, 0, 0)
    truth = [{"site": "RUL", "size_mm": 8}, {"site": "LLL", "size_mm": None}]
    pred = [{"site": "lll", "size_mm": None}, {"site": "RUL", "size_mm": 9}]
    c = m.list_counts(LESIONS, truth, pred)
    assert (c.tp, c.fp, c.fn) == (1, 1, 1)  # 9 vs 8 is not within 5%


def test_counts_sum_over_cases_before_f1():
    cases = [m.Counts(1, 0, 0), m.Counts(0, 1, 1), m.Counts(2, 0, 1)]
    t = m.total(cases)
    assert (t.tp, t.fp, t.fn) == (3, 1, 2) and t.f1 == pytest.approx(6 / 9)
    assert m.Counts().f1 == 1.0 and m.Counts(fn=2).f1 == 0.0 and m.Counts(fp=1).recall == 1.0


# ------------------------------------------------------------------------------ spans


def test_span_f1_by_exact_text_is_a_multiset_with_labels():
    truth = [span("furosemide", "MED"), span("metoprolol", "MED"), span("furosemide", "MED")]
    c = m.span_counts_text(truth, [span("furosemide", "MED"), span("Metoprolol", "MED")])
    assert (c.tp, c.fp, c.fn) == (1, 1, 2)  # exact text: case counts; the repeat is missed
    c = m.span_counts_text([span("CVA", "DIAG")], [span("CVA", "MED")])
    assert (c.tp, c.fp, c.fn) == (0, 1, 1)  # the label counts


def test_span_f1_by_offsets_and_ungrounded_predictions():
    truth = [span("furosemide", "MED", 10, 20), span("furosemide", "MED", 40, 50)]
    pred = [span("furosemide", "MED", 10, 20), span("furosemide", "MED", 10, 20)]
    c = m.span_counts_offsets(truth, pred)
    assert (c.tp, c.fp, c.fn) == (1, 1, 1)  # both mentions grounded to the first occurrence
    c = m.span_counts_offsets(truth, [span("furosemide", "MED"), span("x", "MED", 40, 50)])
    assert (c.tp, c.fp, c.fn) == (1, 1, 1)  # no offsets: a false positive
    spans = FieldSpec(type="spans", labels=["MED"])
    assert m.values_match(spans, truth, list(reversed(truth)))
    assert not m.values_match(spans, truth, truth[:1])


# ------------------------------------------------------------------------------ properties

words = st.text(alphabet="abcAB ", min_size=0, max_size=6)


@given(st.lists(words, max_size=7), st.randoms())
def test_a_list_matches_any_order_of_itself(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert m.values_match(STRINGS, items, shuffled)


@given(st.lists(words, max_size=6), st.lists(words, max_size=6))
def test_list_counts_add_up_and_are_symmetric_for_exact_items(truth, pred):
    c = m.list_counts(STRINGS, truth, pred)
    assert c.tp + c.fn == len(truth) and c.tp + c.fp == len(pred)
    back = m.list_counts(STRINGS, pred, truth)
    assert (back.tp, back.fp, back.fn) == (c.tp, c.fn, c.fp)
    assert 0.0 <= c.f1 <= 1.0


def _brute_force(truth, pred, rel_tol):
    """The largest number of (truth, pred) pairs over all assignments."""
    small, large, flip = (truth, pred, False) if len(truth) <= len(pred) else (pred, truth, True)
    best = 0
    for perm in itertools.permutations(range(len(large)), len(small)):
        pairs = [(small[i], large[j]) for i, j in enumerate(perm)]
        if flip:
            pairs = [(t, p) for p, t in pairs]
        best = max(best, sum(m.numbers_match(t, p, rel_tol) for t, p in pairs))
    return best


numbers = st.lists(st.integers(95, 105).map(float), max_size=5)


@given(numbers, numbers)
def test_number_lists_find_the_maximum_matching(truth, pred):
    c = m.list_counts(NUMBERS, truth, pred, rel_tol=0.02)
    assert c.tp == _brute_force(truth, pred, 0.02)


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0.0, 0.2))
def test_a_number_always_matches_itself(x, tol):
    assert m.numbers_match(x, x, tol)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "ab"]), st.sampled_from("XY")), max_size=6))
def test_identical_spans_score_f1_one(pairs):
    spans = [span(t, lab, i * 10, i * 10 + len(t)) for i, (t, lab) in enumerate(pairs)]
    shuffled = random.Random(0).sample(spans, len(spans))
    assert m.span_counts_text(spans, shuffled).f1 == 1.0
    assert m.span_counts_offsets(spans, shuffled).f1 == 1.0
    missed = m.span_counts_offsets(spans, [])
    assert missed.fn == len(spans) and missed.recall == (0.0 if spans else 1.0)
