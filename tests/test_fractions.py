"""Counts written as fractions ("0/19 lymfeklieren"): a count that holds the part where a
total may be asked is checked once with the model; its second answer stands."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.fractions import fraction_doubts
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "nodes",
        "description": "Lymph nodes.",
        "fields": {
            "examined": {"type": "integer", "description": "Total number of nodes examined"},
            "positive": {"type": "integer", "description": "Nodes with metastasis"},
            "margin_mm": {"type": "number", "unit": "mm", "nullable": True},
        },
    }
)
TEXT = "Marge 2 mm. Lymfeklieren: 0/19. Datum 12/03/2024, RR 146/82."


def answer(examined, positive):
    return json.dumps({"examined": examined, "positive": positive, "margin_mm": "2 mm"})


@pytest.mark.parametrize(
    ("examined", "positive", "doubted"),
    [
        (0, 0, ["examined", "positive"]),  # both copied the part of "0/19"
        (19, 0, []),  # the total is held by a field: nothing to check
        (5, 3, []),  # no fraction starts with these
        (12, 0, ["positive"]),  # a date is no fraction; 19 is held by no field
    ],
)
def test_a_count_holding_the_part_of_a_fraction_whose_total_no_field_holds_is_doubted(
    examined, positive, doubted
):
    doubts = fraction_doubts(TASK, {"examined": examined, "positive": positive}, TEXT)
    assert [[f for f in ("examined", "positive") if f'"{f}"' in d] for d in doubts] == (
        [doubted] if doubted else []
    )
    assert all('"0/19"' in d for d in doubts)


def test_fields_holding_the_same_part_are_asked_about_together_with_their_descriptions():
    (doubt,) = fraction_doubts(TASK, {"examined": 0, "positive": 0}, TEXT)
    assert doubt.startswith(
        '"examined" (Total number of nodes examined) and "positive" (Nodes with metastasis)'
        " are both 0"
    )
    assert "the total should be 19" in doubt and "the part stays 0" in doubt


def test_one_count_alone_is_never_doubted():
    one = Task.model_validate(
        {"name": "t", "description": "d", "fields": {"n": {"type": "integer"}}}
    )
    assert fraction_doubts(one, {"n": 0}, TEXT) == []


def run(engine):
    return asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, TEXT))


def test_the_model_is_asked_once_to_check_and_its_second_answer_stands():
    engine = FakeEngine([answer(0, 0), answer(19, 0)])
    rec = run(engine)
    assert rec.status == "ok" and rec.attempts == 2
    assert rec.output["examined"] == 19 and rec.output["positive"] == 0
    check = engine.requests[1].messages[-1].content
    assert '"examined" (Total number of nodes examined) and' in check and '"0/19"' in check


def test_an_answer_that_stays_the_same_after_the_check_is_kept_without_asking_again():
    engine = FakeEngine([answer(0, 0), answer(0, 0), answer(19, 0)])
    rec = run(engine)
    assert rec.status == "ok" and rec.attempts == 2 and rec.output["examined"] == 0
    assert len(engine.requests) == 2


STATIONS = "Lymfeklieren: regio I 0/10, regio II 0/8, regio III 3/5. Lymfeklieren 3/23. Marge 2 mm."


def test_a_part_and_total_copied_from_one_station_are_checked_against_a_larger_total():
    (doubt,) = fraction_doubts(TASK, {"examined": 10, "positive": 0}, STATIONS)
    assert doubt.startswith('"examined" (Total number of nodes examined) and "positive"')
    assert '"0/10"' in doubt and '"3/23"' in doubt and "give 23 and 3" in doubt


def test_the_largest_total_held_asks_nothing():
    assert fraction_doubts(TASK, {"examined": 23, "positive": 3}, STATIONS) == []


def test_a_larger_total_is_a_fraction_not_a_blood_pressure():
    assert fraction_doubts(TASK, {"examined": 19, "positive": 0}, TEXT) == []
