"""Option scoring (engines/option_scoring.py) on a toy character-level model: no GGUF needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from extractinator.engines.option_scoring import (
    KeptLogits,
    log_softmax,
    score_options,
    trie_logprobs,
)

VOCAB = ['{"side": ', '"', "l", "e", "f", "t", "r", "i", "g", "h", "n", "u", "}", "x"]
IDS = {t: i for i, t in enumerate(VOCAB)}


def tokenize(text: str) -> list[int]:
    """Greedy longest-match over VOCAB (the prefix is one token, the rest characters)."""
    out, i = [], 0
    while i < len(text):
        piece = max((t for t in VOCAB if text.startswith(t, i)), key=len)
        out.append(IDS[piece])
        i += len(piece)
    return out


def make_model(table: dict[str, dict[str, float]]):
    """next_logprobs from {decoded context suffix: {next piece: probability}}; the rest of
    the mass goes to "x" (a token no literal uses); also counts calls."""
    calls: list[str] = []

    def next_logprobs(tokens: list[int]):
        text = "".join(VOCAB[t] for t in tokens)
        calls.append(text)
        probs = np.full(len(VOCAB), 1e-9)
        for suffix, nxt in table.items():
            if text.endswith(suffix):
                for piece, p in nxt.items():
                    probs[IDS[piece]] = p
                break
        probs[IDS["x"]] += max(0.0, 1.0 - probs.sum())
        return np.log(probs)

    return next_logprobs, calls


def test_scores_are_renormalised_over_the_allowed_branches_and_forced_steps_count_as_certain():
    # after '{"side": "' the model puts 0.3 on "l", 0.1 on "r", 0.6 elsewhere (forbidden);
    # "left" and "right" are then forced letter by letter
    next_logprobs, calls = make_model({'{"side": "': {"l": 0.3, "r": 0.1}})
    text = '{"side": "left"}'
    probs = score_options([], text, {"side": ['"left"', '"right"']}, tokenize, next_logprobs)
    assert probs == {"side": pytest.approx({"left": 0.75, "right": 0.25})}
    assert len(calls) == 1  # one branching point, one distribution


def test_a_literal_that_ends_where_another_goes_on_gets_the_rest_of_the_mass():
    paths = [(IDS["n"],), (IDS["n"], IDS["u"])]  # "n" ends; "nu" goes on
    next_logprobs, _ = make_model({"n": {"u": 0.2}})
    scores = trie_logprobs([IDS['"']], paths, next_logprobs)
    ended, going_on = (math.exp(s) for s in scores)
    assert going_on / (ended + going_on) == pytest.approx(0.2, abs=1e-6)


def test_fields_missing_from_the_answer_or_with_one_literal_are_left_out():
    next_logprobs, calls = make_model({})
    fields = {"side": ['"left"', '"right"'], "other": ["true", "false"], "one": ["null"]}
    assert score_options([], '{"nothing": 1}', fields, tokenize, next_logprobs) == {}
    assert calls == []


def test_kept_logits_answer_only_for_the_exact_prompt_and_generated_prefix():
    kept = KeptLogits()
    row = np.array([1.0, 2.0, 3.0])
    kept.set([7, 8], [1, 2, 3], {2: row})
    assert kept.get([7, 8, 1, 2]) is row
    assert kept.get([7, 8, 1, 9]) is None  # another answer's prefix
    assert kept.get([7, 9, 1, 2]) is None  # another prompt
    assert kept.get([7, 8, 1]) is None  # a step that was not kept
    kept.clear()
    assert kept.get([7, 8, 1, 2]) is None
    assert np.exp(log_softmax(row)).sum() == pytest.approx(1.0)
