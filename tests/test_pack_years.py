"""Pack-years implied by packs a day and years smoked: computed in code and shown once to
the model, where it answered null and the report writes no pack-years of its own."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.amounts import AmountError
from extractinator.config import GenerationConfig
from extractinator.pack_years import implied_pack_years, pack_year_doubts
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amount
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "referral",
        "description": "Smoking history from the letter.",
        "fields": {
            "pack_years": {
                "type": "number",
                "unit": "pack-years",
                "nullable": True,
                "description": "Number of pack-years the patient has smoked; null if not given",
            }
        },
    }
)
LETTER = (
    "Geachte collega,\n\nDhr. B., 58 jaar, bezocht het spreekuur met hoesten.\n"
    "VG: COPD.\nRookt 1 pakje per dag sinds zijn 18e.\nAllergieën: geen.\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LETTER, 40.0),  # since age 18, 58 now
        ("Smokes 2 packs a day for 20 years.", 40.0),
        ("Rookt al 30 jaar 20 sigaretten per dag.", 30.0),  # 20 cigarettes make a pack
        ("61-jarige. Rookte van haar 20e tot haar 60e een half pakje per dag.", 20.0),
        ("Voorheen 1 pakje per dag gedurende 20 jaar, gestopt in 2015.", 20.0),
        ("Rookte 25 jaar lang 2 pakjes per dag, gestopt in 2012.", 50.0),  # years first
        ("Zij rookt 10 sigaretten per dag, sinds 15 jaar.", 7.5),  # "sinds N jaar"
        ("Rookte vanaf zijn 16e tot zijn 56e ongeveer 20 sigaretten per dag.", 40.0),
        ("Rookt shag, ongeveer 10 per dag.", None),  # no unit a day, no years
        ("De heer P., 60 jaar, rookt sinds zijn 20e anderhalf pakje sigaretten per dag.", 60.0),
        ("Rookt 15 sigaretten per dag.", None),  # no years
        # since an age, but stopped: the years run to the stop, which is not written
        ("Dhr., 70 jaar, gestopt met roken; rookte 1 pakje per dag sinds zijn 18e.", None),
        ("Hij rookte ruim veertig jaar een pakje per dag.", 40.0),  # years in words
        ("Rookt al vijfentwintig jaar 2 pakjes per dag.", 50.0),
        # someone else's smoking is not the patient's
        ("Haar echtgenoot rookt al 30 jaar een pakje per dag.", None),
        (
            "Vader rookte 40 jaar lang 2 pakjes per dag. "
            "Zelf rookt zij 1 pakje per dag, al 10 jaar.",
            10.0,
        ),
        # periods one after another are added; "tot op heden" runs to the patient's age
        (
            "Dhr. D., 57 jaar, bouwvakker. Rookte van zijn 15e tot zijn 37e een half pakje "
            "per dag, daarna tot op heden een vol pakje per dag.",
            31.0,
        ),
        ("Rookte 10 jaar lang 1 pakje per dag, daarna 20 jaar lang 2 pakjes per dag.", 50.0),
        # a later period without its years: no product at all, not the first period's
        ("Rookte 10 jaar lang 1 pakje per dag, daarna 2 pakjes per dag.", None),
        # a patient who never smoked has no pack-years, whatever else the letter says
        ("Zelf nooit gerookt; woont met een partner die 1 pakje per dag rookt, al 20 jaar.", None),
    ],
)
def test_the_pack_years_a_sentence_implies(text, expected):
    implied = implied_pack_years(text)
    assert (implied[0] if implied else None) == expected


def test_no_hint_where_the_report_writes_pack_years_or_the_answer_is_the_product():
    assert pack_year_doubts(TASK, {"pack_years": 40.0}, LETTER) == []
    written = "Rookt 1 pakje per dag sinds zijn 18e, 40 pakjaren. Dhr., 58 jaar, hoest."
    assert pack_year_doubts(TASK, {"pack_years": None}, written) == []
    assert pack_year_doubts(TASK, {"pack_years": 1.0}, written) == []
    assert len(pack_year_doubts(TASK, {"pack_years": 18.0}, LETTER)) == 1


def test_another_number_than_the_product_is_doubted_too():
    assert pack_year_doubts(TASK, {"pack_years": 18.0}, LETTER) == [
        '"pack_years" is 18, but the report writes "Rookt 1 pakje per dag sinds zijn 18e": '
        "packs a day times years smoked is 40 pack-years. If that is right, give 40; if not, "
        "keep it."
    ]


def test_a_null_is_computed_without_asking_and_says_how():
    engine = FakeEngine([json.dumps({"pack_years": None})])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, LETTER))
    assert rec.status == "ok" and rec.output == {"pack_years": 40.0} and len(engine.requests) == 1
    assert rec.amounts["pack_years"].convention == (
        "packs a day times years smoked: Rookt 1 pakje per dag sinds zijn 18e"
    )
    written = "Rookt 1 pakje per dag sinds zijn 18e, 40 pakjaren. Dhr., 58 jaar, hoest."
    engine = FakeEngine([json.dumps({"pack_years": None})] * 2)
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, written))
    assert rec.output == {"pack_years": None}  # written: not computed (the hint shows it)


def test_the_model_is_shown_the_product_once_for_another_number_and_its_answer_read():
    engine = FakeEngine([json.dumps({"pack_years": "18"}), json.dumps({"pack_years": 40})])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, LETTER))
    assert rec.status == "ok" and rec.output == {"pack_years": 40.0}
    assert '"pack_years" is 18, but the report writes' in engine.requests[1].messages[-1].content
    assert rec.extra["changed_by_check"] == {"pack_years": {"before": 18.0, "after": 40.0}}


@pytest.mark.parametrize("given", ["7.5", "7,5 pakjaren", 7.5])
def test_the_product_given_as_text_is_read_as_computed_not_refused_as_no_copy(given):
    letter = "Zij rookt 10 sigaretten per dag, sinds 15 jaar. Daarnaast 50 mg ascal."
    engine = FakeEngine([json.dumps({"pack_years": 10}), json.dumps({"pack_years": given})])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, letter))
    assert rec.status == "ok" and rec.output == {"pack_years": 7.5} and rec.repaired is None
    assert rec.amounts["pack_years"].convention == (
        "packs a day times years smoked: Zij rookt 10 sigaretten per dag, sinds 15 jaar"
    )


def test_a_number_the_report_writes_as_another_quantity_is_still_refused():
    letter = "Rookt 25 jaar lang 2 pakjes per dag. Ascal 50 mg."
    with pytest.raises(AmountError, match="'25 jaar'"):
        read_amount("25", TASK.fields["pack_years"], letter, "pack_years")
    assert read_amount("50", TASK.fields["pack_years"], letter, "pack_years").value == 50.0


def test_someone_elses_pack_years_are_no_hint_for_the_patients():
    from extractinator.missed_amounts import missed_amount_doubts

    spouse = "Patiënte heeft nooit gerookt. Haar echtgenoot rookt binnenshuis, ca. 30 pakjaren."
    assert missed_amount_doubts(TASK, {"pack_years": None}, spouse, {}) == []
    own = "Patiënte rookt, ca. 30 pakjaren."
    assert '"ca. 30 pakjaren"' in missed_amount_doubts(TASK, {"pack_years": None}, own, {})[0]
