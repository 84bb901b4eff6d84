"""Model backends behind one async protocol (see ``base.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import EngineConfig
from ..errors import ConfigError
from .base import Engine, GenerationRequest, GenerationResult, Message, TokenLogprob

if TYPE_CHECKING:
    from .pool import ServerEngine

__all__ = [
    "Engine",
    "GenerationRequest",
    "GenerationResult",
    "Message",
    "TokenLogprob",
    "create_engine",
]


def create_engine(config: EngineConfig) -> Engine:
    """Build the engine a config names. Heavy imports happen only for the chosen one."""
    if config.kind == "llamacpp":
        if config.base_url:
            raise ConfigError(
                "--base-url is for server engines; use --engine openai or --engine ollama"
            )
        from .llamacpp import LlamaCppEngine

        return LlamaCppEngine(config)
    if not config.model:
        raise ConfigError(f"the {config.kind} engine needs --model (the server's model name)")
    if len(config.endpoints) > 1:
        from .pool import EndpointPool

        return EndpointPool(
            [_server_engine(config.model_copy(update={"base_url": u})) for u in config.endpoints],
            slots=config.concurrency,
            health_interval=config.health_interval,
            failover_wait=config.failover_wait,
        )
    return _server_engine(config)


def _server_engine(config: EngineConfig) -> ServerEngine:
    if config.kind == "openai":
        from .openai import OpenAIEngine

        return OpenAIEngine(config)
    if config.kind == "ollama":
        from .ollama import OllamaEngine

        return OllamaEngine(config)
    raise ConfigError(f"unknown engine {config.kind!r}")  # pragma: no cover
