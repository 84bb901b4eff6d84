"""Shared HTTP plumbing for the server engines: a pooled client, retries with backoff, errors.

Transient failures (HTTP 408/429/5xx, timeouts, connection resets, refused connections) are
retried with exponential backoff and jitter, honouring ``Retry-After``; a request is sent at
most ``retries + 1`` times. A request that got no answer within the timeout is sent once more
at most (a server that hangs would otherwise hold a case for ``retries + 1`` timeouts), with
a warning each time, so a hanging server never stalls a run without a word. Any other
response is handed back to the engine to interpret.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import ServerConfig
from ..errors import ConfigError, EngineConnectionLost, EngineError, EngineUnreachable

log = logging.getLogger(__name__)

_NOT_RETRIED_5XX = frozenset({501, 505})
TIMEOUT_RETRIES = 1  # a request that timed out is sent again at most this many times


def is_retryable_status(status: int) -> bool:
    """429, 408 and 5xx (except 'not implemented' kinds) are worth another try."""
    return status in (408, 429) or (500 <= status < 600 and status not in _NOT_RETRIED_5XX)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: retry ``i`` (0-based) waits ``base * 2**i`` seconds,
    jittered to between half and all of it, at most ``cap``. A server's ``Retry-After`` is
    used instead, up to ``retry_after_cap``."""

    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        ceiling = min(self.cap, self.base * 2**retry)
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent
    or unparseable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and shorten, for error messages."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_text(response: httpx.Response) -> str:
    """The server's own error message (OpenAI ``error.message``, Ollama ``error``, FastAPI
    ``detail``), else the raw body."""
    try:
        data = response.json()
    except ValueError:
        return response.text
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if "detail" in data:
            detail = data["detail"]
            return detail if isinstance(detail, str) else json.dumps(detail)
    return response.text


def check_base_url(base_url: str) -> None:
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise ConfigError(f"base URL {base_url!r} must start with http:// or https://")


def make_client(
    config: ServerConfig,
    headers: dict[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """One client per engine; at most ``config.concurrency`` connections, extra requests
    queue for a free connection (no pool timeout)."""
    limits = httpx.Limits(
        max_connections=config.concurrency, max_keepalive_connections=config.concurrency
    )
    timeout = httpx.Timeout(
        config.timeout, connect=min(config.timeout, config.connect_timeout), pool=None
    )
    return httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout, transport=transport)


def poster_for(
    config: ServerConfig,
    engine: str,
    api_key: str | None,
    transport: httpx.AsyncBaseTransport | None,
    backoff: Backoff | None,
) -> RetryingPoster:
    """The retrying JSON poster of a server engine (Bearer auth when a key is given)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return RetryingPoster(
        lambda: make_client(config, headers, transport),
        engine,
        config.http_retries,
        backoff or Backoff(),
    )


async def _close_at_loop_end(client: httpx.AsyncClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.aclose()


class RetryingPoster:
    """POSTs JSON with the retry policy; counts attempts (handy for tests and logs)."""

    def __init__(
        self,
        make: Callable[[], httpx.AsyncClient],
        engine: str,
        retries: int,
        backoff: Backoff,
    ) -> None:
        self._make = make
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncIterator[None] | None = None
        self.engine = engine
        self.retries = retries
        self.backoff = backoff
        self.attempts = 0  # requests sent over this poster's lifetime

    async def _loop_client(self) -> httpx.AsyncClient:
        """The client for the running event loop: connections belong to one loop, so an
        engine reused across ``asyncio.run`` calls gets a fresh client in each loop, and
        each is closed when its loop shuts down (an async generator that the loop
        finalizes), so no socket outlives its loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or loop is not self._loop:
            client = self._make()
            self._closer = _close_at_loop_end(client)
            await anext(self._closer)
            self._client, self._loop = client, loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    async def ping(self, url: str, timeout: float = 5.0) -> str | None:
        """One GET (no retries): None if the server answers 2xx, else why not, in words."""
        try:
            response = await (await self._loop_client()).get(url, timeout=timeout)
        except httpx.HTTPError as exc:
            return _describe(exc)
        if response.is_success:
            return None
        return f"HTTP {response.status_code}: {one_line(error_text(response), 120)}"

    async def get_json(
        self, url: str, timeout: float = 10.0, *, unreachable: bool = False
    ) -> dict[str, Any] | None:
        """One GET (no retries): the JSON object answered with 2xx, else None; with
        ``unreachable``, EngineUnreachable when the server cannot be connected to."""
        try:
            response = await (await self._loop_client()).get(url, timeout=timeout)
            data = response.json() if response.is_success else None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if unreachable:
                raise EngineUnreachable(
                    f"{self.engine} server at {url} is unreachable ({_describe(exc)})"
                ) from exc
            return None
        except (httpx.HTTPError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    async def post_json(
        self,
        url: str,
        body: dict[str, Any],
        final: Callable[[httpx.Response], bool] | None = None,
        *,
        retries: int | None = None,
    ) -> httpx.Response:
        """The first non-retryable response (any status), or raise once retries run out:
        EngineUnreachable if the server could not be connected to, else EngineError.
        ``final(response)`` marks more responses as not worth retrying (e.g. a 500 that
        is really a validation error); ``retries`` overrides the poster's own."""
        retries = self.retries if retries is None else retries
        timeouts = 0
        for retry in range(retries + 1):
            retry_after: float | None = None
            cause: Exception | None = None
            tries = f"{retry + 1} attempt{'s' if retry else ''}"
            self.attempts += 1
            try:
                response = await (await self._loop_client()).post(url, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                cause = exc
                failure: EngineError = EngineUnreachable(
                    f"{self.engine} server at {url} is unreachable ({_describe(exc)}; {tries})"
                )
            except httpx.TimeoutException as exc:
                cause = exc
                timeouts += 1
                waited = (await self._loop_client()).timeout.read
                failure = EngineError(
                    f"{self.engine} server at {url} sent no answer within {waited:g} s "
                    f"({tries}); raise --timeout if the server is only slow"
                )
                if timeouts > TIMEOUT_RETRIES or retry >= retries:
                    raise failure from cause
                log.warning("%s; sending the request again", failure)
                continue
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                cause = exc
                failure = EngineConnectionLost(
                    f"{self.engine} connection to {url} failed ({_describe(exc)}; {tries})"
                )
            except httpx.HTTPError as exc:
                raise EngineError(f"{self.engine} request to {url} failed: {exc}") from exc
            else:
                if not is_retryable_status(response.status_code) or (final and final(response)):
                    return response
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                failure = EngineError(
                    f"{self.engine} server returned HTTP {response.status_code} for {url} "
                    f"after {tries}: {one_line(error_text(response))}"
                )
            if retry >= retries:
                raise failure from cause
            delay = self.backoff.delay(retry, retry_after)
            log.info("%s; retrying in %.2fs", failure, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _describe(exc: Exception) -> str:
    text = one_line(str(exc), 120)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
