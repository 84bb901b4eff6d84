"""Task files: parsing, validation errors as one line, schema and model compilation."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from extractinator.errors import TaskError
from extractinator.task import Task, load_task, task_from_mapping

FULL = {
    "name": "lung_nodules",
    "description": "Extract nodules.",
    "input": "text",
    "id": "id",
    "fields": {
        "nodule_present": {"type": "boolean", "description": "Any nodule"},
        "largest_nodule_mm": {"type": "number", "nullable": True, "minimum": 0, "maximum": 500},
        "count": {"type": "integer", "minimum": 0},
        "side": {"type": "enum", "values": ["left", "right", "bilateral", "none"]},
        "lesions": {
            "type": "list",
            "items": {
                "type": "object",
                "fields": {
                    "location": {"type": "string"},
                    "size_mm": {"type": "number", "nullable": True},
                },
            },
        },
        "medications": {"type": "spans", "labels": ["MEDICATION"]},
    },
}


def test_yaml_and_json_files_give_the_same_task(tmp_path):
    import yaml

    (tmp_path / "t.yaml").write_text(yaml.safe_dump(FULL, sort_keys=False), encoding="utf-8")
    (tmp_path / "t.json").write_text(json.dumps(FULL), encoding="utf-8")
    a, b = load_task(tmp_path / "t.yaml"), load_task(tmp_path / "t.json")
    assert a == b
    assert a.fingerprint() == b.fingerprint()
    assert list(a.fields) == list(FULL["fields"])


def test_schema_is_strict_and_ordered():
    schema = Task.model_validate(FULL).json_schema()
    # answer order: the list of findings first, then the others as the file writes them
    order = ["lesions", *(n for n in FULL["fields"] if n != "lesions")]
    assert schema["required"] == order and list(schema["properties"]) == order
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["largest_nodule_mm"] == {
        "anyOf": [{"type": "number", "minimum": 0, "maximum": 500}, {"type": "null"}]
    }
    assert props["side"] == {"enum": ["left", "right", "bilateral", "none"]}
    assert props["count"] == {"type": "integer", "minimum": 0}
    lesion = props["lesions"]["items"]
    assert lesion["required"] == ["location", "size_mm"]
    # spans default to {"LABEL": ["text", ...]} (chosen on the held-out dev half)
    assert props["medications"] == {
        "type": "object",
        "properties": {"MEDICATION": {"type": "array", "items": {"type": "string"}}},
        "required": ["MEDICATION"],
        "additionalProperties": False,
    }
    paired = layout_task("pairs", ["MEDICATION"]).json_schema()["properties"]["m"]
    assert paired["items"] == {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"enum": ["MEDICATION"]}],
        "items": False,
        "minItems": 2,
        "maxItems": 2,
    }
    listed = layout_task("list", ["MEDICATION"]).json_schema()["properties"]["m"]
    assert listed["items"]["properties"]["label"] == {"enum": ["MEDICATION"]}
    grouped = layout_task("by_label", ["A", "B"]).json_schema()["properties"]["m"]
    assert grouped["required"] == ["A", "B"]
    assert grouped["properties"]["A"] == {"type": "array", "items": {"type": "string"}}


def layout_task(layout, labels):
    spans = {"type": "spans", "labels": labels, "layout": layout}
    return Task.model_validate({**FULL, "fields": {"m": spans}})


@pytest.mark.parametrize(
    "layout, answer, bad",
    [
        ("pairs", [["x", "B"], ["y", "A"]], ([["x"]], [["x", "C"]], [{"text": "x", "label": "A"}])),
        ("list", [{"text": "x", "label": "B"}, {"text": "y", "label": "A"}], ([["x", "A"]],)),
        ("by_label", {"A": ["y"], "B": ["x"]}, ({"A": ["y"]}, {"A": [1], "B": []}, [["x", "A"]])),
    ],
)
def test_each_spans_layout_validates_its_own_form_and_records_get_the_list_form(
    layout, answer, bad
):
    from extractinator.task.spans import output_in_layout, spans_as_list

    task = layout_task(layout, ["A", "B"])
    model = task.output_model()
    dumped = model.model_validate({"m": answer}).model_dump(mode="json", by_alias=True)["m"]
    as_list = spans_as_list(task.fields["m"], dumped)
    assert sorted((s["text"], s["label"]) for s in as_list) == [("x", "B"), ("y", "A")]
    for wrong in bad:
        with pytest.raises(ValidationError):
            model.model_validate({"m": wrong})
    # task-file examples are written as [{text, label}] and shown in the model's layout
    example = [{"text": "x", "label": "B"}, {"text": "y", "label": "A"}]
    shown = output_in_layout(task.fields, {"m": example, "other": 1})
    assert shown["other"] == 1
    assert model.model_validate({"m": shown["m"]})
    assert spans_as_list(task.fields["m"], shown["m"]) == sorted(
        example, key=lambda s: s["label"] if layout == "by_label" else 0
    )


GOOD = {
    "nodule_present": True,
    "largest_nodule_mm": 14,
    "count": 2,
    "side": "left",
    "lesions": [{"location": "LUL", "size_mm": None}],
    "medications": {"MEDICATION": ["aspirine"]},
}


def test_output_model_validates_types_ranges_enums_and_nulls():
    model = Task.model_validate(FULL).output_model()
    good = GOOD
    assert model.model_validate(good).model_dump(by_alias=True)["largest_nodule_mm"] == 14.0
    for bad in (
        {"largest_nodule_mm": 600},
        {"largest_nodule_mm": -1},
        {"side": "up"},
        {"count": -2},
        {"nodule_present": None},
        {"medications": {"DRUG": ["x"]}},
        {"medications": [["aspirine", "MEDICATION"]]},  # another layout than the task's
    ):
        with pytest.raises(ValidationError):
            model.model_validate({**good, **bad})
    assert model.model_validate({**good, "largest_nodule_mm": None})


def test_field_names_that_are_not_identifiers_work():
    task = task_from_mapping(
        {"name": "t", "description": "d", "fields": {"PI-RADS score": {"type": "integer"}}}, "x"
    )
    out = task.output_model().model_validate({"PI-RADS score": 4})
    assert out.model_dump(by_alias=True) == {"PI-RADS score": 4}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"a": {"type": "date"}}, "field 'a': unknown type 'date'"),
        ({"a": {"type": "enum"}}, "type enum needs a non-empty `values`"),
        ({"a": {"type": "list"}}, "type list needs `items`"),
        ({"a": {"type": "spans"}}, "type spans needs a non-empty `labels`"),
        ({"a": {"type": "object", "fields": {"b": {"type": "nope"}}}}, "field 'a.b': unknown"),
        ({"a": {"type": "string", "minimum": 1}}, "`minimum` only applies to integer/number"),
        ({"a": {"type": "string", "layout": "list"}}, "`layout` only applies to spans"),
        ({"a": {"type": "number", "minimum": 5, "maximum": 1}}, "greater than maximum"),
        ({"a": {"description": "x"}}, "field 'a': missing `type`"),
        (
            {"a": {"type": "list", "items": {"type": "spans", "labels": ["X"]}}},
            "spans fields must be top-level",
        ),
        ({}, "fields"),
    ],
)
def test_bad_task_files_give_one_line_errors_naming_file_and_field(tmp_path, fields, message):
    path = tmp_path / "bad.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"name": "t", "description": "d", "fields": fields}))
    with pytest.raises(TaskError) as err:
        load_task(path)
    text = str(err.value)
    assert str(path) in text
    assert message in text
    assert "\n" not in text


def test_unreadable_and_malformed_task_files(tmp_path):
    with pytest.raises(TaskError, match="task file not found"):
        load_task(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TaskError, match="not valid JSON"):
        load_task(tmp_path / "bad.json")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(TaskError, match="must hold a mapping"):
        load_task(tmp_path / "list.yaml")
    (tmp_path / "latin.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(TaskError, match="not UTF-8"):
        load_task(tmp_path / "latin.yaml")


def test_examples_file_is_relative_to_the_task_file(tmp_path, monkeypatch):
    sub = tmp_path / "tasks"
    sub.mkdir()
    (sub / "ex.jsonl").write_text(
        json.dumps({"input": "Geen noduli.", "output": {"n": 0}}) + "\n", encoding="utf-8"
    )
    (sub / "t.yaml").write_text(
        "name: t\ndescription: d\nexamples_file: ex.jsonl\nfields:\n  n: {type: integer}\n"
    )
    monkeypatch.chdir(tmp_path)  # not the task's folder: must still resolve
    task = load_task(sub / "t.yaml")
    assert task.examples[0].input == "Geen noduli."
    assert task.examples[0].output == {"n": 0}


def test_fingerprint_changes_with_anything_the_model_sees():
    base = Task.model_validate(FULL)
    changed = Task.model_validate({**FULL, "description": "Other."})
    assert base.fingerprint() != changed.fingerprint()
    assert base.fingerprint() == Task.model_validate(json.loads(json.dumps(FULL))).fingerprint()


# --- examples checked against the fields when the task loads ---------------------------

EXAMPLE_TASK = """name: t
description: d
evidence: false
fields:
  nodule_present: {type: boolean}
  size_mm: {type: number, unit: mm, nullable: true, maximum: 100}
  side: {type: enum, values: [left, right]}
  meds: {type: spans, labels: [MED], layout: pairs}
  big: {type: boolean, compute: "size_mm is not None and size_mm > 10"}
examples:
"""
EX_OK = {"nodule_present": True, "size_mm": 14, "side": "left", "meds": []}


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            {**EX_OK, "nodule_present": "maybe"},
            "field 'nodule_present': Input should be a valid boolean",
        ),
        (
            {**EX_OK, "side": "links"},
            "field 'side': Input should be 'left' or 'right' (got 'links')",
        ),
        ({**EX_OK, "size_mm": "1,4 cm"}, "an amount is given as a number in mm"),
        ({**EX_OK, "size_mm": 140}, "field 'size_mm': Input should be less than or equal to 100"),
        ({**EX_OK, "meds": [{"text": "x", "label": "DRUG"}]}, "field 'meds.0.label'"),
        ({**EX_OK, "colour": "red"}, "'colour' is not a field of the task"),
        ({k: v for k, v in EX_OK.items() if k != "side"}, "field 'side' is missing"),
        ({**EX_OK, "big": "ja"}, "field 'big': Input should be a valid boolean"),
    ],
)
def test_an_example_that_does_not_fit_the_fields_is_refused_naming_it(tmp_path, output, message):
    path = tmp_path / "t.yaml"
    examples = [{"input": "a", "output": EX_OK}, {"input": "b", "output": output}]
    path.write_text(EXAMPLE_TASK + "".join(f"  - {json.dumps(e)}\n" for e in examples))
    with pytest.raises(TaskError) as e:
        load_task(path)
    assert str(e.value).startswith(f"{path}: example 1: ")
    assert message in str(e.value)


def test_examples_with_final_values_computed_fields_and_span_layouts_load(tmp_path):
    path = tmp_path / "t.yaml"
    examples = [
        {"input": "a", "output": EX_OK},
        {"input": "b", "output": {**EX_OK, "size_mm": None, "big": False}},
        {"input": "c", "output": {**EX_OK, "meds": [["paracetamol", "MED"]]}},
    ]
    path.write_text(EXAMPLE_TASK + "".join(f"  - {json.dumps(e)}\n" for e in examples))
    assert len(load_task(path).examples) == 3


def test_examples_file_names_the_file_and_example(tmp_path):
    (tmp_path / "ex.jsonl").write_text(
        json.dumps({"input": "a", "output": EX_OK})
        + "\n"
        + json.dumps({"input": "b", "output": {**EX_OK, "side": 3}})
        + "\n"
    )
    path = tmp_path / "t.yaml"
    path.write_text(EXAMPLE_TASK.replace("examples:\n", "examples_file: ex.jsonl\n"))
    with pytest.raises(TaskError, match=r"ex.jsonl: example 1: field 'side'"):
        load_task(path)


def test_examples_file_outside_the_task_folder_is_refused_unless_trusted(tmp_path):
    (tmp_path / "ex.jsonl").write_text(json.dumps({"input": "a", "output": EX_OK}) + "\n")
    (tmp_path / "tasks").mkdir()
    path = tmp_path / "tasks" / "t.yaml"
    for named in ("../ex.jsonl", str(tmp_path / "ex.jsonl")):
        path.write_text(EXAMPLE_TASK.replace("examples:\n", f"examples_file: {named}\n"))
        with pytest.raises(TaskError, match="examples_file: .* is outside the task's folder"):
            load_task(path)
        assert len(load_task(path, allow_task_code=True).examples) == 1
    (tmp_path / "tasks" / "link.jsonl").symlink_to(tmp_path / "ex.jsonl")
    path.write_text(EXAMPLE_TASK.replace("examples:\n", "examples_file: link.jsonl\n"))
    with pytest.raises(TaskError, match="outside the task's folder"):
        load_task(path)


def test_a_root_widens_where_an_examples_file_may_be(tmp_path):
    """The studio's case: task files in tasks/, examples anywhere in the workdir."""
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "ex.jsonl").write_text(
        json.dumps({"input": "a", "output": EX_OK}) + "\n"
    )
    (tmp_path / "tasks").mkdir()
    path = tmp_path / "tasks" / "t.yaml"
    path.write_text(EXAMPLE_TASK.replace("examples:\n", "examples_file: ../examples/ex.jsonl\n"))
    with pytest.raises(TaskError, match="outside the task's folder"):
        load_task(path)
    assert len(load_task(path, root=tmp_path).examples) == 1
    with pytest.raises(TaskError, match="outside the task's folder"):
        load_task(path, root=tmp_path / "tasks")
