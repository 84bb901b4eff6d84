"""Prompt token counts from a server's own tokenize API (engines/server_tokens.py): the
vLLM and llama.cpp wire forms against scripted servers; llama-cpp-python's against the real
server is in test_engine_openai.py."""

from __future__ import annotations

import asyncio

from extractinator.config import OpenAIConfig
from extractinator.engines import GenerationRequest, Message
from extractinator.engines.openai import OpenAIEngine
from extractinator.engines.server_tokens import server_root

from servers import Reply, StubServer

REQUEST = GenerationRequest(
    messages=[Message(role="system", content="Extract."), Message(role="user", content="Report")]
)


def counts(engine: OpenAIEngine, n: int = 2) -> list[int | None]:
    async def go() -> list[int | None]:
        try:
            return [await engine.count_tokens(REQUEST) for _ in range(n)]
        finally:
            await engine.aclose()

    return asyncio.run(go())


def engine_at(url: str) -> OpenAIEngine:
    return OpenAIEngine(OpenAIConfig(model="qwen", base_url=f"{url}/v1"))


def test_server_root_drops_the_v1_suffix() -> None:
    assert server_root("http://h:8000/v1") == "http://h:8000"
    assert server_root("http://h:8000/api") == "http://h:8000/api"


def test_vllm_tokenize_counts_with_the_chat_template_and_gives_the_context() -> None:
    with StubServer([Reply(body={"count": 321, "max_model_len": 32768, "tokens": []})]) as s:
        engine = engine_at(s.url)
        assert engine.context_size is None
        assert counts(engine) == [321, 321]
    assert engine.tokenizer.api == "vllm" and engine.context_size == 32768
    first = s.requests[0]
    assert first.path == "/tokenize"
    assert first.body["model"] == "qwen" and first.body["add_generation_prompt"] is True
    assert [m["role"] for m in first.body["messages"]] == ["system", "user"]
    assert [r.path for r in s.requests] == ["/tokenize", "/tokenize"]  # probed once


def test_llama_cpp_applies_the_template_then_tokenizes_and_reads_props() -> None:
    replies = [
        Reply(body={"tokens": []}),  # /tokenize with messages: no "count", so not vLLM
        Reply(body={"prompt": "<|im_start|>system\nExtract.<|im_end|>\n..."}),
        Reply(body={"tokens": list(range(17))}),
        Reply(body={"prompt": "templated"}),
        Reply(body={"tokens": list(range(17))}),
    ]
    props = {"/props": {"default_generation_settings": {"n_ctx": 4096}}}
    with StubServer(replies, get_bodies=props) as s:
        engine = engine_at(s.url)
        assert counts(engine) == [17, 17]
    assert engine.tokenizer.api == "llama.cpp" and engine.context_size == 4096
    assert [r.path for r in s.requests] == [
        "/tokenize", "/apply-template", "/tokenize", "/apply-template", "/tokenize",
    ]  # fmt: skip
    assert s.requests[2].body["content"].startswith("<|im_start|>system")


def test_a_server_without_a_tokenize_api_counts_nothing_and_is_asked_once() -> None:
    with StubServer([Reply(status=404, body={"detail": "Not Found"})]) as s:
        engine = engine_at(s.url)
        assert counts(engine, 3) == [None, None, None]
    assert engine.tokenizer.api == "none"
    assert len(s.requests) == 3  # the three probes, once


def test_a_failing_tokenize_api_is_tried_once_without_retries_then_given_up() -> None:
    with StubServer([Reply(status=500, body={"error": {"message": "tokenizer broke"}})]) as s:
        engine = OpenAIEngine(OpenAIConfig(model="q", base_url=f"{s.url}/v1", http_retries=4))
        assert counts(engine, 5) == [None] * 5
    assert engine.tokenizer.api == "none"
    assert len(s.requests) == 3  # one request per API, once; never per case


def test_the_probe_is_kept_per_endpoint_across_engines() -> None:
    replies = [Reply(body={"count": 42, "max_model_len": 8192})]
    with StubServer(replies) as s:
        first, second = engine_at(s.url), engine_at(s.url)
        assert counts(first, 1) == [42]
        assert second.context_size == 8192 and second.tokenizer.api == "vllm"
        assert counts(second, 1) == [42]
    assert [r.path for r in s.requests] == ["/tokenize", "/tokenize"]
