"""Calibration of DRAGON binary predictions (P(true) per case, or per label for multi-label
binary tasks) against the ground truth, pooled over folds and labels."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..reports import calibration as cal
from ..reports.evaluate import CURVE_THRESHOLDS, CalibrationReport
from ..reports.plots import INSTALL_HINT, coverage_plot, matplotlib_available, reliability_plot
from ..sink import write_json_atomic
from .evaluate import PREDICTIONS_FILE, load_records, resolve_tasks
from .metrics import MetricKind, label_name_of, metric_kind

CALIBRATION_JSON = "calibration.json"
BINARY_KINDS = (MetricKind.AUC, MetricKind.AUC_PER_LABEL)
METHOD = "DRAGON predictions: P(true)"


def binary_report(p_true: list[float], truths: list[bool]) -> CalibrationReport:
    """Calibration of P(true): the prediction is p >= 0.5, its confidence max(p, 1 - p)."""
    pairs = [cal.binary_confidence(p, t) for p, t in zip(p_true, truths, strict=True)]
    confidences = [c for c, _ in pairs]
    correct = [ok for _, ok in pairs]
    return CalibrationReport(
        method=METHOD,
        n=len(pairs),
        ece=cal.expected_calibration_error(confidences, correct),
        brier=cal.brier_score(
            [{"true": p} for p in p_true], ["true" if t else "false" for t in truths], binary=True
        ),
        brier_kind="binary",
        auc=cal.roc_auc(p_true, truths),
        bins=cal.reliability_bins(confidences, correct),
        coverage_curve=cal.coverage_curve(confidences, correct),
        curve=cal.coverage_curve(confidences, correct, CURVE_THRESHOLDS),
    )


def _truth(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise DataError(f"{where}: {value!r} is not a binary label")


def _probability(value: Any, where: str) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and 0.0 <= value <= 1.0:
        return float(value)
    raise DataError(f"{where}: {value!r} is not a probability in [0, 1]")


def _pairs(pred: Any, truth: Any, where: str) -> list[tuple[Any, Any]]:
    if isinstance(truth, list):
        if not isinstance(pred, list) or len(pred) != len(truth):
            raise DataError(f"{where}: expected a list of {len(truth)} probabilities")
        return list(zip(pred, truth, strict=True))
    return [(pred, truth)]


def task_calibration(
    task: str, gt_dir: Path, pred_dir: Path, folds: Iterable[int]
) -> CalibrationReport:
    """Pool every predicted case (and label) of the task's folds into one report."""
    gt_path = gt_dir / f"{task}.json"
    ground_truth = load_records(gt_path, "ground truth")
    label = label_name_of(ground_truth, str(gt_path))
    key = label.removesuffix("_target")
    truth_by_uid = {str(case.get("uid")): case.get(label) for case in ground_truth}
    p_true: list[float] = []
    truths: list[bool] = []
    for fold in folds:
        pred_path = pred_dir / f"{task}-fold{fold}" / PREDICTIONS_FILE
        for rec in load_records(pred_path, "predictions"):
            uid = str(rec.get("uid"))
            if uid not in truth_by_uid:
                raise DataError(f"{pred_path}: uid {uid!r}: not in the ground truth")
            where = f"{pred_path}: uid {uid!r}: {key!r}"
            for p, t in _pairs(rec.get(key), truth_by_uid[uid], where):
                p_true.append(_probability(p, where))
                truths.append(_truth(t, f"{gt_path}: uid {uid!r}: {label!r}"))
    return binary_report(p_true, truths)


def dragon_calibration(
    ground_truth_dir: str | Path,
    predictions_dir: str | Path,
    out_dir: str | Path,
    *,
    folds: Iterable[int],
    tasks: Iterable[str] | None = None,
) -> tuple[dict[str, CalibrationReport], list[str]]:
    """Reports for the binary tasks among ``tasks``, written to OUT_DIR/calibration.json
    with a reliability and a coverage PNG per task; returns them and notes."""
    gt_dir, pred_dir, out = Path(ground_truth_dir), Path(predictions_dir), Path(out_dir)
    fold_list = list(folds)
    names = [t for t in resolve_tasks(gt_dir, tasks) if metric_kind(t) in BINARY_KINDS]
    notes = [] if names else ["no binary classification task to calibrate"]
    reports = {task: task_calibration(task, gt_dir, pred_dir, fold_list) for task in names}
    out.mkdir(parents=True, exist_ok=True)
    plots: dict[str, dict[str, str]] = {}
    if reports and not matplotlib_available():
        notes.append(INSTALL_HINT)
    elif reports:
        for task, report in reports.items():
            title = f"{task} (n={report.n})"
            plots[task] = {
                "reliability": reliability_plot(
                    report.bins, out / f"{task}_reliability.png", title
                ).name,
                "coverage": coverage_plot(report.curve, out / f"{task}_coverage.png", title).name,
            }
    data = {
        "folds": fold_list,
        "tasks": {
            t: {**r.model_dump(mode="json"), "plots": plots.get(t, {})} for t, r in reports.items()
        },
        "notes": notes,
    }
    write_json_atomic(out / CALIBRATION_JSON, data)
    return reports, notes
