"""Stop a generation that has started to loop.

Small models sometimes repeat the same few tokens (one list entry, over and over) until the
output budget runs out: on 2 CPU cores that wastes a minute per case. The guard watches the
generated tokens and stops when they end in one block repeated many times; the engine then
keeps the text up to the first copy of the block and reports ``finish_reason="repetition"``.

A second kind of loop counts: the same list entry over and over with one number going up
by one ("segment 4 ... cyst 9 mm", "segment 5 ... cyst 9 mm", ...), which no exact repeat
catches; a model that spells numbers digit by digit (Qwen) makes it blocks of equal length
that differ only in digit tokens. Six such blocks in a row, each the one before with one
number one higher, stop the generation too (``counting_cut``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def counting_cut(
    tokens: Sequence[int], digits: Mapping[int, int], *, max_period: int = 128, min_repeats: int = 6
) -> int | None:
    """If ``tokens`` ends with ``min_repeats`` blocks of ``p`` tokens that are equal but for
    their digit tokens (``digits``: token -> digit), where each block's numbers are the
    previous block's with one of them (always the same) one higher, the index just after
    the first block of that run; else None."""
    n = len(tokens)
    for p in range(2, max_period + 1):
        if min_repeats * p > n:
            break
        blocks = [list(tokens[n - k * p : n - (k - 1) * p]) for k in range(min_repeats, 0, -1)]
        counted = _counting(blocks, digits)
        if counted is None:
            continue
        start = n - min_repeats * p
        while start - p >= 0:
            earlier = list(tokens[start - p : start])
            if _counting([earlier, blocks[0]], digits) != counted:
                break
            blocks[0], start = earlier, start - p
        return start + p
    return None


def _counting(blocks: list[list[int]], digits: Mapping[int, int]) -> int | None:
    """The index of the one number that goes up by one from each block to the next, the
    blocks being equal but for digits (and starting and ending with no digit); else None."""
    first = blocks[0]
    if first[0] in digits or first[-1] in digits:
        return None
    for block in blocks[1:]:
        if any(
            a != b and not (a in digits and b in digits) for a, b in zip(first, block, strict=True)
        ):
            return None
    numbers = [_numbers(block, digits) for block in blocks]
    index = None
    for before, after in zip(numbers, numbers[1:], strict=False):
        if len(before) != len(after):
            return None
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        if len(changed) != 1 or after[changed[0]] != before[changed[0]] + 1:
            return None
        if index is not None and changed[0] != index:
            return None
        index = changed[0]
    return index


def _numbers(block: list[int], digits: Mapping[int, int]) -> list[int]:
    """The numbers a block spells in digit tokens, in order."""
    out: list[int] = []
    current: int | None = None
    for token in block:
        if token in digits:
            current = (current or 0) * 10 + digits[token]
        elif current is not None:
            out.append(current)
            current = None
    return out


class RepetitionGuard:
    """A llama-cpp-python stopping criterion: ``guard(input_ids, logits) -> stop?``.
    ``input_ids`` holds the prompt followed by the tokens generated so far; with ``digits``
    (token -> digit, for models that spell numbers digit by digit) a counting loop stops
    it too."""

    def __init__(
        self, prompt_length: int, *, check_every: int = 4, digits: Mapping[int, int] | None = None
    ) -> None:
        self.prompt_length = prompt_length
        self.digits = digits
        self.check_every = check_every
        self.generated: list[int] = []
        self.cut: int | None = None

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        generated = input_ids[self.prompt_length :]
        if len(generated) < 32 or len(generated) % self.check_every:
            return False
        cut = repetition_cut(generated)
        if cut is None and self.digits:
            cut = counting_cut(generated, self.digits)
        if cut is None:
            return False
        self.generated = [int(t) for t in generated]
        self.cut = cut
        return True
