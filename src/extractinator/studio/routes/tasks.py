"""Task builder: edit a task as a form, see the task file and prompt live, load and save."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ...errors import ExtractinatorError
from ...task import load_task
from ..taskform import STARTER, preview, task_as_mapping, task_yaml, validate_task
from .common import TASK_SUFFIXES, render, workdir

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]


def _load(request: Request, path: str) -> dict[str, Any]:
    file = workdir(request).resolve(path)
    if not file.is_file():
        raise HTTPException(404, "no such task file")
    try:
        return task_as_mapping(load_task(file))
    except ExtractinatorError as e:
        raise HTTPException(422, str(e)) from None


@router.get("/tasks", response_class=HTMLResponse)
def builder(request: Request, path: str | None = None) -> HTMLResponse:
    wd = workdir(request)
    task = _load(request, path) if path else STARTER
    return render(
        request,
        "tasks.html",
        task=task,
        path=path or "tasks/my_task.yaml",
        task_files=wd.files(TASK_SUFFIXES),
    )


@router.get("/api/tasks/load")
def load(request: Request, path: str) -> dict[str, Any]:
    return {"task": _load(request, path), "path": path}


@router.post("/api/tasks/preview")
def task_preview(request: Request, body: JsonBody) -> dict[str, Any]:
    return preview(body.get("task"), body.get("sample"))


@router.post("/api/tasks/save")
def save(request: Request, body: JsonBody) -> JSONResponse:
    """Write the task file (YAML, or JSON for a .json path); refused while invalid."""
    path = str(body.get("path") or "")
    file = workdir(request).resolve(path)
    if file.suffix.lower() not in TASK_SUFFIXES:
        raise HTTPException(400, "a task file must end in .yaml, .yml or .json")
    data = body.get("task")
    task, errors = validate_task(data)
    if task is None:
        return JSONResponse({"ok": False, "errors": errors}, status_code=422)
    assert isinstance(data, dict)
    file.parent.mkdir(parents=True, exist_ok=True)
    if file.suffix.lower() == ".json":
        file.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        file.write_text(task_yaml(data), encoding="utf-8")
    return JSONResponse({"ok": True, "path": workdir(request).rel(file)})


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
