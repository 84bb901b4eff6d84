"""Data: upload a file or pick one in the workdir, preview its rows, choose the columns."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from ...data import data_columns, read_rows
from ...errors import ExtractinatorError
from ..security import safe_filename, save_upload
from .common import DATA_SUFFIXES, TASK_SUFFIXES, render, workdir

router = APIRouter()
UPLOADS = "uploads"
PREVIEW_ROWS = 20
CELL_CHARS = 400


def preview_rows(request: Request, path: str, n: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The columns and first rows of a data file (cells as short strings)."""
    file = workdir(request).resolve(path)
    if not file.is_file():
        raise HTTPException(404, "no such data file")
    try:
        columns = data_columns(file)
        rows = []
        for _, _, rec in read_rows(file, columns):
            rows.append([_cell(rec.get(c)) for c in columns])
            if len(rows) >= n:
                break
    except ExtractinatorError as e:
        raise HTTPException(422, str(e)) from None
    return {"path": path, "columns": columns, "rows": rows}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…"


def _guess_text(columns: list[str], rows: list[list[str]]) -> str | None:
    """The column with the longest texts: probably the report."""
    if not columns:
        return None
    lengths = [sum(len(r[i]) for r in rows) for i in range(len(columns))]
    return columns[lengths.index(max(lengths))]


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, path: str | None = None) -> HTMLResponse:
    wd = workdir(request)
    preview = error = None
    if path:
        try:
            preview = preview_rows(request, path)
        except HTTPException as e:
            if e.status_code == 403:
                raise
            error = e.detail
    guess = _guess_text(preview["columns"], preview["rows"]) if preview else None
    return render(
        request,
        "data.html",
        data_files=wd.files(DATA_SUFFIXES),
        path=path,
        preview=preview,
        error=error,
        guess=guess,
        limit_mb=request.app.state.max_upload // (1024 * 1024),
    )


@router.get("/api/data/preview")
def api_preview(request: Request, path: str, n: int = PREVIEW_ROWS) -> dict[str, Any]:
    return preview_rows(request, path, min(max(n, 1), 500))


@router.post("/api/upload")
async def upload(request: Request, file: Annotated[UploadFile, File()]) -> RedirectResponse:
    """Save a data (or task) file into ``uploads/`` and show its preview."""
    name = safe_filename(file.filename or "upload")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in DATA_SUFFIXES + TASK_SUFFIXES:
        raise HTTPException(415, f"unsupported file type {suffix or '(none)'}")
    wd = workdir(request)
    dest = wd.resolve(f"{UPLOADS}/{name}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    await save_upload(file, dest, request.app.state.max_upload)
    target = "/tasks?path=" if suffix in (".yaml", ".yml") else "/data?path="
    return RedirectResponse(target + quote(wd.rel(dest)), status_code=303)
