"""Evaluation: score a run against a labels file (per-field metrics, confusion matrices,
calibration plots), and download the self-contained HTML report."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ...errors import ExtractinatorError
from ...reports.evalview import evaluation_view
from ...reports.html import render_report
from .common import DATA_SUFFIXES, render, run_dir, run_summaries, workdir

router = APIRouter()


@router.get("/evaluate", response_class=HTMLResponse)
def evaluate_page(
    request: Request, run: str | None = None, labels: str | None = None, prefix: str = ""
) -> HTMLResponse:
    wd = workdir(request)
    ev = error = None
    if run and labels:
        path = run_dir(request, run)
        labels_path = wd.resolve(labels)
        try:
            ev = evaluation_view(path, labels_path, path / "evaluation", label_prefix=prefix)
        except ExtractinatorError as e:
            error = str(e)
    return render(
        request,
        "evaluate.html",
        runs=run_summaries(request),
        data_files=wd.files(DATA_SUFFIXES),
        run=run,
        labels=labels,
        prefix=prefix,
        ev=ev,
        error=error,
        plot_src=lambda p: "/files?" + urlencode({"path": wd.rel(p)}),
        report_query=urlencode({"run": run or "", "labels": labels or "", "prefix": prefix}),
    )


@router.get("/report")
def report(request: Request, run: str, labels: str = "", prefix: str = "") -> Response:
    """The self-contained HTML report of a run (with the evaluation when labels are given)."""
    path = run_dir(request, run)
    labels_path = workdir(request).resolve(labels) if labels else None
    try:
        html = render_report(path, labels_path, label_prefix=prefix)
    except ExtractinatorError as e:
        raise HTTPException(422, str(e)) from None
    headers = {"Content-Disposition": f'attachment; filename="{path.name}-report.html"'}
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)
