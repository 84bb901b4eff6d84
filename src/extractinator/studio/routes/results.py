"""Results: the table with filters, the per-case view, CSV/JSON export, and with a labels
file the expected value beside each wrong one (and the cases of a confusion-matrix cell)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ...errors import ExtractinatorError
from ...reports.casesview import CaseView, Filters, RunView, export_csv, export_json
from ...reports.evalview import expected_by_case
from ...reports.review import REVIEW_LABELS, ReviewStore
from ..security import safe_filename
from .common import load_view, render, run_summaries, workdir

router = APIRouter()


def _filters(
    status: str = "", field: str = "", value: str = "", conf_below: str = "", q: str = ""
) -> Filters:
    try:
        below = float(conf_below) if conf_below.strip() else None
    except ValueError:
        raise HTTPException(422, "conf_below must be a number between 0 and 1") from None
    if status not in ("", "ok", "failed"):
        raise HTTPException(422, "status must be ok or failed")
    return Filters(status=status, field=field, value=value, conf_below=below, q=q)


def _compare(
    request: Request, view: RunView, labels: str, prefix: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Expected values per case from a labels file (or why not)."""
    if not labels:
        return None, None
    wd = workdir(request)
    path = wd.resolve(labels)
    with tempfile.TemporaryDirectory(prefix="extractinator-studio-cmp-") as tmp:
        try:
            return expected_by_case(view.path, path, label_prefix=prefix, tmp_dir=Path(tmp)), None
        except ExtractinatorError as e:
            return None, str(e).replace(str(wd.root) + "/", "")


@router.get("/results", response_class=HTMLResponse)
def results(
    request: Request,
    run: str | None = None,
    status: str = "",
    field: str = "",
    value: str = "",
    conf_below: str = "",
    q: str = "",
    labels: str = "",
    prefix: str = "",
    mismatch: str = "",
    cell_field: str = "",
    expected: str = "",
    predicted: str = "",
) -> HTMLResponse:
    if not run:
        return render(request, "results.html", view=None, runs=run_summaries(request))
    view = load_view(request, run)
    filters = _filters(status, field, value, conf_below, q)
    compare, compare_error = _compare(request, view, labels, prefix)
    shown = [c for c in view.cases if filters.matches(c)]
    if compare is not None and mismatch:
        shown = [c for c in shown if any(not x["match"] for x in compare.get(c.id, {}).values())]
    if compare is not None and cell_field:
        shown = [
            c
            for c in shown
            if (x := compare.get(c.id, {}).get(cell_field))
            and x["key"] == expected
            and x["predicted_key"] == predicted
        ]
    params = {"run": run, "status": status, "field": field, "value": value}
    params.update({"conf_below": conf_below, "q": q, "labels": labels, "prefix": prefix})
    query = urlencode(params)

    def case_href(c: CaseView) -> str:
        return "/results/case?" + urlencode({"run": run, "id": c.id})

    reviewed = (view.path / REVIEW_LABELS).is_file()
    ok = sum(c.record.ok for c in view.cases)
    return render(
        request,
        "results.html",
        view=view,
        run=run,
        cases=shown,
        filters=filters,
        query=query,
        case_href=case_href,
        counts={"cases": len(view.cases), "ok": ok, "failed": len(view.cases) - ok},
        compare=compare,
        compare_error=compare_error,
        labels=labels,
        prefix=prefix,
        mismatch=mismatch,
        cell=(cell_field, expected, predicted) if cell_field else None,
        reviewed=reviewed,
        report_base=urlencode({"run": run, "labels": labels, "prefix": prefix}),
    )


@router.get("/results/case", response_class=HTMLResponse)
def case(request: Request, run: str, id: str) -> HTMLResponse:
    view = load_view(request, run)
    ids = [c.id for c in view.cases]
    if id not in ids:
        raise HTTPException(404, "no such case in this run")
    i = ids.index(id)

    def href(case_id: str | None) -> str | None:
        return (
            None if case_id is None else "/results/case?" + urlencode({"run": run, "id": case_id})
        )

    try:
        entry = ReviewStore(view.path, view.task).load().get(id)
    except ExtractinatorError:
        entry = None  # the review page says what is wrong with the file
    return render(
        request,
        "case.html",
        view=view,
        run=run,
        c=view.cases[i],
        prev=href(ids[i - 1] if i > 0 else None),
        next=href(ids[i + 1] if i + 1 < len(ids) else None),
        position=(i + 1, len(ids)),
        review_href="/review?" + urlencode({"run": run, "id": id}),
        entry=entry,
    )


@router.get("/results/export")
def export(
    request: Request,
    run: str,
    format: str = "csv",
    status: str = "",
    field: str = "",
    value: str = "",
    conf_below: str = "",
    q: str = "",
    labels: str = "",
    prefix: str = "",
) -> Response:
    """The filtered cases as CSV (one column per field) or JSON (full records)."""
    view = load_view(request, run)
    filters = _filters(status, field, value, conf_below, q)
    shown = [c for c in view.cases if filters.matches(c)]
    name = safe_filename(view.path.name or "results")
    if format == "csv":
        body, media = export_csv(view, shown), "text/csv; charset=utf-8"
    elif format == "json":
        body, media = export_json(shown), "application/json"
    else:
        raise HTTPException(422, "format must be csv or json")
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    return Response(body, media_type=media, headers=headers)
