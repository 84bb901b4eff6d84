"""Evaluate a run directory against a labelled data file: accuracy and calibration per field.

Records and labels are matched by id. Labelled ids that have no record in the run are an
error (``partial=True`` counts them instead, e.g. after a ``--limit`` run); records without a
label are counted. Each field gets ``n`` (labelled cases), ``coverage`` (share whose record is
ok) and, on the covered cases, accuracy and macro F1 (boolean, enum, string), MAE and the
share within 5% (integer, number), exact-list accuracy and item precision / recall / F1
(list), accuracy (object: every sub-field right) or span F1 by exact text and by offsets
(spans); fields with option probabilities also get calibration. What counts as a match is
decided in :mod:`.matching` (one rule for every scorer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..data import data_columns
from ..errors import DataError, RunDirError
from ..records import Record, option_key
from ..sink import RunDir
from ..task.spec import FieldSpec, Task
from . import calibration as cal
from . import matching as m
from .labels import SUPPORTED_TYPES, UNLABELLED, read_labels

__all__ = ["Evaluation", "FieldReport", "evaluate_run", "option_key", "score_field"]

EVALUATION_JSON = "evaluation.json"
CURVE_THRESHOLDS = tuple(i / 100 for i in range(101))  # the coverage PNG's resolution
_SHOWN_IDS = 10


class CalibrationReport(BaseModel):
    """How well the probability of the predicted value matches how often it is right."""

    method: str | None  # how the probabilities were obtained (engine)
    n: int  # covered cases with a probability for the predicted value
    ece: float | None
    brier: float | None
    brier_kind: str  # "binary" (P(true) - y)^2, or "multiclass" (sum over the options)
    auc: float | None = None  # booleans: P(true) ranks true above false cases
    bins: list[cal.Bin]
    coverage_curve: list[cal.CoveragePoint]
    curve: list[cal.CoveragePoint] = Field(default_factory=list, exclude=True)  # for the PNG


class PRF(BaseModel):
    """Item counts summed over cases (micro) and their precision, recall and F1."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, counts: m.Counts) -> PRF:
        c = counts
        return cls(tp=c.tp, fp=c.fp, fn=c.fn, precision=c.precision, recall=c.recall, f1=c.f1)


class FieldReport(BaseModel):
    type: str
    n: int  # labelled cases matched to a record
    ok: int  # of those, records that are ok and hold the field
    coverage: float | None
    unlabelled: int = 0  # blank labels of a non-nullable field (not scored)
    accuracy: float | None = None
    macro_f1: float | None = None
    mae: float | None = None
    within_5pct: float | None = None
    n_numeric: int | None = None  # cases where label and prediction are both numbers
    items: PRF | None = None  # list fields: items matched as a multiset
    spans_text: PRF | None = None  # spans fields: by exact text + label
    spans_offsets: PRF | None = None  # spans fields: by exact start/end + label
    calibration: CalibrationReport | None = None
    plots: dict[str, str] = Field(default_factory=dict)


class Matching(BaseModel):
    labels: int  # rows in the labels file
    records: int  # cases in the run
    matched: int
    labels_without_record: int
    labels_without_record_ids: list[str]  # the first few
    records_without_label: int


class Evaluation(BaseModel):
    run_dir: str
    labels: str
    id_column: str | None  # None: ids are row numbers
    task: str
    matching: Matching
    fields: dict[str, FieldReport]
    notes: list[str] = Field(default_factory=list)


def load_run(run_dir: Path) -> tuple[Task, dict[str, Record]]:
    """The run's task (from its manifest) and its latest record per case id."""
    rundir = RunDir(run_dir)
    if not rundir.records_path.exists():
        raise RunDirError(f"{run_dir}: not a run directory (no records.jsonl)")
    manifest = rundir.read_manifest()
    definition = ((manifest or {}).get("task") or {}).get("definition")
    if definition is None:
        raise RunDirError(f"{rundir.manifest_path}: missing, or holds no task definition")
    try:
        task = Task.model_validate(definition)
    except ValidationError as e:
        raise RunDirError(f"{rundir.manifest_path}: invalid task definition ({e})") from None
    records = {rec.id: rec for rec in rundir.latest_records()}
    return task, records


def choose_fields(
    task: Task, columns: list[str], requested: list[str] | None, run_dir: Path, labels: Path
) -> tuple[dict[str, FieldSpec], list[str]]:
    """The fields to evaluate, and notes on fields left out."""
    notes = []
    if requested:
        chosen = {}
        for name in requested:
            spec = task.fields.get(name)
            if spec is None:
                raise DataError(
                    f"{run_dir}: the run's task has no field {name!r} "
                    f"(fields: {', '.join(task.fields)})"
                )
            if spec.type not in SUPPORTED_TYPES:
                raise DataError(f"{run_dir}: field {name!r}: type {spec.type} cannot be evaluated")
            chosen[name] = spec
        return chosen, notes  # a requested field missing from the labels: read_labels says
    chosen = {n: s for n, s in task.fields.items() if n in columns and s.type in SUPPORTED_TYPES}
    skipped = [n for n, s in task.fields.items() if n in columns and s.type not in SUPPORTED_TYPES]
    if skipped:
        notes.append(f"not evaluated (list/object/spans fields): {', '.join(skipped)}")
    if not chosen:
        raise DataError(
            f"{labels}: no column matches a field of the run's task "
            f"(fields: {', '.join(task.fields)}; columns: {', '.join(columns[:30])})"
        )
    return chosen, notes


def evaluate_run(
    run_dir: str | Path,
    labels_path: str | Path,
    *,
    fields: list[str] | None = None,
    id_column: str | None = None,
    partial: bool = False,
    encoding: str | None = None,
) -> Evaluation:
    """Match the run's records with the labels and score each field (nothing is written)."""
    run_dir, labels_path = Path(run_dir), Path(labels_path)
    task, records = load_run(run_dir)
    columns = data_columns(labels_path, encoding)
    specs, notes = choose_fields(task, columns, fields, run_dir, labels_path)
    if id_column is None:
        id_column = task.id or ("id" if "id" in columns else None)
    labels = read_labels(labels_path, specs, id_column=id_column, encoding=encoding)
    matching = _match(labels, records, run_dir, labels_path, partial=partial)
    ids = [i for i in labels if i in records]
    reports = {
        name: score_field(spec, [labels[i][name] for i in ids], [records[i] for i in ids], name)
        for name, spec in specs.items()
    }
    return Evaluation(
        run_dir=str(run_dir),
        labels=str(labels_path),
        id_column=id_column,
        task=task.name,
        matching=matching,
        fields=reports,
        notes=notes,
    )


def _match(
    labels: dict[str, Any],
    records: dict[str, Record],
    run_dir: Path,
    labels_path: Path,
    *,
    partial: bool,
) -> Matching:
    unknown = [i for i in labels if i not in records]
    if len(unknown) == len(labels):
        shown_l = ", ".join(repr(i) for i in list(labels)[:3])
        shown_r = ", ".join(repr(i) for i in list(records)[:3])
        raise DataError(
            f"{labels_path}: none of its {len(labels)} ids has a record in {run_dir} "
            f"(labels: {shown_l}; records: {shown_r}); check the id column (--id)"
        )
    if unknown and not partial:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise DataError(
            f"{labels_path}: id {unknown[0]!r} has no record in {run_dir}{more}; "
            "use --partial to score only the cases in the run (e.g. after --limit)"
        )
    matched = len(labels) - len(unknown)
    return Matching(
        labels=len(labels),
        records=len(records),
        matched=matched,
        labels_without_record=len(unknown),
        labels_without_record_ids=unknown[:_SHOWN_IDS],
        records_without_label=len(records) - matched,
    )


def score_field(
    spec: FieldSpec, truths: list[Any], records: list[Record], name: str
) -> FieldReport:
    """Metrics for one field over the matched cases (labels and records in the same order)."""
    pairs: list[tuple[Any, Record]] = []
    unlabelled = 0
    for truth, rec in zip(truths, records, strict=True):
        if truth is UNLABELLED:
            unlabelled += 1
        else:
            pairs.append((truth, rec))
    covered = [(truth, rec) for truth, rec in pairs if rec.ok and rec.output and name in rec.output]
    report = FieldReport(
        type=spec.type,
        n=len(pairs),
        ok=len(covered),
        coverage=len(covered) / len(pairs) if pairs else None,
        unlabelled=unlabelled,
    )
    got = [(truth, rec.output[name]) for truth, rec in covered]  # type: ignore[index]
    if spec.type in ("integer", "number"):
        _score_numbers(report, got)
    elif spec.type == "spans":
        report.spans_text = PRF.of(m.total(m.span_counts_text(t, p) for t, p in got))
        report.spans_offsets = PRF.of(m.total(m.span_counts_offsets(t, p) for t, p in got))
    elif spec.type in ("list", "object"):
        hits = [m.values_match(spec, t, p) for t, p in got]
        report.accuracy = sum(hits) / len(hits) if hits else None
        if spec.type == "list":
            report.items = PRF.of(m.total(m.list_counts(spec, t, p) for t, p in got))
    else:
        norm = m.normalise_string if spec.type == "string" else option_key
        y_true = [norm(t) for t, _ in got]
        y_pred = [norm(p) for _, p in got]
        report.accuracy = cal.accuracy(y_true, y_pred)
        report.macro_f1 = cal.macro_f1(y_true, y_pred)
    if spec.type in ("boolean", "enum"):
        report.calibration = _calibration(spec, covered, name)
    return report


def _score_numbers(report: FieldReport, got: list[tuple[Any, Any]]) -> None:
    numeric = [(float(t), float(p)) for t, p in got if t is not None and m.is_number(p)]
    hits = sum(m.numbers_match(t, p, m.EVALUATE_REL_TOL) for t, p in got)
    report.n_numeric = len(numeric)
    report.mae = cal.mean_absolute_error([t for t, _ in numeric], [p for _, p in numeric])
    report.within_5pct = hits / len(got) if got else None


def _calibration(
    spec: FieldSpec, covered: list[tuple[Any, Record]], name: str
) -> CalibrationReport | None:
    confidences: list[float] = []
    correct: list[bool] = []
    distributions: list[dict[str, float]] = []
    truth_keys: list[str] = []
    scores: list[float] = []
    positives: list[bool] = []
    methods: dict[str, None] = {}
    for truth, rec in covered:
        probs = (rec.probabilities or {}).get(name)
        predicted = option_key(rec.output[name])  # type: ignore[index]
        if not probs or predicted not in probs:
            continue
        methods[rec.probability_method or "unknown"] = None
        confidences.append(min(max(float(probs[predicted]), 0.0), 1.0))
        correct.append(predicted == option_key(truth))
        distributions.append(probs)
        truth_keys.append(option_key(truth))
        if spec.type == "boolean" and truth is not None:
            scores.append(float(probs.get("true", 0.0)))
            positives.append(truth is True)
    if not confidences:
        return None
    binary = spec.type == "boolean" and not spec.nullable
    return CalibrationReport(
        method=", ".join(methods),
        n=len(confidences),
        ece=cal.expected_calibration_error(confidences, correct),
        brier=cal.brier_score(distributions, truth_keys, binary=binary),
        brier_kind="binary" if binary else "multiclass",
        auc=cal.roc_auc(scores, positives) if spec.type == "boolean" else None,
        bins=cal.reliability_bins(confidences, correct),
        coverage_curve=cal.coverage_curve(confidences, correct),
        curve=cal.coverage_curve(confidences, correct, CURVE_THRESHOLDS),
    )


def write_evaluation(evaluation: Evaluation, out_dir: str | Path) -> Path:
    """OUT_DIR/evaluation.json plus, with matplotlib, a reliability and a coverage PNG per
    field with probabilities (their paths go into the report; without it, a note)."""
    from ..sink import write_json_atomic
    from .plots import (
        INSTALL_HINT,
        coverage_plot,
        matplotlib_available,
        reliability_plot,
        safe_name,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with_probs = {n: r for n, r in evaluation.fields.items() if r.calibration is not None}
    if with_probs and not matplotlib_available():
        evaluation.notes.append(INSTALL_HINT)
    elif with_probs:
        for name, report in with_probs.items():
            c = report.calibration
            assert c is not None
            stem = safe_name(name)
            title = f"{evaluation.task}: {name} (n={c.n})"
            reliability = reliability_plot(c.bins, out / f"{stem}_reliability.png", title)
            coverage = coverage_plot(c.curve, out / f"{stem}_coverage.png", title)
            report.plots = {"reliability": reliability.name, "coverage": coverage.name}
    path = out / EVALUATION_JSON
    write_json_atomic(path, evaluation.model_dump(mode="json"))
    return path
