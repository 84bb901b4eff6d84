"""``extractinator demo``: run a bundled example on the embedded model, print a table."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..config import RunConfig
from ..data import read_cases
from ..reports.labels import parse_label
from ..reports.matching import values_match
from ..runner import run_task
from ..sink import RunDir
from ..task import load_task
from ..task.spec import FieldSpec

EXAMPLES = {
    "radiology": ("radiology_task.yaml", "radiology_reports.csv"),
    "medication": ("medication_task.yaml", "medication_snippets.jsonl"),
}


def example_paths(name: str) -> tuple[Path, Path]:
    base = Path(str(files("extractinator") / "examples"))
    task_file, data_file = EXAMPLES[name]
    return base / task_file, base / data_file


def _expected(data: Path) -> dict[str, dict[str, Any]]:
    """Expected labels keyed by case id, from the example's `expected*` columns."""
    rows: dict[str, dict[str, Any]] = {}
    if data.suffix == ".jsonl":
        for line in data.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            rows[item["id"]] = {"medications": item["expected"]}
    else:
        import csv

        with data.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows[row["case_id"]] = {
                    k.removeprefix("expected_"): v
                    for k, v in row.items()
                    if k.startswith("expected_")
                }
    return rows


def _matches(spec: FieldSpec, got: Any, want: str) -> bool:
    """The label (CSV text) parsed for the field and compared by the one matching rule
    (numbers within 1%)."""
    return values_match(spec, parse_label(want, spec), got, rel_tol=0.01)


def run_demo(name: str, outdir: Path, config: RunConfig, console: Console | None = None) -> float:
    """Run example ``name`` into ``outdir``; print results; return the share of correct
    values (fields for radiology, medication names for medication)."""
    console = console or Console()
    task_file, data = example_paths(name)
    task = load_task(task_file)
    totals = run_task(task, data, outdir, config, task_source=str(task_file))
    expected = _expected(data)
    texts = {c.id: c.text for c in read_cases(data, input=task.input, id=task.id)}
    table = Table(title=f"{task.name}: {task_file.name} on {data.name}", show_lines=True)
    table.add_column("case")
    table.add_column("text", max_width=48)
    right = total = 0
    if name == "radiology":
        labelled = set().union(*(row.keys() for row in expected.values()))
        fields = [f for f in task.fields if f in labelled]
        for f in fields:
            table.add_column(f)
        for rec in RunDir(outdir).latest_records():
            cells = []
            for f in fields:
                got = (rec.output or {}).get(f)
                want = expected.get(rec.id, {}).get(f, "")
                ok = rec.ok and _matches(task.fields[f], got, want)
                right += ok
                total += 1
                shown = "failed" if not rec.ok else json.dumps(got)
                cells.append(
                    f"[green]{shown}[/]" if ok else f"[red]{shown}[/] (want {want or 'null'})"
                )
            table.add_row(rec.id, texts.get(rec.id, ""), *cells)
    else:
        table.add_column("medications (offsets, alignment)")
        for rec in RunDir(outdir).latest_records():
            spans = (rec.output or {}).get("medications") or []
            want = {w.lower() for w in expected.get(rec.id, {}).get("medications", [])}
            got = {s["text"].lower() for s in spans}
            right += len(want & got)
            total += len(want | got)
            shown = ", ".join(
                f"{s['text']} [{s['start']}:{s['end']}, {s['alignment']}]" for s in spans
            )
            table.add_row(rec.id, texts.get(rec.id, ""), shown or ("failed" if not rec.ok else "–"))
    console.print(table)
    score = right / total if total else 0.0
    console.print(f"correct: {right}/{total} ({score:.0%}) · {totals.summary()}")
    console.print(f"records: {outdir / 'records.jsonl'}")
    return score
