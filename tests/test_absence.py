"""A finding's fields when the task's presence field says there is none: set to what their
descriptions say, in code, and listed in the record."""

from __future__ import annotations

import asyncio
import json

from extractinator.absence import Absent, absent_values, apply_absence
from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.records import Record
from extractinator.task import Task

from fakes import FakeEngine

CT = Task.model_validate(
    {
        "name": "ct",
        "description": "Lung nodules on this chest CT.",
        "fields": {
            "nodule_present": {
                "type": "boolean",
                "description": "Whether at least one lung nodule is present.",
            },
            "nodule_count": {
                "type": "integer",
                "nullable": True,
                "description": "Number of nodules; 0 if none; null if no number is given.",
            },
            "largest_nodule_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Largest diameter; null if no nodule or no size.",
            },
            "side": {
                "type": "enum",
                "values": ["left", "right", "both", "none"],
                "description": "Which lung the nodules are in; none if no nodule.",
            },
            "nodule_type": {
                "type": "enum",
                "values": ["solid", "ground-glass"],
                "nullable": True,
                "description": "Type of the largest nodule; null if there is no nodule.",
            },
            "finding": {"type": "string", "nullable": True, "description": "Other findings."},
        },
    }
)


def test_the_dependent_fields_and_their_presence_field():
    assert absent_values(CT) == (
        Absent("nodule_count", "nodule_present", 0),
        Absent("largest_nodule_mm", "nodule_present", None),
        Absent("side", "nodule_present", "none"),
        Absent("nodule_type", "nodule_present", None),
    )
    # a boolean may depend on another, never on itself
    more = CT.model_copy(deep=True)
    more.fields["calcified"] = more.fields["nodule_present"].model_copy(
        update={"description": "Whether a nodule is calcified; false if no nodule."}
    )
    more.fields["nodule_present"].description = "Whether a nodule is present; false if none."
    assert Absent("calcified", "nodule_present", False) in absent_values(more)
    assert "nodule_present" not in {a.field for a in absent_values(more)}
    # a value the field does not allow ("none" without that option) is no dependent field
    no_none = CT.model_copy(deep=True)
    no_none.fields["side"].values = ["left", "right", "both"]
    assert "side" not in {a.field for a in absent_values(no_none)}


def record(output, **kw):
    return Record(id="c", row=0, status="ok", output=output, **kw)


def test_where_the_presence_field_is_false_they_are_set_and_listed():
    rec = record(
        {
            "nodule_present": False,
            "nodule_count": None,
            "largest_nodule_mm": None,
            "side": "right",
            "nodule_type": "solid",
            "finding": "emfyseem",
        },
        probabilities={"side": {"right": 0.7, "none": 0.3}},
    )
    apply_absence(rec, CT)
    assert rec.output == {
        "nodule_present": False,
        "nodule_count": 0,
        "largest_nodule_mm": None,
        "side": "none",
        "nodule_type": None,
        "finding": "emfyseem",
    }
    assert rec.probabilities == {"side": {"none": 1.0}}
    assert rec.extra["absent"] == [
        "nodule_count: None -> 0, nodule_present is false",
        "side: 'right' -> 'none', nodule_present is false",
        "nodule_type: 'solid' -> None, nodule_present is false",
    ]


def test_nothing_changes_where_it_is_true_or_an_amount_is_written_in_the_report():
    present = {"nodule_present": True, "nodule_count": None, "largest_nodule_mm": None,
               "side": "right", "nodule_type": None, "finding": None}  # fmt: skip
    rec = record(dict(present))
    apply_absence(rec, CT)
    assert rec.output == present and "absent" not in rec.extra
    # the model said "no nodule" but copied a size the report writes: the size stays
    engine = FakeEngine(
        [json.dumps({**present, "nodule_present": False, "largest_nodule_mm": "6 mm"})]
    )
    text = "CT thorax. Nodus rechter onderkwab 6 mm."
    rec = asyncio.run(extract_case(CompiledTask(CT), engine, GenerationConfig(), "c", 0, text))
    assert rec.output["largest_nodule_mm"] == 6.0
    assert rec.output["side"] == "none" and rec.output["nodule_count"] == 0
