"""An amount answered null that the report writes, where it can only be that amount: the
model is shown it once and its second answer stands."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.missed_amounts import missed_amount_doubts
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "letter",
        "description": "Smoking and follow-up.",
        "fields": {
            "pack_years": {"type": "number", "unit": "pack-years", "nullable": True},
            "interval_months": {"type": "number", "unit": "months", "nullable": True},
            "size_mm": {"type": "number", "unit": "mm", "nullable": True},
            "hb": {"type": "number", "unit": "mmol/l", "nullable": True},
            "k": {"type": "number", "unit": "mmol/l", "nullable": True},
        },
    }
)
NULLS = dict.fromkeys(TASK.fields)


def read(text, answered):
    output = {**NULLS, **answered}
    return output, read_amounts(TASK, output, text)


def doubted(text, **answered):
    output, readings = read(text, answered)
    return [d.split('"')[1] for d in missed_amount_doubts(TASK, output, text, readings)]


def test_a_null_amount_whose_kind_the_report_writes_once_is_doubted_with_the_words():
    text = "Ex-roker, daarvoor circa 30 pakjaren. Controle over 6 maanden."
    doubts = missed_amount_doubts(TASK, NULLS, text, {})
    assert [d.split('"')[1] for d in doubts] == ["pack_years", "interval_months"]
    assert '"circa 30 pakjaren"' in doubts[0] and '"6 maanden"' in doubts[1]


@pytest.mark.parametrize(
    ("text", "answered", "expected"),
    [
        ("45 pakjaren.", {"pack_years": "45 pakjaren"}, []),  # answered: nothing to check
        ("67 jaar, controle over 6 maanden.", {}, []),  # two times: which one is unclear
        ("Nodus van 8 mm.", {}, []),  # a length: reports hold many, so never hinted
        ("Natrium 140 mmol/l.", {}, []),  # two fields ask for a molar concentration
        ("Rookt 20 jaar 1 pakje per dag.", {}, ["interval_months"]),  # one time, no pack-years
        ("Controle over 3 maanden; na 3 maanden.", {}, ["interval_months"]),  # one, twice
    ],
)
def test_only_one_amount_of_a_kind_no_other_field_asks_for_is_doubted(text, answered, expected):
    assert doubted(text, **answered) == expected


def test_an_amount_written_in_words_is_shown_too_with_its_number():
    doubts = missed_amount_doubts(TASK, NULLS, "Volgende MRI over anderhalf jaar.", {})
    assert '"anderhalf jaar (1.5 jaar)"' in doubts[0] and doubts[0].startswith('"interval_months"')


FOLLOW_UP = Task.model_validate(
    {
        "name": "follow-up",
        "description": "The follow-up that the report advises now.",
        "fields": {
            "follow_up_advised": {"type": "boolean"},
            "interval_months": {
                "type": "number",
                "unit": "months",
                "nullable": True,
                "description": "Months until the follow-up; null if no follow-up",
            },
        },
    }
)


@pytest.mark.parametrize(
    ("text", "advised", "shown"),
    [
        # the earlier advice in the clinical information is not shown: a copy is refused
        (
            "Klinische gegevens: eerder controle na 1 jaar geadviseerd.\n\n"
            "Advies: volgende MRI over anderhalf jaar.",
            True,
            "anderhalf jaar (1.5 jaar)",
        ),
        ("Klinische gegevens: eerder controle na 1 jaar geadviseerd.\n\nAdvies: MRI.", True, None),
        # no amount is shown where the model says there is no follow-up
        ("Follow-up niet nodig; bij klachten langer dan 3 maanden terug.", False, None),
    ],
)
def test_what_a_null_interval_is_shown(text, advised, shown):
    output = {"follow_up_advised": advised, "interval_months": None}
    doubts = missed_amount_doubts(FOLLOW_UP, output, text, {})
    assert [d.split('"')[3] for d in doubts] == ([shown] if shown else [])


def test_a_bare_number_where_the_report_writes_one_amount_of_the_kind_is_doubted():
    text = "PSA-dichtheid 0,09; ex-roker, 30 pakjaren; controle over 6 maanden."
    output, readings = read(text, {"pack_years": "0,09", "interval_months": "6"})
    doubts = missed_amount_doubts(TASK, output, text, readings)
    assert doubts == [
        '"pack_years" is 0,09, which the report writes without a unit, but the report writes '
        '"30 pakjaren". If that is what "pack_years" asks for, give it as written; if not, '
        "keep your answer."
    ]  # "6" is read as "6 maanden": that amount itself, not doubted


NAMED = Task.model_validate(
    {
        "name": "resection",
        "description": "A resection report.",
        "fields": {
            "circumferential_margin_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Distance to the circumferential resection margin (CRM)",
            },
            "tumour_size_mm": {"type": "number", "unit": "mm", "nullable": True},
            "hb": {"type": "number", "unit": "mmol/l", "nullable": True},
            "k": {"type": "number", "unit": "mmol/l", "nullable": True},
            "psa": {"type": "number", "unit": "ng/ml", "nullable": True},
        },
    }
)


def named(text, **answered):
    output = {**dict.fromkeys(NAMED.fields), **answered}
    return missed_amount_doubts(NAMED, output, text, read_amounts(NAMED, output, text))


def test_a_null_is_doubted_where_the_report_names_the_field_before_one_amount_of_its_kind():
    text = (
        "Tumor van 3,4 x 2,8 cm, op 3 cm van het distale snijvlak. Kleinste afstand tot het "
        "circumferentiële snijvlak 1,2 cm. Hb 7,1 mmol/l, K 4,2 mmol/l."
    )
    assert named(text) == [
        '"circumferential_margin_mm" is null, but the report writes "circumferentiële '
        'snijvlak 1,2 cm". If that is what "circumferential_margin_mm" asks for, give it as '
        "written; if not, keep null.",
        '"hb" is null, but the report writes "Hb 7,1 mmol/l". If that is what "hb" asks '
        "for, give it as written; if not, keep null.",
        '"k" is null, but the report writes "K 4,2 mmol/l". If that is what "k" asks for, '
        "give it as written; if not, keep null.",
    ]
    assert [d.split('"')[1] for d in named("CRM: 4 mm.")] == [
        "circumferential_margin_mm"
    ]  # the short name in the description's bracket


def test_the_heading_of_a_line_names_the_amount_of_its_first_sentence():
    text = (
        "Circumferentieel resectievlak: vrij; de kleinste afstand bedraagt 11 mm, ter hoogte "
        "van de m. levator ani. Distaal (perianale huid) vrij op 3 cm.\n"
    )
    assert (
        '"Circumferentieel resectievlak: vrij; de kleinste afstand bedraagt 11 mm"'
        in named(text)[0]
    )
    assert named("Circumferentieel resectievlak: vrij. Distaal vrij op 3 cm.\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "Circumferentiële snijvlak vrij. Tumor 2 cm.",  # named, but not before an amount
        "CRM 2 mm; elders CRM 5 mm.",  # named before two different amounts
        "Het circumferentiële snijvlak is vrij, de tumor meet 2 cm.",  # too far before it
        "Afstand tot het snijvlak 2 mm. Tumorgrootte 3 cm.",  # only measurement words
    ],
)
def test_no_doubt_where_the_name_does_not_point_at_one_amount(text):
    assert [d.split('"')[1] for d in named(text)] == []


def test_one_margin_written_in_two_units_is_one_amount():
    text = "Kleinste afstand tumor tot CRM 0,3 cm. Conclusie: pT3 N1b, CRM 3 mm, R0."
    assert named(text)[0].startswith(
        '"circumferential_margin_mm" is null, but the report writes "CRM 0,3 cm".'
    )
    assert [d.split('"')[1] for d in named("CRM 0,3 cm. Conclusie: CRM 4 mm.")] == []


def test_a_bound_gives_way_to_the_measurement_it_sums_up():
    text = (
        "Kleinste afstand tot het circumferentiële snijvlak 0,5 mm (laterale zijde).\n"
        "Conclusie: ypT4b N2b, CRM positief (< 1 mm), R1."
    )
    assert '"circumferentiële snijvlak 0,5 mm"' in named(text)[0]
    # a bound alone is still shown: it is the report's only word on the field
    assert '"CRM positief (< 1 mm"' in named("Conclusie: CRM positief (< 1 mm), R1.")[0]
    # two measurements: no doubt, as before
    assert named("CRM 0,5 mm (< 1 mm). Elders CRM 2 mm.") == []


def test_a_series_of_values_of_the_named_test_is_shown_whole():
    text = (
        "Klinische gegevens: PSA-verloop: 5,1 ng/ml (januari), 6,4 ng/ml (juni), laatste "
        "bepaling vorige week 7,9 ng/ml. Vrij/totaal PSA-ratio 12%."
    )
    assert (
        '"PSA-verloop: 5,1 ng/ml (januari), 6,4 ng/ml (juni), laatste bepaling vorige week '
        '7,9 ng/ml"' in named(text)[0]
    )
    recent = NAMED.model_copy(update={"description": "Give the most recent value."})
    output = dict.fromkeys(recent.fields)
    (hint,) = missed_amount_doubts(recent, output, text, read_amounts(recent, output, text))
    assert hint.endswith(
        ', the most recent "7,9 ng/ml". If that is what "psa" asks for, give the most recent '
        "as written; if not, keep null."
    )
    # another test's value after a comma is not part of the series
    assert '"Hb 7,1 mmol/l"' in named("Hb 7,1 mmol/l, K 4,2 mmol/l.")[0]


def test_a_lab_result_labelled_by_another_test_is_no_hint():
    text = "Lab: calcium 2,89 mmol/l (verhoogd), albumine 41 g/l, fosfaat 0,71 mmol/l."
    assert [d.split('"')[1] for d in named(text)] == []  # 41 g/l is the albumin's, no PSA
    assert '"41 ng/ml"' in named(text.replace("albumine 41 g/l", "PSA 41 ng/ml"))[0]
    # a tacrolimus level is another test's too, where it starts a sentence
    assert named("Hb 7,0 mmol/l. Tacrolimusspiegel 11,2 µg/l (te hoog).", hb="7,0 mmol/l") == []


def test_a_lab_result_copied_from_another_tests_item_is_doubted():
    text = "Lab: Hb 6,8 mmol/l (verlaagd), ureum 18,4 mmol/l (verhoogd), kalium 3,4 mmol/l."
    assert named(text, hb="18,4", k="3,4") == [
        '"hb" is "18,4", written as "ureum 18,4 mmol/l", but the report writes "Hb 6,8 '
        'mmol/l". If that is what "hb" asks for, give it as written; if not, keep your answer.'
    ]
    assert named(text, hb="6,8", k="3,4") == []
    # a later value of the field's own named series is no other test's
    series = "PSA een half jaar geleden 3,6 ng/ml, nu 4,3 ng/ml."
    assert named(series, psa="4,3 ng/ml") == []


def test_an_answer_from_the_clinical_information_is_doubted_where_the_report_names_another():
    text = (
        "Klinische gegevens: rectumcarcinoom, MRI: afstand tot MRF 1 mm. Primaire TME.\n"
        "Microscopie: doorgroei in het mesorectum. Conclusie: pT3 N0, CRM 1,5 mm, R0."
    )
    assert named(text, circumferential_margin_mm="1 mm") == [
        '"circumferential_margin_mm" is "1 mm", written in the clinical information, but the '
        'report itself writes "CRM 1,5 mm". If that is what "circumferential_margin_mm" asks '
        "for, give it as written; if not, keep your answer."
    ]
    assert named(text, circumferential_margin_mm="1,5 mm") == []  # the report's own
    same = text.replace("CRM 1,5 mm", "CRM 1 mm")
    assert named(same, circumferential_margin_mm="1 mm") == []  # the same value again
    unnamed = text.replace("CRM 1,5 mm", "marge 1,5 mm")
    assert named(unnamed, circumferential_margin_mm="1 mm") == []  # not named by the field


def answer(pack_years):
    return json.dumps({**NULLS, "pack_years": pack_years})


def run(engine, text):
    return asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, text))


def test_the_model_is_shown_the_amount_once_and_its_second_answer_is_read():
    engine = FakeEngine([answer(None), answer("45 pakjaren")])
    rec = run(engine, "Patiënte is ex-roker sinds 2018, daarvoor 45 pakjaren.")
    assert rec.status == "ok" and rec.attempts == 2 and rec.output["pack_years"] == 45.0
    assert rec.amounts["pack_years"].text == "45 pakjaren"
    assert rec.extra["checked"] == [
        '"pack_years" is null, but the report writes "45 pakjaren". If that is what '
        '"pack_years" asks for, give it as written; if not, keep null.'
    ]
    assert '"pack_years" is null, but the report writes "45 pakjaren"' in (
        engine.requests[1].messages[-1].content
    )


def test_a_null_kept_after_the_check_stands_without_asking_again():
    engine = FakeEngine([answer(None), answer(None), answer("45 pakjaren")])
    rec = run(engine, "Daarvoor 45 pakjaren.")
    assert rec.status == "ok" and rec.output["pack_years"] is None
    assert len(engine.requests) == 2


def test_the_check_is_not_a_reask_it_still_comes_when_the_reasks_are_used_up():
    replies = [answer("veel"), answer("veel"), answer(None), answer("45 pakjaren")]
    engine = FakeEngine(replies)
    rec = run(engine, "Daarvoor 45 pakjaren.")
    assert rec.status == "ok" and rec.attempts == 4 and rec.output["pack_years"] == 45.0
    assert "is null, but the report writes" in engine.requests[3].messages[-1].content


def test_later_values_after_the_named_one_are_quoted_with_it():
    text = "PSA vorig jaar 5,2 ng/ml, thans 6,1 ng/ml. Hb 7,1 mmol/l, K 4,2 mmol/l."
    assert [d.split('"')[3] for d in named(text)] == [
        "Hb 7,1 mmol/l",  # "K 4,2 mmol/l" is another test, not a later Hb
        "K 4,2 mmol/l",
        "PSA vorig jaar 5,2 ng/ml, thans 6,1 ng/ml",  # the later value after "thans" too
    ]


def test_no_size_is_shown_where_a_table_gives_sizes_in_its_header_unit():
    text = "Conclusie: pT3 N0, CRM 4 mm.\n"
    assert [d.split('"')[1] for d in named(text)] == ["circumferential_margin_mm"]
    table = "| snijvlak | afstand (mm) |\n| distaal | 30 |\n| circumferentieel | 2 |\n\n"
    assert named(table + text) == []
    assert [d.split('"')[1] for d in named(table.replace("(mm)", "") + text)] == [
        "circumferential_margin_mm"
    ]
