"""Score one cell directory: per-task scores, per task-type means, the overall score, and the
cost of getting them (cases, failures, model time, tokens, model identity).

DRAGON cells are scored exactly as ``extractinator dragon evaluate --partial`` scores them
(the official metrics on the cases run; the overall score is the DRAGON utility, the mean
of the task means). Task cells are scored per labelled field with ``extractinator
evaluate``: accuracy (boolean, enum, string, list, object), the share within 5% (numbers) or
span F1 by offsets (spans); the overall score is the mean over fields. Held-out cells are
scored as benchmarks/heldout.py scores them (experiments/heldout_scoring.py): the mean of
the task means, and means per field kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import ExtractinatorError, RunDirError
from ..sink import RunDir
from .sweep import DragonBenchmark, HeldoutBenchmark, TaskBenchmark

CELL_JSON = "cell.json"
SCORES_JSON = "scores.json"
TASK_TYPES = ("classification", "regression", "ner")


class TaskScore(BaseModel):
    """One DRAGON task (mean over folds) or one labelled field of a task benchmark."""

    type: str  # classification | regression | ner
    metric: str
    score: float | None
    cases: int = 0


class CellScores(BaseModel):
    """What the leaderboard shows of one cell (``scores.json``)."""

    benchmark: Literal["dragon", "task", "heldout"]
    metric: str  # what `overall` is
    overall: float | None = None
    types: dict[str, float] = Field(default_factory=dict)  # task type -> mean task score
    tasks: dict[str, TaskScore] = Field(default_factory=dict)
    cases: int = 0  # cases of the main runs (translations not counted)
    failed: int = 0
    seconds: float = 0.0  # model time, translations included
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_id: str | None = None
    model: str | None = None  # GGUF path or server model name
    notes: list[str] = Field(default_factory=list)

    @property
    def cases_per_min(self) -> float | None:
        return 60 * self.cases / self.seconds if self.seconds > 0 else None

    @property
    def tokens_per_case(self) -> float | None:
        tokens = self.prompt_tokens + self.completion_tokens
        return tokens / self.cases if self.cases else None


def dragon_task_type(task_name: str) -> str:
    """classification, regression or ner, from the task's official metric."""
    from ..dragon.metrics import MetricKind, metric_kind

    kind = metric_kind(task_name)
    if kind is MetricKind.RSMAPE:
        return "regression"
    return "ner" if kind.value.startswith("ner") else "classification"


def type_means(tasks: dict[str, TaskScore]) -> dict[str, float]:
    by_type: dict[str, list[float]] = {}
    for t in tasks.values():
        if t.score is not None:
            by_type.setdefault(t.type, []).append(t.score)
    order = {name: i for i, name in enumerate(TASK_TYPES)}
    return {
        k: sum(v) / len(v) for k, v in sorted(by_type.items(), key=lambda kv: order.get(kv[0], 9))
    }


def _tally(scores: CellScores, rundir: Path, *, main: bool) -> None:
    """Add one run directory's records (and, for a main run, its model identity)."""
    run = RunDir(rundir)
    if not run.records_path.exists():
        return
    for rec in run.latest_records():
        if main:
            scores.cases += 1
            scores.failed += not rec.ok
        scores.seconds += rec.seconds
        scores.prompt_tokens += rec.prompt_tokens
        scores.completion_tokens += rec.completion_tokens
    manifest = run.read_manifest() or {}
    if main and scores.model_id is None:
        scores.model_id = manifest.get("model_id")
        engine = manifest.get("engine") or {}
        scores.model = engine.get("model_path") or engine.get("model")


def score_dragon_cell(cell_dir: Path, bench: DragonBenchmark, translate: bool) -> CellScores:
    """Scores of a DRAGON cell: every task whose folds all have predictions."""
    from ..dragon.evaluate import PREDICTIONS_FILE, evaluate
    from ..dragon.metrics import describe_metric

    scores = CellScores(benchmark="dragon", metric="DRAGON utility")
    jobs = sorted(p.parent for p in cell_dir.glob(f"Task*-fold*/{PREDICTIONS_FILE}"))
    for job in sorted(p for p in cell_dir.glob("Task*-fold*") if p.is_dir()):
        _tally(scores, job / ("run-translated" if translate else "run"), main=True)
        _tally(scores, job / "translate", main=False)
    folds: dict[str, set[int]] = {}
    for job in jobs:
        task, _, fold = job.name.rpartition("-fold")
        folds.setdefault(task, set()).add(int(fold))
    wanted = set(bench.folds) if bench.folds else None
    complete = sorted(t for t, f in folds.items() if wanted is None or wanted <= f)
    if not complete:
        scores.notes.append("no task has predictions yet")
        return scores
    fold_list = sorted(wanted or set.intersection(*(folds[t] for t in complete)))
    result = evaluate(
        bench.ground_truth or bench.dragon.parent / "test-ground-truth",
        cell_dir,
        folds=fold_list,
        tasks=complete,
        partial=True,
    )
    counts = result.get("partial_cases", {})
    for task in complete:
        scores.tasks[task] = TaskScore(
            type=dragon_task_type(task),
            metric=describe_metric(task),
            score=result["aggregates"][task]["mean"],
            cases=sum(n for job, n in counts.items() if job.startswith(f"{task}-fold")),
        )
    scores.overall = result["aggregates"]["overall"]["mean"]
    scores.types = type_means(scores.tasks)
    return scores


def score_task_cell(cell_dir: Path, bench: TaskBenchmark) -> CellScores:
    """Scores of a task cell: each labelled field, then their mean."""
    from ..reports.evaluate import evaluate_run

    scores = CellScores(
        benchmark="task", metric="mean field score (accuracy / within 5% / span F1)"
    )
    _tally(scores, cell_dir, main=True)
    if scores.cases == 0:
        scores.notes.append("no records yet")
        return scores
    assert bench.labels is not None
    evaluation = evaluate_run(cell_dir, bench.labels, id_column=bench.id, partial=True)
    for name, field in evaluation.fields.items():
        numeric = field.type in ("integer", "number")
        if field.type == "spans":
            task_type, metric = "ner", "span F1 (offsets)"
            score = field.spans_offsets.f1 if field.spans_offsets else None
        else:
            task_type = "regression" if numeric else "classification"
            metric = "within 5%" if numeric else "accuracy"
            score = field.within_5pct if numeric else field.accuracy
        scores.tasks[name] = TaskScore(type=task_type, metric=metric, score=score, cases=field.n)
    scores.notes.extend(evaluation.notes)
    done = [t.score for t in scores.tasks.values() if t.score is not None]
    scores.overall = sum(done) / len(done) if done else None
    scores.types = type_means(scores.tasks)
    return scores


def score_heldout_cell(cell_dir: Path, bench: HeldoutBenchmark) -> CellScores:
    """Scores of a held-out cell (``benchmarks/heldout.py``'s scoring): each task's mean
    over its fields, the overall mean of task means, and per field kind the mean over all
    fields of that kind (in ``types``)."""
    from .heldout import load_tasks
    from .heldout_scoring import score_run_dirs

    scores = CellScores(benchmark="heldout", metric="held-out mean (mean of task means)")
    tasks = load_tasks(bench.heldout, bench.tasks)
    for ht in tasks:
        _tally(scores, cell_dir / ht.name, main=True)
    if scores.cases == 0:
        scores.notes.append("no records yet")
        return scores
    result = score_run_dirs(tasks, bench.split, cell_dir, limit=bench.limit)
    for name, task in result.tasks.items():
        scores.tasks[name] = TaskScore(
            type="heldout", metric="mean over fields", score=task.mean, cases=task.cases
        )
    scores.overall = result.overall
    scores.types = dict(result.kinds)
    return scores


def read_cell(cell_dir: Path) -> dict[str, Any]:
    """The cell's ``cell.json``."""
    path = cell_dir / CELL_JSON
    if not path.is_file():
        raise RunDirError(f"{cell_dir}: not a sweep cell (no {CELL_JSON})")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RunDirError(f"{path}: unreadable cell file ({e})") from None
    return data


def score_cell(cell_dir: Path) -> CellScores:
    """Score a cell directory from its records and predictions (whatever state it is in)."""
    from .sweep import CellSettings

    info = read_cell(cell_dir)
    bench_raw = info.get("benchmark") or {}
    settings = CellSettings.model_validate(info["settings"])
    try:
        if "dragon" in bench_raw:
            bench = DragonBenchmark.model_validate(bench_raw)
            return score_dragon_cell(cell_dir, bench, settings.translate)
        if "heldout" in bench_raw:
            return score_heldout_cell(cell_dir, HeldoutBenchmark.model_validate(bench_raw))
        return score_task_cell(cell_dir, TaskBenchmark.model_validate(bench_raw))
    except ExtractinatorError:
        raise
    except (KeyError, ValueError) as e:
        raise RunDirError(f"{cell_dir}: cannot score the cell ({e})") from None
