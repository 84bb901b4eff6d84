"""A scripted engine for hermetic pipeline tests (no model, no server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from extractinator.engines.base import GenerationRequest, GenerationResult
from extractinator.errors import EngineError

Reply = str | Exception | Callable[[GenerationRequest], str]


class FakeEngine:
    """Answers from a script: a list of replies used in order, or a function of the request.

    Records every request so tests can assert what the model was asked."""

    name = "fake"

    def __init__(
        self,
        replies: list[Reply] | Callable[[GenerationRequest], str],
        *,
        model_id: str = "fake:1",
        delay: float = 0.0,
        context_size: int | None = None,
    ) -> None:
        self._replies = replies
        self._model_id = model_id
        self.delay = delay
        self._context_size = context_size
        self.requests: list[GenerationRequest] = []
        self.closed = False

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int | None:
        return self._context_size

    async def count_tokens(self, request: GenerationRequest) -> int:
        return sum(len(m.content.split()) for m in request.messages)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if callable(self._replies):
            reply: Reply = self._replies(request)
        else:
            if not self._replies:
                raise EngineError("fake engine: script exhausted")
            reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        text = reply(request) if callable(reply) else reply
        return GenerationResult(
            text=text,
            prompt_tokens=await self.count_tokens(request),
            completion_tokens=len(text.split()),
            finish_reason="length" if text.endswith("…") else "stop",
        )

    def describe(self) -> dict[str, Any]:
        return {"engine": "fake"}

    def stats(self) -> None:
        return None

    async def aclose(self) -> None:
        self.closed = True
