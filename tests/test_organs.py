"""Another organ's finding: a size written only about another organ than the field's is
re-asked with the reason, then null; the larger-finding and missed-size hints skip it."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.larger_amounts import larger_amount_doubts
from extractinator.organs import is_organ_dimension, organ_of, subject
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput

from fakes import FakeEngine

LIVER = Task.model_validate(
    {
        "name": "liver",
        "description": "Focal lesions in the current examination. Only lesions in the liver count.",
        "fields": {
            "largest_lesion_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "summary": False,
                "description": "Largest diameter of the largest lesion in mm",
            },
            "lesions": {
                "type": "list",
                "description": "The lesions, one entry each.",
                "items": {
                    "type": "object",
                    "fields": {
                        "size_mm": {
                            "type": "number",
                            "unit": "mm",
                            "nullable": True,
                            "description": "Largest diameter in mm",
                        },
                        "distance_mm": {
                            "type": "number",
                            "unit": "mm",
                            "nullable": True,
                            "description": "Distance to the liver capsule",
                        },
                    },
                },
            },
        },
    }
)
ABDOMEN = (
    "CT abdomen\n\n"
    "Lever: in segment 7 een cyste van 12 mm. Milt: bekende cyste van 2,5 cm, ongewijzigd.\n"
    "Axillair rechts meerdere vergrote klieren, grootste 2,1 cm korte as.\n"
)


def at(text, words):
    start = text.index(words)
    return organ_of(text, start, start + len(words))


@pytest.mark.parametrize(
    ("text", "amount", "organ"),
    [
        ("Milt: bekende cyste van 2,5 cm, ongewijzigd.", "2,5 cm", "spleen"),
        ("Axillair rechts meerdere vergrote klieren, grootste 2,1 cm.", "2,1 cm", "lymph node"),
        ("Linker ureter: concrement van 5 mm proximaal.", "5 mm", "ureter"),
        ("Rechter nier: niersteen onderpool 3 mm.", "3 mm", "kidney"),
        ("In leversegment 5 een laesie van 1,5 cm.", "1,5 cm", "liver"),
        ("In de lever een cyste van 12 mm en in de milt een van 25 mm.", "12 mm", "liver"),
        ("In de lever een cyste van 12 mm en in de milt een van 25 mm.", "25 mm", "spleen"),
        ("een cyste van 2,5 cm in de milt, lever normaal.", "2,5 cm", "spleen"),  # after it
        ("Nodus rechter bovenkwab 6 mm.", "6 mm", "lung"),
        ("Spleen: cyst of 25 mm.", "25 mm", "spleen"),
        # nothing named near it: the last clause's organ does not reach over the comma
        ("Cyste van 12 mm in segment 7, milt normaal.", "12 mm", None),
        ("Geen vergrote klieren, nodus 6 mm.", "6 mm", None),  # a denied organ
        # a negation reaches no further than its clause
        ("Lever zonder afwijkingen, milt met een cyste van 2 cm.", "2 cm", "spleen"),
        ("Milt normaal.\nCyste van 12 mm.", "12 mm", None),  # another sentence
        ("Laesie 11 mm op mammografie.", "11 mm", None),  # mammografie is not "mamma"
        # none named in its sentence: the organ its line's heading, or the last one, names
        ("Colon sigmoideum: wandverdikking. Pericolisch abces van 4,2 cm.", "4,2 cm", "bowel"),
        ("Lever:\nIn segment 7 een laesie van 12 mm.", "12 mm", "liver"),
        ("Lever:\nnormaal.\nConclusie:\nAbces van 4 cm.", "4 cm", None),  # not an organ's
        ("- Aorta: infrarenaal AAA max 4,3 cm.", "4,3 cm", "aorta"),
    ],
)
def test_the_organ_an_amount_is_about(text, amount, organ):
    assert at(text, amount) == organ


def test_the_subject_is_the_innermost_description_that_names_an_organ():
    assert subject(["Largest diameter", "The liver lesions", "CT of the abdomen"]) == {"liver"}
    assert subject(["Size of the largest breast lesion", "Mammography"]) == {"breast"}
    assert subject(["Largest diameter", "Lung nodules in the lungs on chest CT"]) == {"lung"}
    assert subject(["Largest diameter", "Findings of this CT"]) == frozenset()
    # organs in a sentence that excludes them are not the subject
    nodules = "Pulmonary nodules on this scan. Lymph nodes (lymfeklieren) are not nodules."
    assert subject([nodules]) == {"lung"}
    assert subject(["Lung nodules; calcified granulomas and\nlymph nodes do not count."]) == {
        "lung"
    }
    # three organs are examples of where a finding may be, not what the field is about
    recist = 'Target lesions, e.g. "axillair", "mediastinaal", a lymph node ("klier").'
    assert subject(["Size of target lesion 1.", recist]) == frozenset()


def test_a_size_written_about_another_organ_is_reasked_with_the_reason():
    output = {"largest_lesion_mm": "2,5 cm", "lesions": [{"size_mm": "12 mm"}]}
    with pytest.raises(InvalidOutput) as e:
        read_amounts(LIVER, output, ABDOMEN)
    assert str(e.value) == (
        "field 'largest_lesion_mm': '2,5 cm' is written about the spleen (\"Milt: bekende "
        'cyste van 2,5 cm, ongewijzigd"), not the liver this field is about: give the size '
        "this field asks for as the report writes it, or null"
    )


def test_in_a_list_entry_too_and_null_when_the_reasks_are_used_up():
    output = {"largest_lesion_mm": "12 mm", "lesions": [{"size_mm": "12"}, {"size_mm": "2,1"}]}
    readings = read_amounts(LIVER, output, ABDOMEN, null_unreadable=True)
    assert output == {"largest_lesion_mm": 12.0, "lesions": [{"size_mm": 12.0}, {"size_mm": None}]}
    assert "lymph node" in (readings["lesions[1].size_mm"].problem or "")


def test_when_the_reasks_are_used_up_an_entry_holding_it_is_left_out_and_said_so():
    """The entry is the other organ's finding: a list computed from (count, largest) must
    not hold it. The pipeline keeps the rest and the record names the entry."""
    entries = [
        {"size_mm": "12 mm", "distance_mm": None},
        {"size_mm": "2,1 cm", "distance_mm": None},
    ]
    answer = {"largest_lesion_mm": None, "lesions": entries}
    engine = FakeEngine([json.dumps(answer)] * 3)
    gen = GenerationConfig(max_reasks=2)
    record = asyncio.run(extract_case(CompiledTask(LIVER), engine, gen, "c", 0, ABDOMEN))
    assert record.status == "ok"
    assert record.output["lesions"] == [{"size_mm": 12.0, "distance_mm": None}]
    assert "lesions[1]" in record.repaired and "lymph node" in record.repaired


def test_a_size_written_again_without_an_organ_is_still_the_other_organs():
    text = "Aorta: AAA max 4,3 cm. Lever: twee hemangiomen.\nConclusie: AAA 4,3 cm, toename."
    with pytest.raises(InvalidOutput, match="written about the aorta"):
        read_amounts(LIVER, {"largest_lesion_mm": "4,3 cm", "lesions": []}, text)
    own = "Aorta: AAA max 4,3 cm. Lever: hemangioom van 4,3 cm.\nConclusie: 4,3 cm."
    read_amounts(LIVER, {"largest_lesion_mm": "4,3 cm", "lesions": []}, own)  # also its own


def test_own_organ_other_fields_and_tasks_about_no_organ_are_left_alone():
    output = {"largest_lesion_mm": "12 mm", "lesions": [{"size_mm": "12 mm", "distance_mm": None}]}
    read_amounts(LIVER, output, ABDOMEN)
    assert output["largest_lesion_mm"] == 12.0
    # a distance may be measured to another organ: only sizes are checked
    entry = {"size_mm": None, "distance_mm": "2,5 cm"}
    read_amounts(LIVER, {"largest_lesion_mm": None, "lesions": [entry]}, ABDOMEN)
    assert entry["distance_mm"] == 25.0
    anything = LIVER.model_copy(update={"description": "Findings of this CT."})
    fields = dict(anything.fields)
    fields["lesions"] = fields["lesions"].model_copy(update={"description": "One entry each."})
    anything = anything.model_copy(update={"fields": fields})
    output = {"largest_lesion_mm": "2,5 cm", "lesions": []}
    read_amounts(anything, output, ABDOMEN)
    assert output["largest_lesion_mm"] == 25.0


def test_the_larger_finding_hint_skips_another_organs_size():
    task = Task.model_validate(
        {
            "name": "liver",
            "description": "Liver lesions of this CT.",
            "fields": {
                "largest_mm": {
                    "type": "number",
                    "unit": "mm",
                    "nullable": True,
                    "description": "Largest diameter of the largest liver lesion in mm",
                }
            },
        }
    )
    text = "Lever: cyste van 12 mm en een van 8 mm. Milt: cyste van 2,5 cm."
    output = {"largest_mm": "8 mm"}
    doubts = larger_amount_doubts(task, output, text, read_amounts(task, output, text))
    assert len(doubts) == 1 and 'also writes "Lever: cyste van 12 mm"' in doubts[0]
    output = {"largest_mm": "12 mm"}
    assert larger_amount_doubts(task, output, text, read_amounts(task, output, text)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lever: vergroot (craniocaudaal 19 cm), geen focale laesies.", True),
        ("Portale hypertensie met splenomegalie (15 cm).", True),
        ("Appendix vergroot tot 11 mm.", True),
        ("Lever: cyste van 19 cm.", False),  # a finding's size
        ("Lever vergroot. Een laesie in segment 7 van 19 cm.", False),  # another sentence
        ("Vergrote klier van 19 cm.", False),  # "vergrote" names a finding, not an organ
    ],
)
def test_an_organs_own_dimension_is_told_from_a_findings_size(text, expected):
    assert is_organ_dimension(text, text.index("1")) is expected


def test_an_organs_own_dimension_is_no_larger_lesion_to_show():
    text = "Lever: vergroot (craniocaudaal 19 cm). Segment 7: cyste van 8 mm."
    output = {"largest_lesion_mm": "8 mm", "lesions": []}
    assert larger_amount_doubts(LIVER, output, text, read_amounts(LIVER, output, text)) == []
    text = text.replace("vergroot (craniocaudaal 19 cm)", "hemangioom van 19 cm")
    output = {"largest_lesion_mm": "8 mm", "lesions": []}
    doubts = larger_amount_doubts(LIVER, output, text, read_amounts(LIVER, output, text))
    assert len(doubts) == 1 and "19 cm" in doubts[0]


BREAST = Task.model_validate(
    {
        "name": "mammo",
        "description": "Findings of this breast ultrasound.",
        "fields": {
            "lesion_size_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Largest diameter of the breast lesion in mm; null if none.",
            }
        },
    }
)
ULTRASOUND = (
    "Echo mamma links\n\nVraagstelling: knobbel, 2 cm.\n\n"
    "Links op 1 uur, 4 cm van de tepel, een ovale laesie van 0,8 cm. Axilla: klier 15 mm.\n"
)


def test_a_refused_size_is_followed_by_the_one_length_that_may_be_the_size():
    """The model copied a distance twice (refused, then null); the check shows it the one
    length that is not a distance, not in the clinical information and not another organ's,
    and its second answer is read."""
    engine = FakeEngine(
        [json.dumps({"lesion_size_mm": "4 cm"})] * 3 + [json.dumps({"lesion_size_mm": "0,8 cm"})]
    )
    gen = GenerationConfig(max_reasks=2)
    record = asyncio.run(extract_case(CompiledTask(BREAST), engine, gen, "c", 0, ULTRASOUND))
    assert record.output == {"lesion_size_mm": 8.0}
    assert len(engine.requests) == 4
    check = engine.requests[-1].messages[-1].content
    assert '"lesion_size_mm" is null, but the report writes "0,8 cm"' in check


def test_a_copy_of_an_enlarged_organs_own_dimension_is_reasked():
    text = (
        "Lever: vergroot, craniocaudaal 18 cm. Intrahepatische galwegdilatatie. Geen focale "
        "leverlaesies.\nMilt 12 cm."
    )
    with pytest.raises(InvalidOutput, match="measures an enlarged organ itself"):
        read_amounts(LIVER, {"largest_lesion_mm": "18 cm", "lesions": []}, text)
    # a finding measured craniocaudally is a finding's size
    lesion = "Lever: laesie segment 6 van 1,9 cm; sagittaal craniocaudaal 2,3 cm."
    output = {"largest_lesion_mm": "2,3 cm", "lesions": []}
    read_amounts(LIVER, output, lesion)
    assert output["largest_lesion_mm"] == 23
