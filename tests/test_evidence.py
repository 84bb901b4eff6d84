"""Evidence quotes: schema order, prompt, few-shot rendering, grounding, records export."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import jsonschema
import pytest

from extractinator.config import GenerationConfig, RunConfig
from extractinator.errors import TaskError
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.prompt import build_messages, system_prompt
from extractinator.runner import run_task
from extractinator.task import Task
from extractinator.task.load import task_from_mapping
from extractinator.task.schema import task_json_schema
from extractinator.validate import validate_output

from fakes import FakeEngine

FIELDS = {
    "present": {"type": "boolean", "description": "any nodule"},
    "size_mm": {"type": "number", "nullable": True, "unit": "mm"},
    "side": {"type": "enum", "values": ["left", "right"], "nullable": True},
    "meds": {"type": "spans", "labels": ["MED"]},
}
TASK = Task.model_validate({"name": "t", "description": "d", "evidence": True, "fields": FIELDS})
TEXT = "CT thorax: solide nodus rechts van 1,4 cm. Geen andere afwijkingen."


def answer(**kw):
    base = {
        "present_evidence": "solide nodus rechts",
        "present": True,
        "size_mm_evidence": "van 1,4 cm",
        "size_mm": "1,4 cm",
        "side_evidence": "nodus rechts",
        "side": "right",
        "meds": {"MED": []} if TASK.fields["meds"].span_layout == "by_label" else [],
    }
    return json.dumps({**base, **kw})


def run(engine, task=TASK, **gen):
    return asyncio.run(
        extract_case(CompiledTask(task), engine, GenerationConfig(**gen), "c1", 0, TEXT)
    )


def test_each_evidence_key_comes_right_before_its_field_and_is_nullable():
    schema = TASK.json_schema()
    assert list(schema["properties"]) == [
        "present_evidence",
        "present",
        "size_mm_evidence",
        "size_mm",
        "side_evidence",
        "side",
        "meds",  # spans are grounded already: no quote
    ]
    assert schema["required"] == list(schema["properties"])
    quote = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema["properties"]["size_mm_evidence"] == quote
    jsonschema.validate(json.loads(answer(side_evidence=None)), schema)


def test_field_level_evidence_adds_only_that_fields_quote():
    fields = {**FIELDS, "side": {**FIELDS["side"], "evidence": True}}
    task = Task.model_validate({"name": "t", "description": "d", "fields": fields})
    assert task.evidence_fields() == ["side"]
    assert [k for k in task.json_schema()["properties"] if k.endswith("_evidence")] == [
        "side_evidence"
    ]
    plain = Task.model_validate({"name": "t", "description": "d", "fields": FIELDS})
    assert "_evidence" not in json.dumps(plain.json_schema())
    assert task.fingerprint() != plain.fingerprint() != TASK.fingerprint()


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"m": {"type": "spans", "labels": ["X"], "evidence": True}}, "field 'm'"),
        (
            {"o": {"type": "object", "fields": {"a": {"type": "string", "evidence": True}}}},
            "field 'o.a': `evidence` applies to top-level fields only",
        ),
        (
            {"a": {"type": "string", "evidence": True}, "a_evidence": {"type": "string"}},
            "field 'a_evidence'",
        ),
    ],
)
def test_misplaced_evidence_is_a_one_line_task_error(fields, needle):
    with pytest.raises(TaskError, match="task.yaml: ") as err:
        task_from_mapping({"name": "t", "description": "d", "fields": fields}, "task.yaml")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_prompt_lists_the_quote_key_before_its_field():
    prompt = system_prompt(TASK)
    at = prompt.index('- "size_mm_evidence" (text, or null): the exact words from the report')
    assert prompt.index('- "present"') < at < prompt.index('- "size_mm"')
    assert '"meds_evidence"' not in prompt


def test_few_shot_examples_render_quotes_when_given_and_null_otherwise():
    example = {
        "input": "Nodus links 4 mm.",
        "output": {
            "side": "left",
            "present": True,
            "present_evidence": "Nodus",
            "size_mm": 4,
            "meds": [],
        },
    }
    task = Task.model_validate({**TASK.model_dump(), "examples": [example]})
    shown = build_messages(task, TEXT)[2].content
    rendered = json.loads(shown)
    # in answer order (the order the model must write), whatever the example's own order
    assert list(rendered) == list(task_json_schema(task)["properties"])
    assert list(rendered)[:2] == ["present_evidence", "present"]
    assert rendered["present_evidence"] == "Nodus" and rendered["side_evidence"] is None
    # a valid answer of the task: the model is shown what it must write
    out = validate_output(shown, CompiledTask(task).model)
    assert out["side"] == "left"


def test_quotes_are_grounded_and_leave_the_output():
    rec = run(FakeEngine([answer(size_mm_evidence="VAN 1,4  CM")]))
    assert rec.status == "ok"
    assert set(rec.output) == {"present", "size_mm", "side", "meds"}
    assert rec.output["size_mm"] == 14  # read as written, converted in code
    read = rec.amounts["size_mm"]
    assert (read.text, read.numbers, read.written_unit, TEXT[read.start : read.end]) == (
        "1,4 cm",
        [1.4],
        "cm",
        "1,4 cm",
    )
    ev = rec.evidence
    present = ev["present"]
    assert (present.alignment, present.supported) == ("exact", True)
    assert TEXT[present.start : present.end] == "solide nodus rechts"
    size = ev["size_mm"]  # case and spacing differ: found, fuzzy
    assert (size.alignment, size.supported, TEXT[size.start : size.end]) == (
        "fuzzy",
        True,
        "van 1,4 cm",
    )


def test_quotes_not_in_the_text_or_missing_for_a_value_are_unsupported():
    engine = FakeEngine(
        [answer(side_evidence="links paracardiaal", size_mm_evidence=None, present_evidence=None)]
    )
    rec = run(engine)
    side = rec.evidence["side"]
    assert (side.quote, side.start, side.alignment, side.supported) == (
        "links paracardiaal",
        None,
        "none",
        False,
    )
    assert (rec.evidence["size_mm"].quote, rec.evidence["size_mm"].supported) == (None, False)
    # no quote for "yes" is unsupported ...
    assert rec.evidence["present"].supported is False
    # ... but nothing stated (null, false) needs no quote
    rec = run(FakeEngine([answer(present=False, present_evidence=None, size_mm=None)]))
    assert rec.evidence["present"].supported is True
    rec = run(FakeEngine([answer(size_mm=None, size_mm_evidence=None)]))
    assert rec.evidence["size_mm"].supported is True


def test_a_missing_quote_key_is_null_not_an_invalid_answer():
    data = json.loads(answer())
    del data["side_evidence"]
    rec = run(FakeEngine([json.dumps(data)]))
    assert rec.status == "ok" and rec.attempts == 1
    assert rec.evidence["side"].quote is None and rec.evidence["side"].supported is False


def test_with_samples_the_quote_comes_from_a_sample_that_agrees():
    engine = FakeEngine(
        [
            answer(side="left", side_evidence="Geen andere"),
            answer(side_evidence="rechts"),
            answer(side_evidence="nodus rechts van"),
        ]
    )
    rec = run(engine, temperature=0.7, samples=3)
    assert rec.output["side"] == "right"
    assert rec.evidence["side"].quote == "rechts" and rec.evidence["side"].supported
    assert all("side_evidence" not in s for s in rec.samples)


def test_records_export_has_quote_and_support_columns(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"text": TEXT}) + "\n" + json.dumps({"text": "x"}) + "\n")
    engine = FakeEngine([answer(side_evidence="links"), "no json"])
    config = RunConfig(progress=False, generation=GenerationConfig(max_reasks=0))
    run_task(TASK, data, tmp_path / "o", config, engine=engine)
    text = (tmp_path / "o" / "records.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[4:10] == [
        "present",
        "present_evidence",
        "present_supported",
        "size_mm",
        "size_mm_evidence",
        "size_mm_supported",
    ]
    assert (rows[0]["side_evidence"], rows[0]["side_supported"]) == ("links", "False")
    assert rows[0]["present_supported"] == "True"
    assert rows[1]["status"] == "failed" and rows[1]["present_evidence"] == ""
    exported = json.loads((tmp_path / "o" / "records.json").read_text())
    assert exported[0]["evidence"]["size_mm"]["quote"] == "van 1,4 cm"
