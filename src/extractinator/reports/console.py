"""The evaluation as rich tables on the terminal."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from .evaluate import CalibrationReport, Evaluation, FieldReport


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _f1s(r: FieldReport) -> str:
    if r.items:
        return _f(r.items.f1)
    if r.spans_text and r.spans_offsets:
        return f"{_f(r.spans_text.f1)} / {_f(r.spans_offsets.f1)}"
    return "–"


def print_evaluation(evaluation: Evaluation, console: Console | None = None) -> None:
    """A table of fields and metrics, then one coverage table per field with probabilities."""
    console = console or Console()
    m = evaluation.matching
    console.print(
        f"[bold]{evaluation.task}[/]: {m.matched} labelled cases scored "
        f"({m.records_without_label} records unlabelled, "
        f"{m.labels_without_record} labels without a record)"
    )
    if m.labels_without_record:
        shown = ", ".join(m.labels_without_record_ids)
        more = " …" if m.labels_without_record > len(m.labels_without_record_ids) else ""
        console.print(f"{evaluation.labels}: ids without a record: {shown}{more}", markup=False)
    table = Table(title="Evaluation per field", box=box.SIMPLE_HEAD)
    columns = ["field", "type", "n", "coverage", "accuracy", "macro F1", "MAE", "±5%"]
    with_f1 = any(r.items or r.spans_text for r in evaluation.fields.values())
    for col in columns + (["F1"] if with_f1 else []):
        table.add_column(col, justify="left" if col in ("field", "type") else "right")
    for name, r in evaluation.fields.items():
        cells = [
            name,
            r.type,
            str(r.n),
            _pct(r.coverage),
            _pct(r.accuracy),
            _f(r.macro_f1),
            _f(r.mae),
            _pct(r.within_5pct),
        ]
        if with_f1:
            cells.append(_f1s(r))
        table.add_row(*cells)
    console.print(table)
    if with_f1:
        console.print("F1: list items (as a multiset); spans by exact text / by offsets")
    calibrated = {n: r.calibration for n, r in evaluation.fields.items() if r.calibration}
    print_calibration(calibrated, console, what="field")
    for note in evaluation.notes:
        console.print(f"note: {note}", markup=False)


def print_calibration(
    reports: dict[str, CalibrationReport], console: Console, *, what: str = "field"
) -> None:
    """ECE, Brier and AUC per field (or task), then a coverage table for each."""
    if not reports:
        return
    cal = Table(title="Calibration (confidence of the predicted value)", box=box.SIMPLE_HEAD)
    for col in (what, "method", "n", "ECE", "Brier", "AUC"):
        cal.add_column(col, justify="left" if col in (what, "method") else "right")
    for name, c in reports.items():
        cal.add_row(name, c.method or "", str(c.n), _f(c.ece), _f(c.brier), _f(c.auc))
    console.print(cal)
    for name, c in reports.items():
        cov = Table(title=f"{name}: keep cases with confidence ≥ t", box=box.SIMPLE_HEAD)
        for col in ("t", "kept", "coverage", "accuracy of kept"):
            cov.add_column(col, justify="right")
        for p in c.coverage_curve:
            cov.add_row(f"{p.threshold:.2f}", str(p.n), _pct(p.coverage), _pct(p.accuracy))
        console.print(cov)
