"""OllamaEngine against a wire-format stub of Ollama's native ``/api/chat``.

Ollama itself cannot be installed on this machine, so these tests run a stub HTTP server on
127.0.0.1 (real sockets) that speaks the documented request/response format: they pin the
exact request body the engine sends and check how documented responses are parsed."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

import httpx
import pytest

from extractinator.config import OllamaConfig
from extractinator.engines.base import Engine, GenerationRequest, GenerationResult, Message
from extractinator.engines.http import Backoff
from extractinator.engines.ollama import OllamaEngine
from extractinator.errors import EngineError, EngineUnreachable

from servers import Reply, StubServer, free_port

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
MESSAGES = [Message(role="system", content="Extract."), Message(role="user", content="Two.")]


def engine_for(base_url: str, **config: Any) -> OllamaEngine:
    config.setdefault("http_retries", 2)
    config.setdefault("model", "qwen3:0.6b")
    cfg = OllamaConfig(base_url=base_url, **config)
    return OllamaEngine(cfg, backoff=Backoff(base=0.001, cap=0.005))


def generate(engine: OllamaEngine, *requests: GenerationRequest) -> list[GenerationResult]:
    async def go() -> list[GenerationResult]:
        try:
            return [await engine.generate(r) for r in requests]
        finally:
            await engine.aclose()

    return asyncio.run(go())


def chat_response(content: str = '{"n": 2}', **extra: Any) -> dict[str, Any]:
    """A non-streaming /api/chat response as documented by Ollama."""
    message = {"role": "assistant", "content": content}
    if "thinking" in extra:
        message["thinking"] = extra.pop("thinking")
    return {
        "model": "qwen3:0.6b", "created_at": "2025-01-01T00:00:00Z", "message": message,
        "done": True, "done_reason": "stop", "total_duration": 2_000_000_000,
        "load_duration": 1_000_000, "prompt_eval_count": 26, "prompt_eval_duration": 250_000_000,
        "eval_count": 7, "eval_duration": 500_000_000,
    } | extra  # fmt: skip


def test_request_body_is_the_native_wire_format() -> None:
    with StubServer([Reply(200, chat_response())]) as stub:
        engine = engine_for(
            stub.url,
            n_ctx=4096,
            think=False,
            api_key="k",
            options={"top_k": 20, "temperature": 0.1},
        )
        req = GenerationRequest(
            messages=MESSAGES, json_schema=SCHEMA, max_tokens=99, temperature=0.0, seed=7,
            top_logprobs=3,
        )  # fmt: skip
        generate(engine, req)
    seen = stub.requests[0]
    assert seen.path == "/api/chat"
    assert seen.headers["Authorization"] == "Bearer k"
    assert seen.body == {
        "model": "qwen3:0.6b",
        "messages": [{"role": "system", "content": "Extract."},
                     {"role": "user", "content": "Two."}],
        "stream": False,
        "truncate": False,
        "format": SCHEMA,
        "options": {"num_ctx": 4096, "num_predict": 99, "temperature": 0.1, "seed": 7,
                    "top_k": 20},
        "think": False,
        "logprobs": True,
        "top_logprobs": 3,
    }  # fmt: skip


def test_optional_fields_are_left_out() -> None:
    with StubServer([Reply(200, chat_response("hello"))]) as stub:
        engine = engine_for(stub.url)
        generate(engine, GenerationRequest(messages=MESSAGES, seed=None))
    body = stub.requests[0].body
    assert set(body) == {"model", "messages", "stream", "truncate", "options"}
    assert body["options"] == {"num_ctx": 8192, "num_predict": 512, "temperature": 0.0}
    assert "Authorization" not in stub.requests[0].headers


def test_response_parsing() -> None:
    body = chat_response(
        '{"n": 2',
        thinking="The user wants a number.",
        done_reason="length",
        logprobs=[
            {"token": '{"', "logprob": -0.01, "bytes": [123, 34],
             "top_logprobs": [{"token": '{"', "logprob": -0.01, "bytes": [123, 34]},
                              {"token": "{", "logprob": -4.6, "bytes": [123]}]},
            {"token": "n", "logprob": -0.2, "bytes": [110], "top_logprobs": []},
        ],
    )  # fmt: skip
    with StubServer([Reply(200, body)]) as stub:
        (result,) = generate(engine_for(stub.url), GenerationRequest(messages=MESSAGES))
    assert result.text == '{"n": 2' and result.reasoning == "The user wants a number."
    assert (result.prompt_tokens, result.completion_tokens) == (26, 7)
    assert result.prompt_seconds == pytest.approx(0.25)
    assert result.generation_seconds == pytest.approx(0.5)
    assert result.finish_reason == "length" and result.seconds > 0
    assert result.logprobs is not None and [lp.token for lp in result.logprobs] == ['{"', "n"]
    assert result.logprobs[0].top == {'{"': -0.01, "{": -4.6}
    assert result.logprobs[1].logprob == -0.2 and result.logprobs[1].top == {}


OPTIONS = {"n": ["1", "2", "3"]}


def test_option_fields_ask_for_top_logprobs_and_get_probabilities() -> None:
    def item(token: str, logprob: float, **top: float) -> dict[str, Any]:
        alts = {token: logprob, **top}
        return {"token": token, "logprob": logprob, "bytes": list(token.encode()),
                "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())}
                                 for t, lp in alts.items()]}  # fmt: skip

    logprobs = [item('{"', -0.01), item("n", -0.01), item('":', -0.01)]
    logprobs += [item(" 2", -0.5, **{" 3": -1.5, ' "': -0.2, " 1": -4.0}), item("}", -0.01)]
    with StubServer([Reply(200, chat_response(logprobs=logprobs))]) as stub:
        req = GenerationRequest(messages=MESSAGES, json_schema=SCHEMA, option_fields=OPTIONS)
        (result,) = generate(engine_for(stub.url), req)
    body = stub.requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 20
    weights = {"1": math.exp(-4.0), "2": math.exp(-0.5), "3": math.exp(-1.5)}  # ' "' not allowed
    total = sum(weights.values())
    assert result.probability_method == "top_logprobs"
    assert result.option_probs == {"n": {k: pytest.approx(w / total) for k, w in weights.items()}}


def test_no_logprobs_means_unavailable_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Ollama releases without logprobs ignore the request and send none."""
    caplog.set_level(logging.WARNING, logger="extractinator.engines.logprob_options")
    with StubServer([Reply(200, chat_response())]) as stub:
        req = GenerationRequest(messages=MESSAGES, json_schema=SCHEMA, option_fields=OPTIONS)
        results = generate(engine_for(stub.url), req, req)
    assert all(r.option_probs is None and r.probability_method == "unavailable" for r in results)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert f"ollama server at {stub.url}/api/chat returned no logprobs" in message
    assert "--samples K" in message


def test_think_block_in_content_is_stripped() -> None:
    body = chat_response("<think>count</think>\n{}")
    del body["prompt_eval_duration"]
    with StubServer([Reply(200, body)]) as stub:
        (result,) = generate(engine_for(stub.url), GenerationRequest(messages=MESSAGES))
    assert result.text == "{}" and result.reasoning == "count"
    assert result.prompt_seconds is None and result.finish_reason == "stop"
    assert result.logprobs is None


def test_503_is_retried_then_succeeds() -> None:
    with StubServer([Reply(503, {"error": "server busy"}), Reply(200, chat_response())]) as stub:
        (result,) = generate(engine_for(stub.url), GenerationRequest(messages=MESSAGES))
    assert result.text == '{"n": 2}' and len(stub.requests) == 2


def test_model_not_found_is_not_retried() -> None:
    missing = Reply(404, {"error": 'model "nope" not found, try pulling it first'})
    stub = StubServer([missing])
    with stub, pytest.raises(EngineError, match='HTTP 404: model "nope" not found'):
        generate(engine_for(stub.url, model="nope"), GenerationRequest(messages=MESSAGES))
    assert len(stub.requests) == 1


def test_unreachable_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    engine = engine_for(url, http_retries=1)
    start = time.monotonic()
    with pytest.raises(EngineUnreachable, match=f"{url}/api/chat"):
        generate(engine, GenerationRequest(messages=MESSAGES))
    assert engine.http.attempts == 2 and time.monotonic() - start < 5


def test_identity_and_protocol() -> None:
    engine = engine_for("http://127.0.0.1:11434/", options={"num_ctx": 2048}, api_key="secret")
    assert isinstance(engine, Engine)
    assert engine.model_id == "ollama:qwen3:0.6b"  # the model, not where it is served
    assert engine.context_size == 2048
    assert "secret" not in json.dumps(engine.describe())
    assert asyncio.run(engine.count_tokens(GenerationRequest(messages=MESSAGES))) is None
    with pytest.raises(EngineError, match="model name"):
        OllamaEngine(OllamaConfig())


def test_mock_transport_parses_concurrent_requests() -> None:
    """The injected transport hook; several requests in flight on one client."""
    seen: list[dict[str, Any]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        seen.append(body)
        return httpx.Response(200, json=chat_response(json.dumps({"n": body["options"]["seed"]})))

    cfg = OllamaConfig(model="m", concurrency=4)
    engine = OllamaEngine(cfg, transport=httpx.MockTransport(handler))

    async def go() -> list[GenerationResult]:
        try:
            reqs = [GenerationRequest(messages=MESSAGES, seed=i) for i in range(4)]
            return await asyncio.gather(*(engine.generate(r) for r in reqs))
        finally:
            await engine.aclose()

    results = asyncio.run(go())
    assert [json.loads(r.text)["n"] for r in results] == [0, 1, 2, 3] and len(seen) == 4


# --- a prompt longer than num_ctx: never a silent, plausible answer ----------------------

TASK_YAML = """name: t
description: Geef het aantal noduli.
fields:
  n: {type: integer}
"""


def truncating_ollama(num_ctx: int, style: str):
    """A scripted Ollama that cuts prompts longer than num_ctx (about 4 characters per
    token, as its tokenizer would count) and answers 200 OK: ``old`` keeps num_ctx tokens,
    ``half`` keeps num_ctx/2 + 2 (releases since 2026), ``refuses`` honours truncate:false."""

    def respond(seen):
        chars = sum(len(m["content"]) for m in seen.body["messages"])
        tokens = chars // 4
        if tokens <= num_ctx:
            return Reply(200, chat_response('{"n": 1}', prompt_eval_count=tokens, eval_count=7))
        if style == "refuses" and seen.body.get("truncate") is False:
            inner = {"error": {"code": 400, "type": "exceed_context_size_error",
                               "message": f"request ({tokens} tokens) exceeds the available "
                               f"context size ({num_ctx} tokens), try increasing it",
                               "n_prompt_tokens": tokens, "n_ctx": num_ctx}}  # fmt: skip
            return Reply(400, {"error": json.dumps(inner)})
        kept = num_ctx if style == "old" else num_ctx // 2 + 2
        return Reply(200, chat_response('{"n": 7}', prompt_eval_count=kept, eval_count=7))

    return respond


@pytest.mark.parametrize("long_at", [0, 1])
@pytest.mark.parametrize("style", ["old", "half", "refuses"])
def test_a_truncating_ollama_fails_the_long_case_as_context_overflow(tmp_path, style, long_at):
    from extractinator.config import RunConfig
    from extractinator.runner import run_task
    from extractinator.task import load_task

    (tmp_path / "t.yaml").write_text(TASK_YAML)
    short = "Een nodus van 4 mm. " * 10
    long = "Een nodus van 4 mm in de rechter onderkwab, verder geen afwijkingen. " * 200
    data = tmp_path / "d.jsonl"
    texts = [short, short, short]
    texts[long_at] = long
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    num_ctx = 2048  # the long case is ~3500 tokens at 4 characters per token
    with StubServer(responder=truncating_ollama(num_ctx, style)) as stub:
        config = RunConfig(
            progress=False, engine=OllamaConfig(model="m", base_url=stub.url, n_ctx=num_ctx)
        )
        totals = run_task(load_task(tmp_path / "t.yaml"), data, tmp_path / "out", config)
    records = [json.loads(x) for x in (tmp_path / "out" / "records.jsonl").read_text().splitlines()]
    by_row = {r["row"]: r for r in records}
    assert (totals.ok, totals.failed) == (2, 1)
    cut = by_row[long_at]
    assert cut["status"] == "failed" and cut["error"]["type"] == "context_overflow"
    assert "2048" in cut["error"]["message"] and "--n-ctx" in cut["error"]["message"]
    assert all(r["output"] == {"n": 1} for r in records if r["row"] != long_at)
    assert all(r.body["truncate"] is False for r in stub.requests)
    if long_at == 1:  # learned from the first answer: the long prompt is not even sent
        assert len(stub.requests) == 2


def test_prompts_of_varied_density_are_not_taken_for_cut_ones() -> None:
    """Ollama's counts vary per prompt (2.8-4.6 characters per token): none is an overflow."""
    per_char = iter([1 / 4.0, 1 / 2.8, 1 / 4.6, 1 / 3.5, 1 / 4.6, 1 / 2.8] * 3)

    def respond(seen):
        chars = sum(len(m["content"]) for m in seen.body["messages"])
        count = int(chars * next(per_char))
        return Reply(200, chat_response(prompt_eval_count=count, eval_count=5))

    texts = ["Kort verslag.", "Een nodus van 4 mm. " * 40, "x" * 900, "Geen afwijkingen. " * 90]
    with StubServer(responder=respond) as stub:
        engine = engine_for(stub.url, n_ctx=4096)
        reqs = [GenerationRequest(messages=[*MESSAGES[:1], Message(role="user", content=t)])
                for t in texts * 4]  # fmt: skip
        results = generate(engine, *reqs)
    assert len(results) == 16


def test_a_context_that_fills_up_while_answering_is_an_overflow() -> None:
    full = chat_response('{"n": 3}', prompt_eval_count=2000, eval_count=48)
    with StubServer([Reply(200, full)]) as stub:
        engine = engine_for(stub.url, n_ctx=2048)
        with pytest.raises(EngineError, match=r"2000 tokens evaluated.*48 tokens.*2048 tokens"):
            generate(engine, GenerationRequest(messages=MESSAGES))


async def identify_and_close(engine) -> None:
    try:
        await engine.identify()
    finally:
        await engine.aclose()


def test_identity_is_the_model_and_its_digest_not_the_url() -> None:
    tags = {"/api/tags": {"models": [
        {"name": "other:latest", "model": "other:latest", "digest": "f" * 64},
        {"name": "qwen3:latest", "model": "qwen3:latest", "digest": "ab12" * 16},
    ]}}  # fmt: skip
    with StubServer([Reply(200, chat_response())], get_bodies=tags) as stub:
        ids = []
        for url in (stub.url, stub.url.replace("127.0.0.1", "localhost")):
            engine = engine_for(url, model="qwen3")
            asyncio.run(identify_and_close(engine))
            ids.append(engine.model_id)
    assert ids == ["ollama:qwen3:latest@sha256:ab12ab12ab12ab12"] * 2


def test_identify_an_unreachable_ollama_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EngineUnreachable, match=f"{url}/api/tags"):
        asyncio.run(identify_and_close(engine_for(url)))


def test_a_count_without_the_cached_prefix_does_not_fail_a_short_case() -> None:
    """Some releases counted only the prompt tokens not served from the cache."""
    counts = iter([400, 40, 40])  # the first whole, then only the case's own tokens

    def respond(seen):
        return Reply(200, chat_response(prompt_eval_count=next(counts), eval_count=5))

    system = Message(role="system", content="Extraheer de noduli. " * 70)
    with StubServer(responder=respond) as stub:
        engine = engine_for(stub.url, n_ctx=8192)
        reqs = [GenerationRequest(messages=[system, Message(role="user", content=f"Case {i}.")])
                for i in range(3)]  # fmt: skip
        assert len(generate(engine, *reqs)) == 3
