"""The per-case spine with a scripted engine: validation, re-asks, failures, grounding."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.errors import ContextOverflow, EngineError, EngineUnreachable
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {
            "size_mm": {"type": "number", "nullable": True, "minimum": 0, "maximum": 300},
            "meds": {"type": "spans", "labels": ["MEDICATION"], "layout": "pairs"},
        },
    }
)
TEXT = "Metformine 500 mg gestopt; metformine herstart. Nodus 1,4 cm."


def run(engine, text=TEXT, **gen):
    return asyncio.run(
        extract_case(CompiledTask(TASK), engine, GenerationConfig(**gen), "c1", 0, text)
    )


def answer(size, meds=()):
    return json.dumps({"size_mm": size, "meds": [[m, "MEDICATION"] for m in meds]})


def test_valid_answer_becomes_an_ok_record_with_grounded_spans():
    engine = FakeEngine([answer(14, ["Metformine", "metformine"])])
    rec = run(engine)
    assert rec.status == "ok" and rec.error is None and rec.attempts == 1
    assert rec.output["size_mm"] == 14
    spans = rec.output["meds"]
    assert [(s["start"], s["end"], s["alignment"]) for s in spans] == [
        (0, 10, "exact"),
        (TEXT.index("metformine"), TEXT.index("metformine") + 10, "exact"),
    ]
    req = engine.requests[0]
    assert req.json_schema == TASK.json_schema()
    assert req.messages[-1].content == TEXT
    assert rec.key and rec.prompt_tokens > 0


def test_invalid_answer_is_reasked_with_the_error_then_accepted():
    engine = FakeEngine([answer(1400), answer(14)])
    rec = run(engine)
    assert rec.status == "ok" and rec.attempts == 2 and rec.output["size_mm"] == 14
    second = engine.requests[1].messages
    assert second[-2].role == "assistant" and second[-2].content == answer(1400)
    assert "field 'size_mm'" in second[-1].content and "1400" in second[-1].content
    # never an identical request twice at temperature 0
    assert engine.requests[0].messages != engine.requests[1].messages


def test_persistently_invalid_answer_fails_with_raw_output_and_bounded_attempts():
    engine = FakeEngine(lambda req: answer(999))
    rec = run(engine, max_reasks=2)
    assert rec.status == "failed" and rec.output is None
    assert rec.attempts == 3 and len(engine.requests) == 3
    assert rec.error.type == "invalid_output" and "size_mm" in rec.error.message
    assert rec.raw_output == answer(999)


def test_non_json_answer_fails_as_invalid_json():
    rec = run(FakeEngine(lambda req: "I cannot answer that"), max_reasks=0)
    assert rec.error.type == "invalid_json" and rec.raw_output == "I cannot answer that"


def test_truncated_answer_is_not_reasked():
    engine = FakeEngine(['{"size_mm": 1, "meds": [{"text": "Metf…'])
    rec = run(engine)
    assert rec.error.type == "truncated" and len(engine.requests) == 1
    assert "output budget" in rec.error.message


def test_cut_off_answer_keeps_its_complete_entries_and_says_so():
    text = '{"size_mm": 14, "meds": [["metformine", "MEDICATION"], ["aspir…'
    engine = FakeEngine([text])
    rec = run(engine)
    assert rec.status == "ok" and len(engine.requests) == 1
    assert rec.output["size_mm"] == 14
    assert [m["text"] for m in rec.output["meds"]] == ["metformine"]
    assert "output budget" in rec.repaired and rec.raw_output == text


LIST_FIRST = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {
            "meds": {"type": "spans", "labels": ["MEDICATION"], "layout": "pairs"},
            "size_mm": {"type": "number", "nullable": True, "unit": "mm"},
            "smoker": {"type": "boolean"},
        },
    }
)


def run_list_first(engine):
    compiled = CompiledTask(LIST_FIRST)
    return asyncio.run(extract_case(compiled, engine, GenerationConfig(), "c1", 0, TEXT))


def test_fields_after_a_cut_list_are_asked_for_on_their_own():
    cut = '{"meds": [["Metformine", "MEDICATION"], ["metformine", "MEDICATION"], ["metf…'
    engine = FakeEngine([cut, '{"size_mm": "1,4 cm", "smoker": false}'])
    rec = run_list_first(engine)
    assert rec.status == "ok" and len(engine.requests) == 2
    assert [m["text"] for m in rec.output["meds"]] == ["Metformine", "metformine"]
    assert rec.output["size_mm"] == 14 and rec.output["smoker"] is False
    assert rec.amounts["size_mm"].text == "1,4 cm"  # read and converted like any amount
    rest = engine.requests[1]
    assert list(rest.json_schema["properties"]) == ["size_mm", "smoker"]
    assert "meds" not in rest.messages[0].content  # the rest's prompt asks for the rest only
    assert "(size_mm, smoker) were asked for on their own" in rec.repaired
    assert rec.raw_output.startswith(cut) and rec.raw_output.endswith("false}")
    assert rec.completion_tokens > len(cut.split())  # both answers counted


SMOKER = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {
            "meds": {"type": "spans", "labels": ["MEDICATION"], "layout": "pairs"},
            "pack_years": {"type": "number", "nullable": True, "unit": "pack-years"},
        },
    }
)


def test_a_cut_and_joined_answer_is_checked_like_a_whole_one():
    text = "Dhr. B., 58 jaar, metformine. Rookt 1 pakje per dag sinds zijn 18e."
    cut = '{"meds": [["metformine", "MEDICATION"], ["metformine", "MEDICATION"], ["metf…'
    checked = '{"meds": [["metformine", "MEDICATION"]], "pack_years": 40}'
    engine = FakeEngine([cut, '{"pack_years": 18}', checked])
    rec = asyncio.run(extract_case(CompiledTask(SMOKER), engine, GenerationConfig(), "c1", 0, text))
    assert rec.status == "ok" and len(engine.requests) == 3
    assert rec.output["pack_years"] == 40 and "40 pack-years" in rec.extra["checked"][0]
    turn = engine.requests[2].messages[-2:]
    assert turn[0].role == "assistant" and '"pack_years": 18' in turn[0].content
    assert turn[1].role == "user" and "Check these values" in turn[1].content
    assert rec.repaired is None  # the checked answer came whole


LETTER = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {
            "findings": {
                "type": "spans",
                "labels": {"ALLERGY": "an allergy", "MEDICATION": "a drug", "DIAGNOSIS": "x"},
            },
            "smoker": {"type": "boolean"},
        },
    }
)
LETTER_TEXT = "Allergie: penicilline, pinda. Medicatie: metformine. Diagnose: DM2. Rookt niet."


def test_a_spans_answer_cut_inside_a_label_keeps_it_and_asks_for_the_later_labels():
    cut = '{"findings": {"ALLERGY": ["penicilline", "pinda", "penicilline", "pin…'
    rest = '{"findings": {"MEDICATION": ["metformine"], "DIAGNOSIS": ["DM2"]}, "smoker": false}'
    engine = FakeEngine([cut, rest])
    compiled = CompiledTask(LETTER)
    rec = asyncio.run(extract_case(compiled, engine, GenerationConfig(), "c1", 0, LETTER_TEXT))
    assert rec.status == "ok" and len(engine.requests) == 2
    found = [(s["label"], s["text"]) for s in rec.output["findings"]]
    assert sorted(found) == [
        ("ALLERGY", "penicilline"),
        ("ALLERGY", "penicilline"),
        ("ALLERGY", "pinda"),
        ("DIAGNOSIS", "DM2"),
        ("MEDICATION", "metformine"),
    ]
    assert rec.output["smoker"] is False
    asked = engine.requests[1]
    assert list(asked.json_schema["properties"]) == ["findings", "smoker"]
    spans = asked.json_schema["properties"]["findings"]
    assert list(spans["properties"]) == ["MEDICATION", "DIAGNOSIS"]  # not ALLERGY again
    assert "a drug" in asked.messages[0].content  # the labels keep their descriptions
    assert "(findings: MEDICATION, DIAGNOSIS, smoker) were asked" in rec.repaired


def test_a_spans_answer_cut_before_its_first_complete_text_fails_as_cut():
    cut = '{"findings": {"ALLERGY": ["penic…'
    engine = FakeEngine([cut, '{"findings": {"ALLERGY": []}}'])
    rec = asyncio.run(
        extract_case(CompiledTask(LETTER), engine, GenerationConfig(), "c1", 0, LETTER_TEXT)
    )
    assert rec.status == "failed" and len(engine.requests) == 1  # nothing complete to keep


def test_a_cut_list_whose_rest_is_invalid_too_fails_as_cut():
    cut = '{"meds": [["Metformine", "MEDICATION"], ["metf…'
    engine = FakeEngine([cut, '{"size_mm": 3}'])  # smoker missing again
    rec = run_list_first(engine)
    assert rec.status == "failed" and rec.error.type == "truncated"
    assert len(engine.requests) == 2 and rec.raw_output == cut


def test_a_cut_answer_with_nothing_complete_is_not_asked_again():
    engine = FakeEngine(['{"meds": [["Metf…'])
    rec = run_list_first(engine)
    assert rec.error.type == "truncated" and len(engine.requests) == 1


def test_a_cut_answer_whose_kept_amounts_do_not_read_is_asked_again_with_the_reason():
    task = Task.model_validate(
        {
            "name": "t",
            "description": "d",
            "fields": {
                "findings": {
                    "type": "list",
                    "items": {
                        "type": "object",
                        "fields": {"size_mm": {"type": "number", "unit": "mm"}},
                    },
                }
            },
        }
    )
    cut = '{"findings": [{"size_mm": "2 cm"}, {"size_mm": "1,4 cm"}, {"size_…'
    fixed = '{"findings": [{"size_mm": "9 mm"}, {"size_mm": "1,4 cm"}]}'
    engine = FakeEngine([cut, fixed])
    text = "Nodus van 9 mm en een nodus van 1,4 cm."
    rec = asyncio.run(extract_case(CompiledTask(task), engine, GenerationConfig(), "c1", 0, text))
    assert rec.status == "ok" and rec.attempts == 2
    assert [f["size_mm"] for f in rec.output["findings"]] == [9, 14]
    shown, reask = engine.requests[1].messages[-2:]
    assert json.loads(shown.content) == {"findings": [{"size_mm": "2 cm"}, {"size_mm": "1,4 cm"}]}
    assert "findings[0].size_mm" in reask.content and "not in the report" in reask.content


def test_empty_text_is_failed_without_calling_the_model():
    engine = FakeEngine([])
    rec = run(engine, text="   \n ")
    assert rec.status == "failed" and rec.error.type == "empty_input"
    assert engine.requests == []


def test_engine_errors_become_failed_records_but_unreachable_propagates():
    rec = run(FakeEngine([EngineError("HTTP 400: bad request")]))
    assert rec.error.type == "engine_error" and "HTTP 400" in rec.error.message
    rec = run(FakeEngine([ContextOverflow(9000, 512, 8192)]))
    assert rec.error.type == "context_overflow" and rec.prompt_tokens == 9000
    with pytest.raises(EngineUnreachable):
        run(FakeEngine([EngineUnreachable("cannot reach http://127.0.0.1:9")]))


def test_a_span_not_in_the_report_is_asked_again_with_its_text():
    engine = FakeEngine([answer(None, ["Metformin", "none"]), answer(None, ["Metformine"])])
    rec = run(engine)
    assert rec.status == "ok" and rec.attempts == 2
    assert [m["text"] for m in rec.output["meds"]] == ["Metformine"]
    reask = engine.requests[1].messages[-1].content
    assert "not in the report as written: 'none' (MEDICATION)" in reask  # "Metformin": fuzzy


def test_a_span_still_not_in_the_report_after_the_reasks_is_kept_with_alignment_none():
    engine = FakeEngine([answer(None, ["ibuprofen"])] * 3)
    rec = run(engine)
    assert rec.status == "ok" and rec.attempts == 3
    assert rec.output["meds"] == [
        {
            "text": "ibuprofen",
            "label": "MEDICATION",
            "start": None,
            "end": None,
            "alignment": "none",
        }
    ]
