"""An OpenAI-compatible chat completions server (vLLM, SGLang, llama.cpp's server,
llama-cpp-python's server, ...) as an engine.

Schema-constrained output goes in ``response_format``, in one of two wire forms:

* ``json_schema``: OpenAI's ``{"type": "json_schema", "json_schema": {"name", "schema",
  "strict"}}`` (vLLM, SGLang, llama.cpp's C++ server);
* ``json_object``: ``{"type": "json_object", "schema": S}`` (llama-cpp-python's server, which
  rejects the ``json_schema`` form with HTTP 422).

``structured_output="auto"`` sends the first form and, when the server rejects it with an error
about ``response_format`` (llama-cpp-python 0.3.36 answers HTTP 500 with a pydantic validation
error; other servers 400/422), resends the request once in the second form and keeps using it.
Such a rejection is never retried: it is not transient.

For ``option_fields`` the engine asks for ``top_logprobs`` and turns them into option
probabilities (``logprob_options.py``). A server that rejects ``logprobs`` with HTTP 400/422
gets the request again without them, and from then on none are asked for.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx

from ..config import OpenAIConfig
from ..errors import ContextOverflow, EngineError
from .base import GenerationRequest, GenerationResult, TokenLogprob, strip_reasoning
from .http import Backoff, check_base_url, error_text, one_line, poster_for
from .logprob_options import LogprobOptionScorer, top_logprobs_for
from .server_tokens import ServerTokenizer
from .stats import EngineStats

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
SCHEMA_NAME = "extraction"

WireForm = Literal["json_schema", "json_object"]

_CTX_HINT = re.compile(r"context[ _](length|window|size)|exceed_context_size", re.I)
_CTX_LIMIT = re.compile(r"maximum context length is (\d+)|context window of (\d+)", re.I)
_CTX_PROMPT = re.compile(
    r"(\d+) in the messages|(\d+) input tokens|requested tokens \((\d+)\)", re.I
)
_CTX_COMPLETION = re.compile(r"(\d+) in the completion", re.I)


def _first_int(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    if not match:
        return None
    return int(next(g for g in match.groups() if g is not None))


def parse_logprobs(content: list[dict[str, Any]] | None) -> list[TokenLogprob] | None:
    """OpenAI-style ``[{token, logprob, top_logprobs: [{token, logprob}]}]`` (also Ollama's)."""
    if content is None:
        return None
    out: list[TokenLogprob] = []
    for item in content:
        top: dict[str, float] = {}
        for alt in item.get("top_logprobs") or []:
            top.setdefault(str(alt["token"]), float(alt["logprob"]))
        out.append(TokenLogprob(token=str(item["token"]), logprob=float(item["logprob"]), top=top))
    return out


def join_reasoning(*parts: str | None) -> str | None:
    kept = [p.strip() for p in parts if p and p.strip()]
    return "\n\n".join(kept) if kept else None


def response_json(response: httpx.Response, engine: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise EngineError(
            f"{engine} server at {response.request.url} sent a non-JSON response: "
            f"{one_line(response.text, 200)}"
        ) from exc
    if not isinstance(data, dict):
        raise EngineError(f"{engine} server sent an unexpected response: {one_line(str(data))}")
    return data


class OpenAIEngine:
    """``POST {base_url}/chat/completions`` with retries and structured output."""

    name = "openai"

    def __init__(
        self,
        config: OpenAIConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self.base_url = config.base_url or DEFAULT_BASE_URL
        check_base_url(self.base_url)
        self.url = f"{self.base_url}/chat/completions"
        api_key = config.api_key or os.environ.get("OPENAI_API_KEY")
        self.http = poster_for(config, self.name, api_key, transport, backoff)
        forced = config.structured_output
        self._wire: WireForm | None = None if forced == "auto" else forced
        self._context_size: int | None = None
        self._options = LogprobOptionScorer(self.name, self.url)
        self._option_logprobs = True  # False once the server rejected logprobs
        self.tokenizer = ServerTokenizer(self.http, self.base_url, config.model)
        self._served: str | None = None  # the model the server lists (identify)
        self._identified = False

    @property
    def model_id(self) -> str:
        """The model, not where it is served (a run resumes from another URL or port): the
        model name, and the one model the server lists where that differs (e.g. the GGUF
        behind llama.cpp's server) once :meth:`identify` asked."""
        name = self.config.model or self._served or "default"
        served = f"@{self._served}" if self._served and self._served != name else ""
        return f"{self.name}:{name}{served}"

    async def identify(self) -> None:
        """Ask the server which model it serves (``GET /models``) for :attr:`model_id`;
        EngineUnreachable when it cannot be reached at all."""
        if self._identified:
            return
        listed = await self.http.get_json(f"{self.base_url}/models", unreachable=True)
        models = (listed or {}).get("data")
        ids = (
            [m.get("id") for m in models if isinstance(m, dict)] if isinstance(models, list) else []
        )
        if len(ids) == 1 and isinstance(ids[0], str) and ids[0]:
            self._served = ids[0]
        self._identified = True

    @property
    def context_size(self) -> int | None:
        """As the server's tokenize API (vLLM) or props (llama.cpp) report it, or as learned
        from its first context-length error; None until then."""
        return self._context_size or self.tokenizer.context_size

    @property
    def structured_output(self) -> str:
        """The ``response_format`` form in use: forced, detected, or "auto" (not yet known)."""
        return self._wire or "auto"

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        """With the server's own tokenizer, where it has a tokenize API (server_tokens.py)."""
        return await self.tokenizer.count(request.messages)

    async def ping(self) -> str | None:
        """Health check (``GET {base_url}/models``): None if the server answers, else why not."""
        return await self.http.ping(f"{self.base_url}/models")

    def stats(self) -> EngineStats | None:
        return None  # the server keeps its own metrics

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.config.model,
            "base_url": self.base_url,
            "structured_output": self.config.structured_output,
        }

    async def aclose(self) -> None:
        await self.http.aclose()

    def build_body(self, request: GenerationRequest, wire: WireForm) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if self.config.model:
            body["model"] = self.config.model
        if request.seed is not None:
            body["seed"] = request.seed
        schema = request.json_schema
        if schema is not None:
            if wire == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": True},
                }
            else:
                body["response_format"] = {"type": "json_object", "schema": schema}
        top_logprobs = top_logprobs_for(request) if self._option_logprobs else request.top_logprobs
        if top_logprobs > 0:
            body["logprobs"] = True
            body["top_logprobs"] = top_logprobs
        return body

    async def _post(
        self,
        request: GenerationRequest,
        wire: WireForm,
        final: Callable[[httpx.Response], bool] | None,
    ) -> httpx.Response:
        body = self.build_body(request, wire)
        response = await self.http.post_json(self.url, body, final)
        if "logprobs" in body and request.top_logprobs == 0 and _rejects_logprobs(response):
            self._option_logprobs = False
            log.info("%s rejects logprobs; not asking for them from now on", self.base_url)
            response = await self.http.post_json(self.url, self.build_body(request, wire), final)
        return response

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        start = time.perf_counter()
        wire: WireForm = self._wire or "json_schema"
        final = _rejects_response_format if request.json_schema is not None else None
        response = await self._post(request, wire, final)
        probing = request.json_schema is not None and self._wire is None
        if probing and _rejects_response_format(response):
            wire = "json_object"
            response = await self._post(request, wire, final)
        if not response.is_success:
            raise self._error(response, request)
        if probing and self._wire is None:
            self._wire = wire
            if wire == "json_object":
                log.info(
                    "%s rejects response_format json_schema; using "
                    '{"type": "json_object", "schema": ...} from now on',
                    self.base_url,
                )
        result = self._result(response_json(response, self.name), time.perf_counter() - start)
        self._options.score(request, result)
        return result

    def _result(self, data: dict[str, Any], seconds: float) -> GenerationResult:
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
            text, think = strip_reasoning(message.get("content") or "")
            usage = data.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
            timings = data.get("timings") or {}  # llama.cpp's C++ server
            evaluated = timings.get("prompt_n")
            if evaluated is None and cached is not None:
                evaluated = prompt_tokens - int(cached)
            prompt_ms, predicted_ms = timings.get("prompt_ms"), timings.get("predicted_ms")
            return GenerationResult(
                text=text,
                prompt_tokens=prompt_tokens,
                completion_tokens=int(usage.get("completion_tokens") or 0),
                prompt_tokens_evaluated=evaluated,
                seconds=seconds,
                prompt_seconds=prompt_ms / 1000 if prompt_ms is not None else None,
                generation_seconds=predicted_ms / 1000 if predicted_ms is not None else None,
                finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
                logprobs=parse_logprobs((choice.get("logprobs") or {}).get("content")),
                reasoning=join_reasoning(
                    message.get("reasoning_content") or message.get("reasoning"), think
                ),
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise EngineError(
                f"{self.name} server at {self.url} sent a malformed completion "
                f"({type(exc).__name__}: {exc}): {one_line(json.dumps(data), 200)}"
            ) from exc

    def _error(self, response: httpx.Response, request: GenerationRequest) -> EngineError:
        message = error_text(response)
        status = response.status_code
        if status in (400, 413) and _CTX_HINT.search(message + response.text):
            overflow = self._overflow(response, message, request)
            if overflow is not None:
                self._context_size = overflow.context_size
                return overflow
            return EngineError(
                f"{self.name} server at {self.url}: context length exceeded: {one_line(message)}"
            )
        return EngineError(
            f"{self.name} server at {self.url} returned HTTP {status}: {one_line(message)}"
        )

    @staticmethod
    def _overflow(
        response: httpx.Response, message: str, request: GenerationRequest
    ) -> ContextOverflow | None:
        try:
            data = response.json()
        except ValueError:
            data = None
        err = data.get("error") if isinstance(data, dict) else None
        if not isinstance(err, dict):  # llama.cpp's server adds n_ctx and n_prompt_tokens
            err = {}
        n_ctx = err.get("n_ctx") or _first_int(_CTX_LIMIT, message)
        prompt = err.get("n_prompt_tokens") or _first_int(_CTX_PROMPT, message)
        if n_ctx is None or prompt is None:
            return None
        completion = _first_int(_CTX_COMPLETION, message) or request.max_tokens
        return ContextOverflow(int(prompt), int(completion), int(n_ctx))


def _rejects_logprobs(response: httpx.Response) -> bool:
    """A 400/422 that complains about logprobs (and not about the response_format)."""
    if response.status_code not in (400, 422):
        return False
    body = response.text.lower()
    return "logprob" in body and "response_format" not in body


def _rejects_response_format(response: httpx.Response) -> bool:
    """A 400/422 (or llama-cpp-python's 500) that complains about the response_format."""
    if response.status_code not in (400, 422, 500):
        return False
    body = response.text.lower()
    return "response_format" in body or "json_schema" in body
