"""Several endpoints as one engine: spreading, failover, health checks (engines/pool.py).

Hermetic: in-process endpoints whose behaviour each test scripts, and real sockets (a stub
server, a port nothing listens on) for the HTTP path. The test with three real llama.cpp
servers, one killed midway, is in test_scale_out.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from extractinator.config import OllamaConfig, OpenAIConfig
from extractinator.engines import GenerationRequest, GenerationResult, Message, create_engine
from extractinator.engines.pool import EndpointPool
from extractinator.errors import EngineConnectionLost, EngineError, EngineUnreachable

from servers import Reply, StubServer, free_port

REQUEST = GenerationRequest(messages=[Message(role="user", content="hi")])


class FakeServer:
    """An endpoint whose answers, failures and health a test controls."""

    name = "openai"

    def __init__(self, url: str, delay: float = 0.02) -> None:
        self.base_url = url
        self.delay = delay
        self.fail: type[EngineError] | None = None  # raised by generate while set
        self.healthy = True
        self.in_flight = 0
        self.max_in_flight = 0
        self.answered = 0

    @property
    def model_id(self) -> str:
        return "openai:m"

    @property
    def context_size(self) -> int | None:
        return None

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        return None

    async def ping(self) -> str | None:
        return None if self.healthy else "connection refused"

    def describe(self) -> dict[str, Any]:
        return {"engine": "openai", "model": "m", "base_url": self.base_url}

    async def aclose(self) -> None:
        return None

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if self.fail is not None:
                raise self.fail(f"{self.base_url} broke")
            self.answered += 1
            return GenerationResult(text=f'{{"from": "{self.base_url}"}}')
        finally:
            self.in_flight -= 1


def servers(n: int, **kw: Any) -> list[FakeServer]:
    return [FakeServer(f"http://10.0.0.{i}:8000/v1", **kw) for i in range(1, n + 1)]


async def generate_many(pool: EndpointPool, n: int) -> list[GenerationResult]:
    return list(await asyncio.gather(*(pool.generate(REQUEST) for _ in range(n))))


def test_requests_are_spread_within_each_endpoints_slots() -> None:
    fakes = servers(3)
    pool = EndpointPool(fakes, slots=2)
    results = asyncio.run(generate_many(pool, 30))
    assert len(results) == 30
    assert [f.answered for f in fakes] == [10, 10, 10]
    assert all(f.max_in_flight == 2 for f in fakes)
    assert [s["served"] for s in pool.status()] == [10, 10, 10]


@pytest.mark.parametrize("failure", [EngineUnreachable, EngineConnectionLost])
def test_a_failing_endpoint_is_taken_out_and_its_requests_answered_elsewhere(failure) -> None:
    fakes = servers(3)
    fakes[1].fail = failure  # answers pings, fails requests: taken out at its first request
    pool = EndpointPool(fakes, slots=1, health_interval=10)
    results = asyncio.run(generate_many(pool, 12))
    assert len(results) == 12
    assert fakes[1].answered == 0
    assert fakes[0].answered + fakes[2].answered == 12
    status = pool.status()[1]
    assert status["down"] and "broke" in status["down"]
    assert status["failovers"] >= 1


def test_a_down_endpoint_comes_back_after_a_health_check() -> None:
    fakes = servers(2, delay=0.01)
    fakes[1].healthy = False  # down at the start: the first ping takes it out
    pool = EndpointPool(fakes, slots=1, health_interval=0.05)

    async def scenario() -> None:
        await generate_many(pool, 4)
        assert fakes[1].answered == 0 and pool.status()[1]["down"]
        fakes[1].healthy = True
        await asyncio.sleep(0.2)
        assert pool.status()[1]["down"] is None
        await generate_many(pool, 6)

    asyncio.run(scenario())
    assert fakes[1].answered >= 2


def test_all_endpoints_down_at_the_start_stops_at_once_naming_them() -> None:
    fakes = servers(2)
    for f in fakes:
        f.healthy = False
    pool = EndpointPool(fakes, failover_wait=30)
    with pytest.raises(EngineUnreachable, match=r"all 2 endpoints are down") as err:
        asyncio.run(pool.generate(REQUEST))
    assert fakes[0].base_url in str(err.value) and fakes[1].base_url in str(err.value)


def test_all_endpoints_failing_midway_waits_then_stops_the_run() -> None:
    fakes = servers(2)
    for f in fakes:
        f.fail = EngineUnreachable
    pool = EndpointPool(fakes, failover_wait=0.2, health_interval=10)

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(EngineUnreachable, match="all 2 endpoints are down"):
            await pool.generate(REQUEST)
        return loop.time() - start

    waited = asyncio.run(scenario())
    assert 0.2 <= waited < 5


def test_a_case_error_is_the_cases_not_the_endpoints() -> None:
    fakes = servers(2)
    fakes[0].fail = EngineError  # e.g. HTTP 400 for this request
    pool = EndpointPool(fakes, slots=1)
    with pytest.raises(EngineError, match="broke") as err:
        asyncio.run(pool.generate(REQUEST))
    assert not isinstance(err.value, EngineUnreachable)
    assert all(s["down"] is None for s in pool.status())


def test_model_id_names_the_model_not_the_endpoints() -> None:
    a = EndpointPool(servers(2))
    b = EndpointPool(servers(3))
    assert a.model_id == b.model_id == "openai:m"


def test_config_takes_one_or_several_urls() -> None:
    one = OpenAIConfig(model="m", base_url=["http://a:1/v1/"])
    assert one.base_url == "http://a:1/v1" and one.endpoints == ["http://a:1/v1"]
    many = OpenAIConfig(model="m", base_url=["http://a:1/v1", "http://b:1/v1"])
    assert many.endpoints == ["http://a:1/v1", "http://b:1/v1"]
    assert OpenAIConfig(concurrency=3, base_url=many.base_url).total_concurrency == 6
    with pytest.raises(ValueError, match="listed twice: http://a:1/v1"):
        OpenAIConfig(base_url=["http://a:1/v1", "http://a:1/v1/"])


def test_create_engine_builds_a_pool_of_server_engines() -> None:
    config = OllamaConfig(model="qwen2.5:7b", base_url=["http://a:11434", "http://b:11434"])
    engine = create_engine(config)
    assert isinstance(engine, EndpointPool)
    assert [e["base_url"] for e in engine.describe()["endpoints"]] == [
        "http://a:11434",
        "http://b:11434",
    ]
    assert engine.model_id == "ollama:qwen2.5:7b"


def chat_reply(text: str) -> Reply:
    return Reply(
        body={
            "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3},
        }
    )


def test_real_sockets_a_dead_port_and_a_dropping_server_fail_over_to_a_live_one() -> None:
    """Over HTTP: one URL nothing listens on, one server that drops every connection (as a
    server killed mid-request does), one that answers."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with StubServer([Reply(drop=True)]) as dropping, StubServer([chat_reply("{}")]) as live:
        config = OpenAIConfig(
            model="m",
            base_url=[dead, f"{dropping.url}/v1", f"{live.url}/v1"],
            structured_output="json_object",
            http_retries=0,
        )
        engine = create_engine(config)
        assert isinstance(engine, EndpointPool)

        async def scenario() -> list[GenerationResult]:
            try:
                return await generate_many(engine, 5)
            finally:
                await engine.aclose()

        results = asyncio.run(scenario())
    assert [r.text for r in results] == ["{}"] * 5
    status = engine.status()
    assert status[0]["down"] and "ConnectError" in status[0]["down"]
    assert status[2]["served"] == 5
    # the dropping server answers pings (its GET is not scripted to drop) but breaks on
    # every POST: it is taken out as soon as a request is sent to it
    assert len(live.requests) == 5
    assert all(r.path == "/v1/chat/completions" for r in live.requests)


def test_endpoints_file_errors_name_the_file_and_line(tmp_path) -> None:
    from extractinator.cli.options import base_urls
    from extractinator.errors import ConfigError

    good = tmp_path / "good.txt"
    good.write_text("# pool\nhttp://a:8000/v1  # first\n\nhttp://b:8000/v1\n", encoding="utf-8")
    assert base_urls(("http://c:8000/v1",), good) == [
        "http://c:8000/v1",
        "http://a:8000/v1",
        "http://b:8000/v1",
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("http://a:8000/v1\nb:8000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.txt, line 2: 'b:8000' is not an http"):
        base_urls((), bad)
    with pytest.raises(ConfigError, match="given twice"):
        base_urls(("http://a:8000/v1/",), good)
    with pytest.raises(ConfigError, match="cannot read"):
        base_urls((), tmp_path / "missing.txt")


def test_endpoints_serving_different_models_are_refused() -> None:
    from extractinator.errors import ConfigError

    class Identified(FakeServer):
        def __init__(self, url: str, served: str) -> None:
            super().__init__(url)
            self.served = served

        @property
        def model_id(self) -> str:
            return f"openai:m@{self.served}"

        async def identify(self) -> None:
            return None

    same = EndpointPool([Identified("http://a/v1", "q.gguf"), Identified("http://b/v1", "q.gguf")])
    asyncio.run(same.identify())
    assert same.model_id == "openai:m@q.gguf"
    mixed = EndpointPool([Identified("http://a/v1", "q.gguf"), Identified("http://b/v1", "l.gguf")])
    with pytest.raises(
        ConfigError, match="http://a/v1 'openai:m@q.gguf', http://b/v1 'openai:m@l.gguf'"
    ):
        asyncio.run(mixed.identify())
