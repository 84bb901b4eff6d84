"""Scoring the held-out benchmark: per field, per task, per field kind, and overall.

Every value is compared by :mod:`extractinator.reports.matching` (the rule ``extractinator
evaluate`` uses), with numbers (amounts, numbers, integers) within **1%** of the label.
A case whose record failed, is missing, or lacks the field counts as **wrong** for every
field (its labelled spans / list items are all missed): a system that fails hard cases does
not look better for it.

* Field score: accuracy for boolean, enum, amount, number, integer, string and object
  fields; exact-list accuracy for lists (the items as a multiset; item F1 is reported
  beside it); span F1 by offsets + label for spans (micro over the cases; F1 by exact text
  + label beside it).
* Task mean: the mean of its field scores, each field weighing the same.
* Overall: the mean of the task means, each task weighing the same.
* Kind mean: the mean of the scores of all fields of that kind, over all tasks.
* Cases/min: cases processed / wall seconds of processing (model loading excluded).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..compute import finish_computed
from ..grounding import ground_spans
from ..reading import read_amounts
from ..records import Record
from ..reports import matching as m
from ..reports.evaluate import PRF
from ..sink import RunDir
from ..task.spec import FieldSpec, SpanTrim
from ..validate import InvalidOutput
from .heldout import KINDS, HeldoutTask

AMOUNT_REL_TOL = 0.01
SCORING = (
    "accuracy (amount/number/integer within 1%, lists exact as multisets), spans: F1 by "
    "offsets + label; a failed case counts as wrong; task mean = mean over its fields; "
    "overall = mean of task means; kind mean = mean over all fields of that kind"
)


@dataclass(frozen=True)
class Outcome:
    """One field of one case: a hit, and for lists / spans the item counts."""

    hit: bool
    counts: m.Counts | None = None  # list items; spans by offsets + label
    text_counts: m.Counts | None = None  # spans by exact text + label


def case_outcome(spec: FieldSpec, truth: Any, pred: Any, *, answered: bool) -> Outcome:
    """Compare one value (``answered`` False: the case failed or lacks the field)."""
    if spec.type == "spans":
        if not answered:
            missed = m.Counts(fn=len(truth or []))
            return Outcome(False, missed, missed)
        counts = m.span_counts_offsets(truth, pred)
        return Outcome(counts.fp == counts.fn == 0, counts, m.span_counts_text(truth, pred))
    if spec.type == "list":
        counts = (
            m.list_counts(spec, truth, pred, AMOUNT_REL_TOL)
            if answered
            else m.Counts(fn=len(truth or []))
        )
        return Outcome(answered and counts.fp == counts.fn == 0, counts)
    return Outcome(answered and m.values_match(spec, truth, pred, AMOUNT_REL_TOL))


def task_outcomes(
    ht: HeldoutTask, ids: list[str], records: Mapping[str, Record]
) -> dict[str, list[Outcome]]:
    """field -> one outcome per case id (in ``ids`` order)."""
    out: dict[str, list[Outcome]] = {}
    for name, spec in ht.scored_fields.items():
        row = []
        for case_id in ids:
            rec = records.get(case_id)
            answered = bool(rec is not None and rec.ok and rec.output and name in rec.output)
            pred = rec.output.get(name) if answered and rec and rec.output else None
            row.append(case_outcome(spec, ht.labels[case_id][name], pred, answered=answered))
        out[name] = row
    return out


def field_score(spec: FieldSpec, outcomes: list[Outcome]) -> float | None:
    """The field's score over these outcomes (spans: micro F1 by offsets)."""
    if not outcomes:
        return None
    if spec.type == "spans":
        return m.total(o.counts for o in outcomes if o.counts).f1
    return sum(o.hit for o in outcomes) / len(outcomes)


class FieldResult(BaseModel):
    kind: str
    type: str
    n: int
    score: float | None
    hits: int  # cases whose whole value matched
    items: PRF | None = None  # list items
    spans_text: PRF | None = None
    spans_offsets: PRF | None = None


class TaskResult(BaseModel):
    cases: int  # scored cases of the split
    failed: int  # failed or without a record
    missing: int = 0  # without a record at all
    timed_cases: int = 0  # cases the timing covers
    seconds: float | None = None
    mean: float | None = None
    kinds: dict[str, float] = Field(default_factory=dict)
    span_f1_text: float | None = None  # mean over the task's spans fields
    span_f1_offsets: float | None = None
    fields: dict[str, FieldResult] = Field(default_factory=dict)
    answers: dict[str, int] = Field(default_factory=dict)  # see answer_outcome

    @property
    def cases_per_min(self) -> float | None:
        return 60 * self.timed_cases / self.seconds if self.seconds else None


class SystemResult(BaseModel):
    system: str
    detail: str | None = None  # model, settings
    tasks: dict[str, TaskResult] = Field(default_factory=dict)
    overall: float | None = None
    kinds: dict[str, float] = Field(default_factory=dict)
    span_f1_text: float | None = None  # mean over all spans fields
    span_f1_offsets: float | None = None
    cases: int = 0
    failed: int = 0
    cases_per_min: float | None = None
    answers: dict[str, int] = Field(default_factory=dict)


class HeldoutResult(BaseModel):
    benchmark: str = "heldout"
    root: str
    split: str
    limit: int | None = None
    tasks: list[str]
    date: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    command: str | None = None
    scoring: str = SCORING
    systems: list[SystemResult] = Field(default_factory=list)


ANSWER_OUTCOMES = ("valid first time", "valid after re-asks", "repaired", "failed")


def answer_outcome(record: Record | None) -> str:
    """How a case's answer came about: valid at the first model call, valid after more
    calls (re-asks with the validation error), valid after a repair the record names
    (``repaired``: values set to null, entries left out, a cut list completed), or failed
    (no record counts as failed)."""
    if record is None or not record.ok:
        return "failed"
    if record.repaired:
        return "repaired"
    return "valid after re-asks" if record.attempts > 1 else "valid first time"


def _count_answers(outcomes: list[str]) -> dict[str, int]:
    return {k: outcomes.count(k) for k in ANSWER_OUTCOMES}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _kind_means(scored: list[tuple[str, float | None]]) -> dict[str, float]:
    by_kind: dict[str, list[float]] = {}
    for kind, score in scored:
        if score is not None:
            by_kind.setdefault(kind, []).append(score)
    order = {k: i for i, k in enumerate(KINDS)}
    return {k: sum(v) / len(v) for k, v in sorted(by_kind.items(), key=lambda kv: order[kv[0]])}


def _span_means(fields: list[FieldResult]) -> dict[str, float | None]:
    spans = [f for f in fields if f.spans_text and f.spans_offsets and f.n]
    return {
        "span_f1_text": _mean([f.spans_text.f1 for f in spans if f.spans_text]),
        "span_f1_offsets": _mean([f.spans_offsets.f1 for f in spans if f.spans_offsets]),
    }


def score_task(
    ht: HeldoutTask,
    ids: list[str],
    records: Mapping[str, Record],
    *,
    timed_cases: int = 0,
    seconds: float | None = None,
    count_answers: bool = True,
) -> TaskResult:
    """Score the cases ``ids`` of one task from their records (``count_answers``: also
    count how each answer came about, for records the pipeline wrote)."""
    outcomes = task_outcomes(ht, ids, records)
    fields = {}
    for name, spec in ht.scored_fields.items():
        got = outcomes[name]
        result = FieldResult(
            kind=ht.kinds[name],
            type=spec.type,
            n=len(got),
            score=field_score(spec, got),
            hits=sum(o.hit for o in got),
        )
        if spec.type == "list":
            result.items = PRF.of(m.total(o.counts for o in got if o.counts))
        if spec.type == "spans":
            result.spans_offsets = PRF.of(m.total(o.counts for o in got if o.counts))
            result.spans_text = PRF.of(m.total(o.text_counts for o in got if o.text_counts))
        fields[name] = result
    scores = [f.score for f in fields.values() if f.score is not None]
    failed = [i for i in ids if not (records.get(i) and records[i].ok)]
    return TaskResult(
        cases=len(ids),
        failed=len(failed),
        missing=sum(i not in records for i in ids),
        timed_cases=timed_cases,
        seconds=seconds,
        mean=_mean(scores),
        kinds=_kind_means([(f.kind, f.score) for f in fields.values()]),
        fields=fields,
        answers=_count_answers([answer_outcome(records.get(i)) for i in ids])
        if count_answers
        else {},
        **_span_means(list(fields.values())),
    )


def summarise(system: str, tasks: dict[str, TaskResult], detail: str | None = None) -> SystemResult:
    """The system's overall, kind means and totals from its task results."""
    timed = sum(t.timed_cases for t in tasks.values() if t.seconds)
    seconds = sum(t.seconds or 0.0 for t in tasks.values())
    return SystemResult(
        system=system,
        detail=detail,
        tasks=tasks,
        overall=_mean([t.mean for t in tasks.values() if t.mean is not None]),
        kinds=_kind_means([(f.kind, f.score) for t in tasks.values() for f in t.fields.values()]),
        cases=sum(t.cases for t in tasks.values()),
        failed=sum(t.failed for t in tasks.values()),
        **_span_means([f for t in tasks.values() for f in t.fields.values()]),
        cases_per_min=60 * timed / seconds if seconds else None,
        answers={
            k: sum(t.answers.get(k, 0) for t in tasks.values())
            for k in ANSWER_OUTCOMES
            if any(k in t.answers for t in tasks.values())
        },
    )


def run_dir_timing(run_dir: Path) -> tuple[int, float | None]:
    """(cases processed, wall seconds) summed over the sessions of a run directory
    (``manifest.json`` ``runs``: processing time, model loading excluded)."""
    manifest = RunDir(run_dir).read_manifest() or {}
    runs = manifest.get("runs") or []
    cases = sum(int(r.get("ok", 0)) + int(r.get("failed", 0)) for r in runs)
    seconds = sum(float(r.get("seconds", 0.0)) for r in runs)
    return cases, (seconds if cases and seconds > 0 else None)


def run_dir_detail(run_dir: Path) -> str | None:
    """The model and generation settings a run directory's manifest records."""
    manifest = RunDir(run_dir).read_manifest() or {}
    engine = manifest.get("engine") or {}
    model = engine.get("model_path") or engine.get("model")
    if not model:
        return None
    gen = (manifest.get("config") or {}).get("generation") or {}
    parts = [f"{engine.get('engine', '?')} {Path(str(model)).name}"]
    parts += [f"{k} {gen[k]}" for k in ("temperature", "max_tokens", "max_reasks") if k in gen]
    if gen.get("samples", 1) != 1:
        parts.append(f"samples {gen['samples']}")
    return "; ".join(parts)


def run_dir_records(run_dir: Path) -> dict[str, Record]:
    rundir = RunDir(run_dir)
    if not rundir.records_path.exists():
        return {}
    return {rec.id: rec for rec in rundir.latest_records()}


def score_run_dirs(
    tasks: list[HeldoutTask],
    split: str,
    out: str | Path,
    *,
    limit: int | None = None,
    system: str = "extractinator",
    detail: str | None = None,
    retrim: SpanTrim | None = None,
    reread: bool = False,
) -> SystemResult:
    """Score ``<out>/<task>/`` run directories (as :func:`.heldout.run_heldout` writes);
    ``detail`` defaults to the model and settings in their manifests. ``retrim``: score
    the spans as the model wrote them, cut again by that trim mode; ``reread``: the amounts
    as the model wrote them, read again by the current rules (neither runs the model)."""
    out = Path(out)
    results = {}
    details = {d for ht in tasks if (d := run_dir_detail(out / ht.name))}
    detail = detail or " | ".join(sorted(details)) or None
    if retrim is not None:
        detail = f"{detail or 'extractinator'}; spans re-cut offline with trim: {retrim}"
    if reread:
        detail = f"{detail or 'extractinator'}; amounts read again offline"
    for ht in tasks:
        ids = [c.id for c in ht.split_cases(split, limit)]
        timed, seconds = run_dir_timing(out / ht.name)
        records = run_dir_records(out / ht.name)
        if retrim is not None:
            records = retrimmed(ht, records, retrim)
        if reread:
            records = reread_amounts(ht, records)
        results[ht.name] = score_task(ht, ids, records, timed_cases=timed, seconds=seconds)
    return summarise(system, results, detail)


def retrimmed(ht: HeldoutTask, records: dict[str, Record], mode: SpanTrim) -> dict[str, Record]:
    """The records with every spans field re-cut from the texts the model wrote (``written``
    where trimming changed it) by trim ``mode`` and grounded again."""
    fields = {
        n: spec.model_copy(update={"trim": mode}) if spec.type == "spans" else spec
        for n, spec in ht.task.fields.items()
    }
    task = ht.task.model_copy(update={"fields": fields})
    texts = {c.id: c.text for c in ht.cases}
    out = {}
    for cid, rec in records.items():
        if rec.output is None or not task.span_fields() or cid not in texts:
            out[cid] = rec
            continue
        output = dict(rec.output)
        for name in task.span_fields():
            if output.get(name):
                output[name] = [
                    {"text": s.get("written", s["text"]), "label": s["label"]} for s in output[name]
                ]
        out[cid] = rec.model_copy(update={"output": ground_spans(task, output, texts[cid])})
    return out


def reread_amounts(ht: HeldoutTask, records: dict[str, Record]) -> dict[str, Record]:
    """The records with every amount read again, by the current reading rules, from the
    words the model wrote (kept in ``amounts``), and their computed fields computed again.
    A record whose amounts no longer read is kept as it was."""
    texts = {c.id: c.text for c in ht.cases}
    out = {}
    for cid, rec in records.items():
        out[cid] = rec
        if rec.output is None or not rec.amounts or cid not in texts:
            continue
        output = copy.deepcopy(rec.output)
        for name in ht.task.computed_fields():
            output.pop(name, None)
        for path, reading in rec.amounts.items():
            holder, key = _locate(output, path)
            holder[key] = _as_written(reading.text)
        try:
            readings = read_amounts(ht.task, output, texts[cid], null_unreadable=True)
        except InvalidOutput:
            continue
        again = rec.model_copy(update={"output": output, "amounts": readings})
        finish_computed(again, ht.task)
        out[cid] = again
    return out


def _locate(output: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container and key of ``name``, ``name.sub`` or ``name[2].sub`` in ``output``."""
    steps: list[Any] = [int(t[1:-1]) if t.startswith("[") else t for t in _STEP.findall(path)]
    holder: Any = output
    for step in steps[:-1]:
        holder = holder[step]
    return holder, steps[-1]


_STEP = re.compile(r"\[\d+\]|[^.\[\]]+")


def _as_written(text: str | None) -> Any:
    """A reading's text as the model gave it: a plain number was (taken as) a JSON number."""
    if text is not None and re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return float(text)
    return text
