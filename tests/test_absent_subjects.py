"""An amount of something the report says is not there is re-asked, then null."""

from __future__ import annotations

import pytest

from extractinator.absent_subjects import check_not_denied, denied
from extractinator.amounts import AmountError
from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput

AMOUNT = {"type": "number", "nullable": True}
TASK = Task.model_validate(
    {
        "name": "breast",
        "description": "Breast pathology.",
        "fields": {
            "tumor_size_mm": AMOUNT
            | {
                "unit": "mm",
                "description": "Largest diameter of the invasive tumour in the specimen",
            },
            "interval_months": AMOUNT
            | {"unit": "months", "description": "Time until the advised follow-up in months"},
        },
    }
)
SIZE = TASK.fields["tumor_size_mm"]
DCIS_ONLY = (
    "Klinische gegevens: status na lumpectomie (invasief carcinoom NST).\n"
    "Microscopie: hooggradig DCIS, uitbreiding 2,2 cm. Geen invasieve groei; ook geen "
    "micro-invasie.\nConclusie: DCIS graad 3, 2,2 cm. Geen invasief carcinoom."
)


def test_a_size_of_the_invasive_tumour_where_the_report_denies_invasion_is_re_asked():
    assert denied(SIZE, DCIS_ONLY) == "Geen invasieve"
    with pytest.raises(AmountError) as e:
        check_not_denied(SIZE, DCIS_ONLY, "2,2 cm")
    assert str(e.value) == (
        "'2,2 cm' cannot be what this field asks for: the report says \"Geen invasieve\". Give null"
    )
    with pytest.raises(InvalidOutput, match="field 'tumor_size_mm': '2,2 cm' cannot be"):
        read_amounts(TASK, {"tumor_size_mm": "2,2 cm"}, DCIS_ONLY)
    output = {"tumor_size_mm": "2,2 cm"}
    readings = read_amounts(TASK, output, DCIS_ONLY, null_unreadable=True)
    assert (
        output == {"tumor_size_mm": None} and "Geen invasieve" in readings["tumor_size_mm"].problem
    )


@pytest.mark.parametrize(
    "text",
    [
        # invasive carcinoma written without a negation once (outside the clinical notes)
        "Invasief carcinoom NST van 2,2 cm. Geen lymfangio-invasie.",
        "Geen DCIS. Tumor: invasief carcinoom, 2,2 cm.",
        # denied only in the clinical information
        "Klinische gegevens: geen invasief carcinoom in het biopt.\nInvasief carcinoom 2,2 cm.",
        # the word is not written at all
        "Tumor van 2,2 cm.",
    ],
)
def test_no_denial_where_the_report_also_affirms_it_or_never_denies_it(text):
    assert denied(SIZE, text) is None
    check_not_denied(SIZE, text, "2,2 cm")


def test_only_the_first_word_of_what_is_measured_can_be_denied():
    spec = TASK.fields["interval_months"]
    text = "Levercyste, geen follow-up nodig. Galblaaspoliep: controle-echo over 1 jaar."
    assert denied(spec, text) is None  # "follow-up" is not right after "the"
    read_amounts(TASK, {"interval_months": "1 jaar"}, text)
