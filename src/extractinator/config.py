"""All run configuration in one typed place: every default is written here once, and the
CLI, the Python API, sweeps and the studio build their configs through these types."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

EngineKind = Literal["llamacpp", "openai", "ollama"]
ENGINE_KINDS: tuple[str, ...] = EngineKind.__args__  # type: ignore[attr-defined]
DEFAULT_N_CTX = 8192  # context window of the embedded engine and Ollama's num_ctx

_Strict = ConfigDict(extra="forbid")


def cache_dir() -> Path:
    """Where assembled models and other caches live: $EXTRACTINATOR_CACHE, else
    $XDG_CACHE_HOME/extractinator, else ~/.cache/extractinator."""
    env = os.environ.get("EXTRACTINATOR_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "extractinator"


class LlamaCppConfig(BaseModel):
    """The embedded engine: a GGUF file run in-process by llama-cpp-python."""

    model_config = _Strict

    kind: Literal["llamacpp"] = "llamacpp"
    model: str | None = None  # path to a GGUF file (None = the embedded default model)
    n_ctx: int = Field(default=DEFAULT_N_CTX, ge=256)  # context window
    n_threads: int | None = Field(default=None, ge=1)  # CPU threads (None = all cores)
    n_gpu_layers: int = 0  # layers offloaded to a GPU build
    options: dict[str, Any] = Field(default_factory=dict)  # extra llama_cpp.Llama arguments

    @property
    def endpoints(self) -> list[str]:
        return []

    @property
    def total_concurrency(self) -> int:
        """One request at a time: the model runs in this process."""
        return 1


class ServerConfig(BaseModel):
    """What every server engine needs: where the servers are and how to talk to them."""

    model_config = _Strict

    model: str | None = None  # the model name the server knows
    # several URLs serving the same model: requests are spread over them, with health
    # checks and failover (engines/pool.py)
    base_url: str | list[str] | None = None
    api_key: str | None = Field(default=None, repr=False)
    concurrency: int = Field(default=1, ge=1, le=256)  # requests in flight (per endpoint)
    timeout: float = Field(default=600.0, gt=0)  # seconds to wait for one answer
    connect_timeout: float = Field(default=30.0, gt=0)  # seconds to wait for a connection
    http_retries: int = Field(default=4, ge=0, le=20)  # on 429 / 5xx / timeouts / resets
    options: dict[str, Any] = Field(default_factory=dict)  # extra request options
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
        """The server URLs, in order."""
        if self.base_url is None:
            return []
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    @property
    def total_concurrency(self) -> int:
        """Requests in flight over all endpoints."""
        return self.concurrency * max(1, len(self.endpoints))


class OpenAIConfig(ServerConfig):
    """Any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, LM Studio)."""

    kind: Literal["openai"] = "openai"
    # how to ask for schema-constrained output: "auto" tries OpenAI's json_schema form and
    # falls back to {"type": "json_object", "schema": ...} (llama-cpp-python's server)
    structured_output: Literal["auto", "json_schema", "json_object"] = "auto"


class OllamaConfig(ServerConfig):
    """Ollama's native API."""

    kind: Literal["ollama"] = "ollama"
    n_ctx: int = Field(default=DEFAULT_N_CTX, ge=256)  # num_ctx sent with every request
    think: bool | None = None  # enable/disable thinking for reasoning models


EngineConfig = Annotated[LlamaCppConfig | OpenAIConfig | OllamaConfig, Field(discriminator="kind")]
ENGINE_CONFIGS: dict[str, type[BaseModel]] = {
    "llamacpp": LlamaCppConfig,
    "openai": OpenAIConfig,
    "ollama": OllamaConfig,
}
# what a user-facing option is called, for messages about options that do not apply
_OPTION_NAMES = {
    "base_url": "--base-url",
    "api_key": "--api-key",
    "concurrency": "--concurrency",
    "n_ctx": "--n-ctx",
    "n_threads": "--threads",
    "think": "--think/--no-think",
    "timeout": "--timeout",
    "connect_timeout": "--timeout",
    "n_gpu_layers": "n_gpu_layers",
    "structured_output": "structured_output",
}


def engine_config(kind: str = "llamacpp", **options: Any) -> EngineConfig:
    """The engine config of ``kind`` from flat options (CLI flags, a studio form, a sweep
    file). Options left at None take the engine's default; an option given for an engine
    it does not apply to is an error, never silently ignored."""
    cls = ENGINE_CONFIGS.get(kind)
    if cls is None:
        raise ConfigError(f"unknown engine {kind!r} (choose one of: {', '.join(ENGINE_KINDS)})")
    given = {k: v for k, v in options.items() if v is not None}
    foreign = [k for k in given if k not in cls.model_fields]
    if foreign:
        name = _OPTION_NAMES.get(foreign[0], foreign[0])
        hint = " (use --engine openai or --engine ollama)" if kind == "llamacpp" else ""
        raise ConfigError(f"{name} does not apply to the {kind} engine{hint}")
    try:
        return cls(kind=kind, **given)  # type: ignore[return-value]
    except ValidationError as e:
        raise ConfigError(f"engine settings: {_first_error(e)}") from None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


def option_default(model: type[BaseModel], name: str) -> Any:
    """The default of one config field, for entry points that show or fill it in."""
    return model.model_fields[name].get_default(call_default_factory=True)


class GenerationConfig(BaseModel):
    """How each case is generated and checked."""

    model_config = _Strict

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

    model_config = _Strict

    engine: EngineConfig = Field(default_factory=LlamaCppConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    limit: int | None = Field(default=None, ge=1)
    overwrite: bool = False
    retry_failed: bool = False
    encoding: str | None = None  # data file encoding; None = UTF-8 with a reported fallback
    progress: bool = True
    # stop the run after this many failed cases (None: never); --max-failures, --fail-fast
    max_failures: int | None = Field(default=None, ge=1)
    # stop the run when its first N finished cases all failed on the engine and none
    # succeeded (a wrong server path, a bad API key, an unknown model); 0: never
    engine_failure_limit: int = Field(default=5, ge=0)


def run_config(
    engine: EngineConfig | None = None, generation: dict[str, Any] | None = None, **run: Any
) -> RunConfig:
    """A RunConfig from an engine config and flat generation/run options (None = default),
    with one-line errors: what every entry point (CLI, studio, sweeps) builds its run from."""
    gen = {k: v for k, v in (generation or {}).items() if v is not None}
    if gen.get("samples", 1) > 1 and gen.get("temperature", 0.0) == 0:
        raise ConfigError(SAMPLES_NEED_TEMPERATURE.format(samples=gen["samples"]))
    try:
        return RunConfig(
            engine=engine or LlamaCppConfig(),
            generation=GenerationConfig(**gen),
            **{k: v for k, v in run.items() if v is not None},
        )
    except ValidationError as e:
        raise ConfigError(f"run settings: {_first_error(e)}") from None
