"""The options every model-running command shares, and the one place that turns them into
a RunConfig. Defaults are read from the config types, never written here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from ..config import (
    ENGINE_KINDS,
    GenerationConfig,
    LlamaCppConfig,
    OpenAIConfig,
    RunConfig,
    engine_config,
    option_default,
    run_config,
)
from ..errors import ConfigError

_GEN = GenerationConfig
_N_CTX = option_default(LlamaCppConfig, "n_ctx")
_TIMEOUT = option_default(OpenAIConfig, "timeout")
_ENGINE_LIMIT = option_default(RunConfig, "engine_failure_limit")


def engine_options(f: Any) -> Any:
    """The options shared by every command that runs a model."""
    opts = [
        click.option(
            "--engine",
            "engine_kind",
            type=click.Choice(ENGINE_KINDS),
            default="llamacpp",
            show_default=True,
            help="Model backend.",
        ),
        click.option(
            "--model",
            default=None,
            help="GGUF path (llamacpp; default: the embedded model) or server model name.",
        ),
        click.option(
            "--base-url",
            multiple=True,
            help="Server URL (openai: …/v1; ollama: host:11434). Repeat it for several "
            "servers of the same model: requests are spread over them, with failover.",
        ),
        click.option(
            "--endpoints",
            "endpoints_file",
            default=None,
            type=click.Path(path_type=Path),
            help="File of server URLs, one per line ('#' starts a comment); adds to --base-url.",
        ),
        click.option(
            "--api-key",
            default=None,
            envvar="EXTRACTINATOR_API_KEY",
            help="Bearer key for an OpenAI-compatible server.",
        ),
        click.option(
            "--concurrency",
            default=None,
            type=click.IntRange(1, 256),
            help="Requests in flight per server (server engines; default 1).",
        ),
        click.option(
            "--timeout",
            default=None,
            type=click.FloatRange(min=1, min_open=False),
            help=f"Seconds to wait for one answer from a server (default {_TIMEOUT:g}).",
        ),
        click.option(
            "--n-ctx",
            default=None,
            type=click.IntRange(256),
            help=f"Context window (llamacpp; ollama num_ctx; default {_N_CTX}).",
        ),
        click.option(
            "--threads", default=None, type=click.IntRange(1), help="CPU threads (llamacpp)."
        ),
        click.option("--think/--no-think", default=None, help="Thinking on/off (ollama)."),
        click.option(
            "--temperature",
            default=option_default(_GEN, "temperature"),
            show_default=True,
            type=click.FloatRange(0, 2),
        ),
        click.option("--seed", default=option_default(_GEN, "seed"), show_default=True, type=int),
        click.option(
            "--max-tokens",
            default=option_default(_GEN, "max_tokens"),
            show_default=True,
            type=click.IntRange(1),
            help="Output token budget per answer.",
        ),
        click.option(
            "--max-reasks",
            default=option_default(_GEN, "max_reasks"),
            show_default=True,
            type=click.IntRange(0, 5),
            help="Re-asks with the validation error before a case fails.",
        ),
        click.option(
            "--limit", default=None, type=click.IntRange(1), help="Only the first N cases."
        ),
        click.option(
            "--max-failures",
            default=None,
            type=click.IntRange(1),
            help="Stop the run after N failed cases (finished cases are kept; rerun to "
            f"resume). Without it a run stops only when its first {_ENGINE_LIMIT} cases all "
            "fail on the engine.",
        ),
        click.option("--fail-fast", is_flag=True, help="Stop at the first failed case."),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def samples_option(f: Any) -> Any:
    """``--samples K``: self-consistency (commands that run a task)."""
    return click.option(
        "--samples",
        default=option_default(_GEN, "samples"),
        show_default=True,
        type=click.IntRange(1, 50),
        help="Answers sampled per case and aggregated by vote (needs --temperature > 0).",
    )(f)


def base_urls(given: tuple[str, ...], endpoints_file: Path | None) -> list[str] | None:
    """``--base-url`` values followed by the URLs in ``--endpoints FILE``."""
    urls = list(given)
    if endpoints_file is not None:
        try:
            lines = endpoints_file.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(
                f"{endpoints_file}: cannot read the endpoints file ({e.strerror or e})"
            ) from None
        for number, line in enumerate(lines, 1):
            url = line.split("#", 1)[0].strip()
            if url and not re.match(r"^https?://\S+$", url):
                raise ConfigError(
                    f"{endpoints_file}, line {number}: {url!r} is not an http(s):// URL"
                )
            if url:
                urls.append(url)
        if not urls:
            raise ConfigError(f"{endpoints_file}: no endpoint URLs in the file")
    twice = sorted(
        {u.rstrip("/") for u in urls if [x.rstrip("/") for x in urls].count(u.rstrip("/")) > 1}
    )
    if twice:
        raise ConfigError(f"endpoint {twice[0]} is given twice (--base-url / --endpoints)")
    return urls or None


def build_config(**kw: Any) -> RunConfig:
    """The RunConfig of the shared options (and the run command's own flags)."""
    kind = kw["engine_kind"]
    max_failures = kw.get("max_failures")
    if kw.get("fail_fast"):
        if max_failures not in (None, 1):
            raise ConfigError("--fail-fast is --max-failures 1: give one of them")
        max_failures = 1
    urls = base_urls(kw["base_url"], kw["endpoints_file"])
    if kind == "llamacpp" and urls:
        raise ConfigError(
            "--base-url is for server engines; use --engine openai or --engine ollama"
        )
    engine = engine_config(
        kind,
        model=kw["model"],
        base_url=urls,
        api_key=kw["api_key"] if kind == "openai" else None,
        concurrency=kw["concurrency"],
        timeout=kw.get("timeout"),
        n_ctx=kw["n_ctx"],
        n_threads=kw["threads"],
        think=kw["think"],
    )
    return run_config(
        engine,
        generation={
            "temperature": kw["temperature"],
            "seed": kw["seed"],
            "max_tokens": kw["max_tokens"],
            "max_reasks": kw["max_reasks"],
            "samples": kw.get("samples"),
        },
        limit=kw["limit"],
        max_failures=max_failures,
        overwrite=kw.get("overwrite"),
        retry_failed=kw.get("retry_failed"),
        encoding=kw.get("encoding"),
        progress=not kw["no_progress"],
    )
