"""Answer order: the model writes lists of findings before the other fields (a summary after
the findings it sums up); records keep the task file's order."""

from __future__ import annotations

import asyncio
import json

from extractinator.config import GenerationConfig
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.prompt import build_messages
from extractinator.task import Task
from extractinator.task.schema import task_json_schema

from fakes import FakeEngine

LESION = {
    "type": "object",
    "fields": {
        "segment": {"type": "string", "nullable": True},
        "size_mm": {"type": "number", "unit": "mm", "nullable": True},
    },
}
TASK = Task.model_validate(
    {
        "name": "liver",
        "description": "Liver lesions.",
        "fields": {
            "count": {"type": "integer", "nullable": True, "description": "How many"},
            "largest_mm": {"type": "number", "unit": "mm", "nullable": True},
            "lesions": {"type": "list", "items": LESION, "description": "Each lesion"},
            "tubes": {"type": "list", "items": {"type": "string"}},  # not findings: stays
            "n": {"type": "integer", "compute": "len(lesions)"},
        },
        "examples": [
            {
                "input": "Cyste segment 7 van 1,1 cm.",
                "output": {
                    "count": 1,
                    "largest_mm": 11,
                    "lesions": [{"segment": "7", "size_mm": 11}],
                    "tubes": [],
                },
            }
        ],
    }
)
ORDER = ["lesions", "count", "largest_mm", "tubes"]


def test_findings_come_first_in_the_schema_the_prompt_and_the_examples():
    assert list(TASK.answer_fields()) == ORDER
    assert list(task_json_schema(TASK)["properties"]) == ORDER
    messages = build_messages(TASK, "Laesie segment 2 van 3 cm.")
    keys = messages[0].content.split("Output keys:")[1]
    assert [keys.index(f'- "{n}"') for n in ORDER] == sorted(keys.index(f'- "{n}"') for n in ORDER)
    assert list(json.loads(messages[2].content)) == ORDER  # the example's answer


def test_without_findings_the_files_order_stays():
    plain = Task.model_validate(
        {
            "name": "t",
            "description": "d",
            "fields": {"b": {"type": "boolean"}, "a": {"type": "string"}},
        }
    )
    assert list(plain.answer_fields()) == ["b", "a"]


def test_the_record_keeps_the_task_files_order():
    answer = json.dumps(
        {
            "lesions": [{"segment": "2", "size_mm": "3 cm"}],
            "count": 1,
            "largest_mm": "3 cm",
            "tubes": [],
        }
    )
    text = "Laesie segment 2 van 3 cm."
    rec = asyncio.run(
        extract_case(CompiledTask(TASK), FakeEngine([answer]), GenerationConfig(), "c", 0, text)
    )
    assert rec.status == "ok"
    assert list(rec.output) == ["count", "largest_mm", "lesions", "tubes", "n"]
    assert rec.output["largest_mm"] == 30.0 and rec.output["n"] == 1
