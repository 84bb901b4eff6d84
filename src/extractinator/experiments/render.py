"""Leaderboard as Markdown, self-contained HTML (plots embedded as base64 PNG) and a console
table. Templates (jinja2) live in ``templates/``; HTML is autoescaped."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any

import jinja2

from .leaderboard import Leaderboard, as_records, short_task

TEMPLATES = Path(__file__).parent / "templates"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:.{digits}f}"


def _yesno(value: bool | None) -> str:
    return "—" if value is None else ("on" if value else "off")


def _md(value: Any) -> str:
    """A value safe inside a Markdown table cell."""
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=_num, yesno=_yesno, md=_md, short=short_task)
    return env


def _context(board: Leaderboard) -> dict[str, Any]:
    rows = as_records(board)
    return {
        "board": board,
        "rows": rows,
        "cells": len(board.rows),
        "errors": [r for r in rows if r["error"]],
    }


def to_markdown(board: Leaderboard, png: str | None = None) -> str:
    """The leaderboard as Markdown; ``png`` is a path (relative to the Markdown file) of the
    plot to link."""
    text = _environment().get_template("leaderboard.md").render(**_context(board), png=png)
    return text.rstrip() + "\n"


def to_html(board: Leaderboard) -> str:
    """A self-contained HTML page: the table and, with matplotlib, the plots inline."""
    from .plots import leaderboard_figure, plots_available

    png_data, note = None, None
    if not plots_available():
        note = "Plots need matplotlib: pip install 'extractinator[report]'"
    elif board.rows:
        with tempfile.TemporaryDirectory() as tmp:
            path = leaderboard_figure(board, Path(tmp) / "leaderboard.png")
            png_data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        _environment()
        .get_template("leaderboard.html")
        .render(**_context(board), png_data=png_data, plot_note=note)
    )


def console_table(board: Leaderboard) -> Any:
    """A rich Table: rank, cell, overall, type means, per-task scores and speed."""
    from rich.table import Table

    table = Table(title=f"{board.metric} · {board.runs_dir}", show_lines=False)
    for col in ("#", "cell", "overall", *board.types, *map(short_task, board.tasks)):
        table.add_column(col, justify="left" if col == "cell" else "right")
    for col in ("cases", "failed", "cases/min", "tokens/case", "status"):
        table.add_column(col, justify="right")
    for r in as_records(board):
        table.add_row(
            str(r["rank"] or ""),
            r["name"],
            _num(r["overall"]),
            *(_num(r["types"].get(t)) for t in board.types),
            *(_num(r["tasks"].get(t)) for t in board.tasks),
            _num(r["cases"], 0),
            _num(r["failed"], 0),
            _num(r["cases_per_min"], 1),
            _num(r["tokens_per_case"], 0),
            r["status"] + (f": {r['error']}" if r["error"] else ""),
        )
    return table
