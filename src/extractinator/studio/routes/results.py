"""Results: the table with filters, the per-case view, and CSV/JSON export."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ...reports.casesview import CaseView, Filters, export_csv, export_json
from .common import load_view, render, run_summaries

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


@router.get("/results", response_class=HTMLResponse)
def results(
    request: Request,
    run: str | None = None,
    status: str = "",
    field: str = "",
    value: str = "",
    conf_below: str = "",
    q: str = "",
) -> HTMLResponse:
    if not run:
        return render(request, "results.html", view=None, runs=run_summaries(request))
    view = load_view(request, run)
    filters = _filters(status, field, value, conf_below, q)
    shown = [c for c in view.cases if filters.matches(c)]
    query = urlencode(
        {
            "run": run,
            "status": status,
            "field": field,
            "value": value,
            "conf_below": conf_below,
            "q": q,
        }
    )

    def case_href(c: CaseView) -> str:
        return "/results/case?" + urlencode({"run": run, "id": c.id})

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

    return render(
        request,
        "case.html",
        view=view,
        run=run,
        c=view.cases[i],
        prev=href(ids[i - 1] if i > 0 else None),
        next=href(ids[i + 1] if i + 1 < len(ids) else None),
        position=(i + 1, len(ids)),
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
) -> Response:
    """The filtered cases as CSV (one column per field) or JSON (full records)."""
    view = load_view(request, run)
    filters = _filters(status, field, value, conf_below, q)
    shown = [c for c in view.cases if filters.matches(c)]
    name = view.path.name or "results"
    if format == "csv":
        body, media = export_csv(view, shown), "text/csv; charset=utf-8"
    elif format == "json":
        body, media = export_json(shown), "application/json"
    else:
        raise HTTPException(422, "format must be csv or json")
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    return Response(body, media_type=media, headers=headers)
