"""``extractinator evaluate | report``: score a run against labels; the HTML report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
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
    from ..reports.console import print_evaluation
    from ..reports.evaluate import evaluate_run, write_evaluation

    names = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    result = evaluate_run(
        run_dir, labels, fields=names, id_column=id_column, partial=partial, encoding=encoding
    )
    path = write_evaluation(result, outdir or run_dir / "evaluation")
    print_evaluation(result)
    click.echo(f"→ {path}")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--labels",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labels file (id column + one column per field) to add the evaluation.",
)
@click.option("--label-prefix", default="", help="Prefix of the label columns (e.g. expected_).")
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: RUN_DIR/report.html).",
)
def report(run_dir: Path, labels: Path | None, label_prefix: str, out: Path | None) -> None:
    """One self-contained HTML file with RUN_DIR's results (and evaluation with --labels)."""
    from ..reports.html import write_report

    path = write_report(run_dir, out, labels, label_prefix=label_prefix)
    click.echo(f"→ {path}")


COMMANDS = (evaluate, report)
