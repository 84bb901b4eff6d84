"""Option probabilities: where a JSON answer decides a boolean or enum value, how likely
was each allowed value? Shared helpers; engines do the scoring."""

from __future__ import annotations

import json
import math
from typing import Any

from ..records import option_key

_WS = " \t\n\r"


def top_level_value_starts(text: str) -> dict[str, int]:
    """Character offset where each top-level key's value starts in a JSON object text
    (after the colon and any whitespace). Stops quietly at the first thing it cannot read."""
    decoder = json.JSONDecoder()
    starts: dict[str, int] = {}
    i = text.find("{")
    if i < 0:
        return starts
    i += 1
    n = len(text)
    while i < n:
        while i < n and text[i] in _WS + ",":
            i += 1
        if i >= n or text[i] != '"':
            break
        try:
            key, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        while i < n and text[i] in _WS:
            i += 1
        if i >= n or text[i] != ":":
            break
        i += 1
        while i < n and text[i] in _WS:
            i += 1
        starts[str(key)] = i
        try:
            _, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            break
    return starts


def option_literals(spec_values: list[Any] | None, boolean: bool, nullable: bool) -> list[str]:
    """The JSON literals a field may take at its value position."""
    literals = ["true", "false"] if boolean else [json.dumps(v) for v in spec_values or []]
    if nullable:
        literals.append("null")
    return literals


def normalise(logprobs: dict[str, float]) -> dict[str, float]:
    """Log-probabilities of the options -> probabilities summing to 1 over the options."""
    top = max(logprobs.values())
    weights = {k: math.exp(v - top) for k, v in logprobs.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def literal_to_key(literal: str) -> str:
    """How the option of a JSON literal is named in a record (``records.option_key``)."""
    return option_key(json.loads(literal))
