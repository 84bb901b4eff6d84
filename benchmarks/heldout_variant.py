#!/usr/bin/env python3
"""A copy of the held-out root with one setting changed in every task file, for choosing a
default on the dev half (benchmarks/RESULTS.md, "Session 6").

  python benchmarks/heldout_variant.py OUT_ROOT --layout by_label|pairs|list
  python benchmarks/heldout_variant.py OUT_ROOT --evidence
  python benchmarks/heldout_variant.py OUT_ROOT --examples K [--tasks a b]

--layout sets every spans field's layout; --evidence sets the task's `evidence: true`;
--examples K makes each task's first K dev cases its few-shot examples (their labels as
the output) and leaves those cases out of the copy, so that a run and a score on the copy
cover only the other cases. Score a run of the plain files on the same cases with
``heldout.py --score-only --root OUT_ROOT --out <that run>``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent / "heldout"


def _spans_fields(fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [spec for spec in fields.values() if spec.get("type") == "spans"]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")


def as_example(case: dict[str, Any], label: dict[str, Any]) -> dict[str, Any]:
    """A labelled case as a task-file example (spans as ``[{text, label}]``)."""
    output = {}
    for name, value in label.items():
        if name == "id":
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict) and "start" in value[0]:
            value = [{"text": s["text"], "label": s["label"]} for s in value]
        output[name] = value
    return {"input": case["text"], "output": output}


def make_variant(
    folder: Path,
    *,
    layout: str | None = None,
    evidence: bool = False,
    examples: int = 0,
) -> list[str]:
    """Change the task folder ``folder`` (a copy) in place; returns the example case ids."""
    task_path = folder / "task.yaml"
    task = yaml.safe_load(task_path.read_text(encoding="utf-8"))
    if layout:
        for spec in _spans_fields(task["fields"]):
            spec["layout"] = layout
    if evidence:
        task["evidence"] = True
    chosen: list[str] = []
    if examples:
        cases = _read_jsonl(folder / "cases.jsonl")
        labels = {row["id"]: row for row in _read_jsonl(folder / "labels.jsonl")}
        dev = [c for c in cases if c["split"] == "dev"][:examples]
        chosen = [c["id"] for c in dev]
        task["examples"] = [as_example(c, labels[c["id"]]) for c in dev]
        _write_jsonl(folder / "cases.jsonl", [c for c in cases if c["id"] not in chosen])
        rest = [labels[c["id"]] for c in cases if c["id"] not in chosen]
        _write_jsonl(folder / "labels.jsonl", rest)
    task_path.write_text(yaml.safe_dump(task, allow_unicode=True, sort_keys=False), "utf-8")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the new root (replaced if it exists)")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--tasks", nargs="*", default=None, help="only these task folders")
    parser.add_argument("--layout", choices=["by_label", "pairs", "list"])
    parser.add_argument("--evidence", action="store_true")
    parser.add_argument("--examples", type=int, default=0, metavar="K")
    args = parser.parse_args()
    if not (args.layout or args.evidence or args.examples):
        parser.error("name a setting: --layout, --evidence or --examples")
    if args.out.resolve() == args.root.resolve():
        parser.error("OUT_ROOT must not be the held-out root itself")
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    for folder in sorted(p for p in args.root.iterdir() if (p / "task.yaml").is_file()):
        if args.tasks and folder.name not in args.tasks:
            continue
        copy = args.out / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("task.*.yaml"))
        chosen = make_variant(
            copy, layout=args.layout, evidence=args.evidence, examples=args.examples
        )
        print(f"{folder.name}" + (f": examples {', '.join(chosen)}" if chosen else ""))
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
