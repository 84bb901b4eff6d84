"""The leaderboard: one row per cell found under a runs directory, sorted by overall score,
with the published reference figures alongside for the DRAGON synthetic tasks."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import ExtractinatorError, RunDirError
from .scoring import (
    CELL_JSON,
    SCORES_JSON,
    TASK_TYPES,
    CellScores,
    TaskScore,
    dragon_task_type,
    read_cell,
    score_cell,
    type_means,
)
from .sweep import ModelEntry

# Published fine-tuned baseline on the DRAGON synthetic example tasks (dragon-eval's example
# scores: distilbert-base-multilingual-cased, mean of 5 folds; ../shared/dragon-synthetic).
DRAGON_SYNTHETIC_BASELINE = {
    "Task101_Example_sl_bin_clf": 0.943,
    "Task102_Example_sl_mc_clf": 0.864,
    "Task103_Example_mednli": 0.838,
    "Task104_Example_ml_bin_clf": 0.990,
    "Task105_Example_ml_mc_clf": 0.897,
    "Task106_Example_sl_reg": 0.890,
    "Task107_Example_ml_reg": 0.823,
    "Task108_Example_sl_ner": 0.446,
    "Task109_Example_ml_ner": 0.536,
}
BASELINE_LABEL = "fine-tuned baseline (published, 5 folds, all cases)"


class Row(BaseModel):
    """One leaderboard row: a cell, or a reference."""

    name: str
    model: str  # the sweep's model label
    model_identity: str | None = None  # e.g. gguf:<sha256> and the file name
    few_shot: int | None = None
    translate: bool | None = None
    samples: int | None = None
    temperature: float | None = None
    prompt: str | None = None
    status: str  # finished | running (partial) | failed | reference
    error: str | None = None
    overall: float | None = None
    types: dict[str, float] = Field(default_factory=dict)
    tasks: dict[str, float | None] = Field(default_factory=dict)
    cases: int | None = None
    failed: int | None = None
    cases_per_min: float | None = None
    tokens_per_case: float | None = None
    wall_seconds: float | None = None
    path: str | None = None
    metric: str | None = None
    benchmark: str | None = None  # dragon | task

    @property
    def reference(self) -> bool:
        return self.status == "reference"


class Leaderboard(BaseModel):
    runs_dir: str
    metric: str  # what `overall` is
    benchmark: str | None = None  # dragon | task | mixed
    rows: list[Row]  # cells, best first
    references: list[Row] = Field(default_factory=list)
    tasks: list[str]  # task (or field) columns, in order
    types: list[str]  # task-type columns present


def _identity(scores: CellScores) -> str | None:
    if scores.model_id is None:
        return scores.model
    ident = scores.model_id
    if ident.startswith("gguf:"):
        ident = f"gguf:{ident[5:17]}…"
    name = Path(scores.model).name if scores.model else None
    return f"{name} ({ident})" if name and name not in ident else ident


def _model_label(model: dict[str, Any]) -> str:
    try:
        return ModelEntry.model_validate(model).label
    except ValueError:
        return "?"


def cell_row(cell_dir: Path) -> Row:
    """The row of one cell: its stored scores, or (unfinished / failed) scored now."""
    info = read_cell(cell_dir)
    settings = info.get("settings") or {}
    model = settings.get("model") or {}
    status = info.get("status", "running")
    error = info.get("error")
    row = Row(
        name=info.get("name", cell_dir.name),
        model=_model_label(model),
        few_shot=settings.get("few_shot"),
        translate=settings.get("translate"),
        samples=settings.get("samples"),
        temperature=settings.get("temperature"),
        prompt=settings.get("prompt"),
        status=status,
        error=error,
        wall_seconds=info.get("wall_seconds"),
        path=str(cell_dir),
    )
    scores: CellScores | None = None
    if status == "finished" and (cell_dir / SCORES_JSON).exists():
        scores = CellScores.model_validate_json((cell_dir / SCORES_JSON).read_text("utf-8"))
    else:
        try:
            scores = score_cell(cell_dir)
        except ExtractinatorError as e:
            row.error = row.error or str(e)
    if scores is not None:
        row.metric = scores.metric
        row.overall = scores.overall
        row.types = scores.types
        row.tasks = {name: t.score for name, t in scores.tasks.items()}
        row.cases, row.failed = scores.cases, scores.failed
        row.cases_per_min, row.tokens_per_case = scores.cases_per_min, scores.tokens_per_case
        row.model_identity = _identity(scores)
        row.benchmark = scores.benchmark
    return row


def _sort_key(row: Row) -> tuple[bool, float, str]:
    return (row.overall is None, -(row.overall or 0.0), row.name)


def baseline_row(tasks: list[str]) -> Row | None:
    """The published baseline on these tasks, when they are all DRAGON synthetic tasks."""
    if not tasks or any(t not in DRAGON_SYNTHETIC_BASELINE for t in tasks):
        return None
    scores = {t: DRAGON_SYNTHETIC_BASELINE[t] for t in tasks}
    typed = {t: TaskScore(type=dragon_task_type(t), metric="", score=s) for t, s in scores.items()}
    return Row(
        name=BASELINE_LABEL,
        model="distilbert-base-multilingual-cased",
        status="reference",
        overall=sum(scores.values()) / len(scores),
        types=type_means(typed),
        tasks=dict(scores),
    )


def collect(runs_dir: str | Path) -> Leaderboard:
    """Every cell under RUNS_DIR (any depth), one row each."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RunDirError(f"{runs_dir}: not a directory")
    cells = sorted(p.parent for p in runs_dir.rglob(CELL_JSON))
    if not cells:
        raise RunDirError(f"{runs_dir}: no sweep cells found (no */{CELL_JSON})")
    rows = sorted((cell_row(c) for c in cells), key=_sort_key)
    tasks: list[str] = sorted({t for r in rows for t in r.tasks})
    types = [t for t in TASK_TYPES if any(t in r.types for r in rows)]
    types += sorted({t for r in rows for t in r.types} - set(types))
    kinds = {r.benchmark for r in rows} - {None}
    metrics = {r.metric for r in rows} - {None}
    references = []
    if kinds == {"dragon"}:
        ref = baseline_row(tasks)
        if ref is not None:
            references.append(ref)
    return Leaderboard(
        runs_dir=str(runs_dir),
        metric=" / ".join(sorted(metrics)) or "score",
        benchmark=kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None),
        rows=rows,
        references=references,
        tasks=tasks,
        types=types,
    )


def short_task(name: str) -> str:
    """Task101_Example_sl_bin_clf -> Task101 (column headers)."""
    return name[:7] if name.startswith("Task") and name[4:7].isdigit() else name


CSV_COLUMNS = (
    "rank",
    "name",
    "model",
    "few_shot",
    "translate",
    "samples",
    "temperature",
    "prompt",
    "status",
    "overall",
)


def to_csv(board: Leaderboard) -> str:
    """The leaderboard as CSV (references last, rank empty)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    tail = [
        "cases",
        "failed",
        "cases_per_min",
        "tokens_per_case",
        "wall_seconds",
        "model_identity",
        "error",
    ]
    writer.writerow([*CSV_COLUMNS, *board.types, *board.tasks, *tail])
    for rank, row in _ranked(board):
        data = row.model_dump()
        writer.writerow(
            [
                rank if rank else "",
                *(data[c] for c in CSV_COLUMNS[1:]),
                *(row.types.get(t) for t in board.types),
                *(row.tasks.get(t) for t in board.tasks),
                *(data[c] for c in tail),
            ]
        )
    return buf.getvalue()


def _ranked(board: Leaderboard) -> list[tuple[int | None, Row]]:
    ranked: list[tuple[int | None, Row]] = [
        (i if row.overall is not None else None, row) for i, row in enumerate(board.rows, 1)
    ]
    return ranked + [(None, ref) for ref in board.references]


def write_results(board: Leaderboard, out: Path) -> list[Path]:
    """OUT/results.md and OUT/results.csv (the sweep's results table)."""
    from .render import to_markdown

    md = out / "results.md"
    md.write_text(to_markdown(board), encoding="utf-8")
    path = out / "results.csv"
    path.write_text(to_csv(board), encoding="utf-8")
    return [md, path]


def as_records(board: Leaderboard) -> list[dict[str, Any]]:
    """Rows as plain dicts (for templates and JSON)."""
    return [row.model_dump() | {"rank": rank} for rank, row in _ranked(board)]
