"""The DRAGON task library: one task file per benchmark task, plus how its answer becomes the
official prediction value.

A library file is an ordinary task file (see ``extractinator.task``) with one extra block::

    dragon:
      task_name: Task101_Example_sl_bin_clf    # matched to job folders by its "TaskNNN" prefix
      label_name: single_label_binary_classification_target
      prediction:
        field: present                  # single-label tasks: the output field with the answer
        # fields: [a, b, c]             # multi-label tasks: one field per label position
        # values: {model value: official label}   # when enum values differ from the labels

Field types by label_name: binary -> boolean; multi-class -> enum (values = the training
labels, or mapped with ``values``); regression -> number (in the unit of the targets);
NER -> one spans field whose labels are the entity labels without the B-/I- prefix.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..errors import TaskError
from ..task import Task, task_from_mapping
from ..task.load import format_validation_error

LABEL_NAMES = (
    "single_label_binary_classification_target",
    "multi_label_binary_classification_target",
    "single_label_multi_class_classification_target",
    "multi_label_multi_class_classification_target",
    "single_label_regression_target",
    "multi_label_regression_target",
    "named_entity_recognition_target",
    "multi_label_named_entity_recognition_target",
)
_TASK_ID = re.compile(r"^(Task\d{3})")


class PredictionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str | None = None
    fields: list[str] | None = None
    values: dict[str, str] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PredictionSpec:
        if (self.field is None) == (self.fields is None):
            raise ValueError("give exactly one of `field` (single-label) or `fields` (multi-label)")
        return self

    @property
    def field_names(self) -> list[str]:
        return [self.field] if self.field else list(self.fields or [])


class DragonSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_name: str
    label_name: str
    prediction: PredictionSpec
    # text_parts tasks that are not NER: how to label each part in the joined text
    parts_labels: list[str] | None = None

    @property
    def task_id(self) -> str:
        match = _TASK_ID.match(self.task_name)
        return match.group(1) if match else self.task_name


class LibraryEntry(BaseModel):
    """A library task: the core task plus its DRAGON metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: Task
    dragon: DragonSpec
    source: str


_EXPECTED_TYPE = {
    "single_label_binary_classification_target": "boolean",
    "multi_label_binary_classification_target": "boolean",
    "single_label_multi_class_classification_target": "enum",
    "multi_label_multi_class_classification_target": "enum",
    "single_label_regression_target": "number",
    "multi_label_regression_target": "number",
    "named_entity_recognition_target": "spans",
    "multi_label_named_entity_recognition_target": "spans",
}


def entry_from_mapping(data: dict[str, Any], where: str) -> LibraryEntry:
    data = dict(data)
    raw = data.pop("dragon", None)
    if raw is None:
        raise TaskError(f"{where}: a DRAGON library task needs a `dragon:` block")
    try:
        spec = DragonSpec.model_validate(raw)
    except ValidationError as e:
        raise TaskError(format_validation_error(e, f"{where}: dragon")) from None
    if spec.label_name not in LABEL_NAMES:
        raise TaskError(f"{where}: unknown label_name {spec.label_name!r}")
    task = task_from_mapping(data, where)
    expected = _EXPECTED_TYPE[spec.label_name]
    for name in spec.prediction.field_names:
        field = task.fields.get(name)
        if field is None:
            raise TaskError(f"{where}: prediction field {name!r} is not a task field")
        ftype = "number" if field.type == "integer" else field.type
        if ftype != expected:
            raise TaskError(
                f"{where}: prediction field {name!r} is {field.type}, "
                f"but {spec.label_name} needs {expected}"
            )
    wants_list = spec.label_name.startswith("multi_label") and "entity" not in spec.label_name
    if wants_list and not spec.prediction.fields:
        raise TaskError(f"{where}: {spec.label_name} needs `prediction.fields` (one per label)")
    if not wants_list and not spec.prediction.field:
        raise TaskError(f"{where}: {spec.label_name} needs `prediction.field`")
    return LibraryEntry(task=task, dragon=spec, source=where)


def library_dir() -> Path:
    return Path(str(files("extractinator.dragon") / "tasks"))


@lru_cache(maxsize=1)
def load_library(directory: str | None = None) -> dict[str, LibraryEntry]:
    """All library entries keyed by task id ("Task101")."""
    base = Path(directory) if directory else library_dir()
    entries: dict[str, LibraryEntry] = {}
    for path in sorted(base.glob("Task*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entry = entry_from_mapping(data, str(path))
        if entry.dragon.task_id in entries:
            raise TaskError(f"{path}: a second library task for {entry.dragon.task_id}")
        entries[entry.dragon.task_id] = entry
    return entries


def find_entry(task_name: str) -> LibraryEntry | None:
    match = _TASK_ID.match(task_name)
    return load_library().get(match.group(1)) if match else None
