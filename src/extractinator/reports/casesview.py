"""A run's results as view data, shared by the studio and the self-contained HTML report.

Records hold no report text, so texts are read back from the run's data file (its path is
in the manifest). Grounded spans and evidence quotes become *segments* of the text: plain
runs and marked runs (nested where quotes nest), cut at the record's character offsets
(:mod:`.segments`). Templates render every segment escaped (jinja2 autoescape) and wrap the
marked ones in ``<mark>``: report text is untrusted and is never turned into markup.
Numbers are shown with their field's unit; values unusual for the run are flagged
(:mod:`.doubt`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import read_cases
from ..errors import ExtractinatorError
from ..records import Record
from ..sink import RunDir
from ..task.spec import Task
from .doubt import flag_unusual
from .evaluate import load_run, option_key
from .segments import Mark, Segment, segments, with_page_starts

__all__ = ["CaseView", "Filters", "Mark", "RunView", "Segment", "load_run_view", "segments"]

PathCheck = Callable[[Path], bool]


@dataclass
class CaseView:
    """One case as the results table and the case page show it."""

    record: Record
    text: str | None
    segments: list[Segment]
    spans: list[dict[str, Any]]  # field, text, label, start, end, alignment, shown
    values: dict[str, str]  # top-level field -> a short display of the value (with unit)
    confidence: dict[str, float]  # boolean/enum field -> probability of the chosen value
    min_confidence: float | None
    pages: list[dict[str, Any]] = field(default_factory=list)  # documents: page offsets
    flags: dict[str, str] = field(default_factory=dict)  # field -> why the value is unusual

    @property
    def id(self) -> str:
        return self.record.id


@dataclass
class RunView:
    """A run directory read for display: its task, manifest and cases in input order."""

    path: Path
    task: Task
    manifest: dict[str, Any]
    cases: list[CaseView]
    notes: list[str] = field(default_factory=list)

    def case(self, case_id: str) -> CaseView | None:
        return next((c for c in self.cases if c.id == case_id), None)

    def field_names(self) -> list[str]:
        return list(self.task.fields)


@dataclass
class Filters:
    """Results filters: status, a field's value (substring, case-insensitive), cases with a
    field probability below a threshold, and an id substring."""

    status: str = ""
    field: str = ""
    value: str = ""
    conf_below: float | None = None
    q: str = ""

    def active(self) -> bool:
        return bool(self.status or self.value or self.q or self.conf_below is not None)

    def matches(self, case: CaseView) -> bool:
        if self.status and case.record.status != self.status:
            return False
        if self.q and self.q.casefold() not in case.id.casefold():
            return False
        if self.value:
            names = [self.field] if self.field else list(case.values)
            needle = self.value.casefold()
            if not any(needle in case.values.get(n, "").casefold() for n in names):
                return False
        if self.conf_below is not None:
            conf = case.min_confidence
            if conf is None or conf >= self.conf_below:
                return False
        return True


def display_value(value: Any, unit: str | None = None) -> str:
    """A short, plain-text display of a field value (spans: their texts; numbers with the
    field's unit)."""
    if value is None:
        return "null"
    if unit and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g} {unit}" if isinstance(value, float) else f"{value} {unit}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, dict) and "label" in v for v in value):
        return "; ".join(f"{v.get('text')} [{v.get('label')}]" for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def case_view(task: Task, record: Record, text: str | None) -> CaseView:
    """The view of one record, with its text (None when the data file is unavailable)."""
    output = record.output or {}
    marks: list[Mark] = []
    spans: list[dict[str, Any]] = []
    span_marks: list[int | None] = []  # per span: its mark's index (None: not grounded)
    for name in task.span_fields():
        for span in output.get(name) or []:
            spans.append({"field": name, **span})
            if span.get("start") is None or span.get("end") is None:
                span_marks.append(None)
                continue
            span_marks.append(len(marks))
            title = f"{name}: {span.get('label')} ({span.get('alignment')})"
            marks.append(Mark(span["start"], span["end"], "span", str(span.get("label")), title))
    for name, ev in (record.evidence or {}).items():
        if ev.start is not None and ev.end is not None:
            title = f"evidence for {name} ({ev.alignment})"
            marks.append(Mark(ev.start, ev.end, "evidence", name, title))
    segs, shown = segments(text, marks) if text is not None else ([], set())
    pages = list((record.extra.get("document") or {}).get("pages") or [])
    if text is not None and len(pages) > 1:
        segs = with_page_starts(segs, {p["start"]: str(p["page"]) for p in pages})
    for span, mark in zip(spans, span_marks, strict=True):
        span["shown"] = mark is not None and mark in shown
    confidence: dict[str, float] = {}
    for name, probs in (record.probabilities or {}).items():
        if name in output and probs:
            p = probs.get(option_key(output[name]))
            if p is not None:
                confidence[name] = float(p)
    values = (
        {n: display_value(output.get(n), spec.unit) for n, spec in task.fields.items()}
        if record.ok
        else {}
    )
    return CaseView(
        record=record,
        text=text,
        segments=segs,
        spans=spans,
        values=values,
        confidence=confidence,
        min_confidence=min(confidence.values()) if confidence else None,
        pages=pages,
    )


def load_texts(
    task: Task, manifest: dict[str, Any], allowed: PathCheck | None = None
) -> tuple[dict[str, str], list[str]]:
    """Case id -> report text, read back from the run's data file; and notes on why not."""
    path_s = (manifest.get("data") or {}).get("path")
    if not path_s:
        return {}, ["the manifest names no data file: report texts are not shown"]
    path = Path(path_s)
    if allowed is not None and not allowed(path):
        return {}, [f"the data file is outside the studio's folder: {path.name}"]
    if not path.exists():
        return {}, [f"the data file is gone: {path}"]
    encoding = (manifest.get("config") or {}).get("encoding")
    try:
        cases = read_cases(path, input=task.input, id=task.id, encoding=encoding)
        return {c.id: c.text for c in cases}, []
    except (ExtractinatorError, OSError, ValueError) as e:
        return {}, [f"report texts not shown: {e}"]


def load_run_view(run_dir: str | Path, allowed: PathCheck | None = None) -> RunView:
    """Read a run directory (raises RunDirError if it is not one)."""
    path = Path(run_dir)
    task, records = load_run(path)
    manifest = RunDir(path).read_manifest() or {}
    texts, notes = load_texts(task, manifest, allowed)
    ordered = sorted(records.values(), key=lambda r: r.row)
    cases = [case_view(task, rec, texts.get(rec.id)) for rec in ordered]
    by_id = {c.id: c for c in cases}
    for case_id, flags in flag_unusual(task, [c.record for c in cases]).items():
        by_id[case_id].flags = flags
    return RunView(path=path, task=task, manifest=manifest, cases=cases, notes=notes)


def export_rows(view: RunView, cases: Iterable[CaseView]) -> list[dict[str, Any]]:
    """Flat rows: id, status, error, one column per field (JSON for lists/objects) and the
    lowest field probability."""
    rows = []
    for c in cases:
        rec = c.record
        row: dict[str, Any] = {
            "id": rec.id,
            "status": rec.status,
            "error_type": rec.error.type if rec.error else "",
            "error_message": rec.error.message if rec.error else "",
        }
        for name in view.task.fields:
            value = (rec.output or {}).get(name)
            row[name] = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
            )
        row["min_confidence"] = c.min_confidence
        rows.append(row)
    return rows


def export_csv(view: RunView, cases: Iterable[CaseView]) -> str:
    rows = export_rows(view, cases)
    buf = io.StringIO()
    header = ["id", "status", "error_type", "error_message", *view.task.fields, "min_confidence"]
    writer = csv.DictWriter(buf, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def export_json(cases: Iterable[CaseView]) -> str:
    """The full records (as records.json holds them) of the cases given."""
    return json.dumps(
        [c.record.model_dump(mode="json") for c in cases], ensure_ascii=False, indent=1
    )
