"""An earlier result where the task asks for the most recent one: the model is shown the
later result once, and its second answer stands."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.field_names import asks_most_recent
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.recent_amounts import recent_amount_doubts
from extractinator.task import Task

from fakes import FakeEngine


def lab(
    description="Lab values. If a value was measured more than once, give the most recent one.",
):
    return Task.model_validate(
        {
            "name": "lab",
            "description": description,
            "fields": {
                "hb": {"type": "number", "unit": "mmol/l", "nullable": True},
                "k": {"type": "number", "unit": "mmol/l", "nullable": True},
            },
        }
    )


LAB = lab()


def doubted(text, task=LAB, **answered):
    output = {"hb": None, "k": None, **answered}
    return recent_amount_doubts(task, output, text, read_amounts(task, output, text))


def test_most_recent_is_asked_in_the_task_or_the_field_description():
    assert asks_most_recent(LAB, "hb")
    plain = lab("Lab values.")
    assert not asks_most_recent(plain, "hb")
    field = plain.model_copy(deep=True)
    field.fields["k"].description = "Kalium; de meest recente waarde."
    assert asks_most_recent(field, "k") and not asks_most_recent(field, "hb")


def test_the_same_label_later_is_shown_the_last_of_them():
    text = "Lab: Hb 5,1 mmol/l, K 4,0 mmol/l. Na transfusie: Hb 5,6 mmol/l. Avond: Hb 5,9 mmol/l."
    assert doubted(text, hb="5,1 mmol/l") == [
        '"hb" is "5,1 mmol/l", but the report writes "Hb 5,9 mmol/l" after it. The task asks '
        "for the most recent value: if that is a later result of the same test, give it as "
        "written; if not, keep your answer."
    ]
    assert doubted(text, hb="5,9 mmol/l") == []  # the last one is not doubted


def test_a_later_value_without_the_label_counts_after_a_word_for_a_repeat():
    text = "K 7,1 mmol/l (gehemolyseerd?); herhaalde bepaling, niet gehemolyseerd: 6,8 mmol/l."
    assert "gehemolyseerd: 6,8 mmol/l" in doubted(text, k="7,1 mmol/l")[0]


def test_limits_are_not_later_results():
    text = "K 6,3 mmol/l; bij controle nog 6,0 mmol/l. Bij K > 6,5 mmol/l overleg."
    assert "nog 6,0 mmol/l" in doubted(text, k="6,3 mmol/l")[0]
    text = "Hb 5,6 mmol/l; 1 EC besteld (transfusiegrens Hb < 5,5 mmol/l)."
    assert doubted(text, hb="5,6 mmol/l") == []


def test_a_qualified_test_is_another_test():
    task = Task.model_validate(
        {
            "name": "psa",
            "description": "PSA; the most recent value.",
            "fields": {"psa": {"type": "number", "unit": "ng/ml", "nullable": True}},
        }
    )
    text = "PSA 7,2 ng/ml, vrij PSA 1,1 ng/ml (vrij/totaal 0,15). Herhaald: PSA 7,5 ng/ml."
    output = {"psa": "7,2 ng/ml"}
    doubts = recent_amount_doubts(task, output, text, read_amounts(task, output, text))
    assert len(doubts) == 1 and '"PSA 7,5 ng/ml"' in doubts[0]


def test_a_result_at_a_later_clock_time_in_the_same_sentence_is_a_later_result():
    text = "Kalium 3,2 mmol/l (verlaagd) om 06:00; na 40 mmol KCl iv om 18:00: 3,8 mmol/l."
    assert '"3,8 mmol/l"' in doubted(text, k="3,2 mmol/l")[0]
    text = "Kalium 3,2 mmol/l om 06:00. Natrium om 18:00: 131 mmol/l, om 20.00 u 133 mmol/l."
    assert doubted(text, k="3,2 mmol/l") == []  # another sentence: another test
    text = "Kalium gisteren 5,8 mmol/l (te hoog), vanochtend 4,9 mmol/l. Hb 7,0 mmol/l."
    assert '"4,9 mmol/l"' in doubted(text, k="5,8 mmol/l")[0]


def test_a_result_of_another_material_is_another_test():
    """A urine result, on a line that starts with the material or under a heading that
    names it, is no later serum result; a later serum result still is."""
    text = "Serum: Hb 8,4 mmol/l, K 2,9 mmol/l.\nUrine (portie): kalium 14 mmol/l, K 9 mmol/l."
    assert doubted(text, k="2,9 mmol/l") == []
    text = "K            4,8   mmol/l\n\nURINE (portie)\nK            7,4   mmol/l\n"
    assert doubted(text, k="4,8") == []
    text = "Serum: K 2,9 mmol/l.\nUrine: K 14 mmol/l.\nSerum, herhaald: K 3,4 mmol/l."
    assert '"K 3,4 mmol/l"' in doubted(text, k="2,9 mmol/l")[0]


def test_after_a_repeat_only_the_first_result_can_be_the_later_one():
    """The first result after "Controle" is another field's (Hb): the next, another test
    of the same kind, is no later potassium."""
    text = "Lab: K 4,6 mmol/l. Controle-lab (na 2 EC): Hb 6,7 mmol/l, ureum 23,8 mmol/l."
    assert doubted(text, k="4,6 mmol/l") == []
    assert doubted(text.replace("Hb 6,7 mmol/l, ", ""), k="4,6 mmol/l") != []


@pytest.mark.parametrize(
    "text",
    [
        "Hb 5,1 mmol/l, kalium 3,9 mmol/l; natrium 140 mmol/l.",  # other tests of the list
        "Hb 5,1 mmol/l (ref 7,5 mmol/l), kalium 3,9 mmol/l.",  # a reference value
        "Hb 5,1 mmol/l (7,5-10,0 mmol/l).",  # a reference range
        "Hb 5,1 mmol/l; later Hb 5,9 g/dl.",  # another kind of quantity
        # "naar" is not a test's name, and the later value is named as another field's
        "Hb gedaald van 6,0 naar 5,1 mmol/l en het kalium gestegen van 4,5 naar 5,6 mmol/l.",
    ],
)
def test_other_tests_and_reference_values_are_not_later_results(text):
    assert doubted(text, hb="5,1 mmol/l") == []


def test_a_flag_is_not_the_name_of_a_test():
    """Pre and post columns: the next row's value after its flag is not a later Hb."""
    text = "Hb      9,9 mmol/l (H)   10,1 mmol/l (H)\nKalium  6,1 mmol/l (H)   3,9 mmol/l"
    assert doubted(text, hb="10,1 mmol/l") == []


def test_without_most_recent_in_the_task_nothing_is_doubted():
    text = "Hb 5,1 mmol/l. Na transfusie: Hb 5,9 mmol/l."
    assert doubted(text, task=lab("Lab values."), hb="5,1 mmol/l") == []


def answer(hb):
    return json.dumps({"hb": hb, "k": None})


def test_the_model_is_shown_the_later_result_once_and_its_answer_is_read():
    text = "Lab 06:00: Hb 5,1 mmol/l, leuko 16,8.\nNa transfusie van 2 EC: Hb 5,9 mmol/l."
    engine = FakeEngine([answer("5,1 mmol/l"), answer("5,9 mmol/l")])
    rec = asyncio.run(extract_case(CompiledTask(LAB), engine, GenerationConfig(), "c", 0, text))
    assert rec.status == "ok" and rec.attempts == 2 and rec.output["hb"] == 5.9
    assert rec.amounts["hb"].text == "5,9 mmol/l"
    assert 'writes "Hb 5,9 mmol/l" after it' in engine.requests[1].messages[-1].content
    assert len(rec.extra["checked"]) == 1
