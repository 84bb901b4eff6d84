"""Score DRAGON predictions folders the way dragon-eval 0.2.11 does, without dragon-eval.

Layout (as dragon-eval expects it):

    <ground_truth_dir>/<Task>.json                                    ground truth per task
    <predictions_dir>/<Task>-fold<k>/nlp-predictions-dataset.json     predictions per fold

The result has the structure of dragon-eval's metrics.json:
`{"case": {task: {"<task>-fold<k>": score}}, "aggregates": {task: {"mean", "std"}, ...,
"overall": {"mean", "std"}}, "version": "0.2.11"}`, where the overall mean is the mean of the
task means and the overall std the mean of the task stds (population std over folds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from extractinator.dragon.metrics import (
    DRAGON_EVAL_VERSION,
    TASK_KINDS,
    describe_metric,
    metric_kind,
    score_task,
)
from extractinator.errors import DataError

PREDICTIONS_FILE = "nlp-predictions-dataset.json"
DEFAULT_FOLDS = (0, 1, 2, 3, 4)


def load_records(path: Path, what: str) -> list[dict[str, Any]]:
    """A JSON file holding a list of objects; DataError naming the file otherwise."""
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read {what} file: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(rec, dict) for rec in data):
        raise DataError(f"{path}: expected a JSON list of objects")
    return data


def resolve_tasks(ground_truth_dir: Path, tasks: Iterable[str] | None) -> list[str]:
    """Task names to evaluate: all `*.json` in the ground truth folder, or the given (partial)
    names, each matching exactly one ground-truth file (as dragon-eval resolves them)."""
    if tasks is None:
        found = sorted(path.stem for path in ground_truth_dir.glob("*.json"))
        if not found:
            raise DataError(f"{ground_truth_dir}: no ground truth files (*.json) found")
        return found
    requested = list(tasks)
    names = []
    for task in requested:
        if (ground_truth_dir / f"{task}.json").exists():
            names.append(task)
            continue
        matches = sorted(path.stem for path in ground_truth_dir.glob(f"*{task}*.json"))
        if len(matches) != 1:
            problem = "no ground truth file" if not matches else f"several files {matches}"
            raise DataError(f"{ground_truth_dir}: task {task!r} matches {problem}")
        names.append(matches[0])
    if len(set(names)) != len(requested):
        raise DataError(f"{ground_truth_dir}: duplicate tasks in {names}")
    return names


def aggregate(case_scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-task mean and (population) std over folds, plus the overall means of both."""
    result = {
        task: {"mean": float(np.mean(list(s.values()))), "std": float(np.std(list(s.values())))}
        for task, s in case_scores.items()
    }
    result["overall"] = {
        "mean": float(np.mean([r["mean"] for r in result.values()])),
        "std": float(np.mean([r["std"] for r in result.values()])),
    }
    return result


def evaluate(
    ground_truth_dir: str | PathLike[str],
    predictions_dir: str | PathLike[str],
    *,
    folds: Iterable[int] | int = DEFAULT_FOLDS,
    tasks: Iterable[str] | str | None = None,
    output_file: str | PathLike[str] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Score every task and fold; optionally write the result as JSON to `output_file`.

    ``partial`` scores only the ground-truth cases that have a prediction (a ``--limit``
    run); the result then records how many cases each score is based on."""
    gt_dir, pred_dir = Path(ground_truth_dir), Path(predictions_dir)
    if isinstance(tasks, str):
        tasks = [tasks]
    if not gt_dir.is_dir():
        raise DataError(f"{gt_dir}: ground truth folder not found")
    task_names = resolve_tasks(gt_dir, tasks)
    fold_list = [folds] if isinstance(folds, int) else list(folds)
    if not fold_list:
        raise DataError("no folds to evaluate")
    for task in task_names:
        try:
            metric_kind(task)
        except DataError as exc:
            raise DataError(f"{gt_dir / (task + '.json')}: {exc}") from None
    case: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for task in task_names:
        gt_path = gt_dir / f"{task}.json"
        ground_truth = load_records(gt_path, "ground truth")
        for fold in fold_list:
            job = f"{task}-fold{fold}"
            pred_path = pred_dir / job / PREDICTIONS_FILE
            predictions = load_records(pred_path, "predictions")
            scored = ground_truth
            if partial:
                predicted = {str(p.get("uid")) for p in predictions}
                scored = [g for g in ground_truth if str(g.get("uid")) in predicted]
                counts[job] = len(scored)
            case.setdefault(task, {})[job] = score_task(
                task,
                scored,
                predictions,
                ground_truth_source=str(gt_path),
                predictions_source=str(pred_path),
            )
    result: dict[str, Any] = {
        "case": case,
        "aggregates": aggregate(case),
        "version": DRAGON_EVAL_VERSION,
    }
    if partial:
        result["partial_cases"] = counts
    if output_file is not None:
        Path(output_file).write_text(json.dumps(result), encoding="utf-8")
    return result


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table: task, metric, per-fold scores, mean and std, then the overall line."""
    case, aggregates = result["case"], result["aggregates"]
    rows = [("task", "metric", "folds", "mean", "std")]
    for task, scores in case.items():
        metric = describe_metric(task) if task in TASK_KINDS else "?"
        folds = " ".join(f"{score:.3f}" for score in scores.values())
        agg = aggregates[task]
        rows.append((task, metric, folds, f"{agg['mean']:.4f}", f"{agg['std']:.4f}"))
    overall = aggregates["overall"]
    tasks_note = f"{len(case)} task{'s' if len(case) != 1 else ''}"
    if "partial_cases" in result:
        tasks_note += f", partial: {sum(result['partial_cases'].values())} cases"
    rows.append(
        (
            "overall",
            f"mean over {tasks_note}",
            "",
            f"{overall['mean']:.4f}",
            f"{overall['std']:.4f}",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for i, row in enumerate(rows):
        cells = [
            cell.ljust(w) if j < 3 else cell.rjust(w)
            for j, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
