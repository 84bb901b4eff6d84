"""llm_extractinator task files, and tasks from pydantic models / JSON Schemas."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from extractinator.errors import TaskError
from extractinator.task import load_task
from extractinator.task.from_pydantic import (
    fields_from_json_schema,
    fields_from_pydantic,
    task_from_pydantic,
)
from extractinator.task.llm_extractinator import legacy_data_path, task_from_legacy

from paths import FIXTURES

FIX = FIXTURES / "legacy"
TASKS = FIX / "tasks"


def dump(spec: Any) -> dict[str, Any]:
    return spec.model_dump(exclude_none=True, exclude_defaults=True)


def legacy(tmp_path: Path, body: dict[str, Any], name: str = "Task009_x.json") -> Path:
    path = tmp_path / "tasks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


BASE = {"Description": "Extract.", "Data_Path": "r.json", "Input_Field": "text"}


# --- dict Parser_Format --------------------------------------------------------------


def test_dict_parser_format_task() -> None:
    task = load_task(TASKS / "Task001_radiology.json")
    assert task.name == "Task001_radiology"
    assert task.description.startswith("Extraheer de belangrijkste bevindingen")
    assert task.input == "text" and task.id is None
    f = task.fields
    assert list(f) == ["modality", "contrast_used", "lesion_count", "measurements", "impression"]
    assert dump(f["modality"]) == {
        "type": "enum",
        "values": ["CT", "MRI", "echo", "röntgen"],
        "description": "De gebruikte modaliteit",
    }
    assert dump(f["contrast_used"]) == {"type": "boolean", "description": "Is er contrast gegeven?"}
    assert dump(f["lesion_count"]) == {
        "type": "integer",
        "nullable": True,
        "description": "Aantal gemeten laesies",
    }
    m = f["measurements"]
    assert m.type == "list" and m.description == "Elke gemeten laesie"
    assert m.items is not None and m.items.type == "object" and m.items.description == "Eén meting"
    sub = m.items.fields or {}
    assert {k: (v.type, v.nullable) for k, v in sub.items()} == {
        "structure": ("string", False),
        "size_mm": ("number", False),
        "comparison": ("string", True),
    }
    assert dump(f["impression"]) == {"type": "string"}


def test_examples_are_mapped_from_example_path() -> None:
    task = load_task(TASKS / "Task001_radiology.json")
    assert len(task.examples) == 2
    assert task.examples[0].input.startswith("CT abdomen met contrast")
    assert task.examples[0].output["lesion_count"] == 2  # JSON-string output parsed
    assert task.examples[1].output["modality"] == "echo"
    # the examples validate against the task's own output model
    for ex in task.examples:
        task.output_model().model_validate(ex.output)


def test_unmappable_examples_are_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = legacy(
        tmp_path, {**BASE, "Example_Path": "ex.csv", "Parser_Format": {"a": {"type": "str"}}}
    )
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "ex.csv").write_text("input,output\nsome text,not json\n")
    with caplog.at_level(logging.WARNING):
        task = task_from_legacy(json.loads(path.read_text()), path)
    assert task.examples == []
    assert "Example_Path" in caplog.text and str(path) in caplog.text


def test_missing_example_file_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = legacy(
        tmp_path, {**BASE, "Example_Path": "nope.json", "Parser_Format": {"a": {"type": "str"}}}
    )
    with caplog.at_level(logging.WARNING):
        assert task_from_legacy(json.loads(path.read_text()), path).examples == []
    assert "Example_Path" in caplog.text and "could not be read" in caplog.text


def test_extra_instructions_are_appended(tmp_path: Path) -> None:
    body = {
        **BASE,
        "Extra_Instructions": "Antwoord in het Engels.",
        "Length": 3,
        "Parser_Format": {"a": {"type": "str"}},
    }
    task = task_from_legacy(body, legacy(tmp_path, body))
    assert task.description == "Extract.\n\nAntwoord in het Engels."


# --- Python parser files -------------------------------------------------------------


def test_py_parser_file_is_loaded_from_the_parsers_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # resolution must not depend on the working directory
    before = set(sys.modules)
    task = load_task(TASKS / "Task002_pathology.json", allow_task_code=True)
    assert not [m for m in set(sys.modules) - before if "pathology" in m or "legacy_parser" in m]
    f = task.fields
    assert list(f) == ["diagnosis", "grade", "tumours", "margins_free", "remarks"]
    assert dump(f["diagnosis"]) == {
        "type": "enum",
        "values": ["benigne", "maligne", "onbekend"],
        "description": "Conclusie van de patholoog",
    }
    assert dump(f["grade"]) == {
        "type": "integer",
        "nullable": True,
        "minimum": 1,
        "maximum": 3,
        "description": "Graad (1-3)",
    }
    tumours = f["tumours"]
    assert tumours.type == "list" and tumours.description == "Alle tumoren"
    assert tumours.items is not None and tumours.items.description == "Eén beschreven tumor."
    sub = tumours.items.fields or {}
    assert dump(sub["location"]) == {
        "type": "string",
        "description": "Anatomische locatie, zoals geschreven",
    }
    assert dump(sub["size_mm"]) == {
        "type": "number",
        "nullable": True,
        "minimum": 0,
        "description": "Grootste diameter in mm",
    }
    assert dump(f["margins_free"]) == {"type": "boolean"}
    assert dump(f["remarks"]) == {"type": "string", "nullable": True}


def test_py_parser_next_to_the_task_file(tmp_path: Path) -> None:
    path = legacy(tmp_path, {**BASE, "Parser_Format": "p.py"})
    (path.parent / "p.py").write_text(
        "from pydantic import BaseModel\nclass OutputParser(BaseModel):\n    n: int\n"
    )
    task = task_from_legacy(json.loads(path.read_text()), path, allow_task_code=True)
    assert dump(task.fields["n"]) == {"type": "integer"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "defines no class OutputParser"),
        ("OutputParser = 3\n", "OutputParser is not a pydantic BaseModel class"),
        ("def broken(:\n", "cannot import the parser file (SyntaxError"),
        ("import no_such_module_xyz\n", "cannot import the parser file (ModuleNotFoundError"),
        (
            "from typing import Any\nfrom pydantic import BaseModel\n"
            "class OutputParser(BaseModel):\n    extra: dict[str, Any]\n",
            "OutputParser: field 'extra': a free-form dict",
        ),
    ],
)
def test_bad_parser_files(tmp_path: Path, source: str, message: str) -> None:
    path = legacy(tmp_path, {**BASE, "Parser_Format": "bad.py"})
    (path.parent / "parsers").mkdir()
    parser = path.parent / "parsers" / "bad.py"
    parser.write_text(source)
    with pytest.raises(TaskError) as e:
        task_from_legacy(json.loads(path.read_text()), path, allow_task_code=True)
    assert str(e.value).startswith(str(parser)) and message in str(e.value)


def test_parser_file_not_found_names_where_it_looked(tmp_path: Path) -> None:
    path = legacy(tmp_path, {**BASE, "Parser_Format": "gone.py"})
    with pytest.raises(TaskError) as e:
        task_from_legacy(json.loads(path.read_text()), path, allow_task_code=True)
    msg = str(e.value)
    assert msg.startswith(f"{path}: Parser_Format: parser file not found")
    assert str(path.parent / "parsers" / "gone.py") in msg


def test_py_parser_is_refused_without_allow_task_code_and_never_imported(tmp_path: Path) -> None:
    path = legacy(tmp_path, {**BASE, "Parser_Format": "p.py"})
    ran = tmp_path / "ran"
    (path.parent / "p.py").write_text(f"open({str(ran)!r}, 'w').write('x')\n")
    with pytest.raises(TaskError) as e:
        load_task(path)
    assert str(e.value) == (
        f"{path}: Parser_Format names a Python file (p.py), which would run as code; pass "
        "--allow-task-code if you trust this task file, or write the fields inline in "
        "Parser_Format"
    )
    assert not ran.exists()


@pytest.mark.parametrize("key", ["Example_Path", "Data_Path"])
def test_paths_outside_the_task_folders_are_refused(tmp_path: Path, key: str) -> None:
    secret = tmp_path / "elsewhere" / "secret.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps([{"input": "x", "output": {"a": "geheim"}}]))
    body = {**BASE, "Parser_Format": {"a": {"type": "str"}}, key: str(secret)}
    path = legacy(tmp_path / "project", body)
    with pytest.raises(TaskError, match=f"{key}: {secret} is outside the task's folder"):
        if key == "Data_Path":
            legacy_data_path(body, path)
        else:
            load_task(path)
    for escape in ("../../elsewhere/secret.json", "../elsewhere/secret.json"):
        with pytest.raises(TaskError, match="outside the task's folder"):
            if key == "Data_Path":
                legacy_data_path({**body, key: escape}, path)
            else:
                load_task(legacy(tmp_path / "project", {**body, key: escape}))
    if key == "Example_Path":
        trusted = load_task(legacy(tmp_path / "project", body), allow_task_code=True)
        assert trusted.examples[0].output == {"a": "geheim"}


def test_legacy_project_folders_are_allowed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    body = {**BASE, "Parser_Format": {"a": {"type": "str"}}, "Example_Path": "ex.json"}
    path = legacy(tmp_path / "project", body)
    (tmp_path / "project" / "examples").mkdir()
    (tmp_path / "project" / "examples" / "ex.json").write_text(
        json.dumps([{"input": "t", "output": {"a": "v"}}])
    )
    assert load_task(path).examples[0].output == {"a": "v"}


def test_legacy_examples_that_do_not_fit_the_fields_are_refused(tmp_path: Path) -> None:
    body = {**BASE, "Parser_Format": {"n": {"type": "int"}}, "Example_Path": "ex.json"}
    path = legacy(tmp_path, body)
    (tmp_path / "examples").mkdir()
    examples = tmp_path / "examples" / "ex.json"
    examples.write_text(
        json.dumps([{"input": "a", "output": {"n": 1}}, {"input": "b", "output": {"n": "veel"}}])
    )
    with pytest.raises(TaskError) as e:
        load_task(path)
    assert str(e.value).startswith(f"{examples}: example 1: field 'n': ")
    assert "'veel'" in str(e.value)


# --- Data_Path -----------------------------------------------------------------------


def test_legacy_data_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = TASKS / "Task002_pathology.json"
    data = json.loads(path.read_text())
    assert legacy_data_path(data, path) == (FIX / "data" / "reports.json").resolve()
    with pytest.raises(TaskError, match="Data_Path: /abs/r.csv is outside the task's folder"):
        legacy_data_path({**data, "Data_Path": "/abs/r.csv"}, path)
    trusted = legacy_data_path({**data, "Data_Path": "/abs/r.csv"}, path, allow_task_code=True)
    assert trusted == Path("/abs/r.csv")
    assert legacy_data_path({"Description": "x"}, path) is None
    with pytest.raises(TaskError, match="Data_Path must be a file name"):
        legacy_data_path({"Data_Path": 3}, path)


def test_data_path_next_to_the_task_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(TASKS / "Task002_pathology.json", tmp_path / "Task002_pathology.json")
    (tmp_path / "reports.json").write_text("[]")
    path = Path("Task002_pathology.json")
    assert legacy_data_path(json.loads(path.read_text()), path) == tmp_path / "reports.json"


# --- legacy errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {**BASE, "Parser_Format": {"a": {"type": "str"}}, "Input_Feld": "x"},
            "unknown key 'Input_Feld'",
        ),
        (
            {"Input_Field": "text", "Parser_Format": {"a": {"type": "str"}}},
            "Description must be a non-empty string",
        ),
        (
            {**BASE, "Input_Field": "", "Parser_Format": {"a": {"type": "str"}}},
            "Input_Field must name the text column",
        ),
        (BASE, "Parser_Format must be a field mapping or a parser file name, got None"),
        ({**BASE, "Parser_Format": {}}, "Parser_Format: expected a non-empty mapping"),
        (
            {**BASE, "Parser_Format": {"a": {"type": "string"}}},
            "Parser_Format: field 'a': unknown type 'string'",
        ),
        ({**BASE, "Parser_Format": {"a": {"type": "any"}}}, "field 'a': type 'any' cannot"),
        ({**BASE, "Parser_Format": {"a": {"type": "list"}}}, "field 'a': type list needs `items`"),
        (
            {**BASE, "Parser_Format": {"a": {"type": "dict"}}},
            "field 'a': type dict needs `properties`",
        ),
        (
            {**BASE, "Parser_Format": {"a": {"type": "dict", "properties": {"b": {"typ": "str"}}}}},
            "field 'a.b': unknown key 'typ'",
        ),
        (
            {**BASE, "Parser_Format": {"a": {"type": "str", "optional": "yes"}}},
            "field 'a': `optional` must be true or false",
        ),
        ({**BASE, "Parser_Format": {"a": {"type": "str", "literals": [["x"]]}}}, "field 'a'"),
        (
            {**BASE, "Type": "Translation", "Parser_Format": {"a": {"type": "str"}}},
            "Type 'Translation' is not an extraction task",
        ),
        (
            {**BASE, "Example_Path": "", "Parser_Format": {"a": {"type": "str"}}},
            "Example_Path must be a file name",
        ),
    ],
)
def test_legacy_errors(tmp_path: Path, body: dict[str, Any], message: str) -> None:
    path = legacy(tmp_path, body)
    with pytest.raises(TaskError) as e:
        task_from_legacy(body, path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and message in msg and "\n" not in msg


# --- pydantic / JSON Schema ----------------------------------------------------------


class Lesion(BaseModel):
    """A measured lesion."""

    site: str
    size_mm: float = Field(gt=0, lt=500)


class Report(BaseModel):
    """Findings of a radiology report."""

    modality: Literal["CT", "MRI"]
    urgent: bool = Field(description="Needs action within 24h")
    count: int | None = Field(None, ge=0, lt=10)
    lesions: list[Lesion]
    main: Lesion | None = None
    tags: list[Literal["a", "b"]]


def test_task_from_pydantic() -> None:
    task = task_from_pydantic(Report, name="report", description="Read it.", input=["a", "b"])
    assert task.name == "report" and task.input == ["a", "b"]
    f = task.fields
    assert dump(f["modality"]) == {"type": "enum", "values": ["CT", "MRI"]}
    assert dump(f["urgent"]) == {"type": "boolean", "description": "Needs action within 24h"}
    assert dump(f["count"]) == {"type": "integer", "nullable": True, "minimum": 0, "maximum": 9}
    lesion = f["lesions"].items
    assert lesion is not None and lesion.description == "A measured lesion."
    assert dump((lesion.fields or {})["size_mm"]) == {
        "type": "number",
        "minimum": 0,
        "maximum": 500,
    }
    assert f["main"].type == "object" and f["main"].nullable
    assert dump(f["tags"]) == {"type": "list", "items": {"type": "enum", "values": ["a", "b"]}}
    answer = {
        "modality": "CT",
        "urgent": False,
        "count": None,
        "lesions": [],
        "main": None,
        "tags": ["a"],
    }
    task.output_model().model_validate(answer)


def test_task_from_pydantic_validates_the_task() -> None:
    with pytest.raises(TaskError, match="task 'r'.*description"):
        task_from_pydantic(Report, name="r", description="")


def test_fields_from_json_schema_constructs() -> None:
    schema = {
        "type": "object",
        "$defs": {"Side": {"enum": ["left", "right", None]}},
        "properties": {
            "side": {"$ref": "#/$defs/Side", "description": "Laterality"},
            "kind": {"const": "x"},
            "n": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 5},
            "name": {"type": ["string", "null"], "description": "A name"},
            "either": {"oneOf": [{"const": "a"}, {"enum": ["b", "c"]}, {"type": "null"}]},
            "nested": {"allOf": [{"type": "object", "properties": {"v": {"type": "number"}}}]},
        },
    }
    f = fields_from_json_schema(schema)
    assert dump(f["side"]) == {
        "type": "enum",
        "values": ["left", "right"],
        "nullable": True,
        "description": "Laterality",
    }
    assert dump(f["kind"]) == {"type": "enum", "values": ["x"]}
    assert dump(f["n"]) == {"type": "integer", "minimum": 1, "maximum": 4}
    assert dump(f["name"]) == {"type": "string", "nullable": True, "description": "A name"}
    assert dump(f["either"]) == {"type": "enum", "values": ["a", "b", "c"], "nullable": True}
    assert dump(f["nested"]) == {"type": "object", "fields": {"v": {"type": "number"}}}


class Node(BaseModel):
    name: str
    children: list[Node]


class Mixed(BaseModel):
    value: int | str


class Loose(BaseModel):
    things: list


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Node, "Node: field 'children[]': recursive model 'Node' is not supported"),
        (Mixed, "Mixed: field 'value': a union of different types (integer, string)"),
        (Loose, "Loose: field 'things': a list needs one item type"),
    ],
)
def test_unsupported_pydantic_constructs(model: type[BaseModel], message: str) -> None:
    with pytest.raises(TaskError) as e:
        fields_from_pydantic(model)
    assert str(e.value).startswith(message)


def test_schema_root_must_be_an_object() -> None:
    with pytest.raises(TaskError, match="schema: the schema root must be an object"):
        fields_from_json_schema({"type": "array", "items": {"type": "string"}})
    with pytest.raises(TaskError, match=r"field 'a': unresolvable \$ref"):
        fields_from_json_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/X"}}})
