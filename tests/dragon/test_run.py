"""The DRAGON layer without a model: job folders, conversion to official values, fallbacks,
predictions files, and evaluation of a --limit run."""

from __future__ import annotations

import json
import shutil

import pytest

from extractinator.config import RunConfig
from extractinator.dragon.convert import (
    inventory,
    label_to_output,
    spans_to_tags,
    to_prediction,
)
from extractinator.dragon.derive import derive_entry
from extractinator.dragon.evaluate import evaluate
from extractinator.dragon.jobs import find_jobs, read_job
from extractinator.dragon.run import run_dragon
from extractinator.errors import DataError
from extractinator.records import Record

from fakes import FakeEngine
from paths import DRAGON_SYNTHETIC

INPUT = DRAGON_SYNTHETIC / "test-input"
GT = DRAGON_SYNTHETIC / "test-ground-truth"


def job(name):
    return read_job(next(INPUT.glob(f"{name}*")))


def test_spans_to_bio_tags_single_and_multi_label():
    tokens = ["Lesion", "of", "3.8", "mm", "and", "3.8", "mm", "."]
    text = " ".join(tokens)
    tags = spans_to_tags(text, tokens, [("3.8 mm", "SIZE"), ("3.8 mm", "SIZE")], multi=False)
    assert tags == ["O", "O", "B-SIZE", "I-SIZE", "O", "B-SIZE", "I-SIZE", "O"]
    # the same mention under two labels tags the same tokens twice (multi-label)
    multi = spans_to_tags(text, tokens, [("3.8 mm", "1-lesion"), ("3.8 mm", "2-lesion")], True)
    assert multi[2] == ["B-1-lesion", "B-2-lesion"] and multi[0] == ["O"]
    assert spans_to_tags(text, tokens, [("not there", "X")], multi=False) == ["O"] * 8


def test_ner_labels_round_trip_through_spans():
    j = job("Task108")
    inv = inventory(j)
    entry = derive_entry(j, inv)
    for case in j.train[:20]:
        output = label_to_output(case[j.label_name], case, j, entry)
        record = Record(id=case["uid"], row=0, status="ok", output=output)
        value, fell_back = to_prediction(record, case, j, entry, inv)
        assert not fell_back
        assert value == case[j.label_name]


@pytest.mark.parametrize(
    "task, output, expected",
    [
        ("Task101", {"label_1": True}, 1.0),
        ("Task104", {f"label_{i}": i < 3 for i in range(1, 6)}, [1.0, 1.0, 0.0, 0.0, 0.0]),
        ("Task102", {"label_1": "3"}, "3"),
        ("Task106", {"label_1": 12.5}, 12.5),
    ],
)
def test_outputs_become_official_values(task, output, expected):
    j = job(task)
    inv = inventory(j)
    entry = derive_entry(j, inv)
    record = Record(id="x", row=0, status="ok", output=output)
    assert to_prediction(record, j.test[0], j, entry, inv) == (expected, False)


@pytest.mark.parametrize(
    "task, expected",
    [
        ("Task101", 0.5),
        ("Task104", [0.5] * 5),
        ("Task102", "0"),  # the most frequent training label
        ("Task108", None),  # all O
    ],
)
def test_failed_cases_get_the_documented_fallback(task, expected):
    j = job(task)
    inv = inventory(j)
    entry = derive_entry(j, inv)
    failed = Record(id="x", row=0, status="failed")
    value, fell_back = to_prediction(failed, j.test[0], j, entry, inv)
    assert fell_back
    if expected is None:
        assert value == ["O"] * len(j.test[0]["text_parts"])
    else:
        assert value == expected
    regression = job("Task106")
    inv = inventory(regression)
    value, _ = to_prediction(
        failed, regression.test[0], regression, derive_entry(regression, inv), inv
    )
    assert value == inv.medians[0]


def copy_job(tmp_path, name, new_task_name=None):
    src = next(INPUT.glob(f"{name}*"))
    dst = tmp_path / "input" / src.name.replace(name, new_task_name or name)
    shutil.copytree(src, dst)
    if new_task_name:
        cfg = json.loads((dst / "nlp-task-configuration.json").read_text())
        cfg["task_name"] = cfg["task_name"].replace(name, new_task_name)
        (dst / "nlp-task-configuration.json").write_text(json.dumps(cfg))
    return dst


def test_run_writes_a_prediction_for_every_uid_and_evaluates_partially(tmp_path):
    """A task run with derived fields (as for a task the library does not know) and
    few-shot examples; a failing case still gets a prediction; --partial scores the
    predicted cases."""
    copy_job(tmp_path, "Task101")

    calls = []

    def reply(req):
        calls.append(req)
        if len(calls) == 2:
            return "not json"
        return json.dumps({"label_1": "lesion of 1" in req.messages[-1].content})

    cfg = RunConfig(progress=False, limit=6)
    cfg.generation.max_reasks = 0
    out = tmp_path / "out"
    summaries = run_dragon(
        tmp_path / "input", out, cfg, few_shot=2, library=False, engine=FakeEngine(reply)
    )
    (summary,) = summaries
    assert (summary.cases, summary.ok, summary.failed, summary.fallbacks) == (6, 5, 1, 1)
    preds = json.loads(
        (out / "Task101_Example_sl_bin_clf-fold0/nlp-predictions-dataset.json").read_text()
    )
    test = json.loads(next((tmp_path / "input").glob("*/nlp-test-dataset.json")).read_text())
    assert [p["uid"] for p in preds] == [c["uid"] for c in test[:6]]
    assert all(set(p) == {"uid", "single_label_binary_classification"} for p in preds)
    assert preds[1]["single_label_binary_classification"] == 0.5  # the failed case
    # derived tasks get at least 3 examples (user+assistant turns) before the case
    roles = [m.role for m in calls[0].messages]
    assert roles == ["system"] + ["user", "assistant"] * 3 + ["user"]
    with pytest.raises(DataError, match="use --partial"):
        evaluate(GT, out, folds=[0], tasks=["Task101"])
    result = evaluate(GT, out, folds=[0], tasks=["Task101"], partial=True)
    assert result["partial_cases"] == {"Task101_Example_sl_bin_clf-fold0": 6}
    assert 0.0 <= result["aggregates"]["overall"]["mean"] <= 1.0


def test_rerun_resumes_and_rewrites_the_same_predictions(tmp_path):
    copy_job(tmp_path, "Task106", "Task906")
    cfg = RunConfig(progress=False, limit=3)
    out = tmp_path / "out"
    run_dragon(tmp_path / "input", out, cfg, engine=FakeEngine(lambda r: '{"label_1": 7}'))
    first = (out / "Task906_Example_sl_reg-fold0/nlp-predictions-dataset.json").read_text()
    engine = FakeEngine([])  # any model call would fail: everything is resumed
    (summary,) = run_dragon(tmp_path / "input", out, cfg, engine=engine)
    assert engine.requests == [] and summary.ok == 3
    assert (out / "Task906_Example_sl_reg-fold0/nlp-predictions-dataset.json").read_text() == first


def test_bad_job_folders_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        find_jobs(tmp_path / "nope")
    with pytest.raises(DataError, match="no DRAGON job folders"):
        find_jobs(tmp_path)
    dst = copy_job(tmp_path, "Task101")
    (dst / "nlp-test-dataset.json").write_text("[]")
    with pytest.raises(DataError, match="test set is empty"):
        read_job(dst)
    (dst / "nlp-test-dataset.json").write_text("[{")
    with pytest.raises(DataError, match="nlp-test-dataset.json: not valid JSON"):
        read_job(dst)
    (dst / "nlp-test-dataset.json").write_text('[{"uid": "a"}]')
    with pytest.raises(DataError, match="uid a: field 'text' missing"):
        read_job(dst)
    cfg = json.loads((dst / "nlp-task-configuration.json").read_text())
    cfg["label_name"] = "ranking_target"
    (dst / "nlp-task-configuration.json").write_text(json.dumps(cfg))
    with pytest.raises(DataError, match="unknown label_name 'ranking_target'"):
        read_job(dst)
    (dst / "nlp-task-configuration.json").unlink()
    with pytest.raises(DataError, match="no DRAGON job folders"):
        find_jobs(tmp_path / "input")


def test_translate_runs_a_cached_translation_first_and_extracts_from_it(tmp_path):
    copy_job(tmp_path, "Task106", "Task906")

    def reply(req):
        if "translation" in (req.json_schema or {}).get("properties", {}):
            return json.dumps({"translation": "TRANSLATED " + req.messages[-1].content[:20]})
        assert req.messages[-1].content.startswith("TRANSLATED ")
        return '{"label_1": 7}'

    cfg = RunConfig(progress=False, limit=2)
    out = tmp_path / "out"
    engine = FakeEngine(reply)
    (summary,) = run_dragon(tmp_path / "input", out, cfg, translate=True, engine=engine)
    assert summary.ok == 2 and len(engine.requests) == 4
    job_dir = out / "Task906_Example_sl_reg-fold0"
    assert (job_dir / "translate" / "records.jsonl").exists()
    assert (job_dir / "run-translated" / "records.jsonl").exists()
    again = FakeEngine(reply)  # translations and answers are both resumed from disk
    run_dragon(tmp_path / "input", out, cfg, translate=True, engine=again)
    assert again.requests == []


def test_an_evenly_spaced_sample_spreads_over_the_whole_set():
    from extractinator.dragon.run import evenly_spaced

    assert evenly_spaced(list(range(10)), 4) == [0, 2, 5, 7]
    assert evenly_spaced(list(range(3)), 5) == [0, 1, 2]
    assert evenly_spaced(list(range(150)), 20)[-1] == 142


def test_a_null_regression_answer_counts_as_a_fallback():
    j = job("Task106")
    inv = inventory(j)
    entry = derive_entry(j, inv)
    answered_null = Record(id="x", row=0, status="ok", output={"label_1": None})
    assert to_prediction(answered_null, j.test[0], j, entry, inv) == (inv.medians[0], True)


def test_training_labels_of_the_wrong_type_never_become_few_shot_answers(caplog):
    from extractinator.dragon.fewshot import FewShotSelector

    j = job("Task101")
    entry = derive_entry(j, inventory(j))
    good = len(j.labelled)
    j.labelled[0][j.label_name] = "maybe"  # a damaged label (DragonJob keeps the dicts)
    j.labelled[1][j.label_name] = 1
    selector = FewShotSelector(j, entry, 3)
    assert len(selector.pool) == good - 2
    assert all(isinstance(output["label_1"], bool) for _, output in selector.pool)
    uid = j.labelled[0]["uid"]
    assert selector.refused[0] == (
        f"uid {uid}: field 'label_1': Input should be a valid boolean (got 'maybe')"
    )
    assert "2 training labels do not fit the task's fields" in caplog.text


@pytest.mark.parametrize("task", ["Task108", "Task109"])
def test_ner_tasks_keep_the_pairs_layout_their_figures_were_measured_with(task):
    from extractinator.dragon.library import find_entry
    from extractinator.task.spec import DEFAULT_SPAN_LAYOUT

    j = job(task)
    derived = derive_entry(j, inventory(j)).task.fields["entities"]
    library = find_entry(j.task_name)
    assert library is not None
    spans = [f for f in library.task.fields.values() if f.type == "spans"]
    assert DEFAULT_SPAN_LAYOUT != "pairs"  # user tasks get the default chosen on held-out dev
    assert derived.span_layout == "pairs" and [f.span_layout for f in spans] == ["pairs"]
