"""DRAGON job folders: ``<Task>-fold<k>/`` with a task configuration and three datasets."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError
from .library import LABEL_NAMES

CONFIG = "nlp-task-configuration.json"
TRAIN = "nlp-training-dataset.json"
VALIDATION = "nlp-validation-dataset.json"
TEST = "nlp-test-dataset.json"
PREDICTIONS = "nlp-predictions-dataset.json"
_FOLDER = re.compile(r"^(?P<task>Task\d{3}\w*?)-fold(?P<fold>\d+)$")


@dataclass
class DragonJob:
    """One job folder, read and checked."""

    folder: Path
    task_name: str
    fold: int
    input_name: str  # "text" or "text_parts"
    label_name: str
    truncation_side: str
    config: dict[str, Any]
    train: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    test: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def task_id(self) -> str:
        return self.task_name[:7]

    @property
    def prediction_key(self) -> str:
        return self.label_name.removesuffix("_target")

    @property
    def labelled(self) -> list[dict[str, Any]]:
        return self.train + self.validation


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from None


def _read_cases(path: Path, input_name: str, label_name: str | None) -> list[dict[str, Any]]:
    data = _read_json(path)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of cases, got {type(data).__name__}")
    seen: set[str] = set()
    for i, case in enumerate(data):
        if not isinstance(case, dict) or "uid" not in case:
            raise DataError(f"{path}: case {i} is not an object with a uid")
        uid = str(case["uid"])
        if uid in seen:
            raise DataError(f"{path}: duplicate uid {uid}")
        seen.add(uid)
        value = case.get(input_name)
        ok = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(p, str) for p in value)
        )
        if not ok:
            raise DataError(f"{path}: uid {uid}: field '{input_name}' missing or not text")
        if label_name and label_name not in case:
            raise DataError(f"{path}: uid {uid}: no label '{label_name}'")
    return data


def read_job(folder: Path) -> DragonJob:
    config = _read_json(folder / CONFIG)
    if not isinstance(config, dict):
        raise DataError(f"{folder / CONFIG}: expected an object")
    for key in ("task_name", "input_name", "label_name"):
        if key not in config:
            raise DataError(f"{folder / CONFIG}: missing '{key}'")
    label_name = config["label_name"]
    if label_name not in LABEL_NAMES:
        raise DataError(f"{folder / CONFIG}: unknown label_name {label_name!r}")
    input_name = config["input_name"]
    if input_name not in ("text", "text_parts"):
        raise DataError(f"{folder / CONFIG}: unknown input_name {input_name!r}")
    match = _FOLDER.match(folder.name)
    job = DragonJob(
        folder=folder,
        task_name=config["task_name"],
        fold=int(match.group("fold")) if match else 0,
        input_name=input_name,
        label_name=label_name,
        truncation_side=config.get("recommended_truncation_side", "left"),
        config=config,
    )
    job.train = _read_cases(folder / TRAIN, input_name, label_name)
    val_path = folder / VALIDATION
    if val_path.exists():
        job.validation = _read_cases(val_path, input_name, label_name)
    job.test = _read_cases(folder / TEST, input_name, None)
    if not job.test:
        raise DataError(f"{folder / TEST}: the test set is empty")
    return job


def find_jobs(
    input_dir: Path, tasks: list[str] | None = None, folds: list[int] | None = None
) -> list[Path]:
    """Job folders under input_dir (the folder itself may be one), filtered by task id
    ("101", "Task101") and fold."""
    if not input_dir.is_dir():
        raise DataError(f"{input_dir}: not a directory")
    candidates = (
        [input_dir]
        if (input_dir / CONFIG).exists()
        else sorted(p for p in input_dir.iterdir() if p.is_dir() and (p / CONFIG).exists())
    )
    wanted = {f"Task{t.removeprefix('Task').zfill(3)}" for t in tasks} if tasks else None
    jobs = []
    for path in candidates:
        match = _FOLDER.match(path.name)
        task_id = path.name[:7]
        fold = int(match.group("fold")) if match else 0
        if wanted and task_id not in wanted:
            continue
        if folds is not None and fold not in folds:
            continue
        jobs.append(path)
    if not jobs:
        what = f" for tasks {', '.join(sorted(wanted))}" if wanted else ""
        raise DataError(f"{input_dir}: no DRAGON job folders{what} (expected <Task>-fold<k>/)")
    return jobs
