"""The most recent result of a test in a table: an answer copied from another column, or a
null, is shown the latest cell once; an answer that is that cell settles the field."""

from __future__ import annotations

import asyncio
import json

from extractinator.checks import doubts
from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.table_amounts import table_amount_doubts
from extractinator.task import Task
from table_fixtures import ALIGNED, MARKDOWN

from fakes import FakeEngine


def lab(description="Lab values. If measured more than once, give the most recent value."):
    return Task.model_validate(
        {
            "name": "lab",
            "description": description,
            "fields": {
                "hemoglobin": {
                    "type": "number",
                    "unit": "mmol/l",
                    "nullable": True,
                    "description": "Hemoglobin (Hb).",
                },
                "kalium": {"type": "number", "unit": "mmol/l", "nullable": True},
                "crp": {"type": "number", "unit": "mg/l", "nullable": True},
                "kreatinine": {"type": "number", "unit": "umol/l", "nullable": True},
            },
        }
    )


LAB = lab()


def checked(text, task=LAB, **answered):
    output = {**dict.fromkeys(task.fields), **answered}
    return table_amount_doubts(task, output, text, read_amounts(task, output, text))


def test_an_older_column_or_a_reference_value_is_shown_the_latest_cell():
    found, settled = checked(ALIGNED, hemoglobin="8,5", kalium="4,2", crp="23")
    assert found == [
        '"hemoglobin" is "8,5", but the table gives "Hemoglobine" at "21-11 06:10", its most '
        'recent result, as "7,4". The task asks for the most recent value: if that is the '
        "same test, give it as written; if not, keep your answer.",
        '"kalium" is "4,2", but the table gives "Kalium" at "21-11 06:10", its most recent '
        'result, as "5,3". The task asks for the most recent value: if that is the same '
        "test, give it as written; if not, keep your answer.",
    ]
    assert settled == {"hemoglobin", "kalium", "crp"}  # crp 23 is the latest: settled


def test_a_null_is_shown_the_latest_row_of_a_table_with_a_row_per_time():
    found, _ = checked(MARKDOWN, kreatinine="161")
    assert found == [
        '"hemoglobin" is null, but the table gives "Hb (mmol/l)" at "vandaag", its most '
        'recent result, as "8,7". If that is what "hemoglobin" asks for, give it as '
        "written; if not, keep null."
    ]


def test_an_answer_from_outside_the_table_or_a_task_without_most_recent_stands():
    text = MARKDOWN + " Hb vanmiddag 8,9 mmol/l."
    assert checked(text, hemoglobin="8,9 mmol/l", kreatinine="161")[0] == []
    assert checked(ALIGNED, task=lab("Lab values."), kalium="4,2") == ([], set())


def test_a_test_named_in_two_rows_is_left_alone():
    text = ALIGNED.replace("Hemoglobine", "Kalium urine")
    found, settled = checked(text, kalium="4,2")
    assert "kalium" not in settled and not any(d.startswith('"kalium"') for d in found)


def test_a_settled_field_gets_no_other_amount_doubt():
    output = {**dict.fromkeys(LAB.fields), "hemoglobin": "7,4", "kalium": "5,3", "crp": "23"}
    output["kreatinine"] = None
    found = doubts(LAB, output, ALIGNED, read_amounts(LAB, output, ALIGNED))
    assert not any(d.startswith('"crp"') for d in found)  # not "<5 ... mg/l" as its unit


def test_the_model_is_shown_the_latest_cell_once_and_its_answer_is_read():
    def answer(k):
        return json.dumps({"hemoglobin": "7,4", "kalium": k, "crp": "23", "kreatinine": None})

    engine = FakeEngine([answer("4,2"), answer("5,3")])
    rec = asyncio.run(extract_case(CompiledTask(LAB), engine, GenerationConfig(), "c", 0, ALIGNED))
    assert rec.status == "ok" and rec.output["kalium"] == 5.3 and len(engine.requests) == 2
    assert '"Kalium" at "21-11 06:10"' in engine.requests[1].messages[-1].content


def test_a_number_from_outside_the_table_not_named_as_the_test_is_shown_the_cell():
    text = (
        "HD 3x per week.\n\nLab        pre-HD              post-HD\n"
        "Hb         6,6 mmol/l (L)      -\nKalium     6,1 mmol/l (H)      3,9 mmol/l\n"
    )
    found, _ = checked(text, hemoglobin="6,6", kalium="3")
    assert found == [
        '"kalium" is "3", but the table gives "Kalium" at "post-HD", its most recent result, '
        'as "3,9". The task asks for the most recent value: if that is the same test, give it '
        "as written; if not, keep your answer."
    ]  # Hb: the latest cell with a number is pre-HD's 6,6
