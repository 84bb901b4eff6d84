"""Model backends behind one async protocol (see ``base.py``) and one registry: each engine
kind of ``config.ENGINE_KINDS`` maps to the factory that builds it from its config."""

from __future__ import annotations

from collections.abc import Callable

from ..config import EngineConfig, LlamaCppConfig, OllamaConfig, OpenAIConfig, ServerConfig
from ..errors import ConfigError
from .base import Engine, GenerationRequest, GenerationResult, Message, TokenLogprob

__all__ = [
    "ENGINES",
    "Engine",
    "GenerationRequest",
    "GenerationResult",
    "Message",
    "TokenLogprob",
    "create_engine",
]


def _llamacpp(config: LlamaCppConfig) -> Engine:
    from .llamacpp import LlamaCppEngine

    return LlamaCppEngine(config)


def _openai(config: OpenAIConfig) -> Engine:
    from .openai import OpenAIEngine

    return OpenAIEngine(config)


def _ollama(config: OllamaConfig) -> Engine:
    from .ollama import OllamaEngine

    return OllamaEngine(config)


# kind -> factory (heavy imports happen only for the chosen engine)
ENGINES: dict[str, Callable[..., Engine]] = {
    "llamacpp": _llamacpp,
    "openai": _openai,
    "ollama": _ollama,
}


def create_engine(config: EngineConfig) -> Engine:
    """Build the engine a config names; several server URLs become a failover pool."""
    factory = ENGINES[config.kind]
    if not isinstance(config, ServerConfig):
        return factory(config)
    if not config.model:
        raise ConfigError(f"the {config.kind} engine needs --model (the server's model name)")
    if len(config.endpoints) > 1:
        from .pool import EndpointPool

        return EndpointPool(
            [factory(config.model_copy(update={"base_url": u})) for u in config.endpoints],
            slots=config.concurrency,
            health_interval=config.health_interval,
            failover_wait=config.failover_wait,
        )
    return factory(config)
