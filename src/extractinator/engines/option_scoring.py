"""Exact option scoring for an engine that can compute next-token logits (the embedded one).

Where a JSON answer decides a boolean or enum field, how likely was each allowed literal under
the grammar? For each field: the context is the prompt plus the answer up to the field's
value; the literals' tokens form a trie; at every branching point the model's next-token
distribution is renormalised over the branches (as grammar-constrained decoding does), and
forced steps count as certain. Costs one next-token distribution per branching point; the
first one is usually kept from decoding (:class:`KeptLogits`), so costs nothing.

The engine supplies two functions: ``tokenize(text) -> ids`` (no BOS, no special tokens)
and ``next_logprobs(ids) -> array`` (log-probabilities of the token after ``ids``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .options import literal_to_key, normalise, top_level_value_starts

Tokenize = Callable[[str], list[int]]
NextLogprobs = Callable[[list[int]], Any]  # -> numpy array over the vocabulary


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def log_softmax(logits: Any) -> Any:
    import numpy as np

    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


class KeptLogits:
    """The logits a decoder kept for the last answer: ``{m: logits after the prompt and the
    first m generated tokens}``, at the steps where a boolean/enum value could begin."""

    def __init__(self) -> None:
        self.prompt: list[int] = []
        self.generated: list[int] = []
        self.kept: dict[int, Any] = {}

    def set(self, prompt: list[int], generated: list[int], kept: dict[int, Any]) -> None:
        self.prompt, self.generated, self.kept = prompt, generated, kept

    def clear(self) -> None:
        self.set([], [], {})

    def get(self, tokens: list[int]) -> Any | None:
        """The logits after ``tokens`` if they were kept (``tokens`` = the prompt and the
        first m generated tokens of the last answer); else None."""
        m = len(tokens) - len(self.prompt)
        if m not in self.kept or tokens[: len(self.prompt)] != self.prompt:
            return None
        return self.kept[m] if tokens[len(self.prompt) :] == self.generated[:m] else None


def score_options(
    prompt: list[int],
    text: str,
    fields: dict[str, list[str]],
    tokenize: Tokenize,
    next_logprobs: NextLogprobs,
) -> dict[str, dict[str, float]]:
    """{field: {option key: probability}} for the fields of ``fields`` (name -> allowed JSON
    literals) whose value ``text`` (the answer) holds; others are left out."""
    starts = top_level_value_starts(text)
    result: dict[str, dict[str, float]] = {}
    for name, literals in fields.items():
        if name not in starts or len(literals) < 2:
            continue
        before = text[: starts[name]]
        base = tokenize(before)
        fulls = [tokenize(before + lit) for lit in literals]
        k = min(common_prefix(base, f) for f in fulls)
        context = prompt + base[:k]
        paths = [tuple(f[k:]) for f in fulls]
        scores = trie_logprobs(context, paths, next_logprobs)
        logprobs = dict(zip(literals, scores, strict=True))
        result[name] = {literal_to_key(lit): p for lit, p in normalise(logprobs).items()}
    return result


def trie_logprobs(
    context: list[int], paths: list[tuple[int, ...]], next_logprobs: NextLogprobs
) -> list[float]:
    """Constrained log-probability of each token path continuing ``context``."""
    import numpy as np

    scores = [0.0] * len(paths)
    pending: list[tuple[int, ...]] = [()]
    while pending:
        prefix = pending.pop()
        depth = len(prefix)
        members = [i for i, p in enumerate(paths) if p[:depth] == prefix]
        ended = [i for i in members if len(paths[i]) == depth]
        children = sorted({paths[i][depth] for i in members if len(paths[i]) > depth})
        if len(children) + bool(ended) <= 1:
            if children:
                pending.append(prefix + (children[0],))
            continue
        logp = next_logprobs(context + list(prefix))
        branch = {c: float(logp[c]) for c in children}
        if ended:  # a literal ends here while others go on: the rest of the mass
            rest = 1.0 - float(np.exp(list(branch.values())).sum())
            branch[-1] = float(np.log(max(rest, 1e-12)))
        top = max(branch.values())
        norm = top + float(np.log(sum(np.exp(v - top) for v in branch.values())))
        for i in members:
            token = paths[i][depth] if len(paths[i]) > depth else -1
            scores[i] += branch[token] - norm
        pending.extend(prefix + (c,) for c in children)
    return scores
