"""Stop a generation that has started to loop.

Small models sometimes repeat the same few tokens (one list entry, over and over) until the
output budget runs out: on 2 CPU cores that wastes a minute per case. The guard watches the
generated tokens and stops when they end in one block repeated many times; the engine then
keeps the text up to the first copy of the block and reports ``finish_reason="repetition"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def repetition_cut(
    tokens: Sequence[int], *, max_period: int = 128, min_repeats: int = 4, min_tokens: int = 32
) -> int | None:
    """If ``tokens`` ends with one block of ``p <= max_period`` tokens repeated at least
    ``min_repeats`` times (and over at least ``min_tokens`` tokens), the index just after
    the first copy of that block; else None."""
    n = len(tokens)
    for p in range(1, max_period + 1):
        repeats = max(min_repeats, -(-min_tokens // p))
        if repeats * p > n:
            continue
        block = list(tokens[n - p :])
        if all(list(tokens[n - k * p : n - (k - 1) * p]) == block for k in range(2, repeats + 1)):
            start = n - repeats * p
            while start - p >= 0 and list(tokens[start - p : start]) == block:
                start -= p
            return start + p
    return None


class RepetitionGuard:
    """A llama-cpp-python stopping criterion: ``guard(input_ids, logits) -> stop?``.
    ``input_ids`` holds the prompt followed by the tokens generated so far."""

    def __init__(self, prompt_length: int, *, check_every: int = 4) -> None:
        self.prompt_length = prompt_length
        self.check_every = check_every
        self.generated: list[int] = []
        self.cut: int | None = None

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        generated = input_ids[self.prompt_length :]
        if len(generated) < 32 or len(generated) % self.check_every:
            return False
        cut = repetition_cut(generated)
        if cut is None:
            return False
        self.generated = [int(t) for t in generated]
        self.cut = cut
        return True
