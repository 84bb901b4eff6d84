"""Cut-off answers: loop detection in generated tokens, and closing a cut-off JSON answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from extractinator.engines.repetition import RepetitionGuard, repetition_cut
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
