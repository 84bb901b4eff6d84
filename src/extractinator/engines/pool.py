"""Several servers serving the same model, as one engine: spreading, health checks, failover.

Each request goes to the least busy live endpoint with a free slot (``slots`` requests in
flight per endpoint). An endpoint that cannot be reached, or whose connection breaks before it
answers, is taken out of rotation and the request is sent to another endpoint at once, so the
case is neither lost nor answered twice. Endpoints out of rotation are probed every
``health_interval`` seconds and come back when they answer. If every endpoint is down, requests
wait up to ``failover_wait`` seconds for one to come back, then the run stops with
``EngineUnreachable`` (finished cases are saved; rerun to resume).

Other errors (a bad request, a context overflow, a malformed answer) belong to the case, not
the endpoint, and are passed on unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigError, EngineConnectionLost, EngineError, EngineUnreachable
from .base import Engine, GenerationRequest, GenerationResult
from .stats import EngineStats

log = logging.getLogger(__name__)


class ServerEngine(Engine, Protocol):
    """A server engine the pool can health-check."""

    base_url: str

    async def ping(self) -> str | None:
        """None if the server answers, else why not."""
        ...


@dataclass
class Endpoint:
    engine: ServerEngine
    slots: int
    in_flight: int = 0
    served: int = 0  # completions returned
    failovers: int = 0  # requests moved away from this endpoint
    down: str | None = None  # why it is out of rotation; None while live

    @property
    def url(self) -> str:
        return self.engine.base_url

    def status(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "served": self.served,
            "failovers": self.failovers,
            "down": self.down,
        }


class EndpointPool:
    """An :class:`~extractinator.engines.base.Engine` over several endpoints of one model."""

    name = "pool"

    def __init__(
        self,
        engines: Sequence[ServerEngine],
        *,
        slots: int = 1,
        health_interval: float = 5.0,
        failover_wait: float = 60.0,
    ) -> None:
        if len(engines) < 2:
            raise EngineError("an endpoint pool needs at least two endpoints")
        self.endpoints = [Endpoint(engine, slots) for engine in engines]
        self.health_interval = health_interval
        self.failover_wait = failover_wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._checked: asyncio.Task[None] | None = None
        self._health: asyncio.Task[None] | None = None
        self._model_id: str | None = None  # as the endpoints report it (identify)

    # -- the Engine protocol -------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """The model, not the endpoints: a resumed run may use a different set of servers
        (the same as one endpoint's, so a run may also move between one server and many)."""
        return self._model_id or self.endpoints[0].engine.model_id

    async def identify(self) -> None:
        """Identify the model on every endpoint that answers; they must serve the same one
        (ConfigError naming two that differ); EngineUnreachable when none answers."""
        if self._model_id is not None:
            return
        known: dict[str, str] = {}
        down: list[str] = []
        for endpoint in self.endpoints:
            identify = getattr(endpoint.engine, "identify", None)
            try:
                if identify is not None:
                    await identify()
            except EngineUnreachable as exc:
                down.append(str(exc))
                continue
            known[endpoint.url] = endpoint.engine.model_id
        if not known:
            raise EngineUnreachable(f"no endpoint answers ({'; '.join(down)})")
        (first, model), *rest = known.items()
        other = next(((url, m) for url, m in rest if m != model), None)
        if other is not None:
            raise ConfigError(
                f"the endpoints serve different models: {first} {model!r}, "
                f"{other[0]} {other[1]!r}; give endpoints of one model"
            )
        self._model_id = model

    @property
    def context_size(self) -> int | None:
        known = [e.engine.context_size for e in self.endpoints]
        sizes = [s for s in known if s is not None]
        return min(sizes) if sizes else None

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        for endpoint in self.endpoints:
            if endpoint.down is None:
                return await endpoint.engine.count_tokens(request)
        return None

    def stats(self) -> EngineStats | None:
        return None  # servers keep their own metrics; status() says what each endpoint served

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "slots_per_endpoint": self.endpoints[0].slots,
            "endpoints": [e.engine.describe() for e in self.endpoints],
        }

    def status(self) -> list[dict[str, Any]]:
        """Per endpoint: requests served, requests moved elsewhere, and why it is down."""
        return [e.status() for e in self.endpoints]

    async def aclose(self) -> None:
        for task in (self._health, self._checked):
            if task is not None and not task.done():
                task.cancel()
        for endpoint in self.endpoints:
            await endpoint.engine.aclose()
        served = ", ".join(f"{e.url} {e.served}" for e in self.endpoints)
        log.info("endpoint pool: completions served per endpoint: %s", served)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        await self._first_check()
        last: EngineError | None = None
        for _ in range(2 * len(self.endpoints) + 1):
            endpoint = await self._acquire()
            try:
                result = await endpoint.engine.generate(request)
            except (EngineUnreachable, EngineConnectionLost) as exc:
                last = exc
                endpoint.failovers += 1
                await self._mark_down(endpoint, str(exc))
                continue
            finally:
                await self._release(endpoint)
            endpoint.served += 1
            return result
        raise EngineError(f"no endpoint could answer the request; last error: {last}")

    # -- rotation ------------------------------------------------------------------------

    def _condition(self) -> asyncio.Condition:
        """The pool's condition for the running loop (an engine may outlive a loop)."""
        loop = asyncio.get_running_loop()
        if self._changed is None or loop is not self._loop:
            self._loop, self._changed = loop, asyncio.Condition()
            self._checked = self._health = None
        return self._changed

    async def _first_check(self) -> None:
        """Ping every endpoint once before the first request; fail fast if none answers."""
        self._condition()
        if self._checked is None:
            self._checked = asyncio.ensure_future(self._ping_all())
        await asyncio.shield(self._checked)

    async def _ping_all(self) -> None:
        reasons = await asyncio.gather(*(e.engine.ping() for e in self.endpoints))
        for endpoint, reason in zip(self.endpoints, reasons, strict=True):
            if reason is not None:
                await self._mark_down(endpoint, reason)
        if all(e.down for e in self.endpoints):
            raise EngineUnreachable(self._all_down())

    def _all_down(self) -> str:
        details = "; ".join(f"{e.url}: {e.down}" for e in self.endpoints)
        return f"all {len(self.endpoints)} endpoints are down ({details})"

    async def _acquire(self) -> Endpoint:
        changed = self._condition()
        deadline: float | None = None
        async with changed:
            while True:
                live = [e for e in self.endpoints if e.down is None]
                free = [e for e in live if e.in_flight < e.slots]
                if free:
                    chosen = min(free, key=lambda e: (e.in_flight, e.served))
                    chosen.in_flight += 1
                    return chosen
                if live:
                    deadline = None
                    await changed.wait()
                    continue
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.failover_wait
                    log.warning(
                        "%s; waiting up to %.0fs for one to come back",
                        self._all_down(),
                        self.failover_wait,
                    )
                if now >= deadline:
                    raise EngineUnreachable(self._all_down())
                try:
                    await asyncio.wait_for(changed.wait(), timeout=deadline - now)
                except asyncio.TimeoutError:
                    continue

    async def _release(self, endpoint: Endpoint) -> None:
        changed = self._condition()
        async with changed:
            endpoint.in_flight -= 1
            changed.notify_all()

    async def _mark_down(self, endpoint: Endpoint, reason: str) -> None:
        changed = self._condition()
        async with changed:
            if endpoint.down is None:
                endpoint.down = reason
                live = sum(e.down is None for e in self.endpoints)
                log.warning(
                    "endpoint %s taken out of rotation (%s); %d of %d endpoints live",
                    endpoint.url,
                    reason,
                    live,
                    len(self.endpoints),
                )
            changed.notify_all()
        if self._health is None or self._health.done():
            self._health = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        """Probe endpoints out of rotation until every one is back."""
        while any(e.down for e in self.endpoints):
            await asyncio.sleep(self.health_interval)
            for endpoint in [e for e in self.endpoints if e.down]:
                if await endpoint.engine.ping() is None:
                    changed = self._condition()
                    async with changed:
                        endpoint.down = None
                        changed.notify_all()
                    log.warning("endpoint %s is back in rotation", endpoint.url)
