"""Does a predicted value match its label? The one rule every scorer uses.

``extractinator evaluate``, ``extractinator compare``, sweep scoring and the held-out
benchmark all decide a hit here, so a value counts the same way everywhere:

* boolean / enum: by option key (``true``/``false``, the enum value; ``null`` = ``null``);
  numeric options by value (``3`` = ``3.0``, as a JSON round trip through pandas leaves them).
* string: case- and whitespace-insensitively (``" Right  Lower "`` = ``"right lower"``).
* integer / number: ``|pred - truth| <= rel_tol * |truth|`` (a truth of 0 needs exactly 0);
  ``null`` = ``null`` is a hit, ``null`` against a number is a miss, and a boolean is never
  a number. ``extractinator evaluate`` uses ``rel_tol`` 0.05, the held-out benchmark 0.01.
* object: every sub-field matches by its own type (a missing key reads as ``null``).
* list: a **multiset**: order is ignored, each item matches at most one item on the other
  side (items by their own type, so numbers with the tolerance, objects field by field),
  with a maximum matching. ``null`` and ``[]`` are the same (nothing listed). A list is a
  hit when every item is matched both ways; item counts give precision / recall / F1.
* spans: F1 by exact text + label (a multiset: a drug named twice is two mentions), and F1
  by exact ``start``/``end`` + label (a predicted span that was not grounded, no offsets,
  matches nothing). Summed over cases (micro) before precision / recall / F1.

Precision, recall and F1 of zero counts (nothing to find, nothing found) are 1.0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..records import option_key
from ..task.spec import FieldSpec

EVALUATE_REL_TOL = 0.05  # `extractinator evaluate`, compare and sweep task cells


def normalise_string(value: Any) -> str | None:
    """Case-folded, whitespace-collapsed text (``None`` stays ``None``)."""
    return None if value is None else " ".join(str(value).split()).casefold()


def is_number(value: Any) -> bool:
    """An int or float that is finite and not a boolean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def within_relative(truth: float, prediction: float, tolerance: float = EVALUATE_REL_TOL) -> bool:
    """|prediction - truth| <= tolerance * |truth| (a truth of 0 needs an exact 0)."""
    return abs(prediction - truth) <= tolerance * abs(truth) + 1e-12


def _option(value: Any) -> Any:
    """An option's identity: its key, numbers by value (3 and 3.0 from a JSON round trip)."""
    return float(value) if is_number(value) else option_key(value)


def numbers_match(truth: Any, pred: Any, rel_tol: float = EVALUATE_REL_TOL) -> bool:
    """Numbers within ``rel_tol`` of the truth; ``None`` matches only ``None``."""
    if truth is None or pred is None:
        return truth is None and pred is None
    if not (is_number(truth) and is_number(pred)):
        return False
    return within_relative(float(truth), float(pred), rel_tol)


def values_match(spec: FieldSpec, truth: Any, pred: Any, rel_tol: float = EVALUATE_REL_TOL) -> bool:
    """One value against its label, by the field's type (see the module docstring).
    Spans compare as a whole here: the same multiset of (offsets, label)."""
    t = spec.type
    if t in ("integer", "number"):
        return numbers_match(truth, pred, rel_tol)
    if t == "string":
        return normalise_string(truth) == normalise_string(pred)
    if t in ("boolean", "enum"):
        return _option(truth) == _option(pred)
    if t == "object":
        if truth is None or pred is None:
            return truth is None and pred is None
        if not isinstance(pred, dict) or not isinstance(truth, dict):
            return False
        return all(
            values_match(sub, truth.get(name), pred.get(name), rel_tol)
            for name, sub in (spec.fields or {}).items()
        )
    if t == "list":
        counts = list_counts(spec, truth, pred, rel_tol)
        return counts.fp == 0 and counts.fn == 0
    if t == "spans":
        counts = span_counts_offsets(truth, pred)
        return counts.fp == 0 and counts.fn == 0
    raise ValueError(f"unknown field type {t!r}")


@dataclass(frozen=True)
class Counts:
    """Matched (tp), predicted but unmatched (fp) and labelled but unmatched (fn) items."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        if self.tp + self.fp + self.fn == 0:
            return 1.0
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)


def total(counts: Iterable[Counts]) -> Counts:
    """Micro sum over cases."""
    out = Counts()
    for c in counts:
        out = out + c
    return out


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _max_matching(truth: Sequence[Any], pred: Sequence[Any], hit: Any) -> int:
    """Size of a maximum matching between truth and pred items under ``hit(t, p)``
    (augmenting paths; lists in reports are short)."""
    edges = [[j for j, p in enumerate(pred) if hit(t, p)] for t in truth]
    owner: dict[int, int] = {}  # pred index -> truth index

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(len(truth)))


def list_counts(
    spec: FieldSpec, truth: Any, pred: Any, rel_tol: float = EVALUATE_REL_TOL
) -> Counts:
    """Item counts of a list field (``spec`` is the list field, items by ``spec.items``)."""
    items = spec.items
    assert items is not None, "a list field has `items`"
    t, p = _items(truth), _items(pred)
    if items.type in ("boolean", "enum", "string"):  # an equivalence: a multiset intersection
        key = normalise_string if items.type == "string" else _option
        tp = sum((Counter(map(key, t)) & Counter(map(key, p))).values())
    else:
        tp = _max_matching(t, p, lambda a, b: values_match(items, a, b, rel_tol))
    return Counts(tp, len(p) - tp, len(t) - tp)


def _span_list(value: Any) -> list[dict[str, Any]]:
    return [s for s in _items(value) if isinstance(s, dict)]


def span_counts_text(truth: Any, pred: Any) -> Counts:
    """Span counts by exact text + label (a multiset over the case)."""
    t = Counter((s.get("text"), s.get("label")) for s in _span_list(truth))
    p = Counter((s.get("text"), s.get("label")) for s in _span_list(pred))
    tp = sum((t & p).values())
    return Counts(tp, sum(p.values()) - tp, sum(t.values()) - tp)


def _offsets(spans: Any) -> tuple[Counter[tuple[int, int, Any]], int]:
    """(start, end, label) of the grounded spans, and how many had no offsets."""
    grounded: Counter[tuple[int, int, Any]] = Counter()
    ungrounded = 0
    for s in _span_list(spans):
        start, end = s.get("start"), s.get("end")
        if isinstance(start, int) and isinstance(end, int):
            grounded[(start, end, s.get("label"))] += 1
        else:
            ungrounded += 1
    return grounded, ungrounded


def span_counts_offsets(truth: Any, pred: Any) -> Counts:
    """Span counts by exact start/end + label; predictions without offsets are false
    positives (labels without offsets are false negatives)."""
    t, t_loose = _offsets(truth)
    p, p_loose = _offsets(pred)
    tp = sum((t & p).values())
    return Counts(tp, sum(p.values()) - tp + p_loose, sum(t.values()) - tp + t_loose)
