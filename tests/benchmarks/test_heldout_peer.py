"""benchmarks/heldout_peer.py: the conversion to llm_extractinator's task and parser format,
and reading its predictions back (no peer, no shim, no model)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from extractinator.experiments.heldout import load_tasks
from extractinator.task import load_task
from extractinator.task.spec import Task

from paths import REPO

FIXTURE = REPO / "tests" / "fixtures" / "heldout"
BENCHMARKS = REPO / "benchmarks"
# the keys llm_extractinator 0.7.1 reads from a task file (main.TaskRunner, Predictor)
PEER_TASK_KEYS = {"Description", "Data_Path", "Input_Field", "Parser_Format"}


@pytest.fixture(scope="module")
def peer():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("heldout_peer")
    finally:
        sys.path.remove(str(BENCHMARKS))


def import_parser(path: Path):
    spec = importlib.util.spec_from_file_location(f"parser_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OutputParser


@pytest.fixture(scope="module")
def converted(peer, tmp_path_factory):
    out = tmp_path_factory.mktemp("peer")
    assert peer.main(["--root", str(FIXTURE), "--out", str(out), "--convert-only"]) == 0
    return out


def test_converted_files_have_what_llm_extractinator_reads(converted):
    tasks = sorted(p.name for p in (converted / "tasks").glob("*.json"))
    assert tasks == ["Task001_fixture_letter.json", "Task002_fixture_thorax.json"]
    data = json.loads((converted / "tasks" / tasks[1]).read_text())
    assert set(data) == PEER_TASK_KEYS
    assert data["Input_Field"] == "text" and data["Parser_Format"] == "fixture_thorax.py"
    assert data["Description"].startswith("Lees het CT-thorax verslag")
    cases = json.loads((converted / "data" / data["Data_Path"]).read_text())
    assert [c["id"] for c in cases] == [
        "fixture_thorax_001", "fixture_thorax_003", "fixture_thorax_005",
    ]  # the dev split only  # fmt: skip
    assert set(cases[0]) == {"id", "text"}


def test_generated_parser_validates_answers(converted):
    thorax = import_parser(converted / "tasks" / "parsers" / "fixture_thorax.py")
    ok = thorax.model_validate(
        {"nodule_present": True, "side": "rechts", "largest_nodule_mm": 14, "nodule_count": 1}
    )
    assert ok.largest_nodule_mm == 14.0
    absent = thorax.model_validate({"nodule_present": False, "side": "geen", "nodule_count": 0})
    assert absent.largest_nodule_mm is None  # nullable: Optional with a None default
    with pytest.raises(ValidationError):
        thorax.model_validate({"nodule_present": True, "side": "midden", "nodule_count": 1})
    with pytest.raises(ValidationError):
        thorax.model_validate({"nodule_present": True, "side": "links", "nodule_count": -1})
    schema = thorax.model_json_schema()
    assert schema["properties"]["side"]["enum"] == ["links", "rechts", "beide", "geen"]
    assert "mm" in schema["properties"]["largest_nodule_mm"]["description"]

    letter = import_parser(converted / "tasks" / "parsers" / "fixture_letter.py")
    answer = letter.model_validate(
        {"allergies": ["latex"], "destination": "huis",
         "entities": [{"text": "COPD", "label": "DIAGNOSIS"}]}
    )  # fmt: skip
    assert answer.model_dump()["entities"] == [{"text": "COPD", "label": "DIAGNOSIS"}]
    with pytest.raises(ValidationError):
        letter.model_validate(
            {"allergies": [], "destination": "huis", "entities": [{"text": "x", "label": "DRUG"}]}
        )
    label = letter.model_json_schema()["$defs"]["EntitiesMention"]["properties"]["label"]
    assert "MEDICATION: naam van een geneesmiddel" in label["description"]


NESTED = Task.model_validate(
    {
        "name": "nested",
        "description": "Findings.",
        "fields": {
            "lesions": {
                "type": "list",
                "items": {
                    "type": "object",
                    "fields": {
                        "site": {"type": "string", "description": "where"},
                        "size": {"type": "number", "unit": "cm", "nullable": True},
                        "grade": {"type": "enum", "values": [1, 2, 3]},
                    },
                },
            },
            "psa": {"type": "number", "unit": "ng/ml", "minimum": 0, "maximum": 1000.5},
            "patient": {"type": "object", "fields": {"smoker": {"type": "boolean"}}},
        },
    }
)


def test_nested_lists_objects_and_units_convert(peer, tmp_path):
    path = tmp_path / "nested.py"
    path.write_text(peer.parser_source(NESTED), encoding="utf-8")
    parser = import_parser(path)
    value = parser.model_validate(
        {"lesions": [{"site": "RUL", "size": None, "grade": 2}], "psa": 4.5,
         "patient": {"smoker": False}}
    )  # fmt: skip
    assert value.lesions[0].grade == 2 and value.patient.smoker is False
    with pytest.raises(ValidationError):
        parser.model_validate({"lesions": [], "psa": 1001, "patient": {"smoker": True}})
    props = parser.model_json_schema()["properties"]
    assert props["psa"]["description"] == "(in ng/ml)"


def test_converted_task_reads_back_with_our_legacy_reader(converted):
    """Our llm_extractinator reader (task/legacy.py) sees the same fields and types."""
    # our own converted file, with its generated parser: trusted
    back = load_task(converted / "tasks" / "Task001_fixture_letter.json", allow_task_code=True)
    assert back.fields["destination"].values == ["huis", "verpleeghuis", "revalidatie"]
    assert back.fields["allergies"].type == "list"
    entities = back.fields["entities"]
    assert entities.type == "list" and entities.items.type == "object"
    assert entities.items.fields["label"].values == ["MEDICATION", "DIAGNOSIS"]


def test_field_names_llm_extractinator_cannot_hold_are_refused(peer):
    task = Task.model_validate(
        {"name": "t", "description": "d", "fields": {"status": {"type": "boolean"}}}
    )
    from extractinator.errors import DataError

    with pytest.raises(DataError, match="'status': not usable"):
        peer.parser_source(task)


def write_peer_run(out: Path) -> None:
    """A peer run as heldout_peer.py records it: thorax predicted, letter run too."""
    thorax_rows = [
        {
            "id": "fixture_thorax_001",
            "text": "…",
            "nodule_present": True,
            "side": "rechts",
            "largest_nodule_mm": 14.0,
            "nodule_count": 1,
            "status": "success",
        },
        {
            "id": "fixture_thorax_003",
            "text": "…",
            "nodule_present": True,
            "side": "links",
            "largest_nodule_mm": math.nan,
            "nodule_count": 2,
            "status": "success",
        },
        {
            "id": "fixture_thorax_005",
            "text": "…",
            "nodule_present": None,
            "side": None,
            "largest_nodule_mm": None,
            "nodule_count": None,
            "status": "failure",
            "error_type": "OutputParserException",
            "error_message": "bad",
            "raw_output": "{",
        },
    ]
    letter_rows = [
        {"id": "fixture_letter_001", "allergies": ["penicilline"], "destination": "huis",
         "entities": [{"text": "Pneumonie", "label": "DIAGNOSIS"},
                      {"text": "amoxicilline", "label": "MEDICATION"}], "status": "success"},
        {"id": "fixture_letter_003", "allergies": ["jodium", "pleisters"],
         "destination": "revalidatie",
         "entities": [{"text": "CVA", "label": "MEDICATION"},
                      {"text": "clopidogrel 75 mg", "label": "MEDICATION"}],
         "status": "success"},
    ]  # fmt: skip
    tasks = {}
    for task_id, name, rows in (
        (2, "fixture_thorax", thorax_rows),
        (1, "fixture_letter", letter_rows),
    ):
        rel = f"output/run/Task{task_id:03d}_{name}-run0/nlp-predictions-dataset.json"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(json.dumps(rows), encoding="utf-8")  # NaN as pandas writes it
        tasks[name] = {"cases": [r["id"] for r in rows], "wall_seconds": 30.0, "predictions": rel}
    (out / "peer.json").write_text(json.dumps({"tasks": tasks}), encoding="utf-8")


def test_peer_predictions_are_grounded_and_scored_like_ours(peer, tmp_path):
    write_peer_run(tmp_path)
    tasks = load_tasks(FIXTURE)
    result = peer.read_peer(tmp_path, tasks, "dev", None)
    assert result.system == "llm_extractinator 0.7.1"
    thorax = result.tasks["fixture_thorax"]
    assert (thorax.cases, thorax.failed) == (3, 1)
    assert thorax.fields["largest_nodule_mm"].score == pytest.approx(1 / 3)  # NaN is null
    assert thorax.fields["nodule_count"].score == pytest.approx(2 / 3)
    assert thorax.cases_per_min == pytest.approx(6.0)  # 3 cases in 30 s of wall time
    letter = result.tasks["fixture_letter"]
    entities = letter.fields["entities"]
    # "Pneumonie" is grounded to "pneumonie" by our aligner: right by offsets, not by text;
    # "CVA" has the wrong label; "clopidogrel 75 mg" covers more than the drug name
    assert (entities.spans_offsets.tp, entities.spans_offsets.fp) == (2, 2)
    assert (entities.spans_text.tp, entities.spans_text.fp) == (1, 3)
    assert letter.fields["allergies"].score == 1.0 and letter.fields["destination"].score == 1.0


def test_heldout_script_prints_the_peer_beside_ours(peer, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        script = importlib.import_module("heldout")
    finally:
        sys.path.remove(str(BENCHMARKS))
    write_peer_run(tmp_path / "peer")
    args = ["--root", str(FIXTURE), "--out", str(tmp_path / "ours"), "--score-only",
            "--peer", str(tmp_path / "peer"), "--json", str(tmp_path / "r.json")]  # fmt: skip
    res = CliRunner().invoke(script.main, args)
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if "llm_extractinator 0.7.1" in line]
    assert len(rows) >= 3  # each task and overall
    systems = json.loads((tmp_path / "r.json").read_text())["systems"]
    assert [s["system"] for s in systems] == ["extractinator", "llm_extractinator 0.7.1"]
    assert systems[0]["failed"] == 5  # ours never ran into tmp_path/ours
