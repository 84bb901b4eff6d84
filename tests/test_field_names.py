"""Where a report names a field, and the re-ask for an amount it names as another field's."""

from __future__ import annotations

import pytest

from extractinator.amounts import AmountError
from extractinator.field_names import (
    check_not_named_for_another,
    clause_before,
    field_labels,
    names,
    naming_words,
    same_word,
)
from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput

PROSTATE = Task.model_validate(
    {
        "name": "prostate",
        "description": "Prostate MRI.",
        "fields": {
            "prostate_volume_ml": {"type": "number", "unit": "ml", "nullable": True},
            "index_lesion_size_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Largest diameter in mm of the index lesion",
            },
        },
    }
)
REPORT = (
    "Afmetingen prostaat 4,8 x 3,9 x 4,2 cm, volume 41 ml.\n"
    "Perifere zone rechts: laesie van 2,4 x 1,8 cm."
)


@pytest.mark.parametrize(
    ("word", "label", "expected"),
    [
        ("circumferentiële", "circumferential", True),  # the first six letters
        ("prostaat", "prostate", True),
        ("kreat", "kreatinine", True),  # an abbreviation: the start of the word
        ("Hb", "hb", True),
        ("k", "k", True),
        ("kalium", "k", False),  # a short field word matches only itself
        ("lesion", "les", False),
        ("tumor", "tumour", False),
        ("snijvlak", "circumferential", False),
    ],
)
def test_a_report_word_names_a_field_word(word, label, expected):
    assert same_word(word, label) is expected


def test_the_naming_words_leave_out_units_and_the_measurement():
    spec = PROSTATE.fields["index_lesion_size_mm"]
    assert field_labels("index_lesion_size_mm", spec) == {"index", "lesion", "size"}
    assert naming_words("index_lesion_size_mm", spec) == {"index", "lesion"}


def test_the_clause_before_an_amount_stops_at_the_sentence_and_the_number_before_it():
    text = "Leuko 12. CRP 212 (gisteren 260), kreat 165 umol/l"
    at = text.index("165")
    assert clause_before(text, at)[1] == "), kreat "
    assert names(text, at, {"kreatinine"}) == text.index("kreat")
    assert names(text, at, {"crp"}) is None  # CRP names the number before it


def test_an_amount_the_report_names_as_another_fields_is_re_asked():
    start = REPORT.index("4,8")
    end = REPORT.index(" cm,") + 3
    with pytest.raises(AmountError) as e:
        check_not_named_for_another(
            PROSTATE.fields, "index_lesion_size_mm", start, end, REPORT, "4.8"
        )
    assert str(e.value) == (
        '\'4.8\' is written as "prostaat 4,8 x 3,9 x 4,2 cm", which is "prostate_volume_ml", '
        'not "index_lesion_size_mm": give the amount "index_lesion_size_mm" asks for as the '
        "report writes it, or null"
    )


@pytest.mark.parametrize(
    ("text", "copied"),
    [
        (REPORT, "2,4 x 1,8 cm"),  # named by nothing of another field
        ("Index laesie prostaat 2,4 cm.", "2,4 cm"),  # named by this field too
        ("Prostaat: 41 ml.", "41 ml"),  # the other field's own amount, for itself
    ],
)
def test_an_amount_not_named_as_another_fields_stands(text, copied):
    name = "prostate_volume_ml" if copied.endswith("ml") else "index_lesion_size_mm"
    start = text.index(copied)
    check_not_named_for_another(PROSTATE.fields, name, start, start + len(copied), text, copied)


def test_read_amounts_re_asks_for_the_size_copied_from_the_prostate():
    output = {"prostate_volume_ml": "41 ml", "index_lesion_size_mm": "4.8"}
    with pytest.raises(InvalidOutput) as e:
        read_amounts(PROSTATE, output, REPORT)
    assert "field 'index_lesion_size_mm': '4.8' is written as \"prostaat 4,8" in str(e.value)
    output = {"prostate_volume_ml": "41 ml", "index_lesion_size_mm": "2,4 x 1,8 cm"}
    readings = read_amounts(PROSTATE, output, REPORT)
    assert output == {"prostate_volume_ml": 41.0, "index_lesion_size_mm": 24.0}
    assert readings["index_lesion_size_mm"].text == "2,4 x 1,8 cm"
