"""Cut-off answers: loop detection in generated tokens, and closing a cut-off JSON answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from extractinator.engines.repetition import RepetitionGuard, counting_cut, repetition_cut
from extractinator.validate import close_truncated_json


def test_a_block_repeated_many_times_is_cut_after_its_first_copy():
    head = list(range(100, 140))
    block = [1, 2, 3, 4, 5, 6, 7, 8]
    tokens = head + block * 6
    assert repetition_cut(tokens) == len(head) + len(block)
    # a single token repeated 32 times, and a longer block 4 times
    assert repetition_cut(head + [9] * 32) == len(head) + 1
    assert repetition_cut(head + list(range(40)) * 4) == len(head) + 40


@pytest.mark.parametrize(
    "tokens",
    [
        list(range(200)),  # no repetition
        list(range(100)) + [1, 2, 3, 4, 5, 6, 7, 8] * 3,  # 3 copies: not yet a loop
        list(range(100)) + [7] * 31,  # under min_tokens
        [1, 2] * 10,  # short overall
    ],
)
def test_text_that_does_not_loop_is_left_alone(tokens):
    assert repetition_cut(tokens) is None


def test_guard_stops_only_on_the_generated_part_and_remembers_the_cut():
    prompt = [5] * 64  # a prompt that repeats itself is not the model looping
    guard = RepetitionGuard(len(prompt), check_every=1)
    generated: list[int] = []
    for token in list(range(10, 50)) + [1, 2, 3, 4] * 10:
        generated.append(token)
        if guard(np.array(prompt + generated), None):
            break
    assert guard.cut == 44  # the 40 distinct tokens and one copy of the 4-token block
    assert guard.generated[: guard.cut] == list(range(10, 50)) + [1, 2, 3, 4]
    assert len(generated) < 40 + 40  # stopped before the budget


@pytest.mark.parametrize(
    "text, first",
    [
        ('{"e": [["I", "R"], ["lesion", "S"], ["nor', {"e": [["I", "R"], ["lesion", "S"]]}),
        ('{"e": {"A": ["x", "y", "x', {"e": {"A": ["x", "y"]}}),
        ('{"a": "b\\"c", "d": 1', {"a": 'b"c'}),
        ('{"k": [{"t": "a", "l": "B"}, {"t": "c', {"k": [{"t": "a", "l": "B"}]}),
        ('{"a": 1}', {"a": 1}),
    ],
)
def test_cut_off_json_is_closed_after_a_complete_entry(text, first):
    candidates = close_truncated_json(text)
    assert json.loads(candidates[0]) == first
    assert all(isinstance(json.loads(c), dict) for c in candidates)


@pytest.mark.parametrize("text", ['{"a', "no json", '{"a": 1, "b": [1, 2', ""])
def test_nothing_complete_gives_no_candidates(text):
    assert close_truncated_json(text) == []


DIGITS = {900 + d: d for d in range(10)}  # token 90d spells the digit d


def spell(n):
    return [DIGITS_OF[c] for c in str(n)]


DIGITS_OF = {str(d): t for t, d in DIGITS.items()}


def entry(segment, size=9):
    """'{"segment": "<n>", "size": "<size> mm"}, ' as made-up tokens, digits spelled."""
    return [1, 2, *spell(segment), 3, 4, *spell(size), 5, 6]


def test_a_list_that_counts_up_is_cut_after_the_first_entry_of_the_run():
    head = list(range(100, 140))
    tokens = head + [t for n in range(10, 17) for t in entry(n)]
    cut = counting_cut(tokens, DIGITS)
    assert cut == len(head) + len(entry(10))  # entries 11..16 are the loop
    guard = RepetitionGuard(0, check_every=1, digits=DIGITS)
    stopped = next(i for i in range(1, len(tokens) + 1) if guard(np.array(tokens[:i]), None))
    assert stopped < len(tokens) and guard.cut is not None


@pytest.mark.parametrize(
    "entries",
    [
        [entry(n) for n in range(10, 15)],  # five entries: not yet a loop
        [entry(n, size=n) for n in range(10, 17)],  # two numbers change together
        [entry(10, size=s) for s in (11, 14, 12, 19, 15, 13, 16)],  # sizes, not a count
        [entry(n) for n in (10, 12, 14, 16, 18, 20, 22)],  # steps of two
    ],
)
def test_lists_that_do_not_count_up_by_one_are_left_alone(entries):
    tokens = list(range(100, 140)) + [t for e in entries for t in e]
    assert counting_cut(tokens, DIGITS) is None
    assert counting_cut(tokens, {}) is None
