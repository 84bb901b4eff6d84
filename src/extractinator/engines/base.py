"""The engine protocol: one small async interface that every model backend implements.

The pipeline builds a :class:`GenerationRequest` (chat messages + optional JSON schema) and an
engine returns a :class:`GenerationResult` (text, token counts, timings, logprobs if any).
Engines never validate or parse; that is the pipeline's job.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from .stats import EngineStats

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    role: Role
    content: str


class GenerationRequest(BaseModel):
    """One completion request. Put fixed instructions first and case text last, so
    engines that cache a prompt prefix can reuse it across cases."""

    messages: list[Message]
    json_schema: dict[str, Any] | None = None
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0
    top_logprobs: int = 0  # >0 asks for that many alternatives per generated token
    schema_key: str | None = None  # stable id of json_schema, lets engines cache compiled grammars
    # top-level boolean/enum fields -> their JSON literals ("true", "\"left\""): engines
    # that can, report how likely each literal was where the answer decided that field
    option_fields: dict[str, list[str]] | None = None


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    top: dict[str, float] = Field(default_factory=dict)  # alternatives -> logprob


class GenerationResult(BaseModel):
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # prompt tokens the engine actually evaluated (not served from a prefix cache); None if unknown
    prompt_tokens_evaluated: int | None = None
    seconds: float = 0.0
    prompt_seconds: float | None = None  # engine-reported prompt processing time
    generation_seconds: float | None = None  # engine-reported generation time
    # "stop", "length" (output budget) or "repetition" (stopped in a loop; the text is cut
    # after the loop's first copy)
    finish_reason: str = "stop"
    logprobs: list[TokenLogprob] | None = None
    # set when `text` had reasoning (<think>...</think>) stripped from it
    reasoning: str | None = None
    # field -> {option literal: probability}, for request.option_fields the engine could score
    option_probs: dict[str, dict[str, float]] | None = None
    probability_method: str | None = None  # "option_scoring", "top_logprobs", ...


@runtime_checkable
class Engine(Protocol):
    """What the pipeline needs from a model backend."""

    name: str  # "llamacpp", "openai", "ollama", ...

    @property
    def model_id(self) -> str:
        """Stable identity of the model (e.g. GGUF sha256 or server model name)."""
        ...

    @property
    def context_size(self) -> int | None:
        """Context window in tokens, if known."""
        ...

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        """Prompt tokens the request would use, with the model's own tokenizer; None if the
        engine cannot tell without generating."""
        ...

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Run one completion. Raises EngineError (or a subclass) on failure."""
        ...

    def describe(self) -> dict[str, Any]:
        """Parameters that identify this engine for the run manifest."""
        ...

    def stats(self) -> EngineStats | None:
        """The engine's own counters since it was made (option scoring's cost: see
        stats.py), for benchmarks; None for engines that keep none."""
        ...

    async def aclose(self) -> None: ...


_THINK_RE = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)


def strip_reasoning(text: str) -> tuple[str, str | None]:
    """Split a reasoning model's leading ``<think>...</think>`` block from its answer.

    An unterminated ``<think>`` (output budget ran out while thinking) leaves no answer."""
    match = _THINK_RE.match(text)
    if match:
        return text[match.end() :], match.group(1).strip()
    stripped = text.lstrip()
    if stripped.startswith("<think>"):
        return "", stripped[len("<think>") :].strip()
    return text, None
