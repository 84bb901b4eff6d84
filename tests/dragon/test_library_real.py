"""The DRAGON task library for the 28 real benchmark tasks (Task001-Task028).

Every file must validate, cover each task exactly once, and agree with the metric that
dragon-eval uses for the task (``extractinator.dragon.metrics``). The expected label names and
label orders come from the official data preparation code (DIAGNijmegen/dragon_prep). No model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from extractinator.dragon.library import LABEL_NAMES, LibraryEntry, entry_from_mapping, library_dir
from extractinator.dragon.metrics import TASK_KINDS, MetricKind, task_metric
from extractinator.prompt import system_prompt

K = MetricKind
REAL_ID = re.compile(r"^Task0(0[1-9]|1\d|2[0-8])_")
EXPECTED_IDS = [f"Task{i:03d}" for i in range(1, 29)]

# label_name of each task's ground truth (DIAGNijmegen/dragon_prep, one script per task)
EXPECTED_LABEL_NAME = {
    **{f"Task{i:03d}": "single_label_binary_classification_target" for i in range(1, 9)},
    **{f"Task{i:03d}": "single_label_multi_class_classification_target" for i in range(9, 15)},
    "Task015": "multi_label_binary_classification_target",
    "Task016": "multi_label_binary_classification_target",
    "Task017": "multi_label_multi_class_classification_target",
    "Task018": "multi_label_multi_class_classification_target",
    **{f"Task{i:03d}": "single_label_regression_target" for i in range(19, 24)},
    "Task024": "multi_label_regression_target",
    "Task025": "named_entity_recognition_target",
    "Task026": "named_entity_recognition_target",
    "Task027": "multi_label_named_entity_recognition_target",
    "Task028": "multi_label_named_entity_recognition_target",
}

# label positions of the multi-label tasks, in the official order
EXPECTED_POSITIONS = {
    # dragon_prep: ["biopsy", "cancer", "hgd", "hyperplastic", "lgd", "ni", "serrated"]
    "Task015": [
        "biopsy",
        "cancer",
        "high_grade_dysplasia",
        "hyperplastic",
        "low_grade_dysplasia",
        "non_informative",
        "serrated",
    ],
    "Task016": [f"lesion_{i}" for i in range(1, 6)],  # target lesions 1..5
    "Task017": ["attenuation", "location"],
    "Task018": ["left", "right"],
    "Task024": [f"lesion_{i}" for i in range(1, 6)],
}

# class labels that the official preparation code asserts or writes
VERIFIED_CLASSES = {
    ("Task009", "diagnosis"): {"PDAC", "Other pancreatic disease", "Normal pancreas"},
    ("Task011", "count"): {"0", "1", "2", "3"},
    ("Task012", "tissue_type"): {"Biopsy", "Resection", "Excision"},
    ("Task014", "relation"): {"entailment", "neutral", "contradiction"},
    ("Task017", "attenuation"): {"hyper", "hypo", "iso", "not mentioned"},
    ("Task017", "location"): {"head", "body", "tail", "not mentioned"},
}

# the label-name family each metric kind needs
KIND_FAMILY = {
    K.AUC: "binary_classification",
    K.AUC_PER_LABEL: "binary_classification",
    K.KAPPA: "multi_class_classification",
    K.KAPPA_LINEAR: "multi_class_classification",
    K.RSMAPE: "regression",
    K.NER_MACRO_F1: "named_entity_recognition",
    K.NER_WEIGHTED_F1: "named_entity_recognition",
}


def _real_files() -> list[Path]:
    return sorted(p for p in library_dir().glob("Task*.yaml") if REAL_ID.match(p.name))


def _load(path: Path) -> LibraryEntry:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return entry_from_mapping(data, str(path))


FILES = _real_files()
ENTRIES = {path.name: _load(path) for path in FILES}
BY_ID = {entry.dragon.task_id: entry for entry in ENTRIES.values()}


def test_every_real_task_has_exactly_one_file() -> None:
    ids = [entry.dragon.task_id for entry in ENTRIES.values()]
    assert len(ids) == len(set(ids)), f"duplicate task ids: {sorted(ids)}"
    assert sorted(ids) == EXPECTED_IDS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_file_is_named_after_the_official_task(path: Path) -> None:
    entry = ENTRIES[path.name]
    assert entry.dragon.task_name == path.stem
    assert entry.dragon.task_name in TASK_KINDS, "not a task name dragon-eval knows"


@pytest.mark.parametrize("task_id", EXPECTED_IDS)
def test_label_name_matches_the_metric(task_id: str) -> None:
    entry = BY_ID[task_id]
    name, label = entry.dragon.task_name, entry.dragon.label_name
    assert label in LABEL_NAMES
    assert label == EXPECTED_LABEL_NAME[task_id]
    spec = task_metric(name, label)  # raises DataError when the label does not fit the metric
    assert KIND_FAMILY[spec.kind] in label
    if spec.kind is K.NER_WEIGHTED_F1:
        assert spec.multi_label, "weighted-F1 NER tasks are multi-label"
    if spec.kind is K.NER_MACRO_F1:
        assert not spec.multi_label, "macro-F1 NER tasks are single-label"
    if spec.kind is K.AUC_PER_LABEL:
        assert label == "multi_label_binary_classification_target"


@pytest.mark.parametrize("task_id", EXPECTED_IDS)
def test_prediction_fields_fit_single_or_multi_label(task_id: str) -> None:
    entry = BY_ID[task_id]
    label = entry.dragon.label_name
    names = entry.dragon.prediction.field_names
    assert len(names) == len(set(names))
    if label.startswith("multi_label") and "entity" not in label:
        assert names == EXPECTED_POSITIONS[task_id]
    else:
        assert len(names) == 1
        assert task_id not in EXPECTED_POSITIONS


def test_colon_pathology_has_seven_positions() -> None:
    assert len(BY_ID["Task015"].dragon.prediction.field_names) == 7


@pytest.mark.parametrize(("task_id", "field"), sorted(VERIFIED_CLASSES))
def test_verified_class_labels(task_id: str, field: str) -> None:
    spec = BY_ID[task_id].task.fields[field]
    values = spec.values or []
    mapping = BY_ID[task_id].dragon.prediction.values or {}
    assert {mapping.get(str(v), v) for v in values} == VERIFIED_CLASSES[(task_id, field)]


@pytest.mark.parametrize("task_id", EXPECTED_IDS)
def test_field_attributes_per_task_type(task_id: str) -> None:
    entry = BY_ID[task_id]
    for name in entry.dragon.prediction.field_names:
        spec = entry.task.fields[name]
        if spec.type == "enum":
            # the official class labels are strings (numeric ones too: "0", "1", ...)
            assert all(isinstance(v, str) for v in spec.values or [])
        elif spec.type in ("number", "integer"):
            assert spec.unit, f"{name}: regression targets need a unit"
            assert spec.minimum is not None and spec.maximum is not None
        elif spec.type == "spans":
            labels = spec.label_names
            assert labels and len(labels) == len(set(labels))
            assert not any(re.match(r"^[BI]-", lbl) for lbl in labels), "no B-/I- prefixes"


def test_text_parts_tasks_label_their_parts() -> None:
    # Task014 (premise, hypothesis) and Task015 (block number, conclusion) read two text parts
    assert BY_ID["Task014"].dragon.parts_labels == ["Premise", "Hypothesis"]
    assert BY_ID["Task015"].dragon.parts_labels == ["Specimen", "Report"]


def test_known_entity_labels() -> None:
    assert BY_ID["Task026"].task.fields["entities"].label_names == ["MENTION"]
    t25 = set(BY_ID["Task025"].task.fields["entities"].label_names)
    assert {"<DATUM>", "<PERSOON>", "<PLAATS>", "<TIJD>"} <= t25
    t27 = BY_ID["Task027"].task.fields["entities"].label_names
    assert {"1-locatie naald", "1-representatief", "1-niet representatief", "1-ambigu"} <= set(t27)
    t28 = BY_ID["Task028"].task.fields["entities"].label_names
    assert {"1-BCC", "1-nodular", "1-infiltrative", "1-biopt"} <= set(t28)


@pytest.mark.parametrize("task_id", EXPECTED_IDS)
def test_task_compiles_to_prompt_and_schema(task_id: str) -> None:
    task = BY_ID[task_id].task
    assert task.input == "text"
    prompt = system_prompt(task)
    assert "Dutch" in prompt
    assert len(prompt) < 4000, "keep the instructions short for a small CPU model"
    schema = task.json_schema()
    assert set(schema["properties"]) == set(task.fields)
    task.output_model()
