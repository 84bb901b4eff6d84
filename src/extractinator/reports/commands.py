"""``extractinator report OUTDIR``: the self-contained HTML report of a run."""

from __future__ import annotations

from pathlib import Path

import click


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
    from .html import write_report

    path = write_report(run_dir, out, labels, label_prefix=label_prefix)
    click.echo(f"→ {path}")
