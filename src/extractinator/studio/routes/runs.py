"""Run: choose task, data and engine, start, follow progress live (server-sent events, with
polling when the stream is not there), cancel, rename and delete runs. Studio runs are
ordinary run folders: the CLI can resume them and vice versa."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from ...config import RunConfig, engine_config, run_config
from ...data import read_cases
from ...errors import ExtractinatorError
from ...task.spec import Task
from ..security import check_name, name_for_file
from ..taskfiles import load_confined_task
from .common import (
    data_choices,
    is_run_dir,
    jobs,
    render,
    run_dir,
    run_summaries,
    task_choices,
    workdir,
)

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]
POLL_SECONDS = 0.5


@router.get("/run", response_class=HTMLResponse)
def run_page(
    request: Request,
    task: str | None = None,
    data: str | None = None,
    input: str | None = None,
    id: str | None = None,
    run: str | None = None,
) -> HTMLResponse:
    wd = workdir(request)
    return render(
        request,
        "run.html",
        task_files=task_choices(wd),
        data_files=data_choices(wd),
        chosen={"task": task, "data": data, "input": input or "", "id": id or "", "run": run},
        runs=run_summaries(request),
    )


def _columns(value: Any) -> str | list[str] | None:
    cols = [c.strip() for c in str(value or "").split(",") if c.strip()]
    return None if not cols else cols[0] if len(cols) == 1 else cols


def _task(request: Request, body: dict[str, Any]) -> tuple[Task, str]:
    task, path = load_confined_task(workdir(request), body.get("task"))
    update: dict[str, Any] = {}
    if (cols := _columns(body.get("input"))) is not None:
        update["input"] = cols
    if body.get("id"):
        update["id"] = str(body["id"]).strip()
    return (task.model_copy(update=update) if update else task), str(path)


def _config(body: dict[str, Any]) -> RunConfig:
    """The run settings of the form; blanks take the config types' defaults."""
    engine = body.get("engine") or {}
    kind = engine.get("kind") or "llamacpp"
    try:
        n_ctx = int(engine["n_ctx"]) if engine.get("n_ctx") else None
        return run_config(
            engine_config(
                kind,
                model=engine.get("model") or None,
                base_url=engine.get("base_url") or None,
                n_ctx=n_ctx if kind != "openai" else None,
            ),
            generation={
                "temperature": float(body["temperature"]) if body.get("temperature") else None,
                "max_tokens": int(body["max_tokens"]) if body.get("max_tokens") else None,
            },
            limit=int(body["limit"]) if body.get("limit") else None,
            overwrite=bool(body.get("overwrite")),
            retry_failed=bool(body.get("retry_failed")),
            progress=False,
        )
    except (ExtractinatorError, ValueError) as e:
        raise HTTPException(422, f"invalid run settings: {e}") from None


@router.post("/api/runs")
def start_run(request: Request, body: JsonBody) -> dict[str, Any]:
    """Start a run in the background; returns the run folder (relative to the workdir).
    The folder and its manifest exist when this answers (the model may still be loading)."""
    wd = workdir(request)
    running = jobs(request).active()
    if running is not None:  # before looking at the folder, which that run is writing
        raise HTTPException(409, f"a run is in progress: {running.outdir.name}")
    task, task_source = _task(request, body)
    data = wd.resolve(body.get("data"))
    if not data.exists():
        raise HTTPException(404, "no such data file or folder")
    config = _config(body)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = wd.resolve(body.get("outdir") or f"runs/{name_for_file(task.name)}-{stamp}")
    if outdir == wd.root:
        raise HTTPException(422, "choose an output folder inside the studio folder")
    if outdir.exists() and (
        not outdir.is_dir() or (any(outdir.iterdir()) and not is_run_dir(outdir))
    ):
        raise HTTPException(
            422, f"{wd.rel(outdir)} exists and holds other files: choose a new output folder"
        )
    try:
        cases = list(read_cases(data, input=task.input, id=task.id, limit=config.limit))
    except ExtractinatorError as e:
        raise HTTPException(422, str(e).replace(str(wd.root) + "/", "")) from None
    info = {"path": str(data), "rows": len(cases)}
    jobs(request).start(task, cases, outdir, config, data_info=info, task_source=task_source)
    return {"run": wd.rel(outdir), "total": len(cases)}


@router.get("/api/runs")
def list_runs(request: Request) -> dict[str, Any]:
    """Every run folder with its state (for the runs tables to refresh)."""
    return {"runs": run_summaries(request)}


@router.get("/api/runs/progress")
def progress(request: Request, run: str) -> dict[str, Any]:
    return jobs(request).progress(run_dir(request, run))


@router.post("/api/runs/cancel")
def cancel(request: Request, run: str) -> dict[str, Any]:
    return {"cancelled": jobs(request).cancel(run_dir(request, run))}


def _own_run(request: Request, run: Any) -> Any:
    """A run folder that may be renamed or deleted: inside the workdir, not the workdir
    itself, holding a run and no other run, and not running now."""
    wd = workdir(request)
    path = run_dir(request, str(run or ""))
    if path == wd.root or not is_run_dir(path):
        raise HTTPException(422, "not a run folder")
    if any(is_run_dir(p) for p in path.rglob("*") if p.is_dir()):
        raise HTTPException(422, f"{wd.rel(path)} holds other run folders: not changed")
    job = jobs(request).job(path)
    if job is not None and job.state in ("loading model", "running"):
        raise HTTPException(409, "the run is in progress: cancel it first")
    return path


@router.post("/api/runs/rename")
def rename(request: Request, body: JsonBody) -> dict[str, Any]:
    """Rename a run folder (it stays in the same parent folder)."""
    wd = workdir(request)
    path = _own_run(request, body.get("run"))
    name = check_name(str(body.get("name") or ""), "run name")
    dest = wd.resolve(wd.rel(path.parent) + "/" + name)
    if dest.exists():
        raise HTTPException(409, f"{wd.rel(dest)} exists already: choose another name")
    path.rename(dest)
    jobs(request).forget(path)
    return {"run": wd.rel(dest)}


@router.post("/api/runs/delete")
def delete(request: Request, body: JsonBody) -> dict[str, Any]:
    """Delete a run folder and everything in it (records, evaluation, review labels)."""
    wd = workdir(request)
    path = _own_run(request, body.get("run"))
    rel = wd.rel(path)
    shutil.rmtree(path)
    jobs(request).forget(path)
    return {"deleted": rel}


@router.get("/api/runs/events")
async def events(request: Request, run: str) -> StreamingResponse:
    """Progress as server-sent events until the run is no longer running."""
    path = run_dir(request, run)
    manager = jobs(request)

    async def stream() -> AsyncIterator[str]:
        since = (time.monotonic(), manager.progress(path)["done"])
        while True:
            info = manager.progress(path, since)
            yield f"data: {json.dumps(info)}\n\n"
            if info["finished"] or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
