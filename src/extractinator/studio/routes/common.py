"""What every page needs: the workdir, the job manager, rendering, and run lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from ...data import FORMATS
from ...errors import RunDirError
from ...reports.casesview import RunView, load_run_view
from ..jobs import JobManager
from ..security import Workdir

DATA_SUFFIXES = tuple(FORMATS)
TASK_SUFFIXES = (".yaml", ".yml", ".json")


def workdir(request: Request) -> Workdir:
    wd: Workdir = request.app.state.workdir
    return wd


def jobs(request: Request) -> JobManager:
    manager: JobManager = request.app.state.jobs
    return manager


def render(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.setdefault("page", name.removesuffix(".html"))
    response: HTMLResponse = request.app.state.templates.TemplateResponse(request, name, context)
    return response


def run_dir(request: Request, run: str | None) -> Path:
    path = workdir(request).resolve(run)
    if not path.is_dir():
        raise HTTPException(404, "no such run folder")
    return path


def load_view(request: Request, run: str | None) -> RunView:
    """The run's results; 404 when the folder holds no run."""
    path = run_dir(request, run)
    try:
        return load_run_view(path, allowed=workdir(request).contains)
    except RunDirError as e:
        raise HTTPException(404, str(e)) from None


def run_summaries(request: Request) -> list[dict[str, Any]]:
    """Every run in the workdir with its progress, newest first."""
    wd, manager = workdir(request), jobs(request)
    out = []
    for path in wd.run_dirs():
        info = manager.progress(path)
        info["run"] = wd.rel(path)
        info["mtime"] = max((p.stat().st_mtime for p in path.iterdir() if p.is_file()), default=0.0)
        out.append(info)
    return sorted(out, key=lambda r: r["mtime"], reverse=True)
