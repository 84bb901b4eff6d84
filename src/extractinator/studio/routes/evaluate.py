"""Evaluation: score a run against a labels file (per-field metrics, confusion matrices
whose cells open their cases, calibration plots), upload labels, save the evaluation files,
and download the self-contained HTML report.

Showing an evaluation writes nothing (plots are made in a temporary folder and embedded);
saving ``evaluation.json`` and the PNGs into the run folder is a POST.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ...errors import ExtractinatorError
from ...reports.evalview import evaluation_view
from ...reports.html import data_uri, render_report
from ...reports.review import REVIEW_LABELS
from ..security import safe_filename
from .common import data_choices, render, run_dir, run_summaries, workdir

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]


def labels_choices(request: Request) -> list[str]:
    """Data files, and the review labels saved beside each run."""
    wd = workdir(request)
    files = [f for f in data_choices(wd) if not f.endswith("/")]
    reviewed = [wd.rel(p / REVIEW_LABELS) for p in wd.run_dirs() if (p / REVIEW_LABELS).is_file()]
    return sorted(files) + sorted(reviewed)


def results_href(run: str, labels: str, prefix: str) -> Any:
    """The link of a confusion-matrix cell: the run's cases with that label and value."""

    def href(field: str, expected: str, predicted: str) -> str:
        query = {"run": run, "labels": labels, "prefix": prefix, "cell_field": field}
        query.update({"expected": expected, "predicted": predicted})
        return "/results?" + urlencode(query)

    return href


@router.get("/evaluate", response_class=HTMLResponse)
def evaluate_page(
    request: Request, run: str | None = None, labels: str | None = None, prefix: str = ""
) -> HTMLResponse:
    wd = workdir(request)
    context: dict[str, Any] = {
        "runs": run_summaries(request),
        "labels_files": labels_choices(request),
        "run": run,
        "labels": labels,
        "prefix": prefix,
        "ev": None,
        "error": None,
        "plot_src": data_uri,
        "cell_href": results_href(run or "", labels or "", prefix),
        "report_query": urlencode({"run": run or "", "labels": labels or "", "prefix": prefix}),
    }
    if not (run and labels):
        return render(request, "evaluate.html", **context)
    path = run_dir(request, run)
    labels_path = wd.resolve(labels)
    with tempfile.TemporaryDirectory(prefix="extractinator-studio-eval-") as tmp:
        try:
            context["ev"] = evaluation_view(path, labels_path, Path(tmp), label_prefix=prefix)
        except ExtractinatorError as e:
            context["error"] = str(e).replace(str(wd.root) + "/", "")
        return render(request, "evaluate.html", **context)  # plots embedded before cleanup


@router.post("/api/evaluate/save")
def save_evaluation(request: Request, body: JsonBody) -> dict[str, Any]:
    """Write evaluation.json and the plots into RUN/evaluation/."""
    wd = workdir(request)
    path = run_dir(request, str(body.get("run") or ""))
    labels = wd.resolve(body.get("labels"))
    out = path / "evaluation"
    try:
        evaluation_view(path, labels, out, label_prefix=str(body.get("prefix") or ""))
    except ExtractinatorError as e:
        raise HTTPException(422, str(e).replace(str(wd.root) + "/", "")) from None
    return {"saved": wd.rel(out / "evaluation.json")}


@router.get("/report")
def report(
    request: Request,
    run: str,
    labels: str = "",
    prefix: str = "",
    texts: str = "1",
    paths: str = "1",
) -> Response:
    """The self-contained HTML report of a run (with the evaluation when labels are given;
    ``texts=0`` leaves out report texts and quotes, ``paths=0`` file paths)."""
    wd = workdir(request)
    path = run_dir(request, run)
    labels_path = wd.resolve(labels) if labels else None
    try:
        html = render_report(
            path,
            labels_path,
            label_prefix=prefix,
            texts=texts != "0",
            paths=paths != "0",
            allowed=wd.contains,
        )
    except ExtractinatorError as e:
        raise HTTPException(422, str(e).replace(str(wd.root) + "/", "")) from None
    name = safe_filename(path.name)
    headers = {"Content-Disposition": f'attachment; filename="{name}-report.html"'}
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)
