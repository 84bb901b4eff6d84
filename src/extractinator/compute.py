"""The compute step of the spine: computed fields (``compute: EXPRESSION``) evaluated on the
read answer, and the probabilities of computed yes/no and enum fields.

A computed boolean or enum field gets a probability when the answer fields it reads that
are booleans or enums have option probabilities: the expression is evaluated for every
combination of their allowed values (the other fields as answered), and each result gets
the product of the probabilities of the values that gave it (the facts treated as
independent). Without such facts it gets none, unless ``--samples`` voted on it.
"""

from __future__ import annotations

import itertools
from typing import Any

from .absence import apply_absence
from .records import Record, RecordError, option_key
from .summaries import apply_summaries
from .task.expressions import ComputeError, check_result, evaluate, names_used
from .task.spec import Task

__all__ = ["ComputeError", "apply_computed", "computed_probabilities", "finish_computed"]

MAX_COMBINATIONS = 256  # fact value combinations enumerated for one computed field


def apply_computed(task: Task, output: dict[str, Any]) -> None:
    """Add every computed field to ``output`` (in place), in declaration order.
    Raises ComputeError naming the field."""
    for name, spec in task.computed_fields().items():
        try:
            output[name] = check_result(spec, evaluate(spec.compute or "", output))
        except ComputeError as e:
            raise ComputeError(f"field '{name}': {e}") from None


def computed_probabilities(
    task: Task,
    output: dict[str, Any],
    probabilities: dict[str, dict[str, float]] | None,
) -> dict[str, dict[str, float]]:
    """field -> {option: probability} for computed boolean/enum fields whose facts have
    option probabilities (see the module docstring)."""
    known = probabilities or {}
    result: dict[str, dict[str, float]] = {}
    computed = task.computed_fields()
    for name, spec in computed.items():
        if spec.type not in ("boolean", "enum"):
            continue
        deps = sorted(d for d in names_used(spec.compute or "") if d in known and d not in computed)
        if not deps:
            continue
        options = [list(known[d].items()) for d in deps]
        if _combinations(options) > MAX_COMBINATIONS:
            continue
        dist: dict[str, float] = {}
        for combo in itertools.product(*options):
            values = dict(output)
            weight = 1.0
            for dep, (key, p) in zip(deps, combo, strict=True):
                values[dep] = _value_of(task, dep, key)
                weight *= p
            if weight == 0:
                continue
            try:
                values = _recompute_upto(task, values, name)
                value = check_result(spec, evaluate(spec.compute or "", values))
            except ComputeError:
                continue
            k = option_key(value)
            dist[k] = dist.get(k, 0.0) + weight
        total = sum(dist.values())
        if total > 0:
            result[name] = {k: v / total for k, v in dist.items()}
    return result


def _combinations(options: list[list[Any]]) -> int:
    n = 1
    for o in options:
        n *= max(1, len(o))
    return n


def _value_of(task: Task, field: str, key: str) -> Any:
    """The value an option key names (``option_key`` reversed, by the field's values)."""
    spec = task.fields[field]
    candidates: list[Any] = [True, False] if spec.type == "boolean" else list(spec.values or [])
    candidates.append(None)
    return next((v for v in candidates if option_key(v) == key), key)


def _recompute_upto(task: Task, values: dict[str, Any], target: str) -> dict[str, Any]:
    """Computed fields declared before ``target``, evaluated on the substituted facts."""
    for name, spec in task.computed_fields().items():
        if name == target:
            break
        values[name] = check_result(spec, evaluate(spec.compute or "", values))
    return values


def finish_computed(
    record: Record, task: Task, sample_outputs: list[dict[str, Any]] | None = None
) -> None:
    """The compute step: add the computed fields to an ok record's output, and the
    probabilities of computed yes/no and enum fields (from the facts' option
    probabilities, else from the samples' votes). Summary amounts are set from their
    findings first (summaries.py). An expression that fails makes the record failed with
    a ``compute_error`` naming the field. A finding's fields are set to what their
    descriptions say when the task's presence field is false (absence.py)."""
    apply_summaries(record, task)
    apply_absence(record, task)
    if not record.ok or record.output is None or not task.computed_fields():
        return
    try:
        apply_computed(task, record.output)
    except ComputeError as e:
        record.status = "failed"
        record.error = RecordError(type="compute_error", message=str(e))
        record.output = None
        return
    probs = computed_probabilities(task, record.output, record.probabilities)
    if sample_outputs:  # the votes see every fact's uncertainty, lists and numbers too
        probs = {**probs, **_computed_votes(task, sample_outputs)}
    if probs:
        record.probabilities = {**(record.probabilities or {}), **probs}


def _computed_votes(task: Task, outputs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Vote fractions of each computed yes/no or enum field over the samples' answers."""
    votes: dict[str, dict[str, float]] = {}
    computed = [dict(o) for o in outputs]
    for out in computed:
        try:
            apply_computed(task, out)
        except ComputeError:
            out.clear()
    counted = [o for o in computed if o]
    for name, spec in task.computed_fields().items():
        if spec.type not in ("boolean", "enum") or not counted:
            continue
        tally: dict[str, float] = {}
        for out in counted:
            key = option_key(out[name])
            tally[key] = tally.get(key, 0.0) + 1 / len(counted)
        votes[name] = tally
    return votes
