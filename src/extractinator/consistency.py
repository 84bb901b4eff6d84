"""Self-consistency: several sampled answers for one case, aggregated into one output.

Rules, applied field by field (nested objects too), with null a value like any other:

- booleans, enums, strings: the majority value; a tie goes to the first sample's value
  (or, when it is not among the tied, to the tied value that came first);
- numbers: null when most samples say null, else the median of the numbers (the lower
  middle one for an even count, so the result is always a value a sample gave);
- lists and spans: members voted on, kept when more than half of the samples hold them
  (spans compared by text and label; a member written twice counts twice);
- objects: null by majority, else field by field.

``agreement`` is, per top-level field, the fraction of samples whose value equals the
aggregate (lists as multisets).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from statistics import median_low
from typing import Any

from .engines.options import literal_to_key
from .task.spec import FieldSpec

__all__ = [
    "Consensus",
    "aggregate",
    "aggregate_value",
    "agrees",
    "average_probabilities",
    "vote_probabilities",
]


@dataclass
class Consensus:
    output: dict[str, Any]
    agreement: dict[str, float]


def _key(value: Any) -> str:
    """A canonical, hashable form of a JSON value (the same as option literals for scalars)."""
    return json.dumps(value, sort_keys=True)


def _null_wins(values: list[Any]) -> bool:
    nulls = sum(v is None for v in values)
    return 2 * nulls > len(values) or (2 * nulls == len(values) and values[0] is None)


def _majority(values: list[Any]) -> Any:
    counts = Counter(_key(v) for v in values)
    top = max(counts.values())
    return next(v for v in values if counts[_key(v)] == top)


def _members(value: list[Any] | None) -> list[tuple[str, int, Any]]:
    """(canonical member, occurrence number, member) for each member of a list."""
    seen: Counter[str] = Counter()
    out = []
    for member in value or []:
        key = _key(member)
        out.append((key, seen[key], member))
        seen[key] += 1
    return out


def _vote_members(values: list[Any]) -> list[Any]:
    counts: Counter[tuple[str, int]] = Counter()
    first: dict[tuple[str, int], Any] = {}
    for value in values:
        for key, nth, member in _members(value):
            counts[key, nth] += 1
            first.setdefault((key, nth), member)
    return [member for k, member in first.items() if 2 * counts[k] > len(values)]


def aggregate_value(spec: FieldSpec, values: list[Any]) -> Any:
    """One field's aggregate over the samples' values (see the module docstring)."""
    if not values:
        return None
    t = spec.type
    if t in ("boolean", "enum", "string"):
        return _majority(values)
    if _null_wins(values):
        return None
    present = [v for v in values if v is not None]
    if t in ("integer", "number"):
        return median_low(present)
    if t in ("list", "spans"):
        return _vote_members(values)
    if t == "object":
        return {
            name: aggregate_value(sub, [v.get(name) for v in present])
            for name, sub in (spec.fields or {}).items()
        }
    raise ValueError(f"unknown field type {t!r}")  # pragma: no cover


def agrees(spec: FieldSpec, value: Any, target: Any) -> bool:
    """Whether a sample's value equals the aggregate (lists and spans as multisets)."""
    if value is None or target is None:
        return value is None and target is None
    if spec.type in ("list", "spans"):
        return sorted(_key(m) for m in value) == sorted(_key(m) for m in target)
    if spec.type == "object":
        return all(
            agrees(sub, value.get(name), target.get(name))
            for name, sub in (spec.fields or {}).items()
        )
    return _key(value) == _key(target)


def aggregate(fields: dict[str, FieldSpec], outputs: list[dict[str, Any]]) -> Consensus:
    """Aggregate the valid samples' outputs (spans as ``[{text, label}]``) of one case."""
    if not outputs:
        raise ValueError("aggregate needs at least one sample")
    output: dict[str, Any] = {}
    agreement: dict[str, float] = {}
    for name, spec in fields.items():
        values = [o.get(name) for o in outputs]
        output[name] = aggregate_value(spec, values)
        same = sum(agrees(spec, v, output[name]) for v in values)
        agreement[name] = round(same / len(values), 4)
    return Consensus(output=output, agreement=agreement)


def vote_probabilities(
    option_fields: dict[str, list[str]], outputs: list[dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per boolean/enum field, the fraction of samples that chose each allowed value."""
    probs: dict[str, dict[str, float]] = {}
    for name, literals in option_fields.items():
        votes = Counter(_key(o.get(name)) for o in outputs)
        probs[name] = {literal_to_key(lit): votes[lit] / len(outputs) for lit in literals}
    return probs


def average_probabilities(
    per_sample: list[dict[str, dict[str, float]]],
) -> dict[str, dict[str, float]]:
    """The mean of the samples' option probabilities, field by field (a value a sample did
    not score counts as 0 for it)."""
    fields: dict[str, list[dict[str, float]]] = {}
    for probs in per_sample:
        for name, dist in probs.items():
            fields.setdefault(name, []).append(dist)
    averaged: dict[str, dict[str, float]] = {}
    for name, dists in fields.items():
        keys = list(dict.fromkeys(k for d in dists for k in d))
        averaged[name] = {k: sum(d.get(k, 0.0) for d in dists) / len(dists) for k in keys}
    return averaged
