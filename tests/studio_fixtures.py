"""Workdirs and run folders for the studio tests, made without a model: records written
directly (with probabilities and spans where wanted), plus a report text with an XSS payload."""

from __future__ import annotations

import csv
import random
import shutil
import time
from pathlib import Path
from typing import Any

from extractinator.align import align_spans
from extractinator.records import Record, RecordError
from extractinator.sink import RunDir
from extractinator.task import Task, load_task

from fakes import FakeEngine
from paths import EXAMPLES, FIXTURES

RADIOLOGY_REPLY = '{"nodule_present": true, "largest_nodule_mm": 8, "side": "right"}'


def fake_factory(delay: float = 0.0):
    """An engine factory for create_app: every case gets RADIOLOGY_REPLY."""
    return lambda config: FakeEngine(lambda request: RADIOLOGY_REPLY, delay=delay)


def wait_for_run(client, run, until=lambda p: p["finished"], timeout=20.0):
    """Poll a studio run's progress until ``until(progress)``; its last progress."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = client.get(f"/api/runs/progress?run={run}").json()
        if until(progress):
            return progress
        time.sleep(0.05)
    raise AssertionError(f"run {run} did not get there: {progress}")


XSS_TEXT = (
    'Patiënt gebruikt aspirine 80 mg. <script>alert("xss")</script> '
    "Verder <img src=x onerror=alert(1)> metoprolol."
)
XSS_TASK = {
    "name": "xss_check",
    "description": "List the medications.",
    "input": "text",
    "id": "id",
    "fields": {
        "medications": {"type": "spans", "labels": ["MEDICATION"], "layout": "list"},
        "note": {"type": "string"},
        "present": {"type": "boolean"},
    },
}


def fabricate_run(
    outdir: Path,
    task: Task,
    data: Path,
    outputs: dict[str, dict[str, Any] | None],
    *,
    texts: dict[str, str] | None = None,
    probabilities: dict[str, dict[str, dict[str, float]]] | None = None,
) -> Path:
    """A finished run folder: one record per id (None: a failed case with raw output);
    spans fields given as [{"text", "label"}] are grounded in ``texts``."""
    rundir = RunDir(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for row, (case_id, output) in enumerate(outputs.items()):
        if output is None:
            rec = Record(
                id=case_id,
                row=row,
                status="failed",
                key=case_id,
                attempts=3,
                raw_output='{"present": "<b>maybe</b>"',
                error=RecordError(type="invalid_json", message="answer cut off <b>x</b>"),
            )
        else:
            out = dict(output)
            for name in task.span_fields():
                spans = out.get(name) or []
                text = (texts or {}).get(case_id, "")
                aligned = align_spans(text, [(s["text"], s["label"]) for s in spans])
                out[name] = [a.model_dump() for a in aligned]
            rec = Record(
                id=case_id,
                row=row,
                status="ok",
                key=case_id,
                attempts=1,
                output=out,
                probabilities=(probabilities or {}).get(case_id),
                probability_method="logprobs" if probabilities else None,
            )
        rundir.append(rec)
    rundir.close()
    rundir.export()
    rundir.write_manifest(
        {
            "task_fingerprint": task.fingerprint(),
            "model_id": "fake:1",
            "prompt_template": "t",
            "status": "finished",
            "task": {"name": task.name, "source": None, "definition": task.model_dump()},
            "data": {"path": str(data.resolve()), "rows": len(outputs)},
            "engine": {"engine": "fake"},
        }
    )
    return outdir


def make_workdir(root: Path) -> Path:
    """A studio folder with a radiology task and data, a fabricated radiology run with
    probabilities (for evaluation), and a run whose report holds an XSS payload."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("radiology_reports.csv", "medication_task.yaml"):
        shutil.copy(EXAMPLES / name, root / name)
    # the fabricated runs answer the three plain fields (the example computes them now)
    shutil.copy(FIXTURES / "radiology_plain_task.yaml", root / "radiology_task.yaml")
    task = load_task(root / "radiology_task.yaml")
    rng = random.Random(7)
    outputs: dict[str, dict[str, Any] | None] = {}
    probs: dict[str, dict[str, dict[str, float]]] = {}
    with (root / "radiology_reports.csv").open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            present = row["expected_nodule_present"] == "true"
            side = row["expected_side"]
            if i == 3:
                outputs[row["case_id"]] = None
                continue
            if i in (2, 7):  # a few mistakes, with lower confidence
                present, side = not present, "bilateral"
            size = (
                float(row["expected_largest_nodule_mm"])
                if row["expected_largest_nodule_mm"]
                else None
            )
            outputs[row["case_id"]] = {
                "nodule_present": present,
                "largest_nodule_mm": size,
                "side": side,
            }
            p = 0.55 + 0.1 * rng.random() if i in (2, 7) else 0.9 + 0.1 * rng.random()
            probs[row["case_id"]] = {
                "nodule_present": {str(present).lower(): p, str(not present).lower(): 1 - p},
                "side": {side: p, "none" if side != "none" else "left": 1 - p},
            }
    fabricate_run(
        root / "runs" / "radiology",
        task,
        root / "radiology_reports.csv",
        outputs,
        probabilities=probs,
    )
    xss_task = Task.model_validate(XSS_TASK)
    data = root / "xss.jsonl"
    data.write_text(
        '{"id": "x1", "text": ' + _json(XSS_TEXT) + "}\n" + '{"id": "x2", "text": "leeg"}\n',
        encoding="utf-8",
    )
    fabricate_run(
        root / "runs" / "xss",
        xss_task,
        data,
        {
            "x1": {
                "medications": [
                    {"text": "aspirine", "label": "MEDICATION"},
                    {"text": '<script>alert("xss")</script>', "label": "MEDICATION"},
                    {"text": "metoprolol", "label": "MEDICATION"},
                ],
                "note": "<img src=x onerror=alert(2)>",
                "present": True,
            },
            "x2": None,
        },
        texts={"x1": XSS_TEXT},
    )
    return root


def _json(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)
