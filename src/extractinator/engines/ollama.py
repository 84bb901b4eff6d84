"""Ollama's native chat API (``POST {base_url}/api/chat``) as an engine.

The native API (not Ollama's OpenAI shim) takes a JSON schema in ``format``, the context
window in ``options.num_ctx``, ``think`` for reasoning models, and ``logprobs`` /
``top_logprobs`` (recent releases), and reports engine timings in nanoseconds. For
``option_fields`` it asks for ``top_logprobs`` and turns them into option probabilities
(``logprob_options.py``); releases without logprobs ignore the request and send none.

A prompt longer than ``num_ctx`` is never answered silently. Ollama cuts such a prompt
(dropping the start: the instructions) and answers 200 OK unless asked not to, so every
request says ``"truncate": false`` (releases that know it refuse with HTTP 400, read here as
a context overflow), and for releases that do not, a case fails as ``context_overflow``
when the prompt cannot fit by its length (tokens per character as learned from Ollama's own
``prompt_eval_count``; before that at most 8 characters per token), or when the answer shows
the context filled up (``prompt_eval_count + eval_count >= num_ctx``).
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import httpx

from ..config import OllamaConfig
from ..errors import ContextOverflow, EngineError
from .base import GenerationRequest, GenerationResult, strip_reasoning
from .http import Backoff, check_base_url, error_text, one_line, poster_for
from .logprob_options import LogprobOptionScorer, top_logprobs_for
from .openai import join_reasoning, parse_logprobs, response_json
from .stats import EngineStats

DEFAULT_BASE_URL = "http://127.0.0.1:11434"
MAX_CHARS_PER_TOKEN = 8  # no tokenizer writes more characters per token in prose
FITS_MARGIN = 0.9  # a prompt is sent when this share of its estimated tokens fits num_ctx
CUT_MARGIN = 0.7  # a count below this share of the estimate means Ollama cut the prompt
_LEARNED = 51  # answers whose tokens per character are kept (the median is used)
_OVERFLOW_HINT = re.compile(
    r"exceed.{0,40}context|context (length|size|window)|num_ctx|exceed_context_size", re.I
)
_PROMPT_TOKENS = re.compile(r"n_prompt_tokens\W+(\d+)|request \((\d+) tokens\)")
_CTX_TOKENS = re.compile(r"n_ctx\W+(\d+)|context size \((\d+) tokens\)")


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
        self._digest: str | None = None  # sha256:… of the model, from /api/tags
        self._identified = False
        self._ratios: list[float] = []  # tokens per character of recent prompts

    @property
    def model_id(self) -> str:
        """The model and, once :meth:`identify` asked, its digest; not where it is served
        (a run resumes from another URL or port; a re-pulled tag is another model)."""
        name = self.model if ":" in self.model else f"{self.model}:latest"
        return f"{self.name}:{name}" + (f"@{self._digest}" if self._digest else "")

    async def identify(self) -> None:
        """Look the model's digest up in ``GET /api/tags`` for :attr:`model_id`;
        EngineUnreachable when Ollama cannot be reached at all."""
        if self._identified:
            return
        tags = await self.http.get_json(f"{self.base_url}/api/tags", unreachable=True)
        wanted = {self.model, f"{self.model}:latest"}
        for entry in (tags or {}).get("models") or []:
            if not isinstance(entry, dict):
                continue
            if wanted & {entry.get("name"), entry.get("model")}:
                digest = entry.get("digest")
                if isinstance(digest, str) and digest:
                    self._digest = "sha256:" + digest.removeprefix("sha256:")[:16]
                break
        self._identified = True

    @property
    def context_size(self) -> int:
        """``num_ctx`` sent with every request (``options`` may override ``n_ctx``)."""
        return int(self.config.options.get("num_ctx", self.config.n_ctx))

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        return None

    async def ping(self) -> str | None:
        """Health check (``GET {base_url}/api/version``): None if Ollama answers, else why not."""
        return await self.http.ping(f"{self.base_url}/api/version")

    def stats(self) -> EngineStats | None:
        return None  # the server keeps its own metrics

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
            "truncate": False,  # refuse an over-long prompt instead of cutting its start
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
        chars = sum(len(m.content) for m in request.messages)
        self._check_fits(chars, request)
        response = await self.http.post_json(self.url, self.build_body(request))
        if not response.is_success:
            raise self._error(response, chars, request)
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
        self._check_answer(result, chars, request)
        self._options.score(request, result)
        return result

    def expected_prompt_tokens(self, chars: int, margin: float = 1.0) -> int:
        """How many tokens a prompt of ``chars`` characters has, as far as can be told
        without Ollama's tokenizer (``margin`` of the typical tokens per character; never
        fewer than one per MAX_CHARS_PER_TOKEN characters)."""
        typical = statistics.median(self._ratios) if self._ratios else 0.0
        return int(max(chars / MAX_CHARS_PER_TOKEN, chars * typical * margin))

    def _check_fits(self, chars: int, request: GenerationRequest) -> None:
        expected = self.expected_prompt_tokens(chars, FITS_MARGIN)
        if expected > self.context_size:
            what = f"a prompt of {chars} characters (about {expected} tokens) does not fit"
            raise self._overflow(expected, request, what)

    def _check_answer(
        self, result: GenerationResult, chars: int, request: GenerationRequest
    ) -> None:
        """Overflow when the context filled up (Ollama cut the prompt, or shifted it away
        while answering) or Ollama counted fewer prompt tokens than the prompt has;
        otherwise learn tokens per character from its count."""
        counted, answered = result.prompt_tokens, result.completion_tokens
        if not counted or not chars:  # some releases leave the count out
            return
        if counted + answered >= self.context_size:
            what = (
                f"the prompt ({counted} tokens evaluated) and the answer ({answered} tokens) "
                "do not fit"
            )
            raise self._overflow(counted, request, what)
        expected = self.expected_prompt_tokens(chars, CUT_MARGIN)
        # only a prompt near the context can have been cut (a count that leaves out a
        # cached prefix, as some releases reported, must not make a short case fail)
        typical = chars * (statistics.median(self._ratios) if self._ratios else 1 / 4)
        if counted < expected and typical >= self.context_size / 2:
            what = (
                f"a prompt of {chars} characters (about {expected} tokens; Ollama kept "
                f"{counted}) does not fit"
            )
            raise self._overflow(expected, request, what)
        self._ratios = [*self._ratios[-(_LEARNED - 1) :], counted / chars]

    def _overflow(self, tokens: int, request: GenerationRequest, what: str) -> ContextOverflow:
        return ContextOverflow(
            tokens,
            request.max_tokens,
            self.context_size,
            f"{what} Ollama's context of {self.context_size} tokens (num_ctx): "
            "Ollama would drop the start of the prompt; raise --n-ctx (the model must "
            "support it) or shorten the text",
        )

    def _error(
        self, response: httpx.Response, chars: int, request: GenerationRequest
    ) -> EngineError:
        text = error_text(response)
        if response.status_code in (400, 413, 500) and _OVERFLOW_HINT.search(text):
            prompt = _first_int(_PROMPT_TOKENS, text) or self.expected_prompt_tokens(chars)
            return ContextOverflow(
                prompt,
                request.max_tokens,
                _first_int(_CTX_TOKENS, text) or self.context_size,
                f"{self.name} server at {self.url} refused a prompt longer than its context "
                f"({one_line(text, 200)}); raise --n-ctx (the model must support it) or "
                "shorten the text",
            )
        return EngineError(
            f"{self.name} server at {self.url} returned HTTP {response.status_code}: "
            f"{one_line(text)}"
        )


def _first_int(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    if not match:
        return None
    return int(next(g for g in match.groups() if g is not None))
