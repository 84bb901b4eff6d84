"""Shared fixtures. The real default model loads once per session, only for tests marked
``model`` (they are slow but real: the embedded Qwen2.5-Coder-1.5B at temperature 0)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def default_engine():
    from extractinator.config import LlamaCppConfig
    from extractinator.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(LlamaCppConfig(n_ctx=4096))
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(autouse=True)
def _fresh_tokenize_probes():
    """Each test probes its stub servers' tokenize APIs anew (a port may be reused)."""
    from extractinator.engines import server_tokens

    server_tokens._PROBED.clear()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A cache dir of its own, for tests that must not touch the user's cache."""
    monkeypatch.setenv("EXTRACTINATOR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _real_models_need_a_marker(request, monkeypatch):
    """The hermetic set (``-m "not model and not server"``) is exactly the tests without
    those markers: a test that loads a real GGUF model must say so (``model``), one that
    starts a real server ``server``. Unmarked tests that try fail at once."""
    if request.node.get_closest_marker("model") or request.node.get_closest_marker("server"):
        return

    def refuse(*args, **kwargs):
        raise AssertionError("this test loads a real model: mark it @pytest.mark.model (or server)")

    import servers

    monkeypatch.setattr(servers, "gemma_model", refuse)
    from extractinator import model_store
    from extractinator.engines import llamacpp

    for name in ("ensure_default_model", "ensure_model"):
        monkeypatch.setattr(model_store, name, refuse)
    monkeypatch.setattr(llamacpp, "ensure_default_model", refuse)


# -- the studio's browser tests (browser_support.py) ------------------------------------------


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go: $EXTRACTINATOR_SCREENSHOTS (e.g. docs/studio), else a tmp dir."""
    import os

    where = os.environ.get("EXTRACTINATOR_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    from browser_support import chrome

    driver = chrome(downloads)
    yield driver
    driver.quit()
