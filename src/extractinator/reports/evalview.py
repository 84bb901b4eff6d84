"""Evaluation as the studio and the HTML report show it: the per-field metrics of
:func:`evaluate_run`, a confusion matrix per boolean/enum field, and the calibration PNGs.

Labels files whose columns carry a prefix (``expected_side`` for field ``side``, as in the
bundled radiology example) are read through :func:`strip_label_prefix`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import data_columns, is_missing, read_rows
from .evaluate import Evaluation, evaluate_run, load_run, option_key, write_evaluation
from .labels import UNLABELLED, read_labels

FAILED = "(failed)"  # the predicted "value" of a case whose record failed


@dataclass
class Confusion:
    """Counts of (label, prediction) for one field; rows are labels, columns predictions."""

    field: str
    options: list[str]
    predicted: list[str]
    counts: list[list[int]]

    @property
    def max(self) -> int:
        return max((c for row in self.counts for c in row), default=0)


@dataclass
class EvaluationView:
    evaluation: Evaluation
    confusions: list[Confusion]
    plots: dict[str, dict[str, Path]] = field(default_factory=dict)  # field -> kind -> PNG


def strip_label_prefix(labels: Path, prefix: str, out_dir: Path) -> Path:
    """A JSONL copy of ``labels`` with ``prefix`` removed from the column names that have
    it (other columns kept), for labels files like ``expected_<field>``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "labels_unprefixed.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for _, _, rec in read_rows(labels, data_columns(labels)):
            row = {}
            for k, v in rec.items():
                key = k[len(prefix) :] if prefix and k.startswith(prefix) else k
                if key in row and not k.startswith(prefix):
                    continue  # the prefixed column wins over a same-named plain one
                row[key] = None if _blank(v) else v
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return out


def _blank(v: Any) -> bool:
    return is_missing(v) or (isinstance(v, float) and math.isnan(v))


def confusion_matrices(evaluation: Evaluation, run_dir: Path, labels: Path) -> list[Confusion]:
    """A confusion matrix for each evaluated boolean/enum field (labelled cases only)."""
    task, records = load_run(run_dir)
    specs = {
        n: task.fields[n]
        for n, r in evaluation.fields.items()
        if r.type in ("boolean", "enum") and n in task.fields
    }
    if not specs:
        return []
    truth = read_labels(labels, specs, id_column=evaluation.id_column)
    out = []
    for name, spec in specs.items():
        options = (
            ["true", "false"]
            if spec.type == "boolean"
            else [option_key(v) for v in spec.values or []]
        )
        if spec.nullable:
            options.append("null")
        pairs = []
        for case_id, values in truth.items():
            rec = records.get(case_id)
            value = values[name]
            if rec is None or value is UNLABELLED:
                continue
            got = option_key(rec.output[name]) if rec.ok and name in (rec.output or {}) else FAILED
            pairs.append((option_key(value), got))
        for t, p in pairs:  # values outside the options (should not happen) still count
            for v in (t, p):
                if v not in options and v != FAILED:
                    options.append(v)
        predicted = options + ([FAILED] if any(p == FAILED for _, p in pairs) else [])
        counts = [[0] * len(predicted) for _ in options]
        for t, p in pairs:
            counts[options.index(t)][predicted.index(p)] += 1
        out.append(Confusion(name, options, predicted, counts))
    return out


def evaluation_view(
    run_dir: Path, labels: Path, out_dir: Path, *, label_prefix: str = ""
) -> EvaluationView:
    """Evaluate (cases without a record are counted, not refused), write evaluation.json
    and the PNGs into ``out_dir``, and build the confusion matrices."""
    if label_prefix:
        labels = strip_label_prefix(labels, label_prefix, out_dir)
    evaluation = evaluate_run(run_dir, labels, partial=True)
    write_evaluation(evaluation, out_dir)
    plots = {
        name: {kind: out_dir / file for kind, file in report.plots.items()}
        for name, report in evaluation.fields.items()
        if report.plots
    }
    return EvaluationView(evaluation, confusion_matrices(evaluation, run_dir, labels), plots)


def _match(spec: Any, truth: Any, predicted: Any) -> bool:
    from . import calibration as cal

    if spec.type in ("integer", "number"):
        if truth is None or predicted is None:
            return truth is None and predicted is None
        if isinstance(predicted, bool) or not isinstance(predicted, (int, float)):
            return False
        return cal.within_relative(float(truth), float(predicted))
    if spec.type == "string":
        norm = [
            None if v is None else " ".join(str(v).split()).casefold() for v in (truth, predicted)
        ]
        return norm[0] == norm[1]
    if spec.type == "spans":

        def key(spans: Any) -> set[tuple[str, str]]:
            return {
                (str(s.get("label")), " ".join(str(s.get("text")).split()).casefold())
                for s in spans or []
                if isinstance(s, dict)
            }

        return key(truth) == key(predicted)
    if spec.type in ("boolean", "enum"):
        return option_key(truth) == option_key(predicted)
    return json.dumps(truth, sort_keys=True) == json.dumps(predicted, sort_keys=True)


def expected_by_case(
    run_dir: Path, labels: Path, *, label_prefix: str = "", tmp_dir: Path
) -> dict[str, dict[str, dict[str, Any]]]:
    """case id -> field -> {"expected": display, "key": option key, "predicted_key": the
    prediction's option key ("(failed)" for a failed case), "match": bool} for the fields
    the labels file has a column for (blank labels of non-nullable fields left out).
    ``tmp_dir`` holds the unprefixed copy of a prefixed labels file."""
    from .casesview import display_value
    from .labels import SUPPORTED_TYPES

    if label_prefix:
        labels = strip_label_prefix(labels, label_prefix, tmp_dir)
    task, records = load_run(run_dir)
    columns = data_columns(labels)
    specs = {n: s for n, s in task.fields.items() if n in columns and s.type in SUPPORTED_TYPES}
    if not specs:
        return {}
    id_column = task.id or ("id" if "id" in columns else None)
    truth = read_labels(labels, specs, id_column=id_column)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for case_id, values in truth.items():
        rec = records.get(case_id)
        if rec is None:
            continue
        for name, spec in specs.items():
            value = values[name]
            if value is UNLABELLED:
                continue
            if spec.type == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            ok = rec.ok and name in (rec.output or {})
            predicted = rec.output[name] if ok and rec.output else None
            out.setdefault(case_id, {})[name] = {
                "expected": display_value(value, spec.unit),
                "key": option_key(value),
                "predicted_key": option_key(predicted) if ok else FAILED,
                "match": ok and _match(spec, value, predicted),
            }
    return out
