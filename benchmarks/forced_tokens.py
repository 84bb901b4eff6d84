"""Which generated tokens did the JSON-schema grammar force? (measurement only, slow-ish)

The generated token ids are captured during the run (:class:`TokenCapture` reads the
embedded engine's ``last_generated`` after each answer); afterwards :class:`GrammarReplay`
replays each answer through llama.cpp's own grammar sampler (``llama_sampler_init_grammar``)
and counts, per generated token (the end-of-generation token not included):

- ``single``: the grammar allowed exactly one token of the whole vocabulary at that step;
- ``text_forced``: the grammar allowed exactly one character sequence for the chosen token's
  text: at each of its bytes only that byte was allowed, and ending was not. Tokenizers
  offer several tokens for the same text ('{"', '{'), so ``single`` is rare while the text
  is fixed; ``text_forced`` tokens could be appended without a decode (jump-forward
  decoding). Checked byte by byte with the vocabulary's single-byte tokens.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class TokenCapture:
    """The token ids of each answer, as the embedded engine keeps them (``last_generated``:
    answers at temperature 0, which the benchmark uses)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def take(self) -> list[int]:
        tokens, self.engine.last_generated = list(self.engine.last_generated), []
        return tokens


@dataclass
class ForcedCounts:
    steps: int = 0  # generated tokens replayed
    single: int = 0  # exactly one token allowed
    text_forced: int = 0  # exactly one character sequence allowed for the chosen token
    rejected: int = 0  # answers the grammar rejected part-way (replay stopped there)


class GrammarReplay:
    """Replays generated tokens through llama.cpp's grammar sampler over the vocabulary."""

    def __init__(self, llm: Any) -> None:
        self.vocab = llm._model.vocab
        self.n_vocab = int(llm.n_vocab())
        self._full = (llama_cpp.llama_token_data * self.n_vocab)()
        self._full_view = np.frombuffer(self._full, dtype=TOKEN_DATA)
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self._pieces: dict[int, bytes] = {}
        eog = [t for t in range(self.n_vocab) if llama_cpp.llama_vocab_is_eog(self.vocab, t)]
        self._eog = set(eog)
        byte_token: dict[int, int] = {}
        for t in range(self.n_vocab):
            piece = self.piece(t)
            if len(piece) == 1 and t not in self._eog:
                byte_token.setdefault(piece[0], t)
        self._byte_token = byte_token
        # candidates for the byte-by-byte check: one token per byte value, then the EOG tokens
        self._small_ids = np.array([*byte_token.values(), *eog], dtype=np.int32)
        self._small = (llama_cpp.llama_token_data * len(self._small_ids))()
        self._small_view = np.frombuffer(self._small, dtype=TOKEN_DATA)

    def piece(self, token: int) -> bytes:
        if token not in self._pieces:
            buf = ctypes.create_string_buffer(64)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
            self._pieces[token] = buf.raw[: max(n, 0)]
        return self._pieces[token]

    def count(self, grammar: Any, tokens: list[int], counts: ForcedCounts) -> None:
        """Add one answer's counts; ``grammar`` is the ``LlamaGrammar`` it was generated with."""
        sampler = llama_cpp.llama_sampler_init_grammar(
            self.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not sampler:
            raise RuntimeError("llama.cpp could not parse the task's grammar")
        try:
            for token in tokens:
                if token in self._eog:
                    break
                allowed = self._allowed(sampler, self._full, self._full_view, self._ids)
                if token not in allowed:
                    counts.rejected += 1
                    break
                counts.steps += 1
                counts.single += len(allowed) == 1
                counts.text_forced += self._text_forced(sampler, self.piece(token))
                llama_cpp.llama_sampler_accept(sampler, token)
        finally:
            llama_cpp.llama_sampler_free(sampler)

    def _allowed(self, sampler: Any, array: Any, view: np.ndarray, ids: np.ndarray) -> set[int]:
        view["id"] = ids
        view["logit"] = 0.0
        view["p"] = 0.0
        cur = llama_cpp.llama_token_data_array(data=array, size=len(ids), selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(cur))
        return set(view["id"][np.isfinite(view["logit"])].tolist())

    def _text_forced(self, sampler: Any, text: bytes) -> bool:
        """Whether the grammar allowed only ``text``, byte by byte, and no ending on the way."""
        if not text or any(b not in self._byte_token for b in text):
            return False  # cannot be checked byte by byte: counted as not forced
        probe = llama_cpp.llama_sampler_clone(sampler)
        try:
            for b in text:
                allowed = self._allowed(probe, self._small, self._small_view, self._small_ids)
                if allowed != {self._byte_token[b]}:
                    return False
                llama_cpp.llama_sampler_accept(probe, self._byte_token[b])
            return True
        finally:
            llama_cpp.llama_sampler_free(probe)
