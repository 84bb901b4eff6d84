"""Command line: ``extractinator run | demo | models`` (and ``dragon`` when installed)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import click

from .config import (
    SAMPLES_NEED_TEMPERATURE,
    EngineConfig,
    GenerationConfig,
    RunConfig,
    cache_dir,
)
from .errors import ConfigError, ExtractinatorError


class _OneLineErrors(click.Group):
    """Print ExtractinatorErrors as one line and exit 2; Ctrl-C says how to resume."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExtractinatorError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished cases are saved; rerun to resume", err=True)
            sys.exit(130)


def engine_options(f: Any) -> Any:
    """The options shared by every command that runs a model."""
    opts = [
        click.option(
            "--engine",
            "engine_kind",
            type=click.Choice(["llamacpp", "openai", "ollama"]),
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
            default=1,
            show_default=True,
            type=click.IntRange(1, 256),
            help="Requests in flight (server engines).",
        ),
        click.option(
            "--n-ctx",
            default=8192,
            show_default=True,
            type=click.IntRange(256),
            help="Context window (llamacpp; ollama num_ctx).",
        ),
        click.option(
            "--threads", default=None, type=click.IntRange(1), help="CPU threads (llamacpp)."
        ),
        click.option("--think/--no-think", default=None, help="Thinking on/off (ollama)."),
        click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(0, 2)),
        click.option("--seed", default=0, show_default=True, type=int),
        click.option(
            "--max-tokens",
            default=1024,
            show_default=True,
            type=click.IntRange(1),
            help="Output token budget per answer.",
        ),
        click.option(
            "--max-reasks",
            default=2,
            show_default=True,
            type=click.IntRange(0, 5),
            help="Re-asks with the validation error before a case fails.",
        ),
        click.option(
            "--limit", default=None, type=click.IntRange(1), help="Only the first N cases."
        ),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def samples_option(f: Any) -> Any:
    """``--samples K``: self-consistency (commands that run a task)."""
    return click.option(
        "--samples",
        default=1,
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
            raise ConfigError(f"{endpoints_file}: cannot read the endpoints file ({e})") from e
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
    samples = kw.get("samples", 1)
    if samples > 1 and kw["temperature"] == 0:
        raise ConfigError(SAMPLES_NEED_TEMPERATURE.format(samples=samples))
    return RunConfig(
        engine=EngineConfig(
            kind=kw["engine_kind"],
            model=kw["model"],
            base_url=base_urls(kw["base_url"], kw["endpoints_file"]),
            api_key=kw["api_key"],
            concurrency=kw["concurrency"],
            n_ctx=kw["n_ctx"],
            n_threads=kw["threads"],
            think=kw["think"],
        ),
        generation=GenerationConfig(
            temperature=kw["temperature"],
            seed=kw["seed"],
            max_tokens=kw["max_tokens"],
            max_reasks=kw["max_reasks"],
            samples=samples,
        ),
        limit=kw["limit"],
        overwrite=kw.get("overwrite", False),
        retry_failed=kw.get("retry_failed", False),
        encoding=kw.get("encoding"),
        progress=not kw["no_progress"],
    )


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="extractinator")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
def main(verbose: bool) -> None:
    """Validated, grounded structured data from clinical reports with local LLMs."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    logging.captureWarnings(True)


@main.command()
@click.argument("task_file", type=click.Path(path_type=Path))
@click.argument("data", required=False, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "outdir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output directory (records.jsonl, records.csv/json, manifest.json).",
)
@click.option("--overwrite", is_flag=True, help="Replace a different run in OUTDIR.")
@click.option("--retry-failed", is_flag=True, help="Run failed cases of a previous run again.")
@click.option(
    "--encoding", default=None, help="Data file encoding (default: UTF-8, reported fallback)."
)
@engine_options
@samples_option
def run(task_file: Path, data: Path | None, outdir: Path, **kw: Any) -> None:
    """Run TASK_FILE over DATA (CSV, TSV, JSON, JSONL, Parquet, Excel) into --out."""
    from .runner import run_task
    from .task import load_task

    task = load_task(task_file)
    if data is None:
        data = _legacy_data_path(task_file)
    config = build_config(**kw)
    totals = run_task(task, data, outdir, config, task_source=str(task_file))
    click.echo(f"{totals.summary()} → {outdir}")


def _legacy_data_path(task_file: Path) -> Path:
    from .task.legacy import legacy_data_path
    from .task.load import _read_mapping

    path = legacy_data_path(_read_mapping(task_file), task_file)
    if path is None:
        raise click.UsageError("give DATA (the task file names no Data_Path)")
    return path


@main.command()
@click.option("--verify", is_flag=True, help="Re-hash the model file (sha256) now.")
def models(verify: bool) -> None:
    """Show the default embedded model, where it is cached, and verify it."""
    from .model_store import DEFAULT_MODEL, default_model_path, ensure_default_model, verify_model

    path = default_model_path()
    click.echo(f"default model: {DEFAULT_MODEL.name}")
    click.echo(f"cache:         {path}")
    click.echo(f"sha256:        {DEFAULT_MODEL.sha256}")
    if not path.exists():
        click.echo("status:        not assembled yet; assembling from the installed parts…")
        ensure_default_model()
    elif verify:
        verify_model(path, full=True)
    else:
        verify_model(path)
    click.echo(f"status:        verified ({path.stat().st_size:,} bytes)")


@main.command()
@click.option(
    "--example",
    type=click.Choice(["radiology", "medication"]),
    default="radiology",
    show_default=True,
    help="Which bundled example to run.",
)
@click.option(
    "--out",
    "outdir",
    default=None,
    type=click.Path(path_type=Path),
    help="Output directory (default: in the cache directory).",
)
@engine_options
def demo(example: str, outdir: Path | None, **kw: Any) -> None:
    """Run a bundled example task on bundled Dutch reports and print the results."""
    from .demo import run_demo

    outdir = outdir or cache_dir() / "demo" / example
    run_demo(example, outdir, build_config(**kw))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("labels", type=click.Path(path_type=Path))
@click.option("--fields", default=None, help="Comma-separated fields (default: all labelled).")
@click.option(
    "--out",
    "outdir",
    default=None,
    type=click.Path(path_type=Path),
    help="Where evaluation.json and the plots go (default: RUN_DIR/evaluation).",
)
@click.option("--id", "id_column", default=None, help="Id column of LABELS (default: the task's).")
@click.option("--partial", is_flag=True, help="Allow labelled ids that the run has no record of.")
@click.option("--encoding", default=None, help="LABELS file encoding (default: UTF-8).")
def evaluate(
    run_dir: Path,
    labels: Path,
    fields: str | None,
    outdir: Path | None,
    id_column: str | None,
    partial: bool,
    encoding: str | None,
) -> None:
    """Score RUN_DIR against LABELS (a data file with an id and one column per field):
    accuracy, calibration and a coverage table for choosing a review threshold."""
    from .reports.console import print_evaluation
    from .reports.evaluate import evaluate_run, write_evaluation

    names = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    result = evaluate_run(
        run_dir, labels, fields=names, id_column=id_column, partial=partial, encoding=encoding
    )
    path = write_evaluation(result, outdir or run_dir / "evaluation")
    print_evaluation(result)
    click.echo(f"→ {path}")


def _register_layers() -> None:
    """Layers on top of the core add their command groups here (the core never imports
    them elsewhere)."""
    from .dragon.cli import dragon
    from .experiments.cli import COMMANDS as experiment_commands
    from .reports.commands import report
    from .studio.cli import studio

    main.add_command(dragon)
    main.add_command(report)
    main.add_command(studio)
    for command in experiment_commands:
        main.add_command(command)


_register_layers()
