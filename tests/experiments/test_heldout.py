"""The held-out benchmark (benchmarks/heldout.py, experiments/heldout*.py) on the fixture in
tests/fixtures/heldout with a scripted engine; the sweep's `heldout` kind; one real-model run."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from extractinator.config import LlamaCppConfig, RunConfig
from extractinator.errors import DataError
from extractinator.experiments.compare import compare_cells
from extractinator.experiments.execute import run_sweep
from extractinator.experiments.heldout import field_kind, load_heldout_task, load_tasks, run_heldout
from extractinator.experiments.heldout_scoring import HeldoutResult, case_outcome, score_run_dirs
from extractinator.experiments.heldout_table import format_markdown, format_results
from extractinator.experiments.leaderboard import collect
from extractinator.task.spec import FieldSpec

from fakes import FakeEngine
from paths import REPO

FIXTURE = REPO / "tests" / "fixtures" / "heldout"
BENCHMARKS = REPO / "benchmarks"

# scripted answers by a phrase of the case text; "not json" fails the case (after re-asks)
ANSWERS = {
    "rechter onderkwab": {"nodule_present": True, "side": "rechts", "largest_nodule_mm": 14,
                          "nodule_count": 1},
    "twee noduli links": {"nodule_present": True, "side": "links", "largest_nodule_mm": 7,
                          "nodule_count": 3},
    "Normale longen": "not json",
    "Geen longnoduli": {"nodule_present": False, "side": "geen", "largest_nodule_mm": None,
                        "nodule_count": 0},
    "beide longen": {"nodule_present": True, "side": "rechts", "largest_nodule_mm": 9,
                     "nodule_count": 2},
    "pneumonie": {"allergies": ["Penicilline"], "destination": "huis",
                  "entities": {"MEDICATION": ["amoxicilline"], "DIAGNOSIS": ["pneumonie"]}},
    "Na CVA": {"allergies": ["jodium"], "destination": "huis",
               "entities": {"MEDICATION": ["Clopidogrel"], "DIAGNOSIS": ["CVA"]}},
    "hartfalen": {"allergies": [], "destination": "verpleeghuis",
                  "entities": {"MEDICATION": ["furosemide", "metoprolol"],
                               "DIAGNOSIS": ["hartfalen"]}},
    "COPD": {"allergies": ["latex"], "destination": "huis",
             "entities": {"MEDICATION": ["Prednison", "latex"], "DIAGNOSIS": ["COPD"]}},
}  # fmt: skip


def scripted(request) -> str:
    text = request.messages[-1].content
    for phrase, answer in ANSWERS.items():
        if phrase in text:
            return answer if isinstance(answer, str) else json.dumps(answer)
    raise AssertionError(f"no scripted answer for {text[:80]!r}")


def config(**kw) -> RunConfig:
    return RunConfig(engine=LlamaCppConfig(), progress=False, **kw)


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("heldout") / "runs"
    tasks = load_tasks(FIXTURE)
    engine = FakeEngine(scripted)
    run_heldout(tasks, "dev", out, config(), engine=engine)
    assert not engine.closed  # an engine passed in is left open
    return tasks, out


# ------------------------------------------------------------------------------ data


def test_fixture_loads_with_kinds_splits_and_labels():
    tasks = load_tasks(FIXTURE)
    assert [t.name for t in tasks] == ["fixture_letter", "fixture_thorax"]
    thorax = tasks[1]
    assert thorax.kinds == {
        "nodule_present": "boolean",
        "side": "enum",
        "largest_nodule_mm": "amount",
        "nodule_count": "integer",
    }
    assert [c.id for c in thorax.split_cases("dev")] == [
        "fixture_thorax_001",
        "fixture_thorax_003",
        "fixture_thorax_005",
    ]
    assert len(thorax.split_cases("test")) == 2 and len(thorax.split_cases("all", 4)) == 4
    assert thorax.labels["fixture_thorax_002"]["largest_nodule_mm"] is None
    letter = tasks[0]
    assert letter.labels["fixture_letter_003"]["allergies"] == ["jodium", "pleisters"]
    assert letter.labels["fixture_letter_002"]["entities"][3] == {
        "text": "furosemide", "label": "MEDICATION", "start": 125, "end": 135,
    }  # fmt: skip
    assert [t.name for t in load_tasks(FIXTURE, ["fixture_thorax"])] == ["fixture_thorax"]


def test_kind_falls_back_to_the_field_type():
    assert field_kind(FieldSpec(type="number", unit="mm")) == "amount"
    assert field_kind(FieldSpec(type="integer")) == "integer"
    assert field_kind(FieldSpec(type="spans", labels=["X"])) == "spans"
    assert field_kind(FieldSpec(type="number"), "amount") == "amount"


def _copy(tmp_path: Path, name: str = "fixture_letter") -> Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURE / name, folder)
    return folder


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        ("cases.jsonl", '"split": "test"', '"split": "train"',
         "split must be one of dev, dev2, dev3, dev4, test"),
        ("labels.jsonl", '"start": 69, "end": 81', '"start": 68, "end": 80',
         "span 'amoxicilline' is not the text at 68:80"),
        ("labels.jsonl", '"destination": "huis"', '"destination": "thuis"',
         "'thuis' is not one of the allowed values"),
        ("labels.jsonl", '"label": "DIAGNOSIS"', '"label": "DIAG"', "'DIAG' is not one of"),
        ("meta.yaml", "entities: spans", "entities: entity", "'entity' is not one of"),
        ("meta.yaml", "entities: spans", "entitys: spans", "names 'entitys'"),
    ],
)  # fmt: skip
def test_bad_task_folders_are_one_line_errors(tmp_path, file, old, new, message):
    folder = _copy(tmp_path)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError, match=message) as info:
        load_heldout_task(folder)
    assert "\n" not in str(info.value) and file in str(info.value)


def test_every_case_needs_a_label_line(tmp_path):
    folder = _copy(tmp_path)
    lines = (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "labels.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="no label line for case 'fixture_letter_004'"):
        load_heldout_task(folder)
    with pytest.raises(DataError, match="no task 'nope'"):
        load_tasks(FIXTURE, ["nope"])


def test_dev2_cases_are_a_split_of_their_own(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "cases.jsonl"
    text = path.read_text(encoding="utf-8")
    assert '"split": "dev"' in text
    path.write_text(text.replace('"split": "dev"', '"split": "dev2"', 1), encoding="utf-8")
    task = load_heldout_task(folder)
    moved = [c.id for c in task.split_cases("dev2")]
    assert len(moved) == 1
    assert moved[0] not in [c.id for c in task.split_cases("dev")]
    assert moved[0] not in [c.id for c in task.split_cases("test")]
    assert moved[0] in [c.id for c in task.split_cases("all")]


# ------------------------------------------------------------------------------ scoring


def test_dev_split_scores_per_field_task_kind_and_overall(dev_run):
    tasks, out = dev_run
    ours = score_run_dirs(tasks, "dev", out)
    thorax = ours.tasks["fixture_thorax"]
    assert (thorax.cases, thorax.failed, thorax.missing) == (3, 1, 0)  # "Normale longen" failed
    scores = {n: f.score for n, f in thorax.fields.items()}
    assert scores == pytest.approx(
        {"nodule_present": 2 / 3, "side": 2 / 3, "largest_nodule_mm": 2 / 3, "nodule_count": 1 / 3}
    )  # 14 (1,4 cm) and 7 are right; the failed case is wrong for every field
    assert thorax.mean == pytest.approx(7 / 12)
    letter = ours.tasks["fixture_letter"]
    allergies, entities = letter.fields["allergies"], letter.fields["entities"]
    assert allergies.score == 0.5 and allergies.items.f1 == pytest.approx(0.8)
    # "Clopidogrel" is not the exact text, but our aligner grounds it to the right offsets
    assert entities.spans_offsets.f1 == 1.0 and entities.score == 1.0
    assert entities.spans_text.f1 == pytest.approx(0.75)
    assert letter.mean == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert letter.span_f1_text == pytest.approx(0.75)
    assert ours.overall == pytest.approx((7 / 12 + 2 / 3) / 2)  # the mean of the task means
    assert ours.kinds == pytest.approx(
        {"boolean": 2 / 3, "enum": (2 / 3 + 1 / 2) / 2, "amount": 2 / 3, "integer": 1 / 3,
         "list": 0.5, "spans": 1.0}
    )  # fmt: skip
    assert list(ours.kinds) == ["boolean", "enum", "amount", "integer", "list", "spans"]
    assert (ours.cases, ours.failed) == (5, 1)
    assert thorax.timed_cases == 3 and thorax.seconds and ours.cases_per_min > 0


def test_unrun_cases_count_as_failed(dev_run):
    tasks, out = dev_run
    ours = score_run_dirs(tasks, "test", out)  # nothing of the test split has run
    assert ours.failed == ours.cases == 4 and ours.overall == 0.0
    assert ours.tasks["fixture_letter"].fields["entities"].spans_offsets.fn == 6


def test_an_amount_within_one_percent_of_the_label_is_a_hit():
    spec = FieldSpec(type="number", unit="mm", nullable=True)
    assert case_outcome(spec, 14, 14.1, answered=True).hit  # within 1%
    assert not case_outcome(spec, 7, 7.2, answered=True).hit  # 3% off
    assert not case_outcome(spec, 14, 14.0, answered=False).hit  # not answered


def test_answers_say_how_each_case_was_answered(tmp_path):
    tasks = load_tasks(FIXTURE, ["fixture_thorax"])
    calls: dict[str, int] = {}

    def first_answer_invalid(request):  # the first answer to "rechter onderkwab" is not JSON
        if "rechter onderkwab" in " ".join(msg.content for msg in request.messages):
            calls["right"] = calls.get("right", 0) + 1
            if calls["right"] == 1:
                return "not json"
            return json.dumps(ANSWERS["rechter onderkwab"])
        return scripted(request)

    run_heldout(tasks, "dev", tmp_path, config(), engine=FakeEngine(first_answer_invalid))
    ours = score_run_dirs(tasks, "dev", tmp_path)
    expected = {"valid first time": 1, "valid after re-asks": 1, "repaired": 0, "failed": 1}
    assert ours.tasks["fixture_thorax"].answers == expected and ours.answers == expected
    assert calls["right"] == 2
    text = format_results(HeldoutResult(root=str(FIXTURE), split="dev", tasks=["fixture_thorax"],
                                        systems=[ours]))  # fmt: skip
    assert "extractinator answers: 1 valid first time · 1 valid after re-asks · 0 repaired · " \
        "1 failed" in text  # fmt: skip


def test_table_and_markdown_name_every_task_and_kind(dev_run):
    tasks, out = dev_run
    result = HeldoutResult(
        root=str(FIXTURE), split="dev", tasks=[t.name for t in tasks],
        systems=[score_run_dirs(tasks, "dev", out, detail="fake engine")],
    )  # fmt: skip
    text = format_results(result)
    assert "split dev" in text and "extractinator: fake engine" in text
    header = next(line for line in text.splitlines() if line.startswith("task "))
    for col in ("cases/min", "mean", "boolean", "amount", "list", "span F1 text", "offsets"):
        assert col in header
    assert " spans " not in header  # the spans score is the "span F1 offsets" column
    overall = next(line for line in text.splitlines() if line.startswith("overall"))
    assert "0.583" in overall
    assert re.search(r"fixture_letter\.entities +spans +2 +1\.000 \(text 0\.750\)", text)
    md = format_markdown(result)
    assert md.startswith("| task | system |") and "| overall | extractinator | 5 | 1 |" in md


# ------------------------------------------------------------------------------ the script


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("heldout")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_tasks_option_takes_several_names(script):
    argv = ["--tasks", "a", "b", "--split", "dev", "--tasks", "c"]
    assert script.expand_tasks(argv) == [
        "--tasks", "a", "--tasks", "b", "--split", "dev", "--tasks", "c",
    ]  # fmt: skip


def test_script_scores_run_dirs_and_writes_json(dev_run, script, tmp_path):
    _, out = dev_run
    args = ["--root", str(FIXTURE), "--out", str(out), "--score-only", "--json",
            str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md")]  # fmt: skip
    res = CliRunner().invoke(script.main, args)
    assert res.exit_code == 0, res.output
    assert "fixture_thorax" in res.output and "overall" in res.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["benchmark"] == "heldout" and data["split"] == "dev"
    assert data["systems"][0]["overall"] == pytest.approx((7 / 12 + 2 / 3) / 2)
    assert data["systems"][0]["tasks"]["fixture_letter"]["fields"]["entities"]["kind"] == "spans"
    assert (tmp_path / "r.md").read_text().startswith("| task |")
    res = CliRunner().invoke(script.main, ["--root", str(tmp_path / "none"), "--score-only"])
    assert res.exit_code == 2 and "not a folder of held-out tasks" in res.output


# ------------------------------------------------------------------------------ sweep


def heldout_sweep(tmp_path: Path) -> Path:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    data = {
        "benchmark": {"heldout": str(FIXTURE), "split": "dev"},
        "models": ["m.gguf"],
        "grid": {"prompt": ["default", "careful"]},
        "prompts": {"careful": {"append": "Lees zorgvuldig."}},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_sweep_heldout_kind_scores_like_the_benchmark(tmp_path):
    out = tmp_path / "out"
    outcomes = run_sweep(
        heldout_sweep(tmp_path), out, progress=False, echo=lambda s: None,
        engine_factory=lambda cfg: FakeEngine(scripted, model_id="fake:m"),
    )  # fmt: skip
    assert [o.status for o in outcomes] == ["finished", "finished"], outcomes[0].error
    scores = outcomes[0].scores
    assert scores.benchmark == "heldout" and scores.cases == 5 and scores.failed == 1
    assert scores.overall == pytest.approx((7 / 12 + 2 / 3) / 2)
    assert scores.tasks["fixture_thorax"].score == pytest.approx(7 / 12)
    assert scores.types["amount"] == pytest.approx(2 / 3)
    cell = out / "m__fewshot0__translate-off"
    assert (cell / "fixture_letter" / "records.jsonl").exists()
    board = collect(out)
    assert board.benchmark == "heldout" and "spans" in board.types
    assert set(board.tasks) == {"fixture_letter", "fixture_thorax"}
    comparison = compare_cells(cell, out / "m__fewshot0__translate-off__prompt-careful", n_boot=50)
    assert [d.task for d in comparison.tasks] == ["fixture_letter", "fixture_thorax"]
    assert comparison.tasks[1].score_a == pytest.approx(7 / 12)
    assert comparison.overall.diff == pytest.approx(0.0)  # the same scripted answers


def test_sweep_heldout_unknown_task_is_a_config_error(tmp_path):
    from extractinator.errors import ConfigError
    from extractinator.experiments.sweep import load_sweep

    path = heldout_sweep(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["benchmark"]["tasks"] = ["nope"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"`benchmark.heldout`: .*no task 'nope'"):
        load_sweep(path)
    data["benchmark"] = {"heldout": str(FIXTURE), "grid": 1}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="`benchmark.grid`: unknown key"):
        load_sweep(path)


# ------------------------------------------------------------------------------ real model


@pytest.mark.model
def test_heldout_script_with_the_real_model(tmp_path):
    out, result = tmp_path / "runs", tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "heldout.py"), "--root", str(FIXTURE),
         "--tasks", "fixture_thorax", "--split", "dev", "--limit", "2", "--out", str(out),
         "--json", str(result), "--n-ctx", "4096", "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(result.read_text())
    thorax = data["systems"][0]["tasks"]["fixture_thorax"]
    assert thorax["cases"] == 2 and thorax["timed_cases"] == 2
    assert len((out / "fixture_thorax" / "records.jsonl").read_text().splitlines()) == 2
    # the first case states a nodule in the right lower lobe plainly
    assert thorax["fields"]["nodule_present"]["hits"] >= 1
    assert "fixture_thorax" in proc.stdout and "overall" in proc.stdout
    detail = data["systems"][0]["detail"]  # from the run directory's manifest
    assert "llamacpp qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" in detail and "max_reasks 2" in detail


def test_a_variant_task_file_may_add_findings_and_compute_the_labelled_fields(tmp_path):
    folder = tmp_path / "fixture_thorax"
    shutil.copytree(FIXTURE / "fixture_thorax", folder)
    (folder / "task.features.yaml").write_text(
        """name: fixture_thorax
description: Noduli.
input: text
id: id
fields:
  sizes: {type: list, items: {type: number, unit: mm}}
  sides: {type: list, items: {type: enum, values: [links, rechts]}}
  nodule_present: {type: boolean, compute: "len(sizes) > 0"}
  side:
    type: enum
    values: [links, rechts, beide, geen]
    compute: "'geen' if not sides else 'beide' if len(distinct(sides)) > 1 else sides[0]"
  largest_nodule_mm: {type: number, unit: mm, nullable: true, compute: "max(sizes)"}
  nodule_count: {type: integer, compute: "len(sizes)"}
""",
        encoding="utf-8",
    )
    plain = load_heldout_task(folder)
    features = load_heldout_task(folder, "features")
    assert (plain.task_file, features.task_file) == ("task.yaml", "task.features.yaml")
    assert list(features.scored_fields) == [
        "nodule_present",
        "side",
        "largest_nodule_mm",
        "nodule_count",
    ]
    assert "sizes" in features.task.fields and "sizes" not in features.scored_fields
    assert load_heldout_task(folder, "nothing-like-it").task_file == "task.yaml"


def test_retrim_rescores_the_written_spans_with_another_trim_mode(tmp_path):
    tasks = load_tasks(FIXTURE, ["fixture_letter"])
    letter = {
        "pneumonie": {"allergies": ["penicilline"], "destination": "huis",
                      "entities": {"MEDICATION": ["amoxicilline 500 mg 3dd"],
                                   "DIAGNOSIS": ["pneumonie"]}},
        "Na CVA": {"allergies": ["jodium", "pleisters"], "destination": "revalidatie",
                   "entities": {"MEDICATION": ["clopidogrel 75 mg"], "DIAGNOSIS": ["CVA"]}},
    }  # fmt: skip

    def answer(request) -> str:
        text = request.messages[-1].content
        return json.dumps(next(a for p, a in letter.items() if p in text))

    run_heldout(tasks, "dev", tmp_path, config(), engine=FakeEngine(answer))
    as_run = score_run_dirs(tasks, "dev", tmp_path).tasks["fixture_letter"]
    untrimmed = score_run_dirs(tasks, "dev", tmp_path, retrim="none")
    entities = untrimmed.tasks["fixture_letter"].fields["entities"]
    assert as_run.fields["entities"].score == 1.0  # the default trim cut dose and frequency
    assert entities.spans_offsets.tp == 2 and entities.spans_offsets.fp == 2
    assert "re-cut offline with trim: none" in untrimmed.detail
    again = score_run_dirs(tasks, "dev", tmp_path).tasks["fixture_letter"]
    assert again.fields["entities"].score == 1.0  # the run's own records are left as they were


def test_reread_reads_the_amounts_the_model_wrote_again_by_the_current_rules(tmp_path):
    tasks = load_tasks(FIXTURE, ["fixture_thorax"])
    answer = {"nodule_present": True, "side": "rechts", "largest_nodule_mm": "1,4",
              "nodule_count": 1}  # fmt: skip
    lungs = {"nodule_present": False, "side": "geen", "largest_nodule_mm": None,
             "nodule_count": 0}  # fmt: skip
    engine = FakeEngine(
        lambda r: json.dumps(answer if "rechter" in r.messages[-1].content else lungs)
    )
    run_heldout(tasks, "dev", tmp_path, config(), engine=engine)
    records = tmp_path / "fixture_thorax" / "records.jsonl"
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    first = next(r for r in lines if r["id"] == "fixture_thorax_001")
    assert first["output"]["largest_nodule_mm"] == 14.0  # "1,4" stands in "1,4 cm"
    first["output"]["largest_nodule_mm"] = 1.4  # as an older rule read it
    records.write_text("".join(json.dumps(r) + "\n" for r in lines))

    stale = score_run_dirs(tasks, "dev", tmp_path).tasks["fixture_thorax"]
    again = score_run_dirs(tasks, "dev", tmp_path, reread=True)
    field = again.tasks["fixture_thorax"].fields["largest_nodule_mm"]
    assert stale.fields["largest_nodule_mm"].hits == field.hits - 1
    assert "amounts read again offline" in again.detail
