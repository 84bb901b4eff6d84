"""DRAGON benchmark metrics, reimplemented to give the same scores as dragon-eval 0.2.11.

One pure function per metric kind, the task -> metric table of dragon-eval, and `score_task`,
which checks and aligns one task's ground truth and predictions and scores them.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.metrics.sequence_labeling import get_entities
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from extractinator.errors import DataError

DRAGON_EVAL_VERSION = "0.2.11"


class MetricKind(str, Enum):
    """The metric families of dragon-eval (its `EvalType`s that tasks use)."""

    AUC = "auc"  # binary classification, pooled over labels
    AUC_PER_LABEL = "auc_per_label_mean"  # binary, different objective per label (Task015)
    KAPPA_LINEAR = "kappa_linear"  # ordinal multi-class
    KAPPA = "kappa"  # non-ordinal multi-class, pooled over labels
    RSMAPE = "rsmape"  # regression, pooled over labels, null targets skipped
    NER_MACRO_F1 = "ner_macro_f1"  # single-label NER
    NER_WEIGHTED_F1 = "ner_weighted_f1"  # multi-label NER


_DESCRIPTION = {
    MetricKind.AUC: "AUC (pooled)",
    MetricKind.AUC_PER_LABEL: "mean of per-label AUCs",
    MetricKind.KAPPA_LINEAR: "linear-weighted Cohen's kappa",
    MetricKind.KAPPA: "Cohen's kappa (pooled)",
    MetricKind.RSMAPE: "R-SMAPE",
    MetricKind.NER_MACRO_F1: "macro F1 (seqeval)",
    MetricKind.NER_WEIGHTED_F1: "label-wise weighted F1 (seqeval)",
}

_K = MetricKind
TASK_KINDS: dict[str, MetricKind] = {
    "Task101_Example_sl_bin_clf": _K.AUC,
    "Task102_Example_sl_mc_clf": _K.KAPPA_LINEAR,
    "Task103_Example_mednli": _K.KAPPA_LINEAR,
    "Task104_Example_ml_bin_clf": _K.AUC,
    "Task105_Example_ml_mc_clf": _K.KAPPA,
    "Task106_Example_sl_reg": _K.RSMAPE,
    "Task107_Example_ml_reg": _K.RSMAPE,
    "Task108_Example_sl_ner": _K.NER_MACRO_F1,
    "Task109_Example_ml_ner": _K.NER_WEIGHTED_F1,
    "Task001_adhesion_clf": _K.AUC,
    "Task002_nodule_clf": _K.AUC,
    "Task003_kidney_clf": _K.AUC,
    "Task004_skin_case_selection_clf": _K.AUC,
    "Task005_recist_timeline_clf": _K.AUC,
    "Task006_pathology_tumor_origin_clf": _K.AUC,
    "Task007_nodule_diameter_presence_clf": _K.AUC,
    "Task008_pdac_size_presence_clf": _K.AUC,
    "Task009_pdac_diagnosis_clf": _K.KAPPA,
    "Task010_prostate_radiology_clf": _K.KAPPA_LINEAR,
    "Task011_prostate_pathology_clf": _K.KAPPA_LINEAR,
    "Task012_pathology_tissue_type_clf": _K.KAPPA,
    "Task013_pathology_tissue_origin_clf": _K.KAPPA,
    "Task014_textual_entailment_clf": _K.KAPPA_LINEAR,
    "Task015_colon_pathology_clf": _K.AUC_PER_LABEL,
    "Task016_recist_lesion_size_presence_clf": _K.AUC,
    "Task017_pdac_attributes_clf": _K.KAPPA,
    "Task018_osteoarthritis_clf": _K.KAPPA,
    "Task019_prostate_volume_reg": _K.RSMAPE,
    "Task020_psa_reg": _K.RSMAPE,
    "Task021_psad_reg": _K.RSMAPE,
    "Task022_pdac_size_reg": _K.RSMAPE,
    "Task023_nodule_diameter_reg": _K.RSMAPE,
    "Task024_recist_lesion_size_reg": _K.RSMAPE,
    "Task025_anonymisation_ner": _K.NER_MACRO_F1,
    "Task026_medical_terminology_ner": _K.NER_MACRO_F1,
    "Task027_prostate_biopsy_ner": _K.NER_WEIGHTED_F1,
    "Task028_skin_pathology_ner": _K.NER_WEIGHTED_F1,
}

REGRESSION_EPSILON: dict[str, float] = {
    "Task106_Example_sl_reg": 4,
    "Task107_Example_ml_reg": 4,
    "Task019_prostate_volume_reg": 4,
    "Task020_psa_reg": 0.4,
    "Task021_psad_reg": 0.04,
    "Task022_pdac_size_reg": 4,
    "Task023_nodule_diameter_reg": 4,
    "Task024_recist_lesion_size_reg": 4,
}


def _family(kind: MetricKind) -> str:
    """The part a label name must contain for a metric kind."""
    if kind is _K.RSMAPE:
        return "regression"
    return "named_entity_recognition" if kind.value.startswith("ner") else "classification"


@dataclass(frozen=True)
class MetricSpec:
    """How one task is scored."""

    task_name: str
    kind: MetricKind
    multi_label: bool
    epsilon: float | None = None  # R-SMAPE only

    @property
    def description(self) -> str:
        text = _DESCRIPTION[self.kind]
        return f"{text} (eps={self.epsilon:g})" if self.epsilon is not None else text


def metric_kind(task_name: str) -> MetricKind:
    """The metric kind of a task (it depends on the task name only); DataError if unknown."""
    kind = TASK_KINDS.get(task_name)
    if kind is None:
        raise DataError(
            f"unknown DRAGON task {task_name!r}: no metric known (dragon-eval "
            f"{DRAGON_EVAL_VERSION} knows Task001-Task028 and Task101-Task109)"
        )
    return kind


def describe_metric(task_name: str) -> str:
    """Human-readable metric of a task, e.g. "R-SMAPE (eps=0.4)"."""
    kind = metric_kind(task_name)
    return MetricSpec(task_name, kind, False, REGRESSION_EPSILON.get(task_name)).description


def task_metric(task_name: str, label_name: str) -> MetricSpec:
    """The metric dragon-eval uses for `task_name`; `label_name` is the task's label field."""
    kind = metric_kind(task_name)
    if _family(kind) not in label_name:
        raise DataError(
            f"task {task_name!r}: label {label_name!r} does not fit its metric "
            f"{_DESCRIPTION[kind]} (expected a *{_family(kind)}* label)"
        )
    return MetricSpec(
        task_name=task_name,
        kind=kind,
        multi_label=label_name.startswith("multi_label"),
        epsilon=REGRESSION_EPSILON.get(task_name) if kind is _K.RSMAPE else None,
    )


# ---------------------------------------------------------------------------------------------
# Metric functions: plain lists in, float out (inputs already checked by `score_task`).


def _flat(values: Sequence[Any]) -> list[Any]:
    """Flatten one level of nesting (like pandas `explode`, without NaN for empty lists)."""
    out: list[Any] = []
    for value in values:
        out.extend(value if isinstance(value, list) else [value])
    return out


def auc_pooled(y_true: Sequence[Any], y_score: Sequence[Any]) -> float:
    """ROC AUC over all labels pooled; 0.0 when only one class is present."""
    truth = np.asarray(_flat(y_true)).astype(int)
    score = np.asarray(_flat(y_score), dtype=float)
    if len(np.unique(truth)) < 2:
        return 0.0
    return float(roc_auc_score(truth, score))


def auc_mean_per_label(y_true: Sequence[Sequence[Any]], y_score: Sequence[Sequence[Any]]) -> float:
    """Mean over label positions of the ROC AUC per position (one-class positions count 0.0)."""
    n_labels = len(y_true[0])
    aucs = [auc_pooled([t[i] for t in y_true], [s[i] for s in y_score]) for i in range(n_labels)]
    return float(np.mean(aucs))


def cohen_kappa(y_true: Sequence[Any], y_pred: Sequence[Any], *, linear: bool) -> float:
    """Cohen's kappa, pooled over labels; linear weights follow the sorted label order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined kappa (one label) is NaN, as in dragon-eval
        return float(
            cohen_kappa_score(
                np.asarray(_flat(y_true)),
                np.asarray(_flat(y_pred)),
                weights="linear" if linear else None,
            )
        )


def rsmape(y_true: Sequence[Any], y_pred: Sequence[Any], *, epsilon: float) -> float:
    """1 - mean |t - p| / (|t| + |p| + epsilon), pooled; NaN targets skipped, NaN predictions 0."""
    truth = np.asarray(_flat(y_true), dtype=float)
    pred = np.nan_to_num(np.asarray(_flat(y_pred), dtype=float), nan=0.0)
    keep = ~np.isnan(truth)
    if not keep.any():
        return float("nan")
    truth, pred = truth[keep], pred[keep]
    return float(1 - np.mean(np.abs(truth - pred) / (np.abs(truth) + np.abs(pred) + epsilon)))


def ner_macro_f1(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> float:
    """seqeval entity-level F1, macro-averaged over entity types in truth or prediction."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            seqeval_f1([list(s) for s in y_true], [list(s) for s in y_pred], average="macro")
        )


def _select_entity(sequence: Sequence[Sequence[str]], entity: str) -> list[str]:
    """Per token, the first tag whose text contains `entity` (substring match), else 'O'."""
    picked = [[tag for tag in tags if entity in tag] for tags in sequence]
    return [tags[0] if tags else "O" for tags in picked]


def ner_weighted_f1(
    y_true: Sequence[Sequence[Sequence[str]]], y_pred: Sequence[Sequence[Sequence[str]]]
) -> float:
    """Multi-label NER: seqeval F1 per entity label of the truth, weighted by its entity count."""
    tags = {tag for seq in y_true for token in seq for tag in token if tag != "O"}
    entities = sorted({re.sub(r"^[BI]-", "", tag) for tag in tags})
    scores, supports = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for entity in entities:
            truth = [_select_entity(seq, entity) for seq in y_true]
            pred = [_select_entity(seq, entity) for seq in y_pred]
            supports.append(len(get_entities(truth)))
            scores.append(seqeval_f1(truth, pred, average="weighted"))
    if sum(supports) == 0:
        raise ValueError("the ground truth has no entities, so weighted F1 is undefined")
    return float(np.average(scores, weights=supports))


# ---------------------------------------------------------------------------------------------
# Checking and aligning inputs.


def label_name_of(ground_truth_cases: Sequence[Mapping[str, Any]], source: str) -> str:
    """The single `*_target` field of the ground truth."""
    names = sorted({k for case in ground_truth_cases for k in case if k.endswith("_target")})
    if len(names) != 1:
        raise DataError(f"{source}: expected exactly one '*_target' field, found {names}")
    return names[0]


def _by_uid(cases: Sequence[Any], source: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for i, case in enumerate(cases):
        if not isinstance(case, Mapping) or "uid" not in case or case["uid"] is None:
            raise DataError(f"{source}: record {i} is not an object with a 'uid'")
        uid = str(case["uid"])
        if uid in out:
            raise DataError(f"{source}: uid {uid!r}: duplicate uid")
        out[uid] = case
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any, *, allow_missing: bool) -> float:
    """A number from a JSON value (numbers, booleans, numeric strings); ValueError otherwise."""
    if _is_missing(value):
        if allow_missing:
            return math.nan
        raise ValueError(f"got {_short(value)} where a number is needed")
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if allow_missing or not math.isnan(number):
                return number
    raise ValueError(f"got {_short(value)} where a number is needed")


def _coerce_labels(column: list[Any]) -> list[Any]:
    """Numeric-looking class labels become numbers, as pandas.read_json does in dragon-eval."""
    if all(isinstance(v, bool) for v in column):
        return column
    try:
        numbers = [_number(v, allow_missing=False) for v in column]
    except ValueError:
        return column
    if all(math.isfinite(n) and n == int(n) for n in numbers):
        return [int(n) for n in numbers]
    return numbers


def _check_value(kind: MetricKind, value: Any, truth: Any, allow_missing: bool) -> Any:
    """Check one prediction (or target) against the ground-truth shape; return it normalised."""
    if isinstance(truth, list):
        if not isinstance(value, list):
            raise ValueError(f"expected a list of {len(truth)} values, got {_short(value)}")
        if len(value) != len(truth):
            raise ValueError(f"expected a list of {len(truth)} values, got {len(value)}")
        if kind is _K.NER_MACRO_F1:
            if not all(isinstance(tag, str) for tag in value):
                raise ValueError("expected one string tag per token")
            return value
        if kind is _K.NER_WEIGHTED_F1:
            if not all(isinstance(t, list) and all(isinstance(s, str) for s in t) for t in value):
                raise ValueError("expected a list of string tags per token")
            return value
        return [_check_value(kind, v, None, allow_missing) for v in value]
    if isinstance(value, (list, dict)):
        raise ValueError(f"expected a single value, got {_short(value)}")
    if kind in (_K.AUC, _K.AUC_PER_LABEL, _K.RSMAPE):
        return _number(value, allow_missing=allow_missing)
    if kind in (_K.NER_MACRO_F1, _K.NER_WEIGHTED_F1):
        raise ValueError(f"expected a list of tags, got {_short(value)}")
    if _is_missing(value):
        raise ValueError(f"got {_short(value)} where a class label is needed")
    return value


def _check_label_types(values: list[Any], source: str) -> None:
    kinds = {isinstance(v, str) for v in _flat(values)}
    if len(kinds) > 1:
        raise DataError(f"{source}: class labels mix strings and numbers")


def score_task(
    task_name: str,
    ground_truth_cases: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]],
    *,
    ground_truth_source: str = "ground truth",
    predictions_source: str = "predictions",
) -> float:
    """Score one task/fold as dragon-eval does.

    `ground_truth_cases` are the records of `<Task>.json` (uid, inputs, one `*_target`);
    `predictions` the records of `nlp-predictions-dataset.json` (uid, label name minus
    `_target`). The `*_source` names only appear in error messages.
    """
    label = label_name_of(ground_truth_cases, ground_truth_source)
    try:
        spec = task_metric(task_name, label)
    except DataError as exc:
        raise DataError(f"{ground_truth_source}: {exc}") from None
    key = label.replace("_target", "")
    truth_by_uid = _by_uid(ground_truth_cases, ground_truth_source)
    pred_by_uid = _by_uid(predictions, predictions_source)
    extra = [uid for uid in pred_by_uid if uid not in truth_by_uid]
    if extra:
        raise DataError(
            f"{predictions_source}: uid {extra[0]!r}: not in the ground truth"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        )
    y_true: list[Any] = []
    y_pred: list[Any] = []
    for uid, case in truth_by_uid.items():
        if uid not in pred_by_uid:
            missing = sum(u not in pred_by_uid for u in truth_by_uid)
            raise DataError(
                f"{predictions_source}: uid {uid!r}: no prediction"
                + (f" (and {missing - 1} more missing)" if missing > 1 else "")
                + (
                    "; after a --limit run use --partial to score only predicted cases"
                    if missing < len(truth_by_uid)
                    else ""
                )
            )
        if label not in case:
            raise DataError(f"{ground_truth_source}: uid {uid!r}: no {label!r}")
        if key not in pred_by_uid[uid]:
            raise DataError(f"{predictions_source}: uid {uid!r}: no {key!r}")
        truth = case[label]
        try:
            truth = _check_value(spec.kind, truth, truth, allow_missing=spec.kind is _K.RSMAPE)
        except ValueError as exc:
            raise DataError(f"{ground_truth_source}: uid {uid!r}: {label!r}: {exc}") from None
        try:
            pred = _check_value(
                spec.kind, pred_by_uid[uid][key], truth, allow_missing=spec.kind is _K.RSMAPE
            )
        except ValueError as exc:
            raise DataError(f"{predictions_source}: uid {uid!r}: {key!r}: {exc}") from None
        y_true.append(truth)
        y_pred.append(pred)

    try:
        return _dispatch(spec, y_true, y_pred, ground_truth_source, predictions_source)
    except ValueError as exc:
        raise DataError(f"{ground_truth_source}: {exc}") from None


def _dispatch(
    spec: MetricSpec, y_true: list[Any], y_pred: list[Any], gt_source: str, pred_source: str
) -> float:
    kind = spec.kind
    if kind is _K.AUC:
        return auc_pooled(y_true, y_pred)
    if kind is _K.AUC_PER_LABEL:
        if len({len(t) for t in y_true}) > 1:
            raise ValueError("label lists differ in length between cases")
        return auc_mean_per_label(y_true, y_pred)
    if kind in (_K.KAPPA, _K.KAPPA_LINEAR):
        if not any(isinstance(t, list) for t in y_true):
            y_true, y_pred = _coerce_labels(y_true), _coerce_labels(y_pred)
        _check_label_types(y_true + y_pred, f"{gt_source} / {pred_source}")
        return cohen_kappa(y_true, y_pred, linear=kind is _K.KAPPA_LINEAR)
    if kind is _K.RSMAPE:
        assert spec.epsilon is not None
        return rsmape(y_true, y_pred, epsilon=spec.epsilon)
    if kind is _K.NER_MACRO_F1:
        return ner_macro_f1(y_true, y_pred)
    return ner_weighted_f1(y_true, y_pred)
