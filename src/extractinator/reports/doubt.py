"""Which cases deserve a human look first: values unusual for the run, and a doubt score
per case that orders the review queue (lowest first).

A number is *unusual* when it lies outside its field's minimum/maximum (possible after a
repaired answer) or at least :data:`FACTOR` times away from the run's median for that field
(with at least :data:`MIN_VALUES` values: a unit mix-up such as 1.2 for a size in mm when
the others are 8-30). A case's doubt is the lowest of: its option probabilities (for the
chosen values), its sample agreement, 0 for a failed case, 0.5 for a repaired answer or an
unusual value, 0.6 for an evidence quote not found in the text; 1 when nothing speaks
against it.
"""

from __future__ import annotations

import statistics
from typing import Any

from ..records import Record
from ..task.spec import Task
from .evaluate import option_key

FACTOR = 5.0
MIN_VALUES = 5


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def flag_unusual(task: Task, records: list[Record]) -> dict[str, dict[str, str]]:
    """case id -> {field: why its value is unusual} for top-level number fields."""
    flags: dict[str, dict[str, str]] = {}
    for name, spec in task.fields.items():
        if spec.type not in ("integer", "number"):
            continue
        unit = f" {spec.unit}" if spec.unit else ""
        values = {
            r.id: v
            for r in records
            if r.ok and (v := _number((r.output or {}).get(name))) is not None
        }
        positive = [v for v in values.values() if v > 0]
        median = statistics.median(positive) if len(positive) >= MIN_VALUES else None
        for case_id, v in values.items():
            why = None
            if spec.minimum is not None and v < spec.minimum:
                why = f"{v:g}{unit} is below the lowest allowed value {spec.minimum:g}"
            elif spec.maximum is not None and v > spec.maximum:
                why = f"{v:g}{unit} is above the highest allowed value {spec.maximum:g}"
            elif median and v > 0 and max(v / median, median / v) >= FACTOR:
                why = (
                    f"{v:g}{unit} is far from this run's usual {median:g}{unit} "
                    "(a unit mix-up or a misread number?)"
                )
            if why:
                flags.setdefault(case_id, {})[name] = why
    return flags


def doubt(record: Record, flags: dict[str, str]) -> tuple[float, list[str]]:
    """(score in 0..1, reasons in plain words): low scores are reviewed first."""
    if not record.ok:
        kind = record.error.type if record.error else "error"
        return 0.0, [f"the model gave no valid answer ({kind})"]
    score, reasons = 1.0, []
    output = record.output or {}
    for name, probs in (record.probabilities or {}).items():
        p = probs.get(option_key(output.get(name))) if name in output else None
        if p is not None and p < 0.9:
            reasons.append(f"{name}: the model was {100 * p:.0f}% sure")
        if p is not None:
            score = min(score, float(p))
    for name, share in (record.agreement or {}).items():
        if share < 1.0:
            reasons.append(f"{name}: {100 * share:.0f}% of the samples agree")
        score = min(score, float(share))
    if record.repaired:
        reasons.append(f"the answer was cut off and repaired ({record.repaired})")
        score = min(score, 0.5)
    for name, why in flags.items():
        reasons.append(f"{name}: {why}")
        score = min(score, 0.5)
    for name, ev in (record.evidence or {}).items():
        if not ev.supported:
            reasons.append(f"{name}: the supporting quote is not in the report")
            score = min(score, 0.6)
    return score, reasons
