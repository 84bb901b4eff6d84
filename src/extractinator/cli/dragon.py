"""``extractinator dragon run | evaluate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import build_config, engine_options, samples_option


@click.group()
def dragon() -> None:
    """The DRAGON benchmark: job folders in, official predictions and scores out."""


def _split(values: tuple[str, ...]) -> list[str] | None:
    items = [v for value in values for v in value.replace(",", " ").split()]
    return items or None


@dragon.command("run")
@click.argument("input_dir", type=click.Path(path_type=Path))
@click.argument("output_dir", type=click.Path(path_type=Path))
@click.option("--tasks", multiple=True, help="Task ids to run, e.g. --tasks 101 --tasks 019.")
@click.option("--folds", multiple=True, type=int, help="Folds to run (default: all found).")
@click.option(
    "--few-shot",
    default=0,
    show_default=True,
    type=click.IntRange(0, 20),
    help="K most similar training cases as examples for each case.",
)
@click.option(
    "--derive",
    is_flag=True,
    help="Ignore the task library: derive fields from the training labels.",
)
@click.option(
    "--translate",
    is_flag=True,
    help="Translate each report to English with the same model first (cached).",
)
@click.option(
    "--sample",
    default=None,
    type=click.IntRange(1),
    help="Run N evenly spaced test cases of each job (case i*n/N), not all.",
)
@click.option("--overwrite", is_flag=True, help="Replace runs made with another task/model.")
@engine_options
@samples_option
def run_cmd(
    input_dir: Path,
    output_dir: Path,
    tasks: tuple[str, ...],
    folds: tuple[int, ...],
    few_shot: int,
    derive: bool,
    translate: bool,
    sample: int | None,
    **kw: Any,
) -> None:
    """Run every DRAGON job folder in INPUT_DIR; predictions go to OUTPUT_DIR/<job>/."""
    from ..dragon.run import format_summaries, run_dragon

    config = build_config(**kw)
    summaries = run_dragon(
        input_dir,
        output_dir,
        config,
        tasks=_split(tasks),
        folds=list(folds) or None,
        few_shot=few_shot,
        library=not derive,
        translate=translate,
        sample=sample,
    )
    click.echo(format_summaries(summaries))
    click.echo(f"predictions: {output_dir}/<job>/nlp-predictions-dataset.json")


@dragon.command("evaluate")
@click.argument("ground_truth_dir", type=click.Path(path_type=Path))
@click.argument("predictions_dir", type=click.Path(path_type=Path))
@click.option("--folds", multiple=True, type=int, help="Folds (default: 0-4, as dragon-eval).")
@click.option("--tasks", multiple=True, help="Only these tasks.")
@click.option("--output", type=click.Path(path_type=Path), help="Write metrics.json here.")
@click.option(
    "--partial",
    is_flag=True,
    help="Score only the cases that have predictions (after a --limit run).",
)
@click.option(
    "--calibration",
    "calibration_dir",
    type=click.Path(path_type=Path),
    help="Also write ECE, reliability and coverage of the binary tasks' P(true) here.",
)
def evaluate_cmd(
    ground_truth_dir: Path,
    predictions_dir: Path,
    folds: tuple[int, ...],
    tasks: tuple[str, ...],
    output: Path | None,
    partial: bool,
    calibration_dir: Path | None,
) -> None:
    """Score predictions with each task's official metric and the DRAGON utility score."""
    from ..dragon.evaluate import evaluate, format_table

    result = evaluate(
        ground_truth_dir,
        predictions_dir,
        folds=tuple(folds) or (0, 1, 2, 3, 4),
        tasks=_split(tasks),
        output_file=output,
        partial=partial,
    )
    click.echo(format_table(result))
    if calibration_dir is not None:
        from rich.console import Console

        from ..dragon.calibration import dragon_calibration
        from ..reports.console import print_calibration

        reports, notes = dragon_calibration(
            ground_truth_dir,
            predictions_dir,
            calibration_dir,
            folds=tuple(folds) or (0, 1, 2, 3, 4),
            tasks=_split(tasks),
        )
        print_calibration(reports, Console(), what="task")
        for note in notes:
            click.echo(f"note: {note}")
        click.echo(f"calibration: {calibration_dir}/calibration.json")


COMMANDS = (dragon,)
