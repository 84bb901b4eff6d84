"""The held-out benchmark's data and runs: task folders of user-style tasks with gold labels.

A benchmark root holds one folder per task::

    <root>/<task>/task.yaml      the task file, written plainly as a user would
    <root>/<task>/cases.jsonl    {"id": ..., "split": "dev" | "dev2" | "dev3" | "dev4" | "test",
                                 "text": ...}
    <root>/<task>/labels.jsonl   {"id": ..., "<field>": value, ...} per case, every field
    <root>/<task>/meta.yaml      kinds: {<field>: boolean|enum|amount|number|integer|string|
                                 list|spans}, about: what the reports are and their traps

The **dev** split is for looking at errors and choosing defaults (**dev2**, **dev3**, **dev4**: more
dev cases, written later by other hands once the earlier dev cases no longer showed what was
missing); the **test** split is only reported, never used to choose anything. Each task runs
through the ordinary runner into a run directory of its own (``<out>/<task>/``, resumable;
running ``--split all`` after ``--split dev`` only runs the test cases).
Scoring is in :mod:`.heldout_scoring`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..config import RunConfig
from ..data import Case, read_rows
from ..engines import Engine, create_engine
from ..errors import DataError
from ..reports.labels import UNLABELLED, read_labels
from ..runner import RunTotals, run_cases
from ..task import load_task
from ..task.spec import FieldSpec, Task

Split = Literal["dev", "dev2", "dev3", "dev4", "test", "all"]
CASE_SPLITS: tuple[str, ...] = ("dev", "dev2", "dev3", "dev4", "test")
SPLITS: tuple[str, ...] = (*CASE_SPLITS, "all")
# field kinds in table order; "object" only for object fields (meta.yaml does not name it)
KINDS: tuple[str, ...] = (
    "boolean",
    "enum",
    "amount",
    "number",
    "integer",
    "string",
    "list",
    "spans",
    "object",
)
DEFAULT_ROOT = Path("benchmarks/heldout")
TASK_FILE, CASES_FILE, LABELS_FILE, META_FILE = (
    "task.yaml",
    "cases.jsonl",
    "labels.jsonl",
    "meta.yaml",
)


@dataclass
class HeldoutTask:
    """One task folder, loaded and checked."""

    name: str
    folder: Path
    task: Task
    cases: list[Case]  # every case, in file order
    splits: dict[str, str]  # case id -> dev | dev2 | dev3 | dev4 | test
    labels: dict[str, dict[str, Any]]  # case id -> field -> parsed label
    kinds: dict[str, str]  # field -> kind
    about: str | None = None
    notes: list[str] = field(default_factory=list)
    task_file: str = TASK_FILE  # the task file used (task.<variant>.yaml for a variant)

    @property
    def scored_fields(self) -> dict[str, FieldSpec]:
        """The fields the labels cover (a variant may add fields: its findings)."""
        labelled = set().union(*(v.keys() for v in self.labels.values()))
        return {n: s for n, s in self.task.fields.items() if n in labelled}

    def split_cases(self, split: str, limit: int | None = None) -> list[Case]:
        """The cases of a split (``all``: every case), the first ``limit`` of them."""
        chosen = [c for c in self.cases if split == "all" or self.splits[c.id] == split]
        return chosen[:limit] if limit is not None else chosen


def field_kind(spec: FieldSpec, given: str | None = None) -> str:
    """The field's kind: the one meta.yaml gives, else from its type (a number or integer
    with a unit is an ``amount``)."""
    if given is not None:
        return given
    if spec.type in ("number", "integer") and spec.unit:
        return "amount"
    return spec.type


def find_tasks(root: str | Path, names: list[str] | None = None) -> list[Path]:
    """The task folders under ROOT (those with a task.yaml), sorted; ``names`` picks some."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of held-out tasks")
    found = {p.parent.name: p.parent for p in sorted(root.glob(f"*/{TASK_FILE}"))}
    if not found:
        raise DataError(f"{root}: no task folders (no */{TASK_FILE})")
    if not names:
        return list(found.values())
    unknown = [n for n in names if n not in found]
    if unknown:
        raise DataError(f"{root}: no task {unknown[0]!r} (tasks: {', '.join(found)})")
    return [found[n] for n in dict.fromkeys(names)]


def load_heldout_task(folder: str | Path, variant: str | None = None) -> HeldoutTask:
    """Load one task folder; every problem is a one-line error naming the file and case.
    With ``variant``, the task file is ``task.<variant>.yaml`` where the folder has one
    (the same task written another way, e.g. with computed fields), else ``task.yaml``."""
    folder = Path(folder)
    for name in (TASK_FILE, CASES_FILE, LABELS_FILE):
        if not (folder / name).is_file():
            raise DataError(f"{folder}: missing {name}")
    task_file = TASK_FILE
    if variant and (folder / f"task.{variant}.yaml").is_file():
        task_file = f"task.{variant}.yaml"
    task = load_task(folder / task_file)
    if task.input != "text":
        raise DataError(f"{folder / TASK_FILE}: the held-out format needs `input: text`")
    cases, splits = _read_cases(folder / CASES_FILE)
    kinds, about = _read_meta(folder / META_FILE, task)
    labelled = _label_keys(folder / LABELS_FILE)
    missing = [n for n in labelled if n not in task.fields]
    if missing:
        raise DataError(f"{folder / task_file}: no field {missing[0]!r}, which the labels have")
    fields = {n: s for n, s in task.fields.items() if n in labelled}
    labels = read_labels(folder / LABELS_FILE, fields, id_column="id")
    _check_labels(folder / LABELS_FILE, task, cases, labels)
    held = HeldoutTask(folder.name, folder, task, cases, splits, labels, kinds, about)
    held.task_file = task_file
    return held


def _label_keys(path: Path) -> list[str]:
    """The fields the labels file gives (the keys of its first line, id aside)."""
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
    try:
        keys = list(json.loads(first))
    except (json.JSONDecodeError, TypeError):
        raise DataError(f"{path}: line 1 is not a JSON object") from None
    return [k for k in keys if k != "id"]


def load_tasks(
    root: str | Path, names: list[str] | None = None, variant: str | None = None
) -> list[HeldoutTask]:
    return [load_heldout_task(p, variant) for p in find_tasks(root, names)]


def _read_cases(path: Path) -> tuple[list[Case], dict[str, str]]:
    cases: list[Case] = []
    splits: dict[str, str] = {}
    for row, where, rec in read_rows(path, ["id", "split", "text"]):
        case_id, split, text = rec.get("id"), rec.get("split"), rec.get("text")
        if not isinstance(case_id, str) or not case_id:
            raise DataError(f"{path}: {where}: `id` must be a non-empty string")
        if case_id in splits:
            raise DataError(f"{path}: {where}: duplicate id {case_id!r}")
        if split not in CASE_SPLITS:
            raise DataError(
                f"{path}: {where}: id {case_id!r}: split must be one of {', '.join(CASE_SPLITS)}"
            )
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{path}: {where}: id {case_id!r}: empty `text`")
        cases.append(Case(id=case_id, row=row, text=text))
        splits[case_id] = split
    if not cases:
        raise DataError(f"{path}: no cases")
    return cases, splits


def _read_meta(path: Path, task: Task) -> tuple[dict[str, str], str | None]:
    meta: dict[str, Any] = {}
    if path.is_file():
        try:
            meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise DataError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
        if not isinstance(meta, dict):
            raise DataError(f"{path}: expected a mapping with `kinds` and `about`")
    given = meta.get("kinds") or {}
    if not isinstance(given, dict):
        raise DataError(f"{path}: `kinds` must map field names to kinds")
    for name, kind in given.items():
        if name not in task.fields:
            raise DataError(f"{path}: `kinds` names {name!r}, which the task has no field of")
        if kind not in KINDS:
            raise DataError(f"{path}: `kinds.{name}`: {kind!r} is not one of {', '.join(KINDS)}")
    kinds = {n: field_kind(s, given.get(n)) for n, s in task.fields.items()}
    about = meta.get("about")
    return kinds, str(about).strip() if about else None


def _check_labels(
    path: Path, task: Task, cases: list[Case], labels: dict[str, dict[str, Any]]
) -> None:
    texts = {c.id: c.text for c in cases}
    missing = [i for i in texts if i not in labels]
    if missing:
        raise DataError(f"{path}: no label line for case {missing[0]!r}")
    extra = [i for i in labels if i not in texts]
    if extra:
        raise DataError(f"{path}: id {extra[0]!r} is not a case in {CASES_FILE}")
    for case_id, values in labels.items():
        for name, value in values.items():
            if value is UNLABELLED:
                raise DataError(f"{path}: id {case_id!r}: field {name!r} has no label")
            if task.fields[name].type != "spans":
                continue
            for span in value or []:
                start, end = span.get("start"), span.get("end")
                if start is not None and texts[case_id][start:end] != span["text"]:
                    raise DataError(
                        f"{path}: id {case_id!r}: field {name!r}: span {span['text']!r} "
                        f"is not the text at {start}:{end}"
                    )


def run_heldout(
    tasks: list[HeldoutTask],
    split: str,
    out: str | Path,
    config: RunConfig,
    *,
    engine: Engine | None = None,
    instructions: str | None = None,
    echo: Any = None,
) -> dict[str, RunTotals]:
    """Run each task's cases of the split into ``<out>/<task>/`` (``config.limit``: the
    first N cases of the split per task). One engine serves every task; one passed in is
    left open. ``instructions`` are appended to each task's description (sweep prompts)."""
    out = Path(out)
    own = engine is None
    engine = engine or create_engine(config.engine)
    results: dict[str, RunTotals] = {}
    try:
        for ht in tasks:
            cases = ht.split_cases(split, config.limit)
            task = ht.task
            if instructions:
                task = task.model_copy(
                    update={"description": f"{task.description}\n{instructions}"}
                )
            totals = run_cases(
                task,
                cases,
                out / ht.name,
                config,
                engine=engine,
                total=len(cases),
                task_source=str(ht.folder / TASK_FILE),
                data_info={"path": str((ht.folder / CASES_FILE).resolve()), "split": split},
            )
            results[ht.name] = totals
            if echo:
                echo(f"{ht.name}: {totals.summary()}")
    finally:
        if own:
            asyncio.run(engine.aclose())
    return results
