"""An amount about this examination written only in the clinical information is re-asked
with the reason, then null."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.clinical_amounts import clinical_sections, is_about_this_examination, is_earlier
from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.task.spec import FieldSpec
from extractinator.validate import InvalidOutput

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


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        (BIOPSY, "1,7 cm op echo", "Microscopie"),  # the rest of the heading's line
        ("Kl. gegevens: controle.\nVerslag: 3 cm.", "controle", "3 cm"),
        ("Indicatie:\nPijn.\nEcho 12 mm.\n\nBevindingen: 8 mm.", "Echo 12 mm", "8 mm"),
        ("Vraagstelling:\nPijn, 12 mm.\nVerslag: 8 mm.", "12 mm", "8 mm"),  # next heading
        ("Clinical information: lump, 2 cm.\nFindings: 9 mm.", "2 cm", "9 mm"),
        ("Biopten: carcinoom.\nKliniek: laesie 1,3 cm op echo.", "1,3 cm", "carcinoom"),
        # the earlier examination compared with
        ("Vergelijking: echo, toen 13 mm.\nEcho: cyste van 15 mm.", "13 mm", "15 mm"),
        # a heading alone on its line needs no colon
        ("Klinische gegevens\nOp MRI 3,2 cm.\n\nMacroscopie\nGebied 2,4 cm.", "3,2 cm", "2,4 cm"),
    ],
)
def test_the_clinical_information_is_its_headings_line_or_paragraph(text, inside, outside):
    sections = clinical_sections(text)
    at_inside, at_outside = text.index(inside), text.index(outside)
    assert any(s <= at_inside < e for s, e in sections)
    assert not any(s <= at_outside < e for s, e in sections)


def test_a_size_about_the_specimen_written_only_in_the_clinical_information_is_reasked():
    with pytest.raises(InvalidOutput) as e:
        read_amounts(TASK, {"tumor_size_mm": "1,7 cm", "psa_ng_ml": None}, BIOPSY)
    assert str(e.value) == (
        "field 'tumor_size_mm': '1,7 cm' is written only in the clinical information "
        '("verdachte laesie mamma rechts, 1,7 cm op echo."), before this examination: give '
        "what this report itself finds, as written, or null"
    )


def test_fields_not_about_this_examination_and_sizes_also_in_the_findings_are_read():
    out = {"tumor_size_mm": None, "psa_ng_ml": "4 ng/ml"}  # PSA: no "this examination"
    read_amounts(TASK, out, BIOPSY)
    assert out["psa_ng_ml"] == 4.0
    resection = "Klinisch: echo 2,1 cm.\nMacroscopie: tumor van 2,1 cm.\n"
    out = {"tumor_size_mm": "2,1 cm", "psa_ng_ml": None}
    read_amounts(TASK, out, resection)
    assert out["tumor_size_mm"] == 21.0


def answer(size):
    return json.dumps({"tumor_size_mm": size, "psa_ng_ml": "4 ng/ml"})


def test_the_model_is_asked_again_and_a_size_it_keeps_becomes_null():
    engine = FakeEngine([answer("1,7 cm")] * 3)
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, BIOPSY))
    assert rec.status == "ok" and rec.output["tumor_size_mm"] is None
    assert "written only in the clinical information" in engine.requests[1].messages[-1].content
    assert "clinical information" in rec.amounts["tumor_size_mm"].problem


def test_a_task_about_this_examination_checks_its_fields_even_when_they_do_not_say_so():
    """The task's description ties every field to this report ("the follow-up that the
    report advises now"): an earlier report's advice in the clinical information is not it."""
    follow_up = Task.model_validate(
        {
            "name": "follow_up",
            "description": "Extract the follow-up that the report advises now.",
            "fields": {
                "interval_months": {
                    "type": "number",
                    "unit": "months",
                    "nullable": True,
                    "description": "Time until the advised follow-up in months",
                }
            },
        }
    )
    text = (
        "Klinische gegevens: op de MRI van 2022 werd een herhaling na 2 jaar geadviseerd.\n\n"
        "Conclusie: ongewijzigd. Geen verdere follow-up geadviseerd."
    )
    with pytest.raises(InvalidOutput, match="written only in the clinical information"):
        read_amounts(follow_up, {"interval_months": "2 jaar"}, text)
    general = follow_up.model_copy(update={"description": "Extract the follow-up."})
    output = {"interval_months": "2 jaar"}
    read_amounts(general, output, text)
    assert output["interval_months"] == 24.0


@pytest.mark.parametrize(
    ("description", "about"),
    [
        ("From this pathology report of a colorectal resection specimen.", True),
        ("Largest diameter of the tumour in the specimens.", True),
        ("From this chest CT report.", False),
    ],
)
def test_a_specimen_is_this_examination(description, about):
    spec = FieldSpec(type="number", unit="mm", nullable=True, description="Distance to the CRM")
    assert is_about_this_examination(spec, (description,)) is about


@pytest.mark.parametrize(
    ("text", "amount", "earlier"),
    [
        ("Segment VII: 2,4 x 1,9 cm, voorheen 3,2 x 2,6 cm.", "3,2", True),
        ("Segment VII: 2,4 x 1,9 cm, voorheen 3,2 x 2,6 cm.", "2,4", False),
        ("Destijds ongeveer een centimeter, thans anderhalve centimeter.", "een centimeter", True),
        ("Destijds ongeveer een centimeter, thans anderhalve centimeter.", "anderhalve", False),
        ("Bij de vorige CT 9 mm. Nu 12 mm.", "12 mm", False),  # another sentence
        ("Thans over 0,7 cm; vorig jaar over 4 mm zichtbaar.", "4 mm", True),
        ("Rechts een ovale laesie (toen 13 mm).", "13 mm", True),
    ],
)
def test_an_earlier_examinations_amount(text, amount, earlier):
    assert is_earlier(text, text.index(amount)) is earlier
