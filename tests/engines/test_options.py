"""Option probabilities: value positions in a JSON answer, normalisation, and the records."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.config import GenerationConfig
from extractinator.engines.base import GenerationRequest, GenerationResult
from extractinator.engines.options import (
    literal_to_key,
    normalise,
    option_literals,
    top_level_value_starts,
)
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.task import Task

from fakes import FakeEngine


def test_value_starts_of_top_level_keys_only():
    text = '{ "a": true, "nested": {"a": false, "b": [1, 2]}, "side": "left",\n "n": null}'
    starts = top_level_value_starts(text)
    assert set(starts) == {"a", "nested", "side", "n"}
    assert text[starts["a"] :].startswith("true")
    assert text[starts["side"] :].startswith('"left"')
    assert text[starts["n"] :].startswith("null")
    assert top_level_value_starts("no json") == {}
    assert top_level_value_starts('{"a": tru') == {"a": 6}  # stops at what it cannot read


def test_normalise_and_literals():
    probs = normalise({"true": -0.1, "false": -2.5})
    assert pytest.approx(sum(probs.values())) == 1.0 and probs["true"] > 0.9
    assert option_literals(None, boolean=True, nullable=False) == ["true", "false"]
    assert option_literals(["left", 2], boolean=False, nullable=True) == ['"left"', "2", "null"]
    assert [literal_to_key(x) for x in ['"left"', "2", "true", "null"]] == [
        "left",
        "2",
        "true",
        "null",
    ]


class ScoringFake(FakeEngine):
    """Reports option probabilities the way a scoring engine does."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        result = await super().generate(request)
        result.option_probs = {
            name: {"true": 0.8, "false": 0.2} for name in request.option_fields or {}
        }
        result.probability_method = "option_scoring"
        return result


def test_pipeline_asks_for_boolean_and_enum_options_and_records_them():
    task = Task.model_validate(
        {
            "name": "t",
            "description": "d",
            "fields": {
                "present": {"type": "boolean"},
                "side": {"type": "enum", "values": ["left", "right"], "nullable": True},
                "size": {"type": "number"},
            },
        }
    )
    engine = ScoringFake([json.dumps({"present": True, "side": "left", "size": 3})])
    rec = asyncio.run(extract_case(CompiledTask(task), engine, GenerationConfig(), "c", 0, "x"))
    assert engine.requests[0].option_fields == {
        "present": ["true", "false"],
        "side": ['"left"', '"right"', "null"],
    }
    assert rec.probabilities["present"] == {"true": 0.8, "false": 0.2}
    assert rec.probability_method == "option_scoring"
    off = ScoringFake([json.dumps({"present": True, "side": "left", "size": 3})])
    asyncio.run(
        extract_case(CompiledTask(task), off, GenerationConfig(probabilities=False), "c", 0, "x")
    )
    assert off.requests[0].option_fields is None
