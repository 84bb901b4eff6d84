"""A smaller finding's size where the task asks for the largest finding: the model is shown
the larger amount once, and its second answer stands."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.larger_amounts import larger_amount_doubts, largest_of
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.task.spec import FieldSpec

from fakes import FakeEngine

LARGEST_LESION = "Largest diameter of the largest breast lesion in mm; null if no lesion."
TASK = Task.model_validate(
    {
        "name": "mammo",
        "description": "Findings of this breast ultrasound.",
        "fields": {
            "lesion_size_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": LARGEST_LESION,
            },
            "birads": {"type": "integer"},
        },
    }
)
TWO = "Rechts 11 uur: laesie 11 x 8 mm.\nLinks 4 uur: eenvoudige cyste 1,8 cm.\nBI-RADS 4."


def doubted(text, size):
    output = {"lesion_size_mm": size, "birads": 4}
    readings = read_amounts(TASK, output, text)
    return larger_amount_doubts(TASK, output, text, readings)


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        (LARGEST_LESION, "breast lesion"),
        ("Largest diameter of the largest nodule on this scan, in mm", "nodule"),
        ("Grootste diameter van de grootste laesie", "laesie"),
        ("Largest diameter of the invasive tumour in the specimen", None),
        ("Largest diameter in mm of the index lesion", None),
        ("Size of the lesion", None),
    ],
)
def test_the_kind_of_finding_whose_largest_is_asked_for(description, kind):
    spec = FieldSpec.model_validate({"type": "number", "unit": "mm", "description": description})
    assert largest_of(spec) == kind


def test_a_smaller_findings_size_is_doubted_with_the_larger_amount_and_its_words():
    (doubt,) = doubted(TWO, "11 x 8 mm")
    assert '"lesion_size_mm" is "11 x 8 mm"' in doubt
    assert '"Links 4 uur: eenvoudige cyste 1,8 cm"' in doubt  # converted to compare: 18 mm
    assert "the largest breast lesion" in doubt and "keep your answer" in doubt


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (TWO, "1,8 cm"),  # already the largest
        ("Laesie 11 mm, 4 cm van de tepel.", "11 mm"),  # a distance is not a finding
        ("Klinisch: knobbel 2,5 cm.\nEcho: laesie 11 mm.", "11 mm"),  # clinical information
        ("Laesie nu 11 mm, voorheen 14 mm.", "11 mm"),  # an earlier examination's
        ("Laesie 11 mm. BI-RADS 4.", "11 mm"),  # nothing larger
        ("Laesie 11 mm en 11,05 mm.", "11 mm"),  # within rounding
        (TWO, None),  # null: the missed-amount hint's business, not this one
    ],
)
def test_no_doubt_without_a_larger_finding_in_the_report(text, answer):
    assert doubted(text, answer) == []


def test_a_field_computed_from_a_list_of_findings_is_left_to_that_list():
    task = Task.model_validate(
        {
            "name": "liver",
            "description": "d",
            "fields": {
                "lesions": {
                    "type": "list",
                    "items": {
                        "type": "object",
                        "fields": {"size_mm": {"type": "number", "unit": "mm"}},
                    },
                },
                "largest_lesion_mm": {
                    "type": "number",
                    "unit": "mm",
                    "description": "Largest diameter of the largest liver lesion",
                },
            },
        }
    )
    output = {"lesions": [{"size_mm": 11}], "largest_lesion_mm": 11}
    text = "Laesie 11 mm. Cyste 18 mm."
    assert larger_amount_doubts(task, output, text, read_amounts(task, output, text)) == []


def test_the_model_is_asked_once_and_its_second_answer_stands():
    engine = FakeEngine(
        [
            json.dumps({"lesion_size_mm": "11 x 8 mm", "birads": 4}),
            json.dumps({"lesion_size_mm": "1,8 cm", "birads": 2}),
        ]
    )
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, TWO))
    assert rec.status == "ok" and len(engine.requests) == 2
    assert rec.output["lesion_size_mm"] == 18
    assert "eenvoudige cyste 1,8 cm" in engine.requests[1].messages[-1].content
    assert rec.extra["checked"][0].startswith('"lesion_size_mm"')
    # the whole answer is given again: what changed, asked about or not, is in the record
    assert rec.extra["changed_by_check"] == {
        "lesion_size_mm": {"before": 11, "after": 18},
        "birads": {"before": 4, "after": 2},
    }


def test_a_check_that_changes_nothing_leaves_no_changes_in_the_record():
    reply = json.dumps({"lesion_size_mm": "11 x 8 mm", "birads": 4})
    engine = FakeEngine([reply, reply])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, TWO))
    assert len(engine.requests) == 2 and rec.output["lesion_size_mm"] == 11
    assert rec.extra["checked"] and "changed_by_check" not in rec.extra
