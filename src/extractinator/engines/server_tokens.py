"""Prompt token counts and the context window, from an OpenAI-compatible server's own
tokenizer, so long cases are sized exactly as the server will see them (never with a foreign
tokenizer's estimate).

Servers have different tokenize APIs; the first that answers is used from then on:

* vLLM: ``POST /tokenize {"model", "messages"}`` applies the chat template and answers
  ``{"count", "max_model_len"}`` (the context window);
* llama.cpp's server: ``POST /apply-template {"messages"}`` then ``POST /tokenize
  {"content"}``; the context window from ``GET /props``;
* llama-cpp-python's server: ``POST /extras/tokenize/count {"input"}`` counts text but has no
  chat-template endpoint: each message's content is counted exactly and the template's own
  tokens are allowed for with a margin of ``TEMPLATE_MARGIN`` per message. It reports no
  context window; the engine learns it from the server's first context-length error.

A server with none of these counts nothing (chunking is then off for it). Token requests
are sent once, never retried; the API is probed once per endpoint (the answer is kept for the
process, so a new engine for the same server does not ask again) and a probe that finds none,
or fails, gives up for good: a broken ``/tokenize`` costs one request, not several per case.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from ..errors import EngineError
from .base import Message
from .http import RetryingPoster

log = logging.getLogger(__name__)

TokenizeApi = Literal["vllm", "llama.cpp", "llama-cpp-python", "none"]

TEMPLATE_MARGIN = 8  # chat-template tokens allowed per message where they cannot be counted
# (server root, model) -> the tokenize API found there and the context window it reported
_PROBED: dict[tuple[str, str | None], tuple[TokenizeApi, int | None]] = {}


def server_root(base_url: str) -> str:
    """``http://host:8000/v1`` -> ``http://host:8000`` (tokenize endpoints sit at the root)."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


class ServerTokenizer:
    """Counts a chat request's prompt tokens on the server; probes the API on first use."""

    def __init__(self, http: RetryingPoster, base_url: str, model: str | None) -> None:
        self.http = http
        self.root = server_root(base_url)
        self.model = model
        self.api: TokenizeApi | None = None  # None until probed (here or by another engine)
        self._context_size: int | None = None
        self._learn()

    def _learn(self) -> None:
        """Take what a probe of the same endpoint found, if one did."""
        known = _PROBED.get((self.root, self.model))
        if self.api is None and known is not None:
            self.api, self._context_size = known

    @property
    def context_size(self) -> int | None:
        self._learn()
        return self._context_size

    @context_size.setter
    def context_size(self, value: int | None) -> None:
        self._context_size = value

    async def count(self, messages: list[Message]) -> int | None:
        """Prompt tokens of ``messages``, or None if the server cannot tell (or is down:
        the completion request will then report that)."""
        chat = [m.model_dump() for m in messages]
        self._learn()
        try:
            if self.api is None:
                return await self._probe(chat)
            if self.api == "vllm":
                return await self._vllm(chat)
            if self.api == "llama.cpp":
                return await self._llama_cpp(chat)
            if self.api == "llama-cpp-python":
                return await self._extras(chat)
        except EngineError as exc:
            log.debug("token count from %s failed: %s", self.root, exc)
        return None

    async def _probe(self, chat: list[dict[str, Any]]) -> int | None:
        """Try each API once; the first that counts is kept, and none means none for good."""
        for api, count in (
            ("vllm", self._vllm),
            ("llama.cpp", self._llama_cpp),
            ("llama-cpp-python", self._extras),
        ):
            try:
                n = await count(chat)
            except EngineError as exc:
                log.debug("%s: the %s tokenize API failed: %s", self.root, api, exc)
                continue
            if n is not None:
                self.api = api  # type: ignore[assignment]
                log.info("%s: counting prompt tokens with the %s tokenize API", self.root, api)
                if api == "llama.cpp":
                    props = await self.http.get_json(f"{self.root}/props") or {}
                    settings = props.get("default_generation_settings") or {}
                    self.context_size = _int(settings.get("n_ctx") or props.get("n_ctx"))
                _PROBED[(self.root, self.model)] = (self.api, self.context_size)  # type: ignore[assignment]
                return n
        self.api = "none"
        _PROBED[(self.root, self.model)] = ("none", None)
        log.info("%s has no working tokenize API: long cases cannot be split for it", self.root)
        return None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        response = await self.http.post_json(f"{self.root}{path}", body, retries=0)
        if not response.is_success:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def _vllm(self, chat: list[dict[str, Any]]) -> int | None:
        body: dict[str, Any] = {"messages": chat, "add_generation_prompt": True}
        if self.model:
            body["model"] = self.model
        data = await self._post("/tokenize", body)
        if data is None or _int(data.get("count")) is None:
            return None
        self.context_size = _int(data.get("max_model_len")) or self.context_size
        if self.api == "vllm":
            _PROBED[(self.root, self.model)] = ("vllm", self.context_size)
        return _int(data["count"])

    async def _llama_cpp(self, chat: list[dict[str, Any]]) -> int | None:
        templated = await self._post("/apply-template", {"messages": chat})
        prompt = (templated or {}).get("prompt")
        if not isinstance(prompt, str):
            return None
        data = await self._post("/tokenize", {"content": prompt, "add_special": True})
        tokens = (data or {}).get("tokens")
        return len(tokens) if isinstance(tokens, list) else None

    async def _extras(self, chat: list[dict[str, Any]]) -> int | None:
        total = TEMPLATE_MARGIN  # the assistant turn's opening
        for message in chat:
            data = await self._post("/extras/tokenize/count", {"input": message["content"]})
            count = _int((data or {}).get("count"))
            if count is None:
                return None
            total += count + TEMPLATE_MARGIN
        return total


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
