"""Ollama's native chat API (``POST {base_url}/api/chat``) as an engine.

The native API (not Ollama's OpenAI shim) takes a JSON schema in ``format``, the context
window in ``options.num_ctx``, ``think`` for reasoning models, and ``logprobs`` /
``top_logprobs`` (recent releases), and reports engine timings in nanoseconds. For
``option_fields`` it asks for ``top_logprobs`` and turns them into option probabilities
(``logprob_options.py``); releases without logprobs ignore the request and send none.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from ..config import OllamaConfig
from ..errors import EngineError
from .base import GenerationRequest, GenerationResult, strip_reasoning
from .http import Backoff, check_base_url, error_text, one_line, poster_for
from .logprob_options import LogprobOptionScorer, top_logprobs_for
from .openai import join_reasoning, parse_logprobs, response_json

DEFAULT_BASE_URL = "http://127.0.0.1:11434"


def _ns_to_s(value: Any) -> float | None:
    return value / 1e9 if isinstance(value, (int, float)) else None


class OllamaEngine:
    """Non-streaming ``/api/chat`` with schema-constrained ``format`` and retries."""

    name = "ollama"

    def __init__(
        self,
        config: OllamaConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if not config.model:
            raise EngineError("the ollama engine needs a model name (OllamaConfig.model)")
        self.config = config
        self.model: str = config.model
        self.base_url = config.base_url or DEFAULT_BASE_URL
        check_base_url(self.base_url)
        self.url = f"{self.base_url}/api/chat"
        self.http = poster_for(config, self.name, config.api_key, transport, backoff)
        self._options = LogprobOptionScorer(self.name, self.url)

    @property
    def model_id(self) -> str:
        return f"{self.name}:{self.model}@{self.base_url}"

    @property
    def context_size(self) -> int:
        """``num_ctx`` sent with every request (``options`` may override ``n_ctx``)."""
        return int(self.config.options.get("num_ctx", self.config.n_ctx))

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        return None

    async def ping(self) -> str | None:
        """Health check (``GET {base_url}/api/version``): None if Ollama answers, else why not."""
        return await self.http.ping(f"{self.base_url}/api/version")

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "num_ctx": self.context_size,
            "think": self.config.think,
            "options": dict(self.config.options),
        }

    async def aclose(self) -> None:
        await self.http.aclose()

    def build_body(self, request: GenerationRequest) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_ctx": self.config.n_ctx,
            "num_predict": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            options["seed"] = request.seed
        options.update(self.config.options)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "stream": False,
            "options": options,
        }
        if request.json_schema is not None:
            body["format"] = request.json_schema
        if self.config.think is not None:
            body["think"] = self.config.think
        top_logprobs = top_logprobs_for(request)
        if top_logprobs > 0:
            body["logprobs"] = True
            body["top_logprobs"] = top_logprobs
        return body

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        start = time.perf_counter()
        response = await self.http.post_json(self.url, self.build_body(request))
        if not response.is_success:
            raise EngineError(
                f"{self.name} server at {self.url} returned HTTP {response.status_code}: "
                f"{one_line(error_text(response))}"
            )
        data = response_json(response, self.name)
        if data.get("error"):
            raise EngineError(f"{self.name} server at {self.url}: {one_line(str(data['error']))}")
        seconds = time.perf_counter() - start
        try:
            message = data["message"]
            text, think = strip_reasoning(message.get("content") or "")
            result = GenerationResult(
                text=text,
                prompt_tokens=int(data.get("prompt_eval_count") or 0),
                completion_tokens=int(data.get("eval_count") or 0),
                seconds=seconds,
                prompt_seconds=_ns_to_s(data.get("prompt_eval_duration")),
                generation_seconds=_ns_to_s(data.get("eval_duration")),
                finish_reason="length" if data.get("done_reason") == "length" else "stop",
                logprobs=parse_logprobs(data.get("logprobs")),
                reasoning=join_reasoning(message.get("thinking"), think),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EngineError(
                f"{self.name} server at {self.url} sent a malformed response "
                f"({type(exc).__name__}: {exc}): {one_line(str(data), 200)}"
            ) from exc
        self._options.score(request, result)
        return result
