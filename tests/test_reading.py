"""Reading the amounts of an answer: parsed, units looked up in the report when the model
left them out, converted, range-checked, grounded; and the re-ask when one cannot be read."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import drop_unreadable_entries, read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "liver",
        "description": "Liver lesions.",
        "fields": {
            "largest_mm": {"type": "number", "unit": "mm", "nullable": True, "maximum": 200},
            "lesions": {
                "type": "list",
                "items": {
                    "type": "object",
                    "fields": {
                        "segment": {"type": "string"},
                        "size_mm": {"type": "number", "unit": "mm", "nullable": True},
                    },
                },
            },
            "volume_ml": {"type": "number", "unit": "ml", "nullable": True, "pick": "mean"},
            "count": {"type": "integer"},
        },
    }
)
TEXT = (
    "Lever: laesie segment 7 van 1,1 cm en een cyste in segment 4 van 3,2 x 2,1 cm. "
    "Milt 120 cc. Volume 40-50 cc. Galblaas 30 cm (typefout?), urine 2 ml. Code 17."
)


def read(output):
    out = dict(output)
    readings = read_amounts(TASK, out, TEXT)
    return out, readings


def test_amounts_are_converted_nested_ones_too():
    out, readings = read(
        {
            "largest_mm": "3,2 x 2,1 cm",
            "lesions": [
                {"segment": "7", "size_mm": "1,1 cm"},
                {"segment": "4", "size_mm": "3,2 x 2,1 cm"},
            ],
            "volume_ml": "40-50 cc",
            "count": 2,
        }
    )
    assert out["largest_mm"] == 32.0
    assert [les["size_mm"] for les in out["lesions"]] == [11.0, 32.0]
    assert out["volume_ml"] == 45.0  # pick: mean of the range
    assert out["count"] == 2  # not an amount: left alone
    assert set(readings) == {"largest_mm", "lesions[0].size_mm", "lesions[1].size_mm", "volume_ml"}
    r = readings["largest_mm"]
    assert (r.kind, r.numbers, r.written_unit, r.unit) == ("dimensions", [3.2, 2.1], "cm", "mm")
    assert TEXT[r.start : r.end] == "3,2 x 2,1 cm" and r.alignment == "exact"


def test_a_number_copied_without_its_unit_takes_the_unit_the_report_writes_after_it():
    out, readings = read({"largest_mm": "3,2 x 2,1", "lesions": [], "volume_ml": None, "count": 0})
    assert out["largest_mm"] == 32.0
    assert readings["largest_mm"].unit_from == "report"


def test_a_bare_number_with_no_unit_after_it_in_the_report_is_in_the_fields_unit():
    out, readings = read({"largest_mm": "17", "lesions": [], "volume_ml": None, "count": 0})
    assert out["largest_mm"] == 17.0 and readings["largest_mm"].unit_from == "field"


def test_a_json_number_takes_the_unit_the_report_writes_after_it():
    out, readings = read({"largest_mm": 1.1, "lesions": [], "volume_ml": 120, "count": 0})
    assert out["largest_mm"] == 11.0 and readings["largest_mm"].unit_from == "report"
    assert TEXT[readings["largest_mm"].start : readings["largest_mm"].end] == "1,1 cm"
    assert out["volume_ml"] == 120.0 and readings["volume_ml"].written_unit == "cc"


@pytest.mark.parametrize(
    "name, copied, value, kind, words",
    [
        ("largest_mm", "3,2", 32.0, "dimensions", "3,2 x 2,1 cm"),  # the size, its largest
        ("largest_mm", 2.1, 32.0, "dimensions", "3,2 x 2,1 cm"),  # a JSON number too
        ("volume_ml", "40", 45.0, "range", "40-50 cc"),  # the range, by the field's pick: mean
    ],
)
def test_one_number_of_a_size_or_range_is_read_as_the_whole_amount(
    name, copied, value, kind, words
):
    out = {"largest_mm": None, "lesions": [], "volume_ml": None, "count": 0, name: copied}
    readings = read_amounts(TASK, out, TEXT)
    assert out[name] == value and readings[name].kind == kind
    assert TEXT[readings[name].start : readings[name].end] == words


def test_a_copied_bound_keeps_the_comparison_the_report_writes():
    out = {"largest_mm": "5", "lesions": [], "volume_ml": None, "count": 0}
    readings = read_amounts(TASK, out, "Restlaesie < 5 mm.")
    assert out["largest_mm"] == 5.0 and readings["largest_mm"].comparator == "<"


def test_of_several_places_the_one_whose_unit_converts_counts():
    text = "Na 2 dagen: laesie van 2 cm."
    out = {"largest_mm": 2, "lesions": [], "volume_ml": None, "count": 0}
    readings = read_amounts(TASK, out, text)
    assert out["largest_mm"] == 20.0 and readings["largest_mm"].written_unit == "cm"


def test_a_number_written_bare_somewhere_is_not_judged_by_its_other_places():
    text = "Segment 6: laesie van 6 ml."  # "6" bare (a segment) and as a volume
    out = {"largest_mm": "6", "lesions": [], "volume_ml": None, "count": 0}
    read_amounts(TASK, out, text)
    assert out["largest_mm"] == 6.0


@pytest.mark.parametrize("row", ["Hb 7,1 L  (8,5-11,0)", "CRP 7,1      H"])
def test_a_lab_tables_flag_is_no_unit_that_makes_a_number_another_quantity(row):
    out = {"largest_mm": "7,1", "lesions": [], "volume_ml": None, "count": 0}
    read_amounts(TASK, out, row)  # "L"/"H": low/high, not litre/hour
    assert out["largest_mm"] == 7.1


PERCENT = Task.model_validate(
    {
        "name": "er",
        "description": "Receptors.",
        "fields": {"er": {"type": "number", "unit": "%", "nullable": True}},
    }
)


@pytest.mark.parametrize("written", ["7", 7, "5"])
def test_a_percentage_the_report_writes_without_its_sign_is_asked_again(written):
    text = "ER: positief (Allred score 7). PR 5."
    with pytest.raises(InvalidOutput, match="not written in the report as a percentage"):
        read_amounts(PERCENT, {"er": written}, text)


@pytest.mark.parametrize("written", [95, 1.4, "1.4"])
def test_a_number_the_report_does_not_write_is_asked_again_json_or_not(written):
    """A JSON number is no licence to make one up: 1.4 for "anderhalve centimeter"."""
    text = "ER: positief (Allred score 7). Laesie van anderhalve centimeter."
    with pytest.raises(InvalidOutput, match="is not in the report as written"):
        read_amounts(PERCENT, {"er": written}, text)


def test_a_json_number_that_converts_a_report_amount_exactly_is_read_as_that_amount():
    task = Task.model_validate(
        {
            "name": "size",
            "description": "Size.",
            "fields": {"size": {"type": "number", "unit": "mm", "nullable": True}},
        }
    )
    text = "Laesie van anderhalve centimeter, eerder 1,2 cm."
    for written, value in ((15, 15.0), (12.0, 12.0)):
        output = {"size": written}
        readings = read_amounts(task, output, text)
        assert output == {"size": value} and readings["size"].start is not None


@pytest.mark.parametrize("written", ["5%", "5", "0,5"])
def test_a_copy_is_whole_numbers_of_the_report_not_the_tail_of_another(written):
    text = "PR: Allred 5. HER2 2+ in 15%; 10,5 mm."  # "5%" sits inside "15%", "0,5" in "10,5"
    with pytest.raises(InvalidOutput):
        read_amounts(PERCENT, {"er": written}, text)


def test_a_number_after_another_and_a_comma_is_still_a_copy():
    task = Task.model_validate(
        {"name": "t", "description": "d", "fields": {"size_mm": {"type": "number", "unit": "mm"}}}
    )
    out = {"size_mm": "2,4 cm"}
    read_amounts(task, out, "Conclusie: carcinoom NST graad 3, 2,4 cm, triple-negatief.")
    assert out["size_mm"] == 24.0


@pytest.mark.parametrize(("written", "value"), [("90", 100.0), ("80%", 80.0), (90, 100.0)])
def test_a_percentage_written_with_its_sign_is_read(written, value):
    out = {"er": written}
    read_amounts(PERCENT, out, "ER 80%, daarna 90-100% (Allred 8).")
    assert out["er"] == value


@pytest.mark.parametrize(
    ("field", "description", "written", "text", "value"),
    [
        ("er", None, "90", "Tubulair (> 90% tubuli). ER 90-100%, PR 50-60%.", 100.0),
        ("pr", None, "60", "Groei 60-70%. ER 90-100%, PR 50-60%.", 60.0),
        ("k", "Potassium (kalium, K)", "4,1", "Na 3,9-4,1 mmol/l. Kalium 4,1-4,3 mmol/l.", 4.3),
        # a sentence in brackets names nothing: the first amount holding the number counts
        (
            "k",
            "Potassium (as the lab writes it)",
            "4,1",
            "Na 3,9-4,1 mmol/l. As 4,1-4,3 mmol/l.",
            4.1,
        ),
    ],
)
def test_a_bare_number_written_in_several_amounts_is_read_as_the_one_the_field_names(
    field, description, written, text, value
):
    unit = "%" if field in ("er", "pr") else "mmol/l"
    spec = {"type": "number", "unit": unit, "description": description}
    task = Task.model_validate({"name": "t", "description": "d", "fields": {field: spec}})
    out = {field: written}
    read_amounts(task, out, text)
    assert out[field] == value


@pytest.mark.parametrize("written", ["null", " None "])
def test_null_written_as_text_is_null(written):
    out, readings = read({"largest_mm": written, "lesions": [], "volume_ml": None, "count": 0})
    assert out["largest_mm"] is None and "largest_mm" not in readings


def test_a_json_number_the_model_converted_itself_is_read_from_the_report():
    out, readings = read({"largest_mm": 11, "lesions": [], "volume_ml": None, "count": 0})
    assert out["largest_mm"] == 11.0 and readings["largest_mm"].unit_from == "report"
    assert TEXT[readings["largest_mm"].start : readings["largest_mm"].end] == "1,1 cm"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("30 cm", "300 mm, above the maximum 200 mm"),
        ("2 ml", "cannot be converted to mm"),
        ("12 en 14 mm", "more than one amount"),
        ("onbekend", "no number"),
        ("11 mm", "not in the report as written"),  # the report says 1,1 cm: not a copy
        (".95", "not in the report as written"),
        ("1,3 cm", "not in the report as written"),
        # the report writes 2 only as "urine 2 ml": a volume, not this field's length
        ("2", "written in the report only as '2 ml', which is not an amount in mm"),
        (2, "written in the report only as '2 ml'"),
    ],
)
def test_what_cannot_be_read_is_an_invalid_answer_naming_the_field(value, reason):
    with pytest.raises(InvalidOutput, match=reason) as e:
        read({"largest_mm": value, "lesions": [], "volume_ml": None, "count": 0})
    assert e.value.kind == "invalid_amount" and "field 'largest_mm'" in str(e.value)


def answer(largest, size="1,1 cm"):
    return json.dumps(
        {
            "largest_mm": largest,
            "lesions": [{"segment": "7", "size_mm": size}],
            "volume_ml": None,
            "count": 1,
        }
    )


def test_the_model_is_asked_again_with_the_reason_and_the_record_keeps_the_reading():
    engine = FakeEngine([answer("30 cm"), answer("1,1 cm")])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, TEXT))
    assert rec.status == "ok" and rec.attempts == 2
    assert rec.output["largest_mm"] == 11.0
    reask = engine.requests[1].messages[-1].content
    assert "field 'largest_mm': '30 cm' is 300 mm, above the maximum 200 mm" in reask
    assert rec.amounts["largest_mm"].text == "1,1 cm"
    assert rec.amounts["lesions[0].size_mm"].value == 11.0


def test_a_nullable_amount_that_never_reads_becomes_null_and_the_record_says_so():
    engine = FakeEngine([answer("veel"), answer("veel"), answer("veel")])
    rec = asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c", 0, TEXT))
    assert rec.status == "ok" and rec.attempts == 3
    assert rec.output["largest_mm"] is None and rec.output["lesions"][0]["size_mm"] == 11.0
    assert rec.repaired == "amounts not readable as written, set to null: 'largest_mm' ('veel')"
    assert rec.amounts["largest_mm"].value is None
    assert "no number in 'veel'" in rec.amounts["largest_mm"].problem


def test_an_amount_that_never_reads_fails_the_case_when_null_is_not_allowed():
    spec = TASK.fields["largest_mm"].model_copy(update={"nullable": False})
    task = TASK.model_copy(update={"fields": {**TASK.fields, "largest_mm": spec}})
    engine = FakeEngine([answer("veel"), answer("veel"), answer("veel")])
    rec = asyncio.run(extract_case(CompiledTask(task), engine, GenerationConfig(), "c", 0, TEXT))
    assert rec.status == "failed" and rec.error.type == "invalid_amount"
    assert "field 'largest_mm'" in rec.error.message and rec.raw_output is not None


def test_amount_false_asks_for_the_number_itself():
    spec = TASK.fields["largest_mm"].model_copy(update={"amount": False})
    task = TASK.model_copy(update={"fields": {**TASK.fields, "largest_mm": spec}})
    assert task.json_schema()["properties"]["largest_mm"] == {
        "anyOf": [{"type": "number", "maximum": 200}, {"type": "null"}]
    }
    out = {"largest_mm": 14, "lesions": [], "volume_ml": None, "count": 0}
    readings = read_amounts(task, out, TEXT)
    assert out["largest_mm"] == 14 and "largest_mm" not in readings


INTERVAL = Task.model_validate(
    {
        "name": "follow-up",
        "description": "Follow-up advice.",
        "fields": {"interval_months": {"type": "number", "unit": "months", "nullable": True}},
    }
)


@pytest.mark.parametrize(
    "text, written, months",
    [
        ("Controle-CT over een half jaar.", "een half jaar", 6),
        ("Controle-CT over een half jaar.", "half jaar", 6),
        ("Herbeoordeling over anderhalf jaar.", "anderhalf jaar", 18),
        ("Poliklinische controle over drie maanden.", "drie maanden", 3),
        ("Follow-up MRI in six weeks.", "six weeks", 6 * 7 / (365.25 / 12)),
    ],
)
def test_an_amount_written_in_words_is_read_as_written(text, written, months):
    out = {"interval_months": written}
    readings = read_amounts(INTERVAL, out, text)
    assert out["interval_months"] == pytest.approx(months, rel=1e-3)
    reading = readings["interval_months"]
    assert text[reading.start : reading.end].endswith(written)  # grounded in the report


@pytest.mark.parametrize(
    "text, written, months",
    [
        ("Controle-CT over een half jaar.", "6", 6),  # the model converted it, rightly
        ("MRI over zes maanden.", "6", 6),
        ("Controle over 1 jaar.", "12", 12),
        ("Advies: halfjaarlijkse controle.", "6", 6),
        ("Jaarlijkse controle-echo.", "12", 12),
        ("Jaarlijkse controle-echo.", "jaarlijkse", 12),
        ("Over 1 jaar controle, bij groei na 3 maanden.", "12", 12),
    ],
)
def test_a_bare_number_that_converts_an_amount_of_the_report_is_read_as_it(text, written, months):
    out = {"interval_months": written}
    reading = read_amounts(INTERVAL, out, text)["interval_months"]
    assert out["interval_months"] == pytest.approx(months, rel=1e-3)
    assert reading.unit_from in ("report", "answer") and reading.start is not None


def test_a_bare_number_in_the_fields_unit_stands_for_the_size_it_converts():
    out, readings = read({"largest_mm": "32", "lesions": [], "volume_ml": None, "count": 0})
    assert out["largest_mm"] == 32.0  # "3,2 x 2,1 cm", converted by the model
    assert TEXT[readings["largest_mm"].start : readings["largest_mm"].end] == "3,2 x 2,1 cm"


@pytest.mark.parametrize(
    "text, written",
    [
        ("Controle-CT over een half jaar.", "5"),  # converts no amount of the report
        ("Controle over 1 jaar.", "1,2"),
        ("Laesie van 6 mm. Controle over 1 jaar.", "6"),  # 6 mm is no time
    ],
)
def test_a_bare_number_that_converts_nothing_in_the_report_is_refused(text, written):
    with pytest.raises(InvalidOutput, match="not in the report|not an amount in months"):
        read_amounts(INTERVAL, {"interval_months": written}, text)


def test_words_without_a_unit_are_no_amount():
    with pytest.raises(InvalidOutput, match="no number"):
        read_amounts(INTERVAL, {"interval_months": "een controle"}, "Een controle volgt.")


ITEMS = Task.model_validate(
    {
        "name": "items",
        "description": "Numbered items.",
        "fields": {
            "items": {
                "type": "list",
                "items": {
                    "type": "object",
                    "fields": {
                        "item": {"type": "string"},
                        "size_mm": {"type": "number", "unit": "mm"},
                    },
                },
            }
        },
    }
)


def test_when_the_reasks_are_used_up_an_entry_whose_amount_does_not_read_is_left_out():
    answer = '{"items": [{"item": "I", "size_mm": "6.2 mm"}, {"item": "II", "size_mm": "none"}]}'
    engine = FakeEngine(lambda request: answer)
    text = "I: lesion of 6.2 mm."
    rec = asyncio.run(
        extract_case(CompiledTask(ITEMS), engine, GenerationConfig(max_reasks=1), "c1", 0, text)
    )
    assert rec.status == "ok" and rec.attempts == 2  # asked again once, with the reason
    assert "items[1].size_mm" in engine.requests[1].messages[-1].content
    assert rec.output["items"] == [{"item": "I", "size_mm": 6.2}]
    assert (
        "list entries left out" in rec.repaired and "items[1] (size_mm: no number" in rec.repaired
    )
    assert rec.raw_output == answer  # the answer as written stays in the record


def test_only_entries_with_an_unreadable_amount_that_may_not_be_null_are_left_out():
    out = {"items": [{"item": "I", "size_mm": "6.2 mm"}, {"item": "II", "size_mm": "0"}]}
    notes = drop_unreadable_entries(ITEMS, out, "I: lesion of 6.2 mm.")
    assert out == {"items": [{"item": "I", "size_mm": "6.2 mm"}]}  # read later, as usual
    assert len(notes) == 1 and notes[0].startswith("items[1] (size_mm: '0' is not in the report")
    # a field that allows null keeps its entry: the amount becomes null instead
    out = {"lesions": [{"segment": "7", "size_mm": "none"}], "count": 1}
    assert drop_unreadable_entries(TASK, out, TEXT) == [] and len(out["lesions"]) == 1


INTERVAL = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {"interval_months": {"type": "number", "unit": "months", "nullable": True}},
    }
)


@pytest.mark.parametrize(
    ("written", "text", "value"),
    [
        ("1 year", "Advies: follow-up MRI over 1 jaar.", 12),
        ("3 months", "Controle over 3 maanden, en na 3 maanden opnieuw.", 3),
        ("6 weeks", "Herhalen na 6 weken.", 1.38),  # a month is 1/12 year
    ],
)
def test_the_reports_amount_with_its_unit_in_other_words_is_read_as_that_amount(
    written, text, value
):
    out = {"interval_months": written}
    readings = read_amounts(INTERVAL, out, text)
    reading = readings["interval_months"]
    assert out["interval_months"] == pytest.approx(value, rel=0.01)
    assert text[reading.start : reading.end].split()[0] == written.split()[0]  # grounded


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("12 months", "Advies: follow-up over 1 jaar."),  # converted by the model: no copy
        ("2 years", "Advies: follow-up over 1 jaar."),  # another number
        ("1 year", "Over 1 jaar, of na 1 maand bij klachten."),  # which "1" is unclear
    ],
)
def test_an_amount_in_other_words_that_is_not_the_reports_is_refused(written, text):
    with pytest.raises(InvalidOutput, match="not in the report as written"):
        read_amounts(INTERVAL, {"interval_months": written}, text)


def test_a_copy_the_report_writes_twice_stands_where_the_field_names_it():
    out = {"er": "0%", "pr": "0%"}
    task = Task.model_validate(
        {
            "name": "t",
            "description": "d",
            "fields": {f: {"type": "number", "unit": "%", "nullable": True} for f in out},
        }
    )
    text = "Immunohistochemie: ER 0%, PR 0%, HER2 score 0."
    readings = read_amounts(task, out, text)
    assert out == {"er": 0.0, "pr": 0.0}
    assert text[readings["pr"].start : readings["pr"].end] == "0%"
    assert readings["pr"].start == text.index("PR 0%") + 3
    assert readings["er"].start == text.index("ER 0%") + 3


def one_amount(name, unit, description=None, about="d"):
    """A task of one nullable amount field."""
    spec = {"type": "number", "unit": unit, "nullable": True}
    if description:
        spec["description"] = description
    return Task.model_validate({"name": "t", "description": about, "fields": {name: spec}})


@pytest.mark.parametrize(
    ("written", "copied"),
    [
        ("7 mm", True),  # the first of "7 en 9 mm": the unit written once, after the last
        ("4 mm", True),  # "4, 6 en 12 mm"
        ("6 mm", True),
        ("2.5 cm", True),  # "2,5 en 3,1 cm"
        ("3 mm", False),  # "Graad 3, 14 mm": a comma alone makes no list
        ("5 mm", False),  # nowhere
        ("7 cm", False),  # the list's unit is mm
    ],
)
def test_a_number_of_a_list_sharing_one_unit_is_a_copy_with_that_unit(written, copied):
    text = (
        "Twee noduli in de linker onderkwab van 7 en 9 mm. Cysten van 4, 6 en 12 mm. "
        "Graad 3, 14 mm. Klieren van 2,5 en 3,1 cm."
    )
    task = one_amount("size_mm", "mm")
    out = {"size_mm": written}
    if copied:
        read_amounts(task, out, text)
        assert out["size_mm"] == float(written.split()[0]) * (10 if "cm" in written else 1)
    else:
        with pytest.raises(InvalidOutput, match="not in the report as written"):
            read_amounts(task, out, text)


@pytest.mark.parametrize(
    ("written", "text", "refused"),
    [
        ("0.12", "Volume 68 cm3, PSA-dichtheid 0,12. PSA 7,9 ng/ml.", True),
        ("0,14", "PSA density 0,14.", True),
        ("6,1", "PSA-waarde 6,1.", False),  # the PSA's value, not a derived measure
        ("6,1", "PSA was 6,1 bij de huisarts.", False),
    ],
)
def test_a_number_after_the_fields_name_joined_to_a_derived_measure_is_refused(
    written, text, refused
):
    task = one_amount("psa_ng_ml", "ng/ml", about="Prostate MRI.")
    out = {"psa_ng_ml": written}
    if refused:
        with pytest.raises(InvalidOutput, match="another quantity than this field asks for"):
            read_amounts(task, out, text)
    else:
        read_amounts(task, out, text)
        assert out["psa_ng_ml"] == 6.1


def test_a_bare_number_stands_for_the_amount_about_the_fields_organ():
    task = one_amount(
        "lesion_mm", "mm", "Size of the liver lesion", about="Liver lesions on abdominal CT."
    )
    text = (
        "Oesophagus: wandverdikking van de distale oesophagus over ca. 6 cm.\n"
        "Lever: hypodense laesies in segment 2 (9 mm) en segment 5 (6 mm).\n"
    )
    out = {"lesion_mm": "6"}
    reading = read_amounts(task, out, text)["lesion_mm"]
    assert out["lesion_mm"] == 6.0 and text[reading.start : reading.end] == "6 mm"


def test_a_copy_of_a_sizes_first_number_with_its_unit_is_read_as_the_whole_size():
    text = "Segment VII: 2,4 x 1,9 cm, voorheen 3,2 x 2,6 cm. Segment III: 11 mm."
    out = {"largest_mm": "2,4 cm", "lesions": [{"segment": "VII", "size_mm": "2,4 cm"}]}
    readings = read_amounts(TASK, out, text)
    assert out["largest_mm"] == out["lesions"][0]["size_mm"] == 24
    assert readings["largest_mm"].numbers == [2.4, 1.9]
    assert text[readings["largest_mm"].start : readings["largest_mm"].end] == "2,4 x 1,9 cm"
    # two different sizes begin with the same number: which one is unclear
    twice = "Laesie A 2,4 x 1,9 cm; laesie B 2,4 x 2,2 cm."
    with pytest.raises(InvalidOutput, match="not in the report as written"):
        read_amounts(TASK, {"largest_mm": "2,4 cm"}, twice)


@pytest.mark.parametrize(
    ("written", "value"),
    [("70 ml", 70), ("70 cc", 70), ("70", 70), ("72 ml", None), ("0,7 ml", None)],
)
def test_an_amount_the_report_writes_in_words_may_be_given_in_digits(written, value):
    text = "De prostaat is vergroot met een volume van circa zeventig milliliter."
    task = Task.model_validate(
        {
            "name": "p",
            "description": "Prostate MRI.",
            "fields": {"volume_ml": {"type": "number", "unit": "ml", "nullable": True}},
        }
    )
    out = {"volume_ml": written}
    if value is None:
        with pytest.raises(InvalidOutput, match="not in the report as written"):
            read_amounts(task, out, text)
        return
    readings = read_amounts(task, out, text)
    assert out["volume_ml"] == value
    assert text[readings["volume_ml"].start : readings["volume_ml"].end] == "zeventig milliliter"


def test_a_bare_number_that_is_part_of_a_code_is_refused():
    text = "Vacuümbiopt mamma rechts (9G), stereotactisch, wegens microcalcificaties over 8 mm."
    with pytest.raises(InvalidOutput, match="written in the report only as '9G'"):
        read_amounts(TASK, {"largest_mm": "9"}, text)
    # a lab flag after a number still stands for the number itself
    out = {"largest_mm": "7"}
    read_amounts(TASK, out, "Waarde 7 H, verder 8 mm.")
    assert out["largest_mm"] == 7
