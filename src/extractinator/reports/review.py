"""Human review of a run: corrections saved case by case as a labels file beside the run.

``RUN_DIR/review_labels.jsonl`` holds one line per reviewed case: the case id (under the
task's id column name, else ``id``), one key per field with its checked value as JSON
(spans as ``[{"text", "label", "start", "end"}]``, null for "not in the report"), and
``_reviewer``, ``_reviewed_at`` (UTC, ISO 8601), ``_source`` (``model``: accepted as the
model gave it; ``corrected``: changed by the reviewer) and ``_changed`` (the fields changed).
Readers of labels ignore the ``_`` keys, so the file is a labels file that ``extractinator
evaluate`` reads as it is. The file is rewritten atomically (temporary file, fsync, rename)
after every case, so a reload or a crash loses nothing that was saved.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..align import align_spans
from ..errors import DataError
from ..task.schema import value_model
from ..task.spec import FieldSpec, Task
from .casesview import CaseView, RunView
from .doubt import doubt

REVIEW_LABELS = "review_labels.jsonl"
META_KEYS = ("_reviewer", "_reviewed_at", "_source", "_changed")
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def id_key(task: Task) -> str:
    """The labels file's id column: the task's id column, else ``id``."""
    return task.id or "id"


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path.resolve(), threading.Lock())


class ReviewStore:
    """The review labels of one run folder."""

    def __init__(self, run_dir: Path, task: Task) -> None:
        self.path = run_dir / REVIEW_LABELS
        self.task = task
        self.key = id_key(task)

    def load(self) -> dict[str, dict[str, Any]]:
        """case id -> its saved line (in file order); a damaged line is an error naming it."""
        if not self.path.exists():
            return {}
        entries: dict[str, dict[str, Any]] = {}
        with self.path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    entries[str(entry[self.key])] = entry
                except (ValueError, KeyError, TypeError):
                    raise DataError(
                        f"{self.path}: line {lineno} is not a review line with {self.key!r}"
                    ) from None
        return entries

    def save(
        self, case_id: str, values: dict[str, Any], source: str, changed: list[str], reviewer: str
    ) -> dict[str, Any]:
        """Add or replace the case's line and rewrite the file atomically."""
        entry: dict[str, Any] = {self.key: case_id}
        entry.update({name: values.get(name) for name in self.task.fields})
        entry.update(
            _reviewer=reviewer or "studio",
            _reviewed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            _source=source,
            _changed=changed,
        )
        with _lock(self.path):
            entries = self.load()
            entries[case_id] = entry
            _write_lines(self.path, entries.values())
        return entry

    def remove(self, case_id: str) -> None:
        with _lock(self.path):
            entries = self.load()
            if entries.pop(case_id, None) is not None:
                _write_lines(self.path, entries.values())


def _write_lines(path: Path, entries: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:  # the rename itself survives a crash once the folder is synced
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass  # not every file system lets a folder be synced; the rename is still atomic


# -- checking a correction --------------------------------------------------------------


def check_values(task: Task, values: Any, text: str | None) -> dict[str, Any]:
    """The reviewer's values, checked against the fields (ValueError naming the field).
    Null is allowed for every field ("not in the report"). Spans are checked against the
    text: offsets within it and their text taken from it, or found by alignment."""
    if not isinstance(values, dict):
        raise ValueError("the values must be an object with one key per field")
    unknown = [k for k in values if k not in task.fields]
    if unknown:
        raise ValueError(f"no field {unknown[0]!r} in the task")
    out: dict[str, Any] = {}
    for name, spec in task.fields.items():
        value = values.get(name)
        if value is None:
            out[name] = None
        elif spec.type == "spans":
            out[name] = _check_spans(name, spec, value, text)
        else:
            out[name] = _check_field(task, name, spec, value)
    return out


def _check_field(task: Task, name: str, spec: FieldSpec, value: Any) -> Any:
    try:
        checked = value_model({name: spec}).model_validate({name: value})
    except ValidationError as e:
        first = e.errors()[0]
        raise ValueError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None
    result = checked.model_dump(mode="json", by_alias=True)[name]
    if spec.type == "integer" and isinstance(result, float) and result.is_integer():
        result = int(result)
    return result


def _check_spans(name: str, spec: FieldSpec, value: Any, text: str | None) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError(f"{name}: spans must be a list")
    labels = spec.label_names
    out = []
    for i, span in enumerate(value):
        if not isinstance(span, dict) or span.get("label") not in labels:
            raise ValueError(f"{name}: passage {i + 1} needs a label ({', '.join(labels)})")
        start, end = span.get("start"), span.get("end")
        if isinstance(start, int) and isinstance(end, int) and text is not None:
            if not 0 <= start < end <= len(text):
                raise ValueError(f"{name}: passage {i + 1} lies outside the report text")
            out.append(
                {"text": text[start:end], "label": span["label"], "start": start, "end": end}
            )
            continue
        quoted = str(span.get("text") or "").strip()
        if not quoted:
            raise ValueError(f"{name}: passage {i + 1} has no text")
        found = align_spans(text or "", [(quoted, span["label"])])[0]
        out.append({"text": quoted, "label": span["label"], "start": found.start, "end": found.end})
    return sorted(out, key=lambda s: (s["start"] is None, s["start"] or 0, s["end"] or 0))


def _comparable(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.type == "spans":
        return sorted(
            (s.get("label"), s.get("start"), s.get("end"))
            if s.get("start") is not None
            else (s.get("label"), " ".join(str(s.get("text")).split()))
            for s in value
        )
    if spec.type in ("integer", "number") and isinstance(value, (int, float)):
        return float(value)
    return json.dumps(value, sort_keys=True)


def changed_fields(
    task: Task, model_output: dict[str, Any] | None, values: dict[str, Any]
) -> list[str]:
    """The fields whose checked value differs from the model's (all, for a failed case)."""
    if model_output is None:
        return list(task.fields)
    return [
        name
        for name, spec in task.fields.items()
        if _comparable(spec, values.get(name)) != _comparable(spec, model_output.get(name))
    ]


def model_values(task: Task, case: CaseView) -> dict[str, Any]:
    """The model's values as the review starts from them (spans with their offsets)."""
    if not case.record.ok:
        return {name: None for name in task.fields}
    output = case.record.output or {}
    values = {}
    for name, spec in task.fields.items():
        value = output.get(name)
        if spec.type == "spans" and value:
            value = [{k: s.get(k) for k in ("text", "label", "start", "end")} for s in value]
        values[name] = value
    return values


# -- queue and export -------------------------------------------------------------------


def queue(view: RunView) -> list[dict[str, Any]]:
    """Every case with its doubt score and reasons, most doubtful first (then input order)."""
    items = []
    for c in view.cases:
        score, reasons = doubt(c.record, c.flags)
        items.append({"id": c.id, "row": c.record.row, "doubt": score, "reasons": reasons})
    return sorted(items, key=lambda i: (i["doubt"], i["row"]))


def final_rows(view: RunView, reviewed: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The reviewed data set, one row per case in input order: the corrected values where
    corrected, the model's where accepted or not reviewed yet; ``review`` says which
    (corrected, accepted, not reviewed), with reviewer and time."""
    task = view.task
    rows = []
    for c in view.cases:
        entry = reviewed.get(c.id)
        if entry is not None:
            values = {name: entry.get(name) for name in task.fields}
            state = "corrected" if entry.get("_source") == "corrected" else "accepted"
        else:
            values = model_values(task, c)
            state = "not reviewed" if c.record.ok else "not reviewed (model failed)"
        row: dict[str, Any] = {id_key(task): c.id, **values, "review": state}
        row["reviewer"] = (entry or {}).get("_reviewer", "")
        row["reviewed_at"] = (entry or {}).get("_reviewed_at", "")
        row["changed"] = ",".join((entry or {}).get("_changed") or [])
        rows.append(row)
    return rows


def rows_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def rows_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
