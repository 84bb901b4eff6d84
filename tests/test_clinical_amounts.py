"""An amount about this examination copied from the clinical information: the model is told
where it came from once, and its second answer stands."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.clinical_amounts import clinical_amount_doubts, clinical_sections
from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "breast",
        "description": "Breast pathology.",
        "fields": {
            "tumor_size_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Largest diameter of the invasive tumour in the specimen",
            },
            "psa_ng_ml": {"type": "number", "unit": "ng/ml", "nullable": True},
        },
    }
)
BIOPSY = (
    "Klinisch: verdachte laesie mamma rechts, 1,7 cm op echo. PSA 4 ng/ml.\n"
    "Microscopie biopt: invasief carcinoom NST, graad 2.\n"
)


def doubted(text, **answered):
    output = {"tumor_size_mm": None, "psa_ng_ml": None, **answered}
    return clinical_amount_doubts(TASK, output, text, read_amounts(TASK, output, text))


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        (BIOPSY, "1,7 cm op echo", "Microscopie"),  # the rest of the heading's line
        ("Kl. gegevens: controle.\nVerslag: 3 cm.", "controle", "3 cm"),
        ("Indicatie:\nPijn.\nEcho 12 mm.\n\nBevindingen: 8 mm.", "Echo 12 mm", "8 mm"),
        ("Vraagstelling:\nPijn, 12 mm.\nVerslag: 8 mm.", "12 mm", "8 mm"),  # next heading
        ("Clinical information: lump, 2 cm.\nFindings: 9 mm.", "2 cm", "9 mm"),
    ],
)
def test_the_clinical_information_is_its_headings_line_or_paragraph(text, inside, outside):
    sections = clinical_sections(text)
    at_inside, at_outside = text.index(inside), text.index(outside)
    assert any(s <= at_inside < e for s, e in sections)
    assert not any(s <= at_outside < e for s, e in sections)


def test_a_size_about_the_specimen_copied_from_the_clinical_information_is_doubted():
    assert doubted(BIOPSY, tumor_size_mm="1,7 cm") == [
        '"tumor_size_mm" is "1,7 cm", copied from the clinical information ("verdachte '
        'laesie mamma rechts, 1,7 cm op echo."), which was written before this examination. '
        'If the report\'s own findings give what "tumor_size_mm" asks for, give that as '
        "written; if they give none, answer null."
    ]


def test_fields_not_about_this_examination_and_sizes_from_the_findings_are_not():
    assert doubted(BIOPSY, psa_ng_ml="4 ng/ml") == []  # PSA: no "this examination"
    resection = "Klinisch: echo 1,7 cm.\nMacroscopie: tumor van 2,1 cm.\n"
    assert doubted(resection, tumor_size_mm="2,1 cm") == []


def answer(size):
    return json.dumps({"tumor_size_mm": size, "psa_ng_ml": "4 ng/ml"})


def test_the_model_is_told_once_and_its_second_answer_stands():
    engine = FakeEngine([answer("1,7 cm"), answer(None), answer("1,7 cm")])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, BIOPSY))
    assert rec.status == "ok" and rec.attempts == 2 and rec.output["tumor_size_mm"] is None
    assert "copied from the clinical information" in engine.requests[1].messages[-1].content
    assert len(rec.extra["checked"]) == 1
