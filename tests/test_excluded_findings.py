"""A finding the task says does not count: an amount written only right after it is
re-asked with the reason, then null."""

from __future__ import annotations

import pytest

from extractinator.excluded_findings import not_counted
from extractinator.reading import drop_unreadable_entries, read_amounts
from extractinator.task import Task
from extractinator.task.spec import FieldSpec
from extractinator.validate import InvalidOutput

TASK = Task.model_validate(
    {
        "name": "ct",
        "description": (
            "Lung nodules on this chest CT. Only count nodules in the lungs; calcified "
            "granulomas do not count."
        ),
        "fields": {
            "largest_nodule_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Largest diameter of the largest nodule, in mm",
            }
        },
    }
)
SPEC = TASK.fields["largest_nodule_mm"]


@pytest.mark.parametrize(
    ("description", "words"),
    [
        ("Calcified granulomas do not count.", {"granulomas"}),
        ("Nodules that have disappeared are not counted.", {"disappeared"}),
        ("Non-target lesions do not count.", set()),  # "lesions": the field's own word
        ("Other findings (lymph nodes, cysts) do not count.", set()),  # a bracket before
        ("Lesions with PI-RADS 1 or 2 do not count.", set()),  # a number before
        ("Advice that only applies if complaints arise does not count.", set()),  # short
    ],
)
def test_what_does_not_count(description, words):
    spec = FieldSpec.model_validate(
        {"type": "number", "unit": "mm", "description": "Largest diameter of the lesion"}
    )
    assert not_counted("size_mm", spec, [description]) == words


def test_an_amount_written_right_after_what_does_not_count_is_reasked():
    text = "Meerdere verkalkte granulomen in beide bovenkwabben (tot 7 mm). Geen noduli."
    with pytest.raises(InvalidOutput) as e:
        read_amounts(TASK, {"largest_nodule_mm": "7 mm"}, text)
    assert str(e.value) == (
        "field 'largest_nodule_mm': '7 mm' is written about \"granulomen\", which the task "
        "says does not count: give the amount this field asks for as the report writes it, "
        "or null"
    )
    output = {"largest_nodule_mm": "7 mm"}
    readings = read_amounts(TASK, output, text, null_unreadable=True)
    assert output["largest_nodule_mm"] is None and readings["largest_nodule_mm"].problem


@pytest.mark.parametrize(
    "text",
    [
        "Verkalkt granuloom RBK en een solide nodus van 7 mm in de onderkwab.",
        "Nodus 7 mm RBK, daarnaast een verkalkt granuloom.",
        "Verkalkt granuloom RBK. Solide nodus 7 mm.",
        # written twice, once as the nodule's
        "Granuloom van 7 mm.\nNieuwe nodus LOK 7 mm.",
    ],
)
def test_an_amount_also_written_as_what_counts_is_read(text):
    output = {"largest_nodule_mm": "7 mm"}
    read_amounts(TASK, output, text)
    assert output["largest_nodule_mm"] == 7.0


def test_a_list_entry_holding_it_is_left_out_when_the_reasks_are_used_up():
    task = Task.model_validate(
        {
            "name": "ct",
            "description": "Lung nodules; calcified granulomas do not count.",
            "fields": {
                "nodules": {
                    "type": "list",
                    "items": {
                        "type": "object",
                        "fields": {
                            "size_mm": {
                                "type": "number",
                                "unit": "mm",
                                "nullable": True,
                                "description": "Largest diameter",
                            }
                        },
                    },
                }
            },
        }
    )
    text = "Verkalkt granuloom van 7 mm. Solide nodus van 5 mm."
    output = {"nodules": [{"size_mm": "7 mm"}, {"size_mm": "5 mm"}]}
    notes = drop_unreadable_entries(task, output, text)
    assert output == {"nodules": [{"size_mm": "5 mm"}]}
    assert len(notes) == 1 and notes[0].startswith("nodules[0] (size_mm: '7 mm' is written")
