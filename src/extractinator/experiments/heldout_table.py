"""The held-out results as plain-text tables: systems side by side per task and overall,
then per field; and as a Markdown table (for benchmarks/RESULTS.md)."""

from __future__ import annotations

from .heldout import KINDS
from .heldout_scoring import HeldoutResult, SystemResult, TaskResult


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _kinds(result: HeldoutResult) -> list[str]:
    """Kind columns present; spans are the "span F1 offsets" column (the spans score)."""
    present = {k for s in result.systems for t in s.tasks.values() for k in t.kinds}
    return [k for k in KINDS if k in present and k != "spans"]


def _spans(result: HeldoutResult) -> bool:
    return any(s.span_f1_text is not None for s in result.systems)


def _row(
    label: str, system: str, item: TaskResult | SystemResult, kinds: list[str], spans: bool
) -> list[str]:
    mean = item.mean if isinstance(item, TaskResult) else item.overall
    cells = [
        label,
        system,
        str(item.cases),
        str(item.failed),
        _rate(item.cases_per_min),
        _f(mean),
        *(_f(item.kinds.get(k)) for k in kinds),
    ]
    if spans:
        cells += [_f(item.span_f1_text), _f(item.span_f1_offsets)]
    return cells


def _grid(header: list[str], rows: list[list[str]], left: int = 2) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        lines.append(
            "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)


def _header(result: HeldoutResult, kinds: list[str], spans: bool) -> list[str]:
    head = ["task", "system", "cases", "failed", "cases/min", "mean", *kinds]
    return head + (["span F1 text", "span F1 offsets"] if spans else [])


def summary_rows(result: HeldoutResult) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the main table: each task, then overall, systems adjacent."""
    kinds, spans = _kinds(result), _spans(result)
    rows = []
    for task in result.tasks:
        for i, s in enumerate(result.systems):
            if task in s.tasks:
                rows.append(_row(task if i == 0 else "", s.system, s.tasks[task], kinds, spans))
    for i, s in enumerate(result.systems):
        rows.append(_row("overall" if i == 0 else "", s.system, s, kinds, spans))
    return _header(result, kinds, spans), rows


def field_rows(result: HeldoutResult) -> tuple[list[str], list[list[str]]]:
    """Per field: its kind, cases and each system's score (lists: item F1 beside it;
    spans: offsets F1, exact-text F1 beside it)."""
    header = ["task.field", "kind", "n", *(s.system for s in result.systems)]
    rows = []
    for task in result.tasks:
        first = next((s.tasks[task] for s in result.systems if task in s.tasks), None)
        if first is None:
            continue
        for name, f in first.fields.items():
            cells = [f"{task}.{name}", f.kind, str(f.n)]
            for s in result.systems:
                got = s.tasks.get(task)
                fr = got.fields.get(name) if got else None
                if fr is None:
                    cells.append("–")
                elif fr.items:
                    cells.append(f"{_f(fr.score)} (items F1 {_f(fr.items.f1)})")
                elif fr.spans_text:
                    cells.append(f"{_f(fr.score)} (text {_f(fr.spans_text.f1)})")
                else:
                    cells.append(_f(fr.score))
            rows.append(cells)
    return header, rows


def format_results(result: HeldoutResult) -> str:
    """Both tables as plain text with a heading naming the split, root and rules."""
    n_cases = max((s.cases for s in result.systems), default=0)
    limit = f" · first {result.limit} per task" if result.limit else ""
    head = (
        f"Held-out benchmark · split {result.split}{limit} · {len(result.tasks)} tasks · "
        f"{n_cases} cases · root {result.root}"
    )
    details = [f"  {s.system}: {s.detail}" for s in result.systems if s.detail]
    details += [
        f"  {s.system} answers: " + " · ".join(f"{n} {k}" for k, n in s.answers.items())
        for s in result.systems
        if s.answers
    ]
    main = _grid(*summary_rows(result))
    fields = _grid(*field_rows(result), left=2)
    return "\n".join(
        [
            head,
            *details,
            f"Scores: {result.scoring}.",
            "",
            main,
            "",
            "Per field (spans: offsets F1, exact-text F1 in brackets)",
            fields,
        ]
    )


def format_markdown(result: HeldoutResult) -> str:
    """The main table as Markdown."""
    header, rows = summary_rows(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
