"""Task builder: edit a task as a form, see the task file and prompt live, load and save
(saving over an existing file asks first; task names must be usable as file names)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ..security import check_name
from ..taskfiles import load_confined_task
from ..taskform import STARTER, preview, task_as_mapping, task_yaml, validate_task
from .common import TASK_SUFFIXES, render, task_choices, workdir

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]


def _load(request: Request, path: str) -> dict[str, Any]:
    task, _ = load_confined_task(workdir(request), path)
    return task_as_mapping(task)


@router.get("/tasks", response_class=HTMLResponse)
def builder(request: Request, path: str | None = None) -> HTMLResponse:
    wd = workdir(request)
    task = _load(request, path) if path else STARTER
    return render(
        request,
        "tasks.html",
        task=task,
        path=path or "",
        task_files=task_choices(wd),
    )


@router.get("/api/tasks/load")
def load(request: Request, path: str) -> dict[str, Any]:
    return {"task": _load(request, path), "path": path}


@router.post("/api/tasks/preview")
def task_preview(request: Request, body: JsonBody) -> dict[str, Any]:
    return preview(body.get("task"), body.get("sample"))


@router.post("/api/tasks/save")
def save(request: Request, body: JsonBody) -> JSONResponse:
    """Write the task file (YAML, or JSON for a .json path); refused while invalid, and
    over an existing file unless ``overwrite`` (409 says it exists: the page asks)."""
    wd = workdir(request)
    path = str(body.get("path") or "")
    file = wd.resolve(path)
    if file.suffix.lower() not in TASK_SUFFIXES:
        raise HTTPException(400, "a task file must end in .yaml, .yml or .json")
    data = body.get("task")
    task, errors = validate_task(data)
    if task is None:
        return JSONResponse({"ok": False, "errors": errors}, status_code=422)
    assert isinstance(data, dict)
    check_name(task.name, "the task name")
    if file.exists() and not body.get("overwrite"):
        return JSONResponse(
            {"ok": False, "exists": True, "path": wd.rel(file), "errors": []}, status_code=409
        )
    file.parent.mkdir(parents=True, exist_ok=True)
    if file.suffix.lower() == ".json":
        file.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        file.write_text(task_yaml(data), encoding="utf-8")
    return JSONResponse({"ok": True, "path": wd.rel(file)})


@router.post("/api/tasks/parse")
def parse_yaml(request: Request, body: JsonBody) -> dict[str, Any]:
    """A task file's text (YAML or JSON) -> the mapping, for pasting into the builder."""
    try:
        data = yaml.safe_load(str(body.get("text") or ""))
    except yaml.YAMLError as e:
        raise HTTPException(422, f"not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise HTTPException(422, "a task file must hold a mapping")
    return {"task": data}
