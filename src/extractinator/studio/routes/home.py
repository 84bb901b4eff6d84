"""The start page: runs, task files and data files in the workdir."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from .common import data_choices, render, run_summaries, task_choices, workdir

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    wd = workdir(request)
    return render(
        request,
        "index.html",
        runs=run_summaries(request),
        task_files=task_choices(wd),
        data_files=data_choices(wd),
        root=str(wd.root),
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/files")
def image(request: Request, path: str) -> Response:
    """A PNG in the workdir (evaluation plots)."""
    file = workdir(request).resolve(path)
    if file.suffix.lower() != ".png" or not file.is_file():
        raise HTTPException(404, "not a PNG file in the studio folder")
    return FileResponse(file, media_type="image/png")
