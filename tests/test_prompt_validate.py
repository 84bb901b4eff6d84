"""Prompt layout (fixed prefix first, case last) and answer validation."""

from __future__ import annotations

import pytest

from extractinator.engines.base import strip_reasoning
from extractinator.prompt import build_messages, system_prompt
from extractinator.task import Task
from extractinator.validate import InvalidOutput, parse_json, validate_output

TASK = Task.model_validate(
    {
        "name": "t",
        "description": "Extract nodules from the CT report.",
        "fields": {
            "size_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "minimum": 0,
                "maximum": 300,
                "description": "Largest nodule diameter",
            },
            "side": {"type": "enum", "values": ["left", "right"], "description": "Side"},
            "meds": {"type": "spans", "labels": {"MEDICATION": "a drug name"}},
        },
        "examples": [
            {"input": "Nodus links 4 mm.", "output": {"size_mm": 4, "side": "left", "meds": []}}
        ],
    }
)


def test_system_prompt_carries_descriptions_units_values_and_the_amount_rule():
    text = system_prompt(TASK)
    assert "Extract nodules from the CT report." in text
    assert (
        '"size_mm" (amount as written in the report; the system converts it to mm, '
        "or null): Largest nodule diameter" in text
    )
    assert 'one of "left", "right"' in text
    assert "MEDICATION: a drug name" in text
    assert '"1,4 cm"' in text and "do not convert" in text
    assert "decimal comma" not in text  # the amount rule replaces the number rule


def test_without_amounts_the_prompt_keeps_the_number_rule():
    plain = TASK.model_copy(
        update={
            "fields": {
                **TASK.fields,
                "size_mm": TASK.fields["size_mm"].model_copy(update={"amount": False}),
            }
        }
    )
    text = system_prompt(plain)
    assert '"size_mm" (number in mm, 0 to 300, or null)' in text
    assert "decimal comma" in text and "1,4 cm = 14 mm" in text and "do not convert" not in text


def test_examples_show_amounts_as_text_and_leave_computed_fields_out():
    task = Task.model_validate(
        {
            **TASK.model_dump(exclude_none=True),
            "fields": {
                **{k: v.model_dump(exclude_none=True) for k, v in TASK.fields.items()},
                "present": {"type": "boolean", "compute": "size_mm is not None"},
            },
            "examples": [
                {
                    "input": "Nodus links 4 mm.",
                    "output": {"size_mm": 4, "side": "left", "meds": [], "present": True},
                }
            ],
        }
    )
    messages = build_messages(task, "Rapport")
    assert messages[2].content == '{"size_mm": "4 mm", "side": "left", "meds": {"MEDICATION": []}}'
    assert '"present"' not in messages[0].content


def test_messages_put_the_shared_prefix_first_and_the_case_last():
    a = build_messages(TASK, "Rapport A")
    b = build_messages(TASK, "Rapport B")
    assert [m.role for m in a] == ["system", "user", "assistant", "user"]
    assert a[:-1] == b[:-1]
    assert a[-1].content == "Rapport A"
    followup = build_messages(TASK, "Rapport A", followup=a[1:3])
    assert followup[3].content == "Rapport A" and len(followup) == 6


def test_parse_json_tolerates_fences_and_trailing_text():
    assert parse_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json('Sure: {"a": {"b": 2}} hope that helps') == {"a": {"b": 2}}
    with pytest.raises(InvalidOutput) as e:
        parse_json("no json here")
    assert e.value.kind == "invalid_json"
    with pytest.raises(InvalidOutput, match="not valid JSON"):
        parse_json('{"a": ')


def test_validation_errors_name_the_field_and_value():
    model = TASK.output_model()
    with pytest.raises(InvalidOutput) as e:
        validate_output('{"size_mm": [14], "side": "up", "meds": []}', model)
    msg = str(e.value)
    assert e.value.kind == "invalid_output"
    assert "field 'size_mm'" in msg and "[14]" in msg
    assert "field 'side'" in msg
    with pytest.raises(InvalidOutput, match="field 'meds': missing"):
        validate_output('{"size_mm": 1, "side": "left"}', model)


def test_strip_reasoning():
    assert strip_reasoning("<think>hmm</think>\n{}") == ("{}", "hmm")
    assert strip_reasoning("{}") == ("{}", None)
    assert strip_reasoning("<think>never ends") == ("", "never ends")
