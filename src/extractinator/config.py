"""All run configuration in one typed place (CLI flags and the Python API both build these)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

EngineKind = Literal["llamacpp", "openai", "ollama"]


def cache_dir() -> Path:
    """Where assembled models and other caches live: $EXTRACTINATOR_CACHE, else
    $XDG_CACHE_HOME/extractinator, else ~/.cache/extractinator."""
    env = os.environ.get("EXTRACTINATOR_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "extractinator"


class EngineConfig(BaseModel):
    """Which model backend to use and how to reach it."""

    kind: EngineKind = "llamacpp"
    # llamacpp: path to a GGUF file (None = the embedded default model);
    # openai / ollama: the model name the server knows.
    model: str | None = None
    # openai: ".../v1"; ollama: "http://host:11434". Several URLs serving the same model:
    # requests are spread over them, with health checks and failover (engines/pool.py).
    base_url: str | list[str] | None = None
    api_key: str | None = Field(default=None, repr=False)
    concurrency: int = Field(default=1, ge=1, le=256)  # requests in flight (per endpoint)
    timeout: float = Field(default=600.0, gt=0)  # seconds per HTTP request
    http_retries: int = Field(default=4, ge=0, le=20)  # on 429 / 5xx / timeouts / resets
    # openai: how to ask for schema-constrained output. "auto" tries OpenAI's json_schema
    # form and falls back to {"type": "json_object", "schema": ...} (llama-cpp-python server).
    structured_output: Literal["auto", "json_schema", "json_object"] = "auto"
    n_ctx: int = Field(default=8192, ge=256)  # llamacpp context window; ollama num_ctx
    n_threads: int | None = None  # llamacpp CPU threads (None = all cores)
    n_gpu_layers: int = 0  # llamacpp layers offloaded to a GPU build
    think: bool | None = None  # ollama: enable/disable thinking for reasoning models
    options: dict[str, Any] = Field(default_factory=dict)  # extra engine-specific options
    # several endpoints: seconds between probes of a down endpoint, and how long requests
    # wait for any endpoint to come back when all are down before the run stops
    health_interval: float = Field(default=5.0, gt=0)
    failover_wait: float = Field(default=60.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _normalise_urls(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, str):
            return v.rstrip("/") or None
        if v is None:
            return None
        urls = [u.strip().rstrip("/") for u in v if u.strip()]
        duplicated = sorted({u for u in urls if urls.count(u) > 1})
        if duplicated:
            raise ValueError(f"base URL listed twice: {duplicated[0]}")
        if len(urls) <= 1:
            return urls[0] if urls else None
        return urls

    @property
    def endpoints(self) -> list[str]:
        """The server URLs, in order (empty for the embedded engine's default)."""
        if self.base_url is None:
            return []
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    @property
    def total_concurrency(self) -> int:
        """Requests in flight over all endpoints."""
        return self.concurrency * max(1, len(self.endpoints))


class GenerationConfig(BaseModel):
    """How each case is generated and checked."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int | None = 0
    max_tokens: int = Field(default=1024, ge=1)  # output budget per answer
    max_reasks: int = Field(default=2, ge=0, le=5)  # re-asks with the validation error
    # probabilities of each allowed value of top-level boolean/enum fields (engines that can)
    probabilities: bool = True
    # self-consistency: answers sampled per case, aggregated by vote (needs temperature > 0)
    samples: int = Field(default=1, ge=1, le=50)

    @model_validator(mode="after")
    def _samples_need_temperature(self) -> GenerationConfig:
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(SAMPLES_NEED_TEMPERATURE.format(samples=self.samples))
        return self


SAMPLES_NEED_TEMPERATURE = (
    "--samples {samples} needs a temperature above 0 (at temperature 0 every sample is the "
    "same answer): pass --temperature, e.g. --temperature 0.7"
)


class RunConfig(BaseModel):
    """One run: a task over a dataset into an output directory."""

    engine: EngineConfig = Field(default_factory=EngineConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    limit: int | None = Field(default=None, ge=1)
    overwrite: bool = False
    retry_failed: bool = False
    encoding: str | None = None  # data file encoding; None = UTF-8 with a reported fallback
    progress: bool = True
