"""Option probabilities from a server's top logprobs (the OpenAI-compatible and Ollama engines).

A server cannot score arbitrary continuations, but it can list the k most likely tokens at
every generated position. Where the answer decides a boolean or enum field, those
alternatives say how likely each allowed JSON literal was. For each field:

1. Join the generated tokens and find where the field's value begins. Whitespace between the
   colon and the value is part of the choice: a model may write ``" true"`` as one token or
   ``" "`` then ``"true"``, so the walk starts right after the colon.
2. Walk the allowed literals as a trie along the generated path, from the token that holds
   that position (a token may straddle it, e.g. ``":\\"left"``). Each listed alternative must
   agree with the generated token on the text before the position; the rest of it is matched
   to the literals it is consistent with (a literal's start, or the whole literal followed by
   whitespace, ``,`` or ``}``). Alternatives consistent with no literal are what the grammar
   forbids: each step is renormalised over the allowed alternatives only (llama-cpp-python's
   server reports logprobs from *before* the grammar mask, so most of the mass can sit on
   forbidden tokens). The generated token's share carries on to the next token (chain rule)
   while several literals still fit it; another alternative's share goes to the literals it
   fits (split evenly if several, e.g. ``' "'`` for all string options when the answer was
   ``null``). Alternatives that fit every literal still in play (whitespace) decide nothing
   and are left out of that step.
3. A literal still in play that no listed alternative fits counts as likely as the least
   likely listed token at that step: an upper bound, as it ranked below all of them (no tiny
   floor, which would be overconfident). Where the grammar forced a token from outside the
   top k, that token is the least likely listed one, and since greedy decoding picks the most
   likely allowed token, the missing literals split that branch evenly with it.
4. A field is left out where the server listed no alternatives at a token that decides
   it, or where the generated value is not one of the literals.
"""

from __future__ import annotations

import bisect
import logging
import math

from .base import GenerationRequest, GenerationResult, TokenLogprob
from .options import literal_to_key, top_level_value_starts

log = logging.getLogger(__name__)

OPTION_TOP_LOGPROBS = 20  # alternatives per token asked for when scoring options (OpenAI's max)
_WS = " \t\n\r"
_VALUE_END = _WS + ",}"


def top_logprobs_for(request: GenerationRequest) -> int:
    """How many alternatives per token to ask a server for."""
    wanted = OPTION_TOP_LOGPROBS if request.option_fields else 0
    return max(request.top_logprobs, wanted)


def _consistent(literals: list[str], value: str) -> list[str]:
    """The literals a value text (as generated so far, leading whitespace allowed) can still
    become: its start, or the whole literal followed by the end of the value."""
    value = value.lstrip(_WS)
    if not value:
        return list(literals)
    return [
        lit
        for lit in literals
        if lit.startswith(value) or (value.startswith(lit) and value[len(lit)] in _VALUE_END)
    ]


def _answer_offset(text: str) -> int:
    """Where the answer starts in the generated text: after a reasoning block, if any."""
    end = text.rfind("</think>")
    return end + len("</think>") if end >= 0 else 0


def _walk(
    tokens: list[TokenLogprob], text: str, starts: list[int], pos: int, literals: list[str]
) -> dict[str, float] | None:
    """Probability of each literal for the value whose choice begins at ``pos``; None if the
    generated value is not one of the literals or the tokens end before it is decided."""
    first = bisect.bisect_right(starts, pos) - 1
    prefix = text[starts[first] : pos]  # the part of the first token before the value
    mass = dict.fromkeys(literals, 0.0)
    live, weight = list(literals), 1.0
    for j in range(first, len(tokens)):
        token = tokens[j]
        before = text[starts[first] : starts[j]]
        alternatives = dict(token.top)
        alternatives.setdefault(token.token, token.logprob)
        chosen: list[str] = []
        shares: list[tuple[list[str], float]] = []  # (literals it fits, logprob) per alternative
        for alt, logprob in alternatives.items():
            seen = before + alt
            if not seen.startswith(prefix):
                continue  # a different path to the value (e.g. other whitespace)
            fits = _consistent(live, seen[len(prefix) :])
            if alt == token.token:
                chosen = fits
            elif fits and len(fits) < len(live):
                shares.append((fits, logprob))
        if not chosen:
            return None  # the generated value is not an allowed literal
        if len(chosen) == len(live) and not shares:
            continue  # nothing decided at this token
        if len(alternatives) == 1:
            return None  # the server listed no alternatives where the value is decided
        covered = set(chosen).union(*(fits for fits, _ in shares))
        lowest = min(alternatives.values())
        shares += [([lit], lowest) for lit in live if lit not in covered]
        top = max(token.logprob, *(lp for _, lp in shares))
        total = math.exp(token.logprob - top) + sum(math.exp(lp - top) for _, lp in shares)
        for fits, logprob in shares:
            for lit in fits:
                mass[lit] += weight * math.exp(logprob - top) / total / len(fits)
        weight *= math.exp(token.logprob - top) / total
        live = chosen
        if len(live) == 1:
            mass[live[0]] += weight
            return mass
    return None  # the answer ended before the value was decided


def option_probs_from_logprobs(
    tokens: list[TokenLogprob], fields: dict[str, list[str]]
) -> dict[str, dict[str, float]]:
    """{field: {option key: probability}} for the fields whose value the tokens decide
    (see the module docstring); fields it cannot score are left out."""
    if all(set(t.top) <= {t.token} for t in tokens):
        return {}  # the server listed no alternatives
    text = "".join(t.token for t in tokens)
    starts: list[int] = []
    at = 0
    for t in tokens:
        starts.append(at)
        at += len(t.token)
    offset = _answer_offset(text)
    values = top_level_value_starts(text[offset:])
    result: dict[str, dict[str, float]] = {}
    for name, literals in fields.items():
        if name not in values or len(literals) < 2:
            continue
        pos = offset + values[name]
        while pos > 0 and text[pos - 1] in _WS:
            pos -= 1  # back to just after the colon
        mass = _walk(tokens, text, starts, pos, literals)
        if mass is not None:
            total = sum(mass.values())
            result[name] = {literal_to_key(lit): m / total for lit, m in mass.items()}
    return result


class LogprobOptionScorer:
    """Fills a result's option probabilities from its logprobs, for one engine instance;
    warns once if the server's answers do not allow it."""

    def __init__(self, engine: str, url: str) -> None:
        self.engine = engine
        self.url = url
        self._warned = False

    def score(self, request: GenerationRequest, result: GenerationResult) -> None:
        if not request.option_fields:
            return
        probs: dict[str, dict[str, float]] = {}
        if result.logprobs:
            probs = option_probs_from_logprobs(result.logprobs, request.option_fields)
        if probs:
            result.option_probs, result.probability_method = probs, "top_logprobs"
            return
        result.option_probs, result.probability_method = None, "unavailable"
        if not self._warned:
            self._warned = True
            why = (
                "returned no logprobs"
                if not result.logprobs
                else "returned logprobs that do not cover the boolean/enum values"
            )
            log.warning(
                "%s server at %s %s: option probabilities are unavailable; "
                "--samples K estimates them from K sampled answers",
                self.engine,
                self.url,
                why,
            )
