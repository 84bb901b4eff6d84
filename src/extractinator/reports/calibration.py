"""Calibration and accuracy math: pure functions over plain sequences (no I/O, no plots).

Confidence is the probability the model gave to the value it predicted; a case is
``correct`` when that value equals the label. Bins are equal-width on [0, 1]: [0, 0.1),
[0.1, 0.2), ... [0.9, 1.0] (the last one closed).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

from pydantic import BaseModel

from .matching import within_relative  # noqa: F401  (the rule lives in matching.py)

N_BINS = 10
COVERAGE_THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)


class Bin(BaseModel):
    """One reliability bin: its confidence range, cases, mean confidence and accuracy."""

    lower: float
    upper: float
    count: int
    confidence: float | None  # mean confidence of the cases in the bin
    accuracy: float | None


class CoveragePoint(BaseModel):
    """Cases with confidence >= threshold: their number, share of all cases, accuracy."""

    threshold: float
    n: int
    coverage: float
    accuracy: float | None


def _check(confidences: Sequence[float], correct: Sequence[bool]) -> None:
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} outcomes")
    for c in confidences:
        if not 0.0 <= c <= 1.0 or math.isnan(c):
            raise ValueError(f"confidence {c!r} is not a probability in [0, 1]")


def bin_index(confidence: float, n_bins: int = N_BINS) -> int:
    """The bin of a confidence; the tiny epsilon keeps 0.3 (0.30000000000000004) in [0.3, 0.4)."""
    return min(int(math.floor(confidence * n_bins + 1e-9)), n_bins - 1)


def reliability_bins(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS
) -> list[Bin]:
    """All ``n_bins`` bins (empty ones with count 0 and no confidence/accuracy)."""
    _check(confidences, correct)
    members: list[list[int]] = [[] for _ in range(n_bins)]
    for i, c in enumerate(confidences):
        members[bin_index(c, n_bins)].append(i)
    bins = []
    for b, idx in enumerate(members):
        n = len(idx)
        bins.append(
            Bin(
                lower=b / n_bins,
                upper=(b + 1) / n_bins,
                count=n,
                confidence=sum(confidences[i] for i in idx) / n if n else None,
                accuracy=sum(bool(correct[i]) for i in idx) / n if n else None,
            )
        )
    return bins


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS
) -> float | None:
    """ECE: the case-weighted mean over bins of |accuracy - mean confidence|; None if no case."""
    bins = reliability_bins(confidences, correct, n_bins)
    total = len(confidences)
    if not total:
        return None
    return sum(
        b.count / total * abs(b.accuracy - b.confidence)  # type: ignore[operator]
        for b in bins
        if b.count
    )


def coverage_curve(
    confidences: Sequence[float],
    correct: Sequence[bool],
    thresholds: Sequence[float] = COVERAGE_THRESHOLDS,
) -> list[CoveragePoint]:
    """For each threshold t: the cases with confidence >= t (kept automatically; the rest
    would go to human review), their share of all cases and their accuracy."""
    _check(confidences, correct)
    total = len(confidences)
    points = []
    for t in thresholds:
        kept = [ok for c, ok in zip(confidences, correct, strict=True) if c >= t]
        points.append(
            CoveragePoint(
                threshold=t,
                n=len(kept),
                coverage=len(kept) / total if total else 0.0,
                accuracy=sum(map(bool, kept)) / len(kept) if kept else None,
            )
        )
    return points


def brier_score(
    probabilities: Sequence[Mapping[str, float]], truths: Sequence[str], *, binary: bool
) -> float | None:
    """Mean squared error of the probabilities against the one-hot truth. ``binary``: the
    usual (P("true") - y)^2; otherwise the multi-class sum over the options of each case."""
    if len(probabilities) != len(truths):
        raise ValueError(f"{len(probabilities)} distributions but {len(truths)} truths")
    if not truths:
        return None
    total = 0.0
    for probs, truth in zip(probabilities, truths, strict=True):
        if binary:
            total += (probs.get("true", 0.0) - (1.0 if truth == "true" else 0.0)) ** 2
        else:
            options = set(probs) | {truth}
            total += sum((probs.get(k, 0.0) - (1.0 if k == truth else 0.0)) ** 2 for k in options)
    return total / len(truths)


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); None with one class."""
    if len(scores) != len(positives):
        raise ValueError(f"{len(scores)} scores but {len(positives)} labels")
    n_pos = sum(map(bool, positives))
    n_neg = len(positives) - n_pos
    if not n_pos or not n_neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):  # average ranks over runs of tied scores
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        rank_sum += mean_rank * sum(bool(positives[order[k]]) for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def accuracy(truths: Sequence[Hashable], predictions: Sequence[Hashable]) -> float | None:
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions")
    if not truths:
        return None
    return sum(t == p for t, p in zip(truths, predictions, strict=True)) / len(truths)


def macro_f1(truths: Sequence[Hashable], predictions: Sequence[Hashable]) -> float | None:
    """Unweighted mean of per-class F1 over the classes in truths or predictions (as
    scikit-learn's f1_score(average="macro") with zero_division=0)."""
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions")
    if not truths:
        return None
    classes = dict.fromkeys([*truths, *predictions])
    scores = []
    for k in classes:
        tp = sum(t == k and p == k for t, p in zip(truths, predictions, strict=True))
        fp = sum(t != k and p == k for t, p in zip(truths, predictions, strict=True))
        fn = sum(t == k and p != k for t, p in zip(truths, predictions, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def mean_absolute_error(truths: Sequence[float], predictions: Sequence[float]) -> float | None:
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions")
    if not truths:
        return None
    return sum(abs(t - p) for t, p in zip(truths, predictions, strict=True)) / len(truths)


def binary_confidence(p_true: float, truth: bool) -> tuple[float, bool]:
    """(confidence, correct) for a probability of "true": the prediction is p >= 0.5."""
    predicted = p_true >= 0.5
    return (p_true if predicted else 1.0 - p_true), predicted == truth
