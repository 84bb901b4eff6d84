"""The compute step through the pipeline: computed fields added after the answer is read,
their probabilities from the facts' option probabilities or the samples, a failing
expression as a clear compute_error, and chunked texts recomputed on the merged facts."""

from __future__ import annotations

import asyncio
import json

import pytest

from extractinator.compute import computed_probabilities
from extractinator.config import GenerationConfig
from extractinator.engines.base import GenerationResult
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "nodules",
        "description": "Lung nodules.",
        "fields": {
            "nodules": {
                "type": "list",
                "items": {
                    "type": "object",
                    "fields": {
                        "size_mm": {"type": "number", "unit": "mm", "nullable": True},
                        "side": {"type": "enum", "values": ["left", "right"]},
                    },
                },
            },
            "suspicious": {"type": "boolean"},
            "nodule_present": {"type": "boolean", "compute": "len(nodules) > 0"},
            "largest_mm": {
                "type": "number",
                "nullable": True,
                "compute": "max(n.size_mm for n in nodules)",
            },
            "side": {
                "type": "enum",
                "values": ["left", "right", "both", "none"],
                "compute": "'none' if not nodules else ('both' if len(distinct(n.side for n "
                "in nodules)) > 1 else nodules[0].side)",
            },
            "follow_up": {"type": "boolean", "compute": "suspicious or largest_mm > 8"},
        },
    }
)
TEXT = "CT: nodus links 4 mm, nodus rechts 1,2 cm. Verdacht."


def answer(nodules, suspicious=False):
    return json.dumps({"nodules": nodules, "suspicious": suspicious})


def run(engine, task=TASK, text=TEXT, **gen):
    compiled = CompiledTask(task)
    return asyncio.run(extract_case(compiled, engine, GenerationConfig(**gen), "c", 0, text))


def test_computed_fields_follow_from_the_facts_read_as_written():
    nodules = [{"size_mm": "4 mm", "side": "left"}, {"size_mm": "1,2 cm", "side": "right"}]
    rec = run(FakeEngine([answer(nodules)]))
    assert rec.status == "ok"
    assert rec.output["nodules"] == [
        {"size_mm": 4.0, "side": "left"},
        {"size_mm": 12.0, "side": "right"},
    ]
    assert rec.output["nodule_present"] is True
    assert rec.output["largest_mm"] == 12.0
    assert rec.output["side"] == "both"
    assert rec.output["follow_up"] is True  # 12 mm > 8
    assert list(rec.output) == [
        "nodules",
        "suspicious",
        "nodule_present",
        "largest_mm",
        "side",
        "follow_up",
    ]


def test_no_findings_give_the_empty_summary_and_a_null_size():
    rec = run(FakeEngine([answer([])]))
    assert rec.status == "ok"
    assert rec.output["nodule_present"] is False
    assert rec.output["largest_mm"] is None and rec.output["side"] == "none"
    assert rec.output["follow_up"] is False  # a comparison with a null size is false


def test_a_failing_expression_is_a_compute_error_naming_the_field():
    fields = {**TASK.model_dump()["fields"]}
    fields["largest_mm"] = {**fields["largest_mm"], "nullable": False}
    task = Task.model_validate({**TASK.model_dump(), "fields": fields})
    rec = run(FakeEngine([answer([])]), task=task)  # max of no sizes is null: not allowed
    assert rec.status == "failed" and rec.output is None
    assert rec.error.type == "compute_error"
    assert rec.error.message.startswith("field 'largest_mm': the expression gave null")
    assert json.loads(rec.raw_output) == {"nodules": [], "suspicious": False}


def test_computed_probabilities_come_from_the_facts_option_probabilities():
    probs = {"suspicious": {"true": 0.3, "false": 0.7}}
    output = {
        "nodules": [{"size_mm": 4.0, "side": "left"}],
        "suspicious": False,
        "nodule_present": True,
        "largest_mm": 4.0,
        "side": "left",
        "follow_up": False,
    }
    got = computed_probabilities(TASK, output, probs)
    assert got["follow_up"] == {"true": pytest.approx(0.3), "false": pytest.approx(0.7)}
    assert "side" not in got  # reads no fact with probabilities


def test_probabilities_of_a_computed_field_reach_the_record():
    class Scored(FakeEngine):
        async def generate(self, request):
            result = await super().generate(request)
            probs = {"suspicious": {"true": 0.9, "false": 0.1}}
            return GenerationResult(**{**result.model_dump(), "option_probs": probs})

    nodules = [{"size_mm": "4 mm", "side": "left"}]
    rec = run(Scored([answer(nodules, suspicious=True)]))
    assert rec.output["follow_up"] is True
    assert rec.probabilities["follow_up"] == {
        "true": pytest.approx(0.9),
        "false": pytest.approx(0.1),
    }


def test_with_samples_computed_fields_get_vote_fractions():
    one = [{"size_mm": "4 mm", "side": "left"}]
    two = [{"size_mm": "4 mm", "side": "left"}, {"size_mm": "1,2 cm", "side": "right"}]
    engine = FakeEngine([answer(one), answer(two), answer(one)])
    rec = run(engine, samples=3, temperature=0.7)
    assert rec.output["side"] == "left"  # computed on the aggregated facts
    assert rec.probabilities["side"] == {
        "left": pytest.approx(2 / 3),
        "both": pytest.approx(1 / 3),
    }
    assert rec.probabilities["follow_up"] == {"false": pytest.approx(2 / 3), "true": 1 / 3}
