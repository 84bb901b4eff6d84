"""The retrying poster's HTTP client lives and dies with its event loop."""

from __future__ import annotations

import asyncio

import httpx

from extractinator.engines.http import Backoff, RetryingPoster


def test_each_event_loop_gets_its_own_client_closed_when_the_loop_ends() -> None:
    """An engine reused across extract() calls (one asyncio.run each) leaves no client, and
    so no socket, open behind a finished loop."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient(transport=transport))
        return made[-1]

    poster = RetryingPoster(make, "openai", 0, Backoff())

    async def two_requests() -> list[dict | None]:
        return [await poster.get_json("http://x/v1/models") for _ in range(2)]

    assert asyncio.run(two_requests()) == [{"ok": True}, {"ok": True}]
    assert len(made) == 1 and made[0].is_closed  # one client per loop, closed at its end
    assert asyncio.run(poster.get_json("http://x/v1/models")) == {"ok": True}
    assert len(made) == 2 and made[1].is_closed
