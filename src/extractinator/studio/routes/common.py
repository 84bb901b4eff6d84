"""What every page needs: the workdir, the job manager, rendering, run lookup and the file
lists the pickers show (data and task files only: nothing from inside run folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from ...data import FORMATS
from ...documents import document_files
from ...errors import RunDirError
from ...reports.casesview import RunView, load_run_view
from ...sink import MANIFEST, RECORDS
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


def is_run_dir(path: Path) -> bool:
    return (path / MANIFEST).is_file() or (path / RECORDS).is_file()


def run_dir(request: Request, run: str | None) -> Path:
    path = workdir(request).resolve(run)
    if not path.is_dir():
        raise HTTPException(404, "no such run folder")
    return path


def load_view(request: Request, run: str | None) -> RunView:
    """The run's results; 404 when the folder holds no run. The data file its manifest
    names is read only when it is inside the workdir."""
    path = run_dir(request, run)
    try:
        return load_run_view(path, allowed=workdir(request).contains)
    except RunDirError as e:
        raise HTTPException(404, str(e)) from None


def _outside_runs(wd: Workdir) -> list[Path]:
    """Files and folders in the workdir that are not inside a run folder."""
    runs = set(wd.run_dirs())
    return [p for p in wd.walk() if not any(parent in runs for parent in p.parents)]


def data_choices(wd: Workdir) -> list[str]:
    """Data files, and folders of documents (shown with a trailing ``/``)."""
    out = []
    for p in _outside_runs(wd):
        if p.is_file() and p.suffix.lower() in DATA_SUFFIXES:
            out.append(wd.rel(p))
        elif p.is_dir() and not is_run_dir(p) and document_files(p):
            out.append(wd.rel(p) + "/")
    return sorted(out)


def task_choices(wd: Workdir) -> list[str]:
    return sorted(
        wd.rel(p) for p in _outside_runs(wd) if p.is_file() and p.suffix.lower() in TASK_SUFFIXES
    )


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
