#!/usr/bin/env python3
"""The held-out benchmark: user-style tasks with gold labels, run and scored per task and
per field kind, optionally beside llm_extractinator 0.7.1 (benchmarks/heldout_peer.py).

  python benchmarks/heldout.py [--root DIR] [--tasks a b] [--split dev|test|all]
      [engine options of `extractinator run`] [--out runs/heldout] [--json FILE]
      [--peer PEER_OUT_DIR] [--limit N] [--score-only [--retrim amounts|qualifiers|none] [--reread]]

Each task's cases of the split run through the ordinary runner into ``OUT/<task>/`` (a run
directory: resumable, inspectable with ``extractinator report``). Scoring rules are in
src/extractinator/experiments/heldout_scoring.py. The dev split is for looking at errors and
choosing defaults; the test split is reported only, never used to choose anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, get_args

import click

from extractinator.cli.options import build_config, engine_options, samples_option
from extractinator.errors import ConfigError, ExtractinatorError
from extractinator.experiments.heldout import DEFAULT_ROOT, SPLITS, load_tasks, run_heldout
from extractinator.experiments.heldout_scoring import HeldoutResult, score_run_dirs
from extractinator.experiments.heldout_table import format_markdown, format_results
from extractinator.task.spec import SpanTrim


def expand_tasks(argv: list[str]) -> list[str]:
    """``--tasks a b`` -> ``--tasks a --tasks b`` (click options take one value each)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        out.append(arg)
        i += 1
        if arg == "--tasks":
            first = True
            while i < len(argv) and not argv[i].startswith("-"):
                if not first:
                    out.append("--tasks")
                out.append(argv[i])
                first, i = False, i + 1
    return out


class _OneLineErrors(click.Command):
    """Errors the user can act on as one line (exit 2), like the extractinator CLI."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExtractinatorError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished cases are saved; rerun to resume", err=True)
            sys.exit(130)


@click.command(cls=_OneLineErrors)
@click.option("--root", type=click.Path(path_type=Path), default=DEFAULT_ROOT, show_default=True)
@click.option("--tasks", "task_names", multiple=True, help="Task folder names (default: all).")
@click.option("--split", type=click.Choice(SPLITS), default="dev", show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("runs/heldout"), show_default=True
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write all results.")
@click.option("--markdown", type=click.Path(path_type=Path), help="Write the table as Markdown.")
@click.option("--peer", type=click.Path(path_type=Path), help="heldout_peer.py's --out folder.")
@click.option(
    "--variant",
    default=None,
    help="Use each task's task.<VARIANT>.yaml where it has one (e.g. features).",
)
@click.option("--score-only", is_flag=True, help="Score the run directories; run nothing.")
@click.option(
    "--retrim",
    type=click.Choice(get_args(SpanTrim)),
    help="With --score-only: cut the spans the model wrote again with this trim mode.",
)
@click.option(
    "--reread",
    is_flag=True,
    help="With --score-only: read the amounts the model wrote again by the current rules.",
)
@click.option("--overwrite", is_flag=True, help="Replace a different run in OUT/<task>.")
@click.option("--retry-failed", is_flag=True, help="Run failed cases again.")
@engine_options
@samples_option
def main(
    root: Path,
    task_names: tuple[str, ...],
    split: str,
    out: Path,
    json_path: Path | None,
    markdown: Path | None,
    peer: Path | None,
    variant: str | None,
    score_only: bool,
    retrim: SpanTrim | None,
    reread: bool,
    **kw: Any,
) -> None:
    """Run and score the held-out benchmark (and the peer beside it with --peer)."""
    tasks = load_tasks(root, list(task_names) or None, variant)
    config = build_config(**kw)
    if (retrim is not None or reread) and not score_only:
        raise ConfigError("--retrim and --reread rescore finished runs: use --score-only")
    if not score_only:
        run_heldout(tasks, split, out, config, echo=click.echo)
    ours = score_run_dirs(tasks, split, out, limit=config.limit, retrim=retrim, reread=reread)
    systems = [ours]
    if peer is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from heldout_peer import read_peer

        if not (peer / "peer.json").is_file():
            raise ConfigError(f"{peer}: no peer.json (run benchmarks/heldout_peer.py --out first)")
        systems.append(read_peer(peer, tasks, split, config.limit))
    result = HeldoutResult(
        root=str(root),
        split=split,
        limit=config.limit,
        tasks=[t.name for t in tasks],
        command=" ".join(["python", *sys.argv]),
        systems=systems,
    )
    click.echo(format_results(result))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
        click.echo(f"→ {json_path}")
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(format_markdown(result) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(args=expand_tasks(sys.argv[1:]), prog_name="benchmarks/heldout.py")
