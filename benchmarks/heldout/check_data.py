"""Check the held-out benchmark data: every task folder under benchmarks/heldout/.

Usage:  python benchmarks/heldout/check_data.py [FOLDER ...] [--balance]

A task folder holds task.yaml, cases.jsonl, labels.jsonl and meta.yaml (see README.md here).
Checked: the task file loads with ``extractinator.task.load_task`` and is plain (no examples,
evidence, merge or layout); every case has an id, a dev/dev2/dev3/dev4/test split and a text, ids
are unique and start with the task name; dev and test differ in size by at most one; every case has
exactly one label line holding every field and nothing else; every label fits its field
(type, nullability, enum values, range, list items, object fields); span labels have
text/label/start/end with text == case_text[start:end], in text order; meta.yaml gives a kind
per field that fits its type, and an `about`. Prints one line per task (``--balance``: also
the value counts per field); exits 1 when anything is wrong, naming file, line and field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from extractinator.errors import TaskError
from extractinator.experiments.heldout import CASE_SPLITS as SPLITS  # dev2-dev4: written later
from extractinator.task import FieldSpec, Task, load_task

HERE = Path(__file__).resolve().parent
FILES = ("task.yaml", "cases.jsonl", "labels.jsonl", "meta.yaml")
KINDS = {  # meta.yaml kind -> the task field types it may describe
    "boolean": {"boolean"},
    "enum": {"enum"},
    "amount": {"number", "integer"},  # a number with a unit
    "number": {"number"},
    "integer": {"integer"},
    "string": {"string"},
    "list": {"list"},
    "spans": {"spans"},
}


def read_jsonl(path: Path, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; problems for lines that are not objects."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: not valid JSON ({e.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
            continue
        rows.append((n, obj))
    return rows


def check_value(value: Any, spec: FieldSpec, where: str, text: str) -> list[str]:
    """Problems with one label value against its field spec (recursing into lists/objects)."""
    if value is None:
        return [] if spec.nullable else [f"{where}: null but the field is not nullable"]
    t = spec.type
    if t == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if t in ("integer", "number"):
        ok = isinstance(value, int) if t == "integer" else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            return [f"{where}: {value!r} is not {'an integer' if t == 'integer' else 'a number'}"]
        if spec.minimum is not None and value < spec.minimum:
            return [f"{where}: {value} is below the minimum {spec.minimum}"]
        if spec.maximum is not None and value > spec.maximum:
            return [f"{where}: {value} is above the maximum {spec.maximum}"]
        return []
    if t == "string":
        if not isinstance(value, str) or not value.strip():
            return [f"{where}: {value!r} is not a non-empty string"]
        return []
    if t == "enum":
        allowed = spec.values or []
        # 1 == True and "1" != 1: compare as JSON so the label's type must match the enum's
        if json.dumps(value) not in {json.dumps(v) for v in allowed}:
            return [f"{where}: {value!r} is not one of {allowed}"]
        return []
    if t == "list":
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        assert spec.items is not None
        problems = []
        for i, item in enumerate(value):
            problems += check_value(item, spec.items, f"{where}[{i}]", text)
        return problems
    if t == "object":
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        assert spec.fields is not None
        problems = [f"{where}: unknown key {k!r}" for k in value if k not in spec.fields]
        for name, sub in spec.fields.items():
            if name not in value:
                problems.append(f"{where}: missing key {name!r}")
            else:
                problems += check_value(value[name], sub, f"{where}.{name}", text)
        return problems
    if t == "spans":
        return check_spans(value, spec, where, text)
    return [f"{where}: unsupported field type {t}"]


def check_spans(value: Any, spec: FieldSpec, where: str, text: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{where}: {value!r} is not a list of spans"]
    problems = []
    last_start = -1
    for i, span in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(span, dict) or set(span) != {"text", "label", "start", "end"}:
            problems.append(f"{at}: a span needs exactly text, label, start, end")
            continue
        start, end = span["start"], span["end"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            problems.append(f"{at}: bad offsets {start}..{end} (text length {len(text)})")
            continue
        if text[start:end] != span["text"]:
            problems.append(f"{at}: text {span['text']!r} != case text {text[start:end]!r}")
        if span["label"] not in spec.label_names:
            problems.append(f"{at}: label {span['label']!r} is not one of {spec.label_names}")
        if start < last_start:
            problems.append(f"{at}: spans are not in text order")
        last_start = start
    return problems


def check_plain(task: Task, path: Path) -> list[str]:
    """The held-out task files are written as a user's first try: no tuning aids."""
    problems = []
    if task.examples:
        problems.append(f"{path}: has few-shot examples (held-out tasks are plain)")
    if task.evidence:
        problems.append(f"{path}: sets `evidence` (held-out tasks are plain)")
    if task.input != "text" or task.id != "id":
        problems.append(f"{path}: use `input: text` and `id: id`")
    for name, spec in task.fields.items():
        if spec.evidence or spec.merge is not None or spec.layout is not None:
            problems.append(f"{path}: field '{name}' sets evidence/merge/layout")
    return problems


def check_meta(meta_path: Path, task: Task) -> list[str]:
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        return [f"{meta_path}: not valid YAML: {str(e).splitlines()[0]}"]
    if not isinstance(meta, dict):
        return [f"{meta_path}: expected a mapping with `kinds` and `about`"]
    problems = []
    about = meta.get("about")
    if not isinstance(about, str) or not about.strip():
        problems.append(f"{meta_path}: `about` is missing or empty")
    kinds = meta.get("kinds")
    if not isinstance(kinds, dict):
        return problems + [f"{meta_path}: `kinds` is missing or not a mapping"]
    for name in kinds:
        if name not in task.fields:
            problems.append(f"{meta_path}: kind for unknown field '{name}'")
    for name, spec in task.fields.items():
        kind = kinds.get(name)
        if kind is None:
            problems.append(f"{meta_path}: no kind for field '{name}'")
        elif kind not in KINDS:
            problems.append(f"{meta_path}: field '{name}': unknown kind {kind!r}")
        elif spec.type not in KINDS[kind]:
            problems.append(f"{meta_path}: field '{name}': kind {kind} does not fit {spec.type}")
        elif kind == "amount" and not spec.unit:
            problems.append(f"{meta_path}: field '{name}': kind amount but no `unit` in task.yaml")
    return problems


def check_folder(folder: Path, balance: bool) -> list[str]:
    """Check one task folder; print its summary line; return its problems."""
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        return [f"{folder}: missing {', '.join(missing)}"]
    task_path = folder / "task.yaml"
    try:
        task = load_task(task_path)
    except TaskError as e:
        return [str(e)]
    problems = check_plain(task, task_path) + check_meta(folder / "meta.yaml", task)
    if task.name != folder.name:
        problems.append(f"{task_path}: name {task.name!r} differs from the folder name")

    cases_path, labels_path = folder / "cases.jsonl", folder / "labels.jsonl"
    texts: dict[str, str] = {}
    splits: Counter[str] = Counter()
    for n, case in read_jsonl(cases_path, problems):
        at = f"{cases_path}:{n}"
        if set(case) != {"id", "split", "text"}:
            problems.append(f"{at}: keys must be id, split, text (got {sorted(case)})")
        cid, split, text = case.get("id"), case.get("split"), case.get("text")
        if not isinstance(cid, str) or not cid.startswith(f"{folder.name}_"):
            problems.append(f"{at}: id {cid!r} must be a string starting with '{folder.name}_'")
            continue
        if cid in texts:
            problems.append(f"{at}: duplicate id {cid}")
        if split not in SPLITS:
            problems.append(f"{at}: split {split!r} is not one of {', '.join(SPLITS)}")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{at}: empty or missing text")
            text = ""
        texts[cid] = text
        splits[str(split)] += 1
    if abs(splits["dev"] - splits["test"]) > 1:
        problems.append(f"{cases_path}: dev {splits['dev']} vs test {splits['test']} cases")

    seen: set[str] = set()
    values: dict[str, Counter[str]] = {name: Counter() for name in task.fields}
    for n, label in read_jsonl(labels_path, problems):
        at = f"{labels_path}:{n}"
        lid = label.get("id")
        if lid not in texts:
            problems.append(f"{at}: id {lid!r} has no case")
            continue
        if lid in seen:
            problems.append(f"{at}: second label line for {lid}")
        seen.add(lid)
        extra = sorted(set(label) - set(task.fields) - {"id"})
        if extra:
            problems.append(f"{at}: unknown fields {extra}")
        for name, spec in task.fields.items():
            if name not in label:
                problems.append(f"{at}: field '{name}' missing")
                continue
            problems += check_value(label[name], spec, f"{at}: field '{name}'", texts[lid])
            values[name][summarise(label[name], spec)] += 1
    for cid in texts:
        if cid not in seen:
            problems.append(f"{labels_path}: no label line for case {cid}")

    status = "OK" if not problems else f"{len(problems)} problem(s)"
    print(
        f"{folder.name}: {len(texts)} cases ({', '.join(f'{s} {splits[s]}' for s in SPLITS)}), "
        f"{len(task.fields)} fields ({', '.join(f'{k}:{v.type}' for k, v in task.fields.items())})"
        f": {status}"
    )
    if balance:
        for name, counts in values.items():
            shown = ", ".join(f"{v} x{c}" for v, c in sorted(counts.items()))
            print(f"    {name}: {shown}")
    return problems


def summarise(value: Any, spec: FieldSpec) -> str:
    """A short bucket of a label value for the --balance counts."""
    if value is None:
        return "null"
    if spec.type in ("boolean", "enum"):
        return json.dumps(value)
    if spec.type in ("list", "spans"):
        return f"{len(value)} item(s)"
    if spec.type == "string":
        return "text"
    return "value"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="task folders (default: all here)")
    parser.add_argument("--balance", action="store_true", help="print value counts per field")
    args = parser.parse_args(argv)
    folders = args.folders or sorted(p.parent for p in HERE.glob("*/task.yaml"))
    if not folders:
        print(f"no task folders under {HERE}", file=sys.stderr)
        return 1
    problems = [p for folder in folders for p in check_folder(folder, args.balance)]
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
