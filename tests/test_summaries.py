"""A "largest" amount beside a list of findings with sizes is computed from the entries."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import ValidationError

from extractinator.compute import finish_computed
from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.records import Record
from extractinator.summaries import Summary, summaries_of
from extractinator.task import Task

from fakes import FakeEngine

LESION = {
    "type": "object",
    "fields": {
        "segment": {"type": "string", "nullable": True},
        "size_mm": {"type": "number", "unit": "mm", "nullable": True},
    },
}


def task(**fields):
    return Task.model_validate({"name": "t", "description": "Liver lesions.", "fields": fields})


LIVER = task(
    lesion_count={"type": "integer", "nullable": True},
    largest_lesion_mm={"type": "number", "unit": "mm", "nullable": True},
    lesions={"type": "list", "items": LESION},
)


def test_a_largest_field_named_after_a_list_with_sizes_is_its_summary():
    assert summaries_of(LIVER) == (Summary("largest_lesion_mm", "lesions", "size_mm", "max"),)


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("smallest_lesion_cm", "cm", "min"),  # any unit of the same kind
        ("grootste_lesion_mm", "mm", "max"),  # Dutch superlatives too
        ("largest_laesie_mm", "mm", None),  # "laesie" names no list called "lesions"
        ("lesion_mm", "mm", None),  # no "largest"
        ("largest_nodule_mm", "mm", None),  # another finding
        ("largest_lesion_ml", "ml", None),  # a volume is not a size
    ],
)
def test_the_summary_needs_a_superlative_the_list_name_and_the_same_kind(name, unit, expected):
    t = task(
        **{name: {"type": "number", "unit": unit}, "lesions": {"type": "list", "items": LESION}}
    )
    assert [s.pick for s in summaries_of(t)] == ([expected] if expected else [])


def test_a_singular_names_its_plural_list():
    for single, plural in [("laesie", "laesies"), ("mass", "masses"), ("node", "nodes")]:
        t = task(**{f"max_{single}_mm": {"type": "number", "unit": "mm"},
                    plural: {"type": "list", "items": LESION}})  # fmt: skip
        assert summaries_of(t) == (Summary(f"max_{single}_mm", plural, "size_mm", "max"),)


def test_two_lists_that_fit_or_two_sizes_per_entry_are_not_guessed_between():
    two_sizes = {
        **LESION,
        "fields": {**LESION["fields"], "depth_mm": {"type": "number", "unit": "mm"}},
    }
    assert (
        summaries_of(
            task(
                largest_lesion_mm={"type": "number", "unit": "mm"},
                lesions={"type": "list", "items": two_sizes},
            )
        )
        == ()
    )
    assert (
        summaries_of(
            task(
                largest_lesion_mm={"type": "number", "unit": "mm"},
                lesions={"type": "list", "items": LESION},
                lesion_sites={"type": "list", "items": LESION},
            )
        )
        == ()
    )


def test_summary_false_keeps_the_model_answer_and_is_only_for_amounts():
    t = task(
        largest_lesion_mm={"type": "number", "unit": "mm", "summary": False},
        lesions={"type": "list", "items": LESION},
    )
    assert summaries_of(t) == ()
    with pytest.raises(ValidationError, match="`summary` only applies"):
        task(largest={"type": "number", "summary": False})


def record(output, amounts=None):
    return Record.model_validate(
        {"id": "c", "row": 0, "status": "ok", "output": output, "amounts": amounts}
    )


def reading(text, value, start):
    return {"text": text, "value": value, "unit": "mm", "start": start, "end": start + len(text)}


def test_the_largest_entry_replaces_another_findings_size_and_brings_its_reading():
    rec = record(
        {"lesion_count": 2, "largest_lesion_mm": 34.0,
         "lesions": [{"segment": "2", "size_mm": 17.0}, {"segment": "6", "size_mm": 22.0}]},
        {"largest_lesion_mm": reading("3,4 cm", 34.0, 90),
         "lesions[0].size_mm": reading("1,7 cm", 17.0, 10),
         "lesions[1].size_mm": reading("2,2 cm", 22.0, 40)},
    )  # fmt: skip
    finish_computed(rec, LIVER)
    assert rec.output["largest_lesion_mm"] == 22.0
    assert rec.amounts["largest_lesion_mm"].text == "2,2 cm"
    assert rec.amounts["largest_lesion_mm"].start == 40
    assert rec.extra["summarised"] == [
        "largest_lesion_mm: 34 -> 22, the largest size_mm in lesions"
    ]


def test_no_lesions_means_no_largest_size_and_entries_without_sizes_leave_the_answer():
    rec = record({"lesion_count": 0, "largest_lesion_mm": 25.0, "lesions": []},
                 {"largest_lesion_mm": reading("2,5 cm", 25.0, 5)})  # fmt: skip
    finish_computed(rec, LIVER)
    assert rec.output["largest_lesion_mm"] is None and rec.amounts is None
    assert rec.extra["summarised"] == ["largest_lesion_mm: 25 -> null, lesions is empty"]
    required = task(largest_lesion_mm={"type": "number", "unit": "mm"},
                    lesions={"type": "list", "items": LESION})  # fmt: skip
    rec = record({"largest_lesion_mm": 25.0, "lesions": []})
    finish_computed(rec, required)  # a field that may not be null keeps the answer
    assert rec.output["largest_lesion_mm"] == 25.0 and "summarised" not in rec.extra
    unsized = record({"lesion_count": None, "largest_lesion_mm": 12.0,
                      "lesions": [{"segment": None, "size_mm": None}]})  # fmt: skip
    finish_computed(unsized, LIVER)
    assert unsized.output["largest_lesion_mm"] == 12.0 and "summarised" not in unsized.extra


def test_an_agreeing_answer_is_left_alone_and_units_convert():
    rec = record({"lesion_count": 1, "largest_lesion_mm": 38.0,
                  "lesions": [{"segment": "4b", "size_mm": 38.0}]})  # fmt: skip
    finish_computed(rec, LIVER)
    assert "summarised" not in rec.extra
    in_cm = task(largest_lesion_cm={"type": "number", "unit": "cm"},
                 lesions={"type": "list", "items": LESION})  # fmt: skip
    rec = record({"largest_lesion_cm": 8.0, "lesions": [{"segment": "6", "size_mm": 38.0}]})
    finish_computed(rec, in_cm)
    assert rec.output["largest_lesion_cm"] == pytest.approx(3.8)


def test_a_computed_field_reads_the_summary():
    large = "largest_lesion_mm is not None and largest_lesion_mm > 30"
    t = task(largest_lesion_mm={"type": "number", "unit": "mm", "nullable": True},
             lesions={"type": "list", "items": LESION},
             large={"type": "boolean", "compute": large})  # fmt: skip
    rec = record({"largest_lesion_mm": 8.0, "lesions": [{"segment": "4b", "size_mm": 38.0}]})
    finish_computed(rec, t)
    assert rec.output["large"] is True


def test_the_pipeline_answers_with_the_entries_largest_size():
    text = "Segment 4b: laesie van 3,8 x 3,1 cm (FNH). Segment 6: hemangioom van 8 mm."
    answer = {
        "lesions": [
            {"segment": "4b", "size_mm": "3,8 x 3,1 cm"},
            {"segment": "6", "size_mm": "8 mm"},
        ],
        "lesion_count": 2,
        "largest_lesion_mm": "8 mm",
    }
    engine = FakeEngine([json.dumps(answer)])
    rec = asyncio.run(extract_case(CompiledTask(LIVER), engine, GenerationConfig(), "c", 0, text))
    assert rec.status == "ok" and rec.attempts == 1
    assert rec.output["largest_lesion_mm"] == 38.0
    assert rec.amounts["largest_lesion_mm"].text == "3,8 x 3,1 cm"
