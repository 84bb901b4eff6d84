"""Re-asks that outgrow the context, and re-ask messages that stay short."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.errors import ContextOverflow
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.reading import MAX_PROBLEMS_SHOWN, read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput

from fakes import FakeEngine

TEXT = "CT lever: laesie in segment 7 van 12 mm."
TASK = Task.model_validate(
    {
        "name": "liver",
        "description": "Liver lesions.",
        "fields": {"size": {"type": "number", "unit": "mm", "nullable": True}},
    }
)


def run(engine):
    return asyncio.run(extract_case(CompiledTask(TASK), engine, GenerationConfig(), "c1", 0, TEXT))


def test_a_reask_history_that_no_longer_fits_keeps_only_the_latest_answer():
    answers = iter(['{"size": "99 mm"}', '{"size": "88 mm"}', '{"size": "12 mm"}'])

    def reply(request):
        if len(request.messages) > 4:  # system, user, then more than one exchange
            raise ContextOverflow(9000, 1024, 8192)
        return next(answers)

    engine = FakeEngine(reply)
    record = run(engine)
    assert record.ok and record.output == {"size": 12.0}
    assert record.extra["reask_history_shortened"] is True
    last = engine.requests[-1].messages
    assert [m.role for m in last[-2:]] == ["assistant", "user"]
    assert json.loads(last[-2].content) == {"size": "88 mm"}  # the latest answer, not the first


def test_an_overflow_without_a_reask_history_still_fails_clearly():
    record = run(FakeEngine([ContextOverflow(9000, 1024, 8192)]))
    assert not record.ok and record.error.type == "context_overflow"
    assert "reask_history_shortened" not in record.extra


def test_a_reask_names_a_few_unreadable_amounts_and_counts_the_rest():
    task = Task.model_validate(
        {
            "name": "liver",
            "description": "Liver lesions.",
            "fields": {
                "lesions": {
                    "type": "list",
                    "items": {
                        "type": "object",
                        "fields": {"size": {"type": "number", "unit": "mm"}},
                    },
                }
            },
        }
    )
    output = {"lesions": [{"size": f"{n} mm"} for n in range(40, 70)]}
    with pytest.raises(InvalidOutput) as caught:
        read_amounts(task, output, TEXT)
    message = str(caught.value)
    assert message.count("is not in the report") == MAX_PROBLEMS_SHOWN
    assert message.endswith(f"and {30 - MAX_PROBLEMS_SHOWN} more amounts of this answer")
