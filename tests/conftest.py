"""Shared fixtures. The real default model loads once per session, only for tests marked
``model`` (they are slow but real: the embedded Qwen2.5-Coder-1.5B at temperature 0)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DRAGON_SYNTHETIC = SHARED / "dragon-synthetic"
EXAMPLES = REPO / "src" / "extractinator" / "examples"

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def default_engine():
    from extractinator.config import EngineConfig
    from extractinator.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(EngineConfig(n_ctx=4096))
    yield engine
    import asyncio

    asyncio.run(engine.aclose())


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A cache dir of its own, for tests that must not touch the user's cache."""
    monkeypatch.setenv("EXTRACTINATOR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


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
