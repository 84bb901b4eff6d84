"""Self-consistency (--samples K): aggregation rules, agreement, probabilities, the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from extractinator.config import GenerationConfig, RunConfig
from extractinator.consistency import aggregate, aggregate_value
from extractinator.engines.base import GenerationResult
from extractinator.errors import ContextOverflow
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.runner import run_task
from extractinator.task import FieldSpec, Task
from extractinator.task.spans import spans_in_layout

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {
            "present": {"type": "boolean"},
            "side": {"type": "enum", "values": ["left", "right"], "nullable": True},
            "size_mm": {"type": "number", "nullable": True},
            "meds": {"type": "spans", "labels": ["MED"]},
        },
    }
)
TEXT = "Metformine en insuline; later weer metformine. Nodus rechts 8 mm."
SAMPLED = {"temperature": 0.7, "samples": 3}


def answer(present=True, side="right", size=8, meds=("Metformine",)):
    spans = [{"text": m, "label": "MED"} for m in meds]
    return json.dumps(
        {
            "present": present,
            "side": side,
            "size_mm": size,
            "meds": spans_in_layout(TASK.fields["meds"], spans),
        }
    )


def run(engine, task=TASK, text=TEXT, **gen):
    return asyncio.run(
        extract_case(CompiledTask(task), engine, GenerationConfig(**gen), "c1", 0, text)
    )


def spec(**kw):
    return FieldSpec.model_validate(kw)


# --- aggregation rules -------------------------------------------------------------


def test_majority_for_booleans_enums_strings_with_ties_to_the_first_sample():
    assert aggregate_value(spec(type="boolean"), [False, True, True]) is True
    assert aggregate_value(spec(type="boolean"), [False, True]) is False
    assert aggregate_value(spec(type="boolean"), [True, False]) is True
    enum = spec(type="enum", values=["a", "b", "c"], nullable=True)
    assert aggregate_value(enum, [None, "a", None]) is None  # null is a value too
    assert aggregate_value(enum, ["c", "a", "b", "a", "b"]) == "a"  # first of the tied
    assert aggregate_value(spec(type="string"), ["x", "y", "y"]) == "y"


def test_numbers_take_the_median_unless_most_samples_say_null():
    number = spec(type="number", nullable=True)
    assert aggregate_value(number, [8.0, 30.0, 9.0]) == 9.0
    assert aggregate_value(number, [4.0, 6.0, 5.0, 7.0]) == 5.0  # lower middle: a real answer
    assert aggregate_value(number, [None, 12.0, None]) is None
    assert aggregate_value(number, [12.0, None, 10.0]) == 10.0
    assert aggregate_value(number, [None, 3.0]) is None  # tie: the first sample's null
    assert aggregate_value(spec(type="integer"), [3, 1, 2, 4]) == 2


def test_lists_and_spans_keep_members_held_by_more_than_half_of_the_samples():
    tags = spec(type="list", items={"type": "string"})
    assert aggregate_value(tags, [["a", "b"], ["b", "c"], ["b", "a"]]) == ["a", "b"]
    # a member written twice counts twice: kept twice only when most samples have it twice
    assert aggregate_value(tags, [["a", "a"], ["a", "a"], ["a"]]) == ["a", "a"]
    assert aggregate_value(tags, [["a", "a"], ["a"], ["a"]]) == ["a"]
    meds = spec(type="spans", labels=["MED", "DOSE"])
    got = aggregate_value(
        meds,
        [
            [{"text": "x", "label": "MED"}, {"text": "5 mg", "label": "DOSE"}],
            [{"text": "x", "label": "MED"}, {"text": "5 mg", "label": "MED"}],
            [{"text": "x", "label": "MED"}],
        ],
    )
    assert got == [{"text": "x", "label": "MED"}]  # same text, other label: another member


def test_objects_are_aggregated_field_by_field_and_null_by_majority():
    lesion = spec(
        type="object",
        nullable=True,
        fields={"site": {"type": "string"}, "mm": {"type": "number"}},
    )
    values = [{"site": "lung", "mm": 4.0}, {"site": "liver", "mm": 6.0}, {"site": "lung", "mm": 9}]
    assert aggregate_value(lesion, values) == {"site": "lung", "mm": 6.0}
    assert aggregate_value(lesion, [None, None, values[0]]) is None


def test_agreement_is_the_fraction_of_samples_equal_to_the_aggregate():
    fields = {
        "present": spec(type="boolean"),
        "size": spec(type="number", nullable=True),
        "tags": spec(type="list", items={"type": "string"}),
    }
    outputs = [
        {"present": True, "size": 8.0, "tags": ["a", "b"]},
        {"present": True, "size": 9.0, "tags": ["b", "a"]},  # same members, other order
        {"present": False, "size": 8.0, "tags": ["a"]},
        {"present": True, "size": None, "tags": ["a", "b", "c"]},
    ]
    consensus = aggregate(fields, outputs)
    assert consensus.output == {"present": True, "size": 8.0, "tags": ["a", "b"]}
    assert consensus.agreement == {"present": 0.75, "size": 0.5, "tags": 0.5}


# --- the pipeline with K samples ---------------------------------------------------


def test_samples_are_aggregated_with_agreement_seeds_and_summed_tokens():
    engine = FakeEngine(
        [
            answer(size=8, meds=["Metformine", "insuline"]),
            answer(side="left", size=9, meds=["Metformine"]),
            answer(size=30, meds=["Metformine", "insuline", "metformine"]),
        ]
    )
    rec = run(engine, seed=5, **SAMPLED)
    assert rec.status == "ok" and rec.attempts == 3
    assert [r.seed for r in engine.requests] == [5, 6, 7]
    assert [r.temperature for r in engine.requests] == [0.7] * 3
    # the same prompt every time: the engine serves it from its cache
    assert len({json.dumps([m.model_dump() for m in r.messages]) for r in engine.requests}) == 1
    out = rec.output
    assert (out["present"], out["side"], out["size_mm"]) == (True, "right", 9.0)
    # spans voted on, then grounded
    assert [(s["text"], s["start"], s["alignment"]) for s in out["meds"]] == [
        ("Metformine", 0, "exact"),
        ("insuline", TEXT.index("insuline"), "exact"),
    ]
    assert rec.agreement == {"present": 1.0, "side": 0.6667, "size_mm": 0.3333, "meds": 0.3333}
    assert len(rec.samples) == 3 and rec.samples[1]["side"] == "left"
    assert rec.samples[0]["meds"] == [
        {"text": "Metformine", "label": "MED"},
        {"text": "insuline", "label": "MED"},
    ]
    assert rec.prompt_tokens == sum(
        sum(len(m.content.split()) for m in r.messages) for r in engine.requests
    )
    assert rec.completion_tokens > 0 and rec.sample_errors is None


def test_no_seed_means_no_seed_for_every_sample():
    engine = FakeEngine(lambda req: answer())
    run(engine, seed=None, **SAMPLED)
    assert [r.seed for r in engine.requests] == [None, None, None]


def test_a_failed_sample_is_reasked_then_counted_but_does_not_fail_the_case():
    engine = FakeEngine(
        [answer(size=8), "not json", "still not json", answer(size=10), answer(size=12)]
    )
    rec = run(engine, max_reasks=1, temperature=0.7, samples=4)
    assert rec.status == "ok" and rec.error is None
    assert rec.attempts == 5  # 1 + 2 (re-asked once) + 1 + 1
    assert [e.type for e in rec.sample_errors] == ["invalid_json"]
    assert len(rec.samples) == 3 and rec.output["size_mm"] == 10.0
    assert rec.agreement["size_mm"] == 0.3333  # over the 3 valid samples


def test_the_case_fails_only_when_no_sample_is_valid():
    rec = run(FakeEngine(lambda req: "no"), max_reasks=0, **SAMPLED)
    assert rec.status == "failed" and rec.output is None
    assert rec.error.type == "invalid_json"
    assert rec.error.message.startswith("all 3 samples failed; sample 1: ")
    assert len(rec.sample_errors) == 3 and rec.raw_output == "no"


def test_context_overflow_stops_sampling_at_once():
    engine = FakeEngine([ContextOverflow(9000, 512, 8192), answer(), answer()])
    rec = run(engine, **SAMPLED)
    assert rec.status == "failed" and rec.error.type == "context_overflow"
    assert len(engine.requests) == 1


def test_probabilities_are_vote_fractions_over_the_allowed_values():
    engine = FakeEngine([answer(side="right"), answer(side=None), answer(side="right")])
    rec = run(engine, **SAMPLED)
    assert rec.probability_method == "sampling"
    assert rec.probabilities["side"] == pytest.approx({"left": 0, "right": 2 / 3, "null": 1 / 3})
    assert rec.probabilities["present"] == {"true": 1.0, "false": 0.0}


class ScoringEngine(FakeEngine):
    """A fake engine that also reports option probabilities, like llama.cpp does."""

    def __init__(self, replies, probs, method="option_scoring"):
        super().__init__(replies)
        self.probs = list(probs)
        self.method = method

    async def generate(self, request):
        result: GenerationResult = await super().generate(request)
        probs = self.probs.pop(0)
        method = self.method if probs else "unavailable"
        return result.model_copy(update={"option_probs": probs, "probability_method": method})


def test_engine_probabilities_are_averaged_over_the_samples():
    probs = [
        {"present": {"true": 0.9, "false": 0.1}},
        {"present": {"true": 0.6, "false": 0.4}},
        {"present": {"true": 0.3, "false": 0.7}},
    ]
    engine = ScoringEngine([answer(), answer(), answer(present=False)], probs)
    rec = run(engine, **SAMPLED)
    assert rec.probability_method == "option_scoring"
    assert rec.probabilities["present"] == pytest.approx({"true": 0.6, "false": 0.4})


def test_one_sample_keeps_the_engines_probability_method():
    rec = run(ScoringEngine([answer()], [None]))
    assert rec.probability_method == "unavailable" and rec.probabilities is None
    assert rec.agreement is None and rec.samples is None


def test_samples_need_a_temperature():
    with pytest.raises(ValueError, match="--temperature"):
        GenerationConfig(samples=3)
    assert GenerationConfig(samples=1).samples == 1


# --- runs and the command line -----------------------------------------------------

NUMBER_TASK = "name: t\ndescription: d\nfields:\n  n: {type: integer}\n"


def test_cli_refuses_samples_at_temperature_zero_in_one_line(tmp_path):
    (tmp_path / "t.yaml").write_text(NUMBER_TASK)
    (tmp_path / "d.csv").write_text("text\nhallo\n")
    proc = subprocess.run(
        [sys.executable, "-m", "extractinator", "run", "t.yaml", "d.csv", "--out", "o"]
        + ["--samples", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 3 and "Traceback" not in proc.stderr  # ExitCode.INPUT
    assert proc.stderr.strip().count("\n") == 0
    assert "--samples 3" in proc.stderr and "--temperature" in proc.stderr


def test_cli_run_with_samples_writes_agreement_and_samples(tmp_path, monkeypatch):
    import extractinator.runner as runner

    counts = iter([3, 4, 3, 7, 7, 1])
    engine = FakeEngine(lambda req: json.dumps({"n": next(counts)}))
    monkeypatch.setattr(runner, "create_engine", lambda config: engine)
    (tmp_path / "t.yaml").write_text(NUMBER_TASK)
    (tmp_path / "d.csv").write_text("text\neen\ntwee\n")
    from extractinator.cli import main

    args = ["run", str(tmp_path / "t.yaml"), str(tmp_path / "d.csv"), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(
        main, [*args, "--samples", "3", "--temperature", "0.7", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert len(engine.requests) == 6 and engine.closed
    records = [json.loads(x) for x in (tmp_path / "o" / "records.jsonl").read_text().splitlines()]
    assert [(r["output"], r["agreement"]) for r in records] == [
        ({"n": 3}, {"n": 0.6667}),
        ({"n": 7}, {"n": 0.6667}),
    ]
    assert records[0]["samples"] == [{"n": 3}, {"n": 4}, {"n": 3}]
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["generation"]["samples"] == 3
    rows = list(csv.DictReader(io.StringIO((tmp_path / "o" / "records.csv").read_text())))
    assert [(r["n"], r["n_agreement"]) for r in rows] == [("3", "0.6667"), ("7", "0.6667")]
    exported = json.loads((tmp_path / "o" / "records.json").read_text())
    assert exported[1]["samples"] == [{"n": 7}, {"n": 7}, {"n": 1}]


def test_dragon_run_passes_samples_on(tmp_path, monkeypatch):
    import extractinator.dragon.run as dragon_run
    from extractinator.cli import main

    seen = {}

    def fake_run_dragon(input_dir, output_dir, config, **kw):
        seen["generation"] = config.generation
        return []

    monkeypatch.setattr(dragon_run, "run_dragon", fake_run_dragon)
    args = ["dragon", "run", str(tmp_path), str(tmp_path / "out")]
    result = CliRunner().invoke(main, [*args, "--samples", "5", "--temperature", "0.8"])
    assert result.exit_code == 0, result.output
    assert (seen["generation"].samples, seen["generation"].temperature) == (5, 0.8)
    result = CliRunner().invoke(main, [*args, "--samples", "5"])
    assert result.exit_code == 3 and "--temperature" in result.output  # ExitCode.INPUT


def test_run_task_without_samples_keeps_records_unchanged(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("text\neen\n")
    task = Task.model_validate(
        {"name": "t", "description": "d", "fields": {"n": {"type": "integer"}}}
    )
    run_task(task, data, tmp_path / "o", RunConfig(progress=False), engine=FakeEngine(['{"n": 1}']))
    rec = json.loads((tmp_path / "o" / "records.jsonl").read_text())
    assert rec["agreement"] is None and rec["samples"] is None and rec["evidence"] is None
    header = (tmp_path / "o" / "records.csv").read_text().splitlines()[0]
    assert header == "id,status,error_type,error_message,n"
