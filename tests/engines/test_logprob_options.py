"""Option probabilities from top logprobs: synthetic token sequences with known answers."""

from __future__ import annotations

import logging
import math

import pytest

from extractinator.engines.base import GenerationRequest, GenerationResult, Message, TokenLogprob
from extractinator.engines.logprob_options import (
    OPTION_TOP_LOGPROBS,
    LogprobOptionScorer,
    option_probs_from_logprobs,
    top_logprobs_for,
)

BOOL = ["true", "false"]
SIDE = ['"left"', '"right"', "null"]


def tok(token: str, logprob: float, **top: float) -> TokenLogprob:
    """A generated token; ``top`` are its alternatives (the token itself is added)."""
    return TokenLogprob(token=token, logprob=logprob, top={token: logprob, **top})


def plain(*tokens: str) -> list[TokenLogprob]:
    """Tokens that decide nothing: each is the only alternative listed."""
    return [tok(t, -0.01) for t in tokens]


def softmax(*logprobs: float) -> list[float]:
    weights = [math.exp(lp) for lp in logprobs]
    return [w / sum(weights) for w in weights]


def probs(tokens: list[TokenLogprob], **fields: list[str]) -> dict[str, dict[str, float]]:
    result = option_probs_from_logprobs(tokens, fields)
    for name, p in result.items():
        assert sum(p.values()) == pytest.approx(1.0), name
    return result


def test_boolean_single_token_after_the_colon():
    tokens = [
        *plain('{"', "present", '":'),
        tok(" true", -0.2, **{" false": -1.8, ' "': -3.0, " ": -4.0}),
        *plain("}"),
    ]
    p_true, p_false = softmax(-0.2, -1.8)  # ' "' is forbidden, ' ' decides nothing
    assert probs(tokens, present=BOOL)["present"] == {
        "true": pytest.approx(p_true),
        "false": pytest.approx(p_false),
    }


def test_renormalises_when_most_mass_is_on_forbidden_tokens():
    """llama-cpp-python reports the distribution before the grammar mask."""
    tokens = [
        *plain('{"', "a", '":'),
        tok(" false", -10.0, **{' "': -0.01, " 1": -5.0, " {": -6.0, " true": -9.0}),
        *plain("}"),
    ]
    p_true, p_false = softmax(-9.0, -10.0)
    result = probs(tokens, a=BOOL)["a"]
    assert result["true"] == pytest.approx(p_true) and result["false"] == pytest.approx(p_false)


def test_multi_token_enum_literals_sharing_their_first_tokens():
    """Chain rule: "left upper" = P(' "') * P(left | ' "') * P(' upper' | ' "left')."""
    options = ['"left upper"', '"left lower"', '"right"', "null"]
    tokens = [
        *plain('{"', "site", '":'),
        tok(' "', -0.1, **{" null": -2.5, " true": -1.0}),
        tok("left", -0.3, right=-1.5, up=-2.0),
        tok(" upper", -0.5, **{" lower": -1.0, " middle": -2.0}),
        *plain('"}'),
    ]
    q_string, q_null = softmax(-0.1, -2.5)
    q_left, q_right = softmax(-0.3, -1.5)
    q_upper, q_lower = softmax(-0.5, -1.0)
    assert probs(tokens, site=options)["site"] == {
        "left upper": pytest.approx(q_string * q_left * q_upper),
        "left lower": pytest.approx(q_string * q_left * q_lower),
        "right": pytest.approx(q_string * q_right),
        "null": pytest.approx(q_null),
    }


def test_token_straddling_the_value_start():
    """'":"' holds the end of the key and the value's opening quote: alternatives must
    agree on the part before the value (and '":' alone decides nothing)."""
    tokens = [
        *plain('{"', "side"),
        tok('":"', -0.2, **{'":': -1.0, '":n': -3.0, '"': -0.5, "_": -2.0}),
        tok("left", -0.2, right=-2.0),
        *plain('"}'),
    ]
    q_string, q_null = softmax(-0.2, -3.0)
    q_left, q_right = softmax(-0.2, -2.0)
    assert probs(tokens, side=SIDE)["side"] == {
        "left": pytest.approx(q_string * q_left),
        "right": pytest.approx(q_string * q_right),
        "null": pytest.approx(q_null),
    }


def test_token_straddling_the_value_end_and_whitespace_then_value():
    tokens = [
        *plain('{"', "a", '":'),
        tok(" ", -1.0, **{" true": -2.0, "\n": -0.5}),  # '\n' decides nothing
        tok("true,", -0.1, **{"false": -2.0, "true": -1.0, "trueish": -0.5}),
        *plain(' "', "b", '":', " 1}"),
    ]
    q_ws, q_true_direct = softmax(-1.0, -2.0)
    # after ' ': "true," and "true" both fit true (only the generated one is followed)
    weights = dict(zip(["true,", "true", "false"], softmax(-0.1, -1.0, -2.0), strict=True))
    p_true = q_true_direct + q_ws * (weights["true,"] + weights["true"])
    result = probs(tokens, a=BOOL)["a"]
    assert result["true"] == pytest.approx(p_true)
    assert result["false"] == pytest.approx(q_ws * weights["false"])


def test_nullable_answer_null_shares_the_string_branch_evenly():
    tokens = [*plain('{"', "side", '":'), tok(" null", -1.0, **{' "': -0.5}), *plain("}")]
    q_null, q_string = softmax(-1.0, -0.5)
    assert probs(tokens, side=SIDE)["side"] == {
        "left": pytest.approx(q_string / 2),
        "right": pytest.approx(q_string / 2),
        "null": pytest.approx(q_null),
    }


def test_missing_option_counts_as_likely_as_the_least_likely_listed_token():
    others = {f" x{i}": -3.0 - i for i in range(8)}  # lowest listed: -10
    tokens = [*plain('{"', "a", '":'), tok(" true", -0.01, **others), *plain("}")]
    p_true, p_false = softmax(-0.01, -10.0)
    result = probs(tokens, a=BOOL)["a"]
    assert result["false"] == pytest.approx(p_false) and result["false"] < 1e-4
    assert result["true"] == pytest.approx(p_true)


def test_grammar_forced_token_leaves_the_branch_undecided():
    """Seen with llama-cpp-python: ' ' then 'false' ranked far below the top k; the
    missing 'true' is then as likely as the forced 'false' for that branch."""
    tokens = [
        *plain('{"', "a", '":'),
        tok(" ", -2.88, **{" {": -1.12, ' "': -1.31, " false": -3.02, " true": -4.16}),
        tok("false", -20.29, **{"2": -1.38, "1": -1.41, "0": -2.18}),
        *plain("}"),
    ]
    q_ws, q_false, q_true = softmax(-2.88, -3.02, -4.16)
    result = probs(tokens, a=BOOL)["a"]
    assert result["false"] == pytest.approx(q_false + q_ws / 2)
    assert result["true"] == pytest.approx(q_true + q_ws / 2)


def test_numeric_literals_that_prefix_each_other():
    """ "1" is a prefix of "12": the token after it (',' or '2') decides."""
    tokens = [*plain('{"', "n", '":', " "), tok("1", -0.5, **{"2": -1.0})]
    tokens += [tok(",", -0.1, **{"2": -1.5, "3": -0.2}), *plain(' "', "m", '":', " 3}")]
    q_1, q_2 = softmax(-0.5, -1.0)
    q_end, q_12 = softmax(-0.1, -1.5)  # "13" is not allowed
    result = probs(tokens, n=["1", "12", "2"])["n"]
    assert result == {
        "1": pytest.approx(q_1 * q_end),
        "12": pytest.approx(q_1 * q_12),
        "2": pytest.approx(q_2),
    }


def test_several_fields_and_what_is_left_out():
    tokens = [
        *plain('{"', "a", '":'),
        tok(" false", -0.3, **{" true": -1.5}),
        *plain(",", ' "', "side", '":', ' "'),
        tok("up", -0.1, left=-2.0),  # "up" is not an allowed value
        *plain('"', ",", ' "', "b", '":', " true}"),
    ]
    result = probs(tokens, a=BOOL, side=SIDE, b=BOOL, missing=BOOL, one=["true"])
    assert set(result) == {"a"}  # b: no alternatives listed where its value is decided
    assert result["a"] == {
        "false": pytest.approx(softmax(-0.3, -1.5)[0]),
        "true": pytest.approx(softmax(-0.3, -1.5)[1]),
    }


def test_reasoning_before_the_answer_is_skipped():
    tokens = [
        *plain("<think>", '{"a": true}', "</think>", '{"', "a", '":'),
        tok(" false", -0.2, **{" true": -0.9}),
        *plain("}"),
    ]
    assert probs(tokens, a=BOOL)["a"]["false"] == pytest.approx(softmax(-0.2, -0.9)[0])


def test_no_alternatives_or_no_answer_gives_nothing():
    assert option_probs_from_logprobs(plain('{"', "a", '":', " true", "}"), {"a": BOOL}) == {}
    assert option_probs_from_logprobs([tok("no", -1.0, yes=-2.0)], {"a": BOOL}) == {}
    truncated = [*plain('{"', "n", '":'), tok(" 1", -0.1, **{" 12": -1.0})]
    assert option_probs_from_logprobs(truncated, {"n": ["1", "12"]}) == {}


def request(**kw: object) -> GenerationRequest:
    return GenerationRequest(messages=[Message(role="user", content="x")], **kw)  # type: ignore[arg-type]


def test_top_logprobs_asked_for():
    assert top_logprobs_for(request()) == 0
    assert top_logprobs_for(request(top_logprobs=3)) == 3
    assert top_logprobs_for(request(option_fields={"a": BOOL})) == OPTION_TOP_LOGPROBS == 20
    assert top_logprobs_for(request(option_fields={"a": BOOL}, top_logprobs=25)) == 25


def test_scorer_fills_the_result_or_reports_unavailable_once(caplog: pytest.LogCaptureFixture):
    scorer = LogprobOptionScorer("openai", "http://h/v1/chat/completions")
    asked = request(option_fields={"a": BOOL})
    tokens = [*plain('{"', "a", '":'), tok(" true", -0.1, **{" false": -2.0}), *plain("}")]
    scored = GenerationResult(text='{"a": true}', logprobs=tokens)
    scorer.score(asked, scored)
    assert scored.probability_method == "top_logprobs"
    assert scored.option_probs == {"a": option_probs_from_logprobs(tokens, {"a": BOOL})["a"]}

    caplog.set_level(logging.WARNING, logger="extractinator.engines.logprob_options")
    bare = [GenerationResult(text='{"a": true}') for _ in range(3)]
    for result in bare:
        scorer.score(asked, result)
        assert result.option_probs is None and result.probability_method == "unavailable"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "http://h/v1/chat/completions returned no logprobs" in warnings[0]
    assert "--samples K" in warnings[0]

    untouched = GenerationResult(text="{}")
    scorer.score(request(), untouched)  # no option fields: nothing to do
    assert untouched.probability_method is None and untouched.option_probs is None
