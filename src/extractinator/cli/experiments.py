"""``extractinator sweep | leaderboard | compare``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "outdir",
    default=None,
    type=click.Path(path_type=Path),
    help="Where the cells go (default: runs/<sweep file name>).",
)
@click.option("--only", multiple=True, help="Run only cells whose name contains this.")
@click.option("--dry-run", is_flag=True, help="List the cells and their state; run nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bars (cell lines still print).")
def sweep_cmd(
    sweep_file: Path, outdir: Path | None, only: tuple[str, ...], dry_run: bool, no_progress: bool
) -> None:
    """Run every cell (model x settings) of SWEEP_FILE; rerun to resume. Each cell is a run
    directory OUT/<cell>/; the results table goes to OUT/results.md and OUT/results.csv."""
    from ..experiments.execute import cell_identity, is_finished, run_sweep
    from ..experiments.sweep import load_sweep, plan_cells

    out = outdir or Path("runs") / sweep_file.stem
    if dry_run:
        sweep = load_sweep(sweep_file)
        for cell in plan_cells(sweep):
            if only and not any(o in cell.name for o in only):
                continue
            cell_dir = out / cell.name
            state = (
                "finished"
                if is_finished(cell_dir, cell_identity(sweep, cell))
                else "partial"
                if cell_dir.exists()
                else "to run"
            )
            click.echo(f"{cell.name}  ({state})")
        return
    outcomes = run_sweep(
        sweep_file, out, only=list(only) or None, progress=not no_progress, echo=click.echo
    )
    failed = [o for o in outcomes if o.status == "failed"]
    _print_board(out)
    click.echo(f"results: {out}/results.md, {out}/results.csv")
    if failed:
        click.echo(f"{len(failed)} cell(s) failed: {', '.join(o.name for o in failed)}", err=True)
        raise SystemExit(ExitCode.RUN_FAILED)


def _print_board(runs_dir: Path) -> None:
    from rich.console import Console

    from ..experiments.leaderboard import collect
    from ..experiments.render import console_table

    Console(width=200).print(console_table(collect(runs_dir)))


@click.command("leaderboard")
@click.argument("runs_dir", type=click.Path(path_type=Path))
@click.option("--html", "html_out", type=click.Path(path_type=Path), help="Write HTML here.")
@click.option("--md", "md_out", type=click.Path(path_type=Path), help="Write Markdown here.")
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), help="Write CSV here.")
@click.option(
    "--png",
    "png_out",
    type=click.Path(path_type=Path),
    help="Write the plots here (PNG; linked from --md).",
)
def leaderboard_cmd(
    runs_dir: Path,
    html_out: Path | None,
    md_out: Path | None,
    csv_out: Path | None,
    png_out: Path | None,
) -> None:
    """One row per sweep cell under RUNS_DIR, best first, with per-task-type and per-task
    scores, failures, speed, tokens and model identity."""
    import os

    from ..experiments.leaderboard import collect, to_csv
    from ..experiments.render import to_html, to_markdown

    board = collect(runs_dir)
    _print_board(runs_dir)
    if png_out:
        from ..experiments.plots import leaderboard_figure, plots_available

        if not plots_available():
            raise click.UsageError("--png needs matplotlib: pip install 'extractinator[report]'")
        leaderboard_figure(board, png_out)
        click.echo(f"→ {png_out}")
    if md_out:
        png = os.path.relpath(png_out, md_out.parent) if png_out else None
        md_out.write_text(to_markdown(board, png), encoding="utf-8")
        click.echo(f"→ {md_out}")
    if html_out:
        html_out.write_text(to_html(board), encoding="utf-8")
        click.echo(f"→ {html_out}")
    if csv_out:
        csv_out.write_text(to_csv(board), encoding="utf-8")
        click.echo(f"→ {csv_out}")


@click.command("compare")
@click.argument("cell_a", type=click.Path(path_type=Path))
@click.argument("cell_b", type=click.Path(path_type=Path))
@click.option("--n-boot", default=1000, show_default=True, type=click.IntRange(10, 100_000))
@click.option("--confidence", default=0.95, show_default=True, type=click.FloatRange(0.5, 0.999))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Also write JSON.")
def compare_cmd(
    cell_a: Path, cell_b: Path, n_boot: int, confidence: float, seed: int, json_out: Path | None
) -> None:
    """Paired comparison of two cells (B - A): per-task differences with a bootstrap
    confidence interval over the cases both ran."""
    from ..experiments.compare import compare_cells, format_comparison

    result = compare_cells(cell_a, cell_b, n_boot=n_boot, confidence=confidence, seed=seed)
    click.echo(format_comparison(result))
    if json_out:
        json_out.write_text(result.model_dump_json(indent=2), encoding="utf-8")


COMMANDS = (sweep_cmd, leaderboard_cmd, compare_cmd)
