"""Data: upload files (a table, or documents into a folder) or pick them in the workdir,
preview the rows, choose the columns. An upload over an existing file is refused (409)
unless the page, after asking, sends ``overwrite``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ...data import data_columns, read_rows
from ...documents import DOCUMENT_SUFFIXES
from ...errors import ExtractinatorError
from ..security import check_name, safe_filename, save_upload
from .common import DATA_SUFFIXES, TASK_SUFFIXES, data_choices, render, workdir

router = APIRouter()
UPLOADS = "uploads"
PREVIEW_ROWS = 20
CELL_CHARS = 400


def preview_rows(request: Request, path: str, n: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The columns and first rows of a data file or documents folder (cells shortened)."""
    wd = workdir(request)
    file = wd.resolve(path)
    if not file.exists():
        raise HTTPException(404, "no such data file or folder")
    try:
        columns = data_columns(file)
        rows = []
        for _, _, rec in read_rows(file, columns):
            rows.append([_cell(rec.get(c)) for c in columns])
            if len(rows) >= n:
                break
    except ExtractinatorError as e:
        raise HTTPException(422, str(e).replace(str(wd.root) + "/", "")) from None
    return {"path": path, "columns": columns, "rows": rows, "folder": file.is_dir()}


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
        data_files=data_choices(wd),
        path=path,
        preview=preview,
        error=error,
        guess=guess,
        limit_mb=request.app.state.max_upload // (1024 * 1024),
        document_suffixes=", ".join(DOCUMENT_SUFFIXES),
    )


@router.get("/api/data/preview")
def api_preview(request: Request, path: str, n: int = PREVIEW_ROWS) -> dict[str, Any]:
    return preview_rows(request, path, min(max(n, 1), 500))


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


@router.post("/api/upload")
async def upload(
    request: Request,
    file: Annotated[list[UploadFile], File()],
    folder: Annotated[str, Form()] = "",
    labels_for: Annotated[str, Form()] = "",
    overwrite: Annotated[str, Form()] = "",
) -> Response:
    """Save uploads into ``uploads/``: one data, labels or task file, or documents (PDF,
    DOCX, HTML, text, images) into ``uploads/<folder>/``. Answers where to go next (a
    redirect; for the page's script, which asks for JSON, ``{"next": url, "paths": [...]}``);
    409 ``{"exists": [...]}`` when a file would be replaced and ``overwrite`` is not 1.
    ``labels_for``: the run whose Evaluation page uploaded a labels file."""
    wd = workdir(request)
    names = [safe_filename(f.filename or "upload") for f in file]
    suffixes = [_suffix(n) for n in names]
    documents = all(s in DOCUMENT_SUFFIXES for s in suffixes)
    if not documents and len(file) > 1:
        raise HTTPException(415, "upload one data file at a time, or only documents")
    if not documents and suffixes[0] not in DATA_SUFFIXES + TASK_SUFFIXES:
        raise HTTPException(415, f"unsupported file type {suffixes[0] or '(none)'}")
    sub = check_name(folder or "documents", "folder name") if documents else ""
    base = f"{UPLOADS}/{sub}" if sub else UPLOADS
    dests = [wd.resolve(f"{base}/{n}") for n in names]
    existing = [wd.rel(d) for d in dests if d.exists()]
    if existing and overwrite != "1":
        return JSONResponse(
            {"exists": existing, "detail": f"{', '.join(existing)} exists already"},
            status_code=409,
        )
    limit = request.app.state.max_upload
    for upload_file, dest in zip(file, dests, strict=True):
        dest.parent.mkdir(parents=True, exist_ok=True)
        await save_upload(upload_file, dest, limit)
    first = wd.rel(dests[0])
    if documents:
        where = wd.rel(dests[0].parent) + "/"
        nxt = "/data?path=" + quote(where)
    elif suffixes[0] in (".yaml", ".yml"):
        nxt = "/tasks?path=" + quote(first)
    elif labels_for:
        nxt = "/evaluate?" + urlencode({"run": labels_for, "labels": first})
    else:
        nxt = "/data?path=" + quote(first)
    if "application/json" not in request.headers.get("accept", ""):
        return RedirectResponse(nxt, status_code=303)
    return JSONResponse({"next": nxt, "paths": [wd.rel(d) for d in dests]})
