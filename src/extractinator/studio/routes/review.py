"""Review: one case at a time, most doubtful first; the reviewer accepts the model's values
or corrects them (values, passages, "not in the report") and each case is saved at once
into RUN/review_labels.jsonl (see :mod:`extractinator.reports.review`). The reviewed set
exports as the final data; a reviewed case can become a worked example of the task file."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ...errors import ExtractinatorError
from ...reports.casesview import RunView
from ...reports.review import (
    REVIEW_LABELS,
    ReviewStore,
    changed_fields,
    check_values,
    final_rows,
    model_values,
    queue,
    rows_csv,
    rows_jsonl,
)
from ..security import safe_filename
from ..taskfiles import check_task_file
from ..taskform import task_yaml, validate_task
from .common import load_view, render, run_summaries, workdir

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]


def _store(view: RunView) -> ReviewStore:
    return ReviewStore(view.path, view.task)


def _reviewed(view: RunView) -> dict[str, dict[str, Any]]:
    try:
        return _store(view).load()
    except ExtractinatorError as e:
        raise HTTPException(422, str(e)) from None


def _next_id(order: list[str], reviewed: dict[str, Any], after: str | None) -> str | None:
    """The next case in queue order after ``after`` that is not reviewed (wrapping)."""
    start = order.index(after) + 1 if after in order else 0
    for case_id in order[start:] + order[:start]:
        if case_id not in reviewed and case_id != after:
            return case_id
    return None


def _spec_info(view: RunView) -> dict[str, Any]:
    """What the page's editor needs to know of each field."""
    out = {}
    for name, spec in view.task.fields.items():
        out[name] = {
            "type": spec.type,
            "description": spec.description or "",
            "nullable": spec.nullable,
            "values": spec.values,
            "labels": spec.label_names if spec.type == "spans" else None,
            "unit": spec.unit,
            "minimum": spec.minimum,
            "maximum": spec.maximum,
        }
    return out


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, run: str | None = None, id: str | None = None) -> HTMLResponse:
    if not run:
        return render(request, "review.html", view=None, runs=run_summaries(request))
    view = load_view(request, run)
    reviewed = _reviewed(view)
    items = queue(view)
    order = [i["id"] for i in items]
    if not order:
        raise HTTPException(404, "the run has no cases")
    case_id = id if id in order else (_next_id(order, reviewed, None) or order[0])
    case = view.case(case_id)
    assert case is not None
    position = order.index(case_id)
    entry = reviewed.get(case_id)
    values = {n: entry.get(n) for n in view.task.fields} if entry else model_values(view.task, case)
    evidence = {
        name: {"start": ev.start, "end": ev.end, "quote": ev.quote, "supported": ev.supported}
        for name, ev in (case.record.evidence or {}).items()
    }
    data = {
        "run": run,
        "id": case_id,
        "text": case.text,
        "fields": _spec_info(view),
        "model": model_values(view.task, case),
        "values": values,
        "evidence": evidence,
        "pages": case.pages,
        "confidence": case.confidence,
        "probabilities": case.record.probabilities or {},
        "saved": entry,
        "ok": case.record.ok,
    }

    def href(target: str | None) -> str | None:
        return None if target is None else "/review?" + urlencode({"run": run, "id": target})

    return render(
        request,
        "review.html",
        view=view,
        run=run,
        c=case,
        item=items[position],
        entry=entry,
        data=data,
        prev=href(order[position - 1] if position > 0 else None),
        next=href(order[position + 1] if position + 1 < len(order) else None),
        position=(position + 1, len(order)),
        progress={"reviewed": len([i for i in order if i in reviewed]), "total": len(order)},
        labels_file=f"{run}/{REVIEW_LABELS}",
    )


@router.post("/api/review/save")
def save(request: Request, body: JsonBody) -> dict[str, Any]:
    """Check the case's values and save them; answers the next case to review."""
    view = load_view(request, str(body.get("run") or ""))
    case_id = str(body.get("id") or "")
    case = view.case(case_id)
    if case is None:
        raise HTTPException(404, "no such case in this run")
    try:
        values = check_values(view.task, body.get("values"), case.text)
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    changed = changed_fields(view.task, case.record.output if case.record.ok else None, values)
    source = "corrected" if changed else "model"
    reviewer = str(body.get("reviewer") or "").strip()[:80]
    entry = _store(view).save(case_id, values, source, changed, reviewer)
    reviewed = _reviewed(view)
    order = [i["id"] for i in queue(view)]
    nxt = _next_id(order, reviewed, case_id)
    return {
        "saved": entry,
        "next": nxt,
        "reviewed": len([i for i in order if i in reviewed]),
        "total": len(order),
    }


@router.post("/api/review/undo")
def undo(request: Request, body: JsonBody) -> dict[str, Any]:
    """Forget a case's review (it goes back into the queue)."""
    view = load_view(request, str(body.get("run") or ""))
    _store(view).remove(str(body.get("id") or ""))
    return {"removed": True}


@router.get("/review/export")
def export(request: Request, run: str, format: str = "csv") -> Response:
    """The reviewed data set: corrections where made, the model's values elsewhere, and a
    ``review`` column saying which."""
    view = load_view(request, run)
    rows = final_rows(view, _reviewed(view))
    name = safe_filename(view.path.name or "run") + "-reviewed"
    if format == "csv":
        body, media = rows_csv(rows), "text/csv; charset=utf-8"
    elif format == "jsonl":
        body, media = rows_jsonl(rows), "application/x-ndjson"
    else:
        raise HTTPException(422, "format must be csv or jsonl")
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    return Response(body, media_type=media, headers=headers)


@router.post("/api/review/example")
def add_example(request: Request, body: JsonBody) -> dict[str, Any]:
    """Add a reviewed case (its text and checked values) to the run's task file as a
    worked example. Only a task file inside the studio folder, in the YAML/JSON format."""
    wd = workdir(request)
    view = load_view(request, str(body.get("run") or ""))
    case_id = str(body.get("id") or "")
    case, entry = view.case(case_id), _reviewed(view).get(case_id)
    if case is None or entry is None:
        raise HTTPException(422, "review the case first: only checked values become examples")
    if not case.text:
        raise HTTPException(422, "the case's report text is not available")
    source = (view.manifest.get("task") or {}).get("source")
    if not source:
        raise HTTPException(422, "the run does not name its task file")
    path = wd.confine(source, "the run's task file")
    if not path.is_file() or path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise HTTPException(422, f"{wd.rel(path)}: not a task file the studio can change")
    check_task_file(wd, path)
    raw = path.read_text(encoding="utf-8-sig")
    data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    if not isinstance(data, dict) or "fields" not in data:
        raise HTTPException(422, f"{wd.rel(path)}: not in the studio's task format")
    if data.get("examples_file"):
        raise HTTPException(
            422, f"{wd.rel(path)} keeps its examples in {data['examples_file']}: add it there"
        )
    output = {}
    for name, spec in view.task.fields.items():
        value = entry.get(name)
        if spec.type == "spans":
            value = [{"text": s["text"], "label": s["label"]} for s in value or []]
        output[name] = value
    example = {"input": case.text, "output": output}
    data["examples"] = [*(data.get("examples") or []), example]
    task, errors = validate_task(data)
    if task is None:
        first = errors[0] if errors else {"path": "", "message": "invalid"}
        raise HTTPException(422, f"not added: {first['path']}: {first['message']}")
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        path.write_text(task_yaml(data), encoding="utf-8")
    return {"task": wd.rel(path), "examples": len(data["examples"])}
