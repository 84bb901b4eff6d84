"""Evaluation and calibration reports: the math by hand and against scikit-learn, and end to
end on small run directories (records with probabilities, a labels file, PNGs, errors)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest

from extractinator.config import RunConfig
from extractinator.errors import DataError, RunDirError
from extractinator.records import Record, RecordError
from extractinator.reports import calibration as cal
from extractinator.reports import plots
from extractinator.reports.evaluate import evaluate_run, write_evaluation
from extractinator.reports.labels import UNLABELLED, parse_label
from extractinator.runner import run_task
from extractinator.sink import RunDir
from extractinator.task import Task
from extractinator.task.spec import FieldSpec

from fakes import FakeEngine

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "extractinator", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 3, proc.stderr  # ExitCode.INPUT
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]


# ------------------------------------------------------------------------------------------
# The math.


def test_ece_hand_computed():
    # bin [0.9, 1]: confidence .95, accuracy .5 (gap .45, half the cases);
    # bin [0.6, 0.7): confidence .65, accuracy 1 (gap .35, half the cases)
    ece = cal.expected_calibration_error([0.95, 0.95, 0.65, 0.65], [True, False, True, True])
    assert ece == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    assert cal.expected_calibration_error([0.3], [False]) == pytest.approx(0.3)
    assert cal.expected_calibration_error([], []) is None


def test_perfect_calibration_has_zero_ece():
    confidences = [0.8] * 10 + [0.55] * 20 + [1.0] * 3
    correct = [True] * 8 + [False] * 2 + [True] * 11 + [False] * 9 + [True] * 3
    assert cal.expected_calibration_error(confidences, correct) == pytest.approx(0.0, abs=1e-12)


def test_bins_are_equal_width_with_counts():
    bins = cal.reliability_bins([0.0, 0.3, 0.35, 0.7, 1.0], [True, False, True, True, False])
    assert len(bins) == 10
    assert [b.count for b in bins] == [1, 0, 0, 2, 0, 0, 0, 1, 0, 1]
    assert (bins[3].lower, bins[3].upper) == pytest.approx((0.3, 0.4))
    assert bins[3].confidence == pytest.approx(0.325) and bins[3].accuracy == 0.5
    assert bins[1].confidence is None and bins[1].accuracy is None
    with pytest.raises(ValueError, match="not a probability"):
        cal.reliability_bins([1.2], [True])


def test_coverage_curve_is_monotone_and_counts_kept_cases():
    rng = random.Random(3)
    confidences = [rng.random() for _ in range(300)]
    correct = [rng.random() < c for c in confidences]
    thresholds = [i / 20 for i in range(21)]
    curve = cal.coverage_curve(confidences, correct, thresholds)
    assert curve[0].coverage == 1.0 and curve[0].n == 300
    coverages = [p.coverage for p in curve]
    assert coverages == sorted(coverages, reverse=True)
    for p in curve:
        kept = [ok for c, ok in zip(confidences, correct, strict=True) if c >= p.threshold]
        assert p.n == len(kept)
        assert p.accuracy == (sum(kept) / len(kept) if kept else None)
    # confident cases are right more often here, so accuracy rises with the threshold
    assert curve[18].accuracy > curve[0].accuracy


def test_auc_and_macro_f1_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(7)
    for _ in range(20):
        n = rng.randint(2, 40)
        scores = [rng.choice([0.1, 0.25, 0.5, 0.9, rng.random()]) for _ in range(n)]  # ties
        labels = [rng.random() < 0.4 for _ in range(n)]
        if len(set(labels)) == 2:
            assert cal.roc_auc(scores, labels) == pytest.approx(
                metrics.roc_auc_score(labels, scores)
            )
        truth = [rng.choice("abc") for _ in range(n)]
        pred = [rng.choice("abcd") for _ in range(n)]
        assert cal.macro_f1(truth, pred) == pytest.approx(
            metrics.f1_score(truth, pred, average="macro", zero_division=0)
        )
    assert cal.roc_auc([0.2, 0.9], [True, True]) is None


def test_brier_binary_and_multiclass():
    probs = [{"true": 0.9, "false": 0.1}, {"true": 0.2, "false": 0.8}]
    assert cal.brier_score(probs, ["true", "true"], binary=True) == pytest.approx((0.01 + 0.64) / 2)
    multi = [{"a": 0.5, "b": 0.3, "c": 0.2}]
    assert cal.brier_score(multi, ["b"], binary=False) == pytest.approx(0.25 + 0.49 + 0.04)


def test_within_relative():
    assert cal.within_relative(20, 21) and not cal.within_relative(20, 21.01)
    assert cal.within_relative(0, 0) and not cal.within_relative(0, 0.1)


def test_parse_label_by_type():
    boolean = FieldSpec(type="boolean")
    assert [parse_label(v, boolean) for v in ("true", "No", "1", 0, True, " ja ")] == [
        True,
        False,
        True,
        False,
        True,
        True,
    ]
    assert parse_label("", boolean) is UNLABELLED
    assert parse_label("", FieldSpec(type="boolean", nullable=True)) is None
    enum = FieldSpec(type="enum", values=["left", "right", 3])
    assert parse_label("Left", enum) == "left" and parse_label("3.0", enum) == 3
    assert parse_label("1,5", FieldSpec(type="number")) == 1.5
    with pytest.raises(ValueError, match="not one of the allowed values"):
        parse_label("middle", enum)
    with pytest.raises(ValueError, match="not a number"):
        parse_label("ten", FieldSpec(type="integer"))
    with pytest.raises(ValueError, match="not a boolean"):
        parse_label("maybe", boolean)


# ------------------------------------------------------------------------------------------
# End to end on a run directory.

TASK = Task.model_validate(
    {
        "name": "nodules",
        "description": "d",
        "id": "id",
        "fields": {
            "nodule": {"type": "boolean"},
            "side": {"type": "enum", "values": ["left", "right", "none"]},
            "size_mm": {"type": "number", "nullable": True},
            "location": {"type": "string"},
            "sites": {"type": "list", "items": {"type": "string"}},
        },
    }
)


def _ok(case_id, row, output, p_true, side_probs):
    return Record(
        id=case_id,
        row=row,
        status="ok",
        key=case_id,
        output={**output, "sites": []},
        probabilities={"nodule": {"true": p_true, "false": 1 - p_true}, "side": side_probs},
        probability_method="option_scoring",
    )


def make_run(path):
    rundir = RunDir(path)
    rundir.prepare({}, overwrite=True)
    rundir.write_manifest({"task": {"definition": TASK.model_dump(mode="json")}})
    out = [
        ({"nodule": True, "side": "left", "size_mm": 10, "location": "RUL"}, 0.9,
         {"left": 0.8, "right": 0.1, "none": 0.1}),
        ({"nodule": False, "side": "none", "size_mm": None, "location": "none"}, 0.2,
         {"left": 0.2, "right": 0.2, "none": 0.6}),
        ({"nodule": True, "side": "right", "size_mm": 21, "location": "LLL"}, 0.7,
         {"left": 0.45, "right": 0.55, "none": 0.0}),
        ({"nodule": True, "side": "left", "size_mm": 4, "location": "rul "}, 0.95,
         {"left": 0.95, "right": 0.05, "none": 0.0}),
    ]  # fmt: skip
    for i, (output, p_true, side) in enumerate(out):
        rundir.append(_ok(f"c{i}", i, output, p_true, side))
    rundir.append(
        Record(id="c4", row=4, status="failed", key="c4", error=RecordError(type="x", message="y"))
    )
    rundir.append(_ok("c5", 5, out[0][0], 0.9, out[0][2]))  # a record without a label
    rundir.close()
    return path


LABELS = """id,nodule,side,size_mm,location,sites
c0,true,left,10,RUL,
c1,no,none,,none,
c2,1,left,20,LLL,
c3,false,left,5,RUL,
c4,true,right,3,x,
"""


@pytest.fixture
def run_and_labels(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(LABELS, encoding="utf-8")
    return make_run(tmp_path / "run"), labels


def test_evaluate_scores_each_field(run_and_labels):
    run, labels = run_and_labels
    ev = evaluate_run(run, labels)
    assert ev.id_column == "id"
    m = ev.matching
    assert (m.labels, m.records, m.matched, m.records_without_label) == (5, 6, 5, 1)
    assert list(ev.fields) == ["nodule", "side", "size_mm", "location", "sites"]
    assert (ev.fields["sites"].n, ev.fields["sites"].unlabelled) == (0, 5)  # blank column

    nodule = ev.fields["nodule"]
    assert (nodule.n, nodule.ok, nodule.coverage) == (5, 4, 0.8)
    assert nodule.accuracy == 0.75
    assert nodule.macro_f1 == pytest.approx((0.8 + 2 / 3) / 2)
    c = nodule.calibration
    # confidences .9 (right) .8 (right) .7 (right) .95 (wrong)
    assert c.n == 4 and c.method == "option_scoring" and c.brier_kind == "binary"
    assert c.ece == pytest.approx(0.5 * abs(0.5 - 0.925) + 0.25 * 0.2 + 0.25 * 0.3)
    assert c.brier == pytest.approx((0.01 + 0.04 + 0.09 + 0.9025) / 4)
    assert c.auc == pytest.approx(0.5)
    at = {p.threshold: p for p in c.coverage_curve}
    assert (at[0.9].n, at[0.9].coverage, at[0.9].accuracy) == (2, 0.5, 0.5)
    assert at[0.8].accuracy == pytest.approx(2 / 3)

    side = ev.fields["side"]
    assert side.accuracy == 0.75 and side.calibration.brier_kind == "multiclass"
    assert side.calibration.auc is None
    size = ev.fields["size_mm"]
    assert size.mae == pytest.approx(2 / 3) and size.n_numeric == 3
    assert size.within_5pct == 0.75  # 21 vs 20 is within 5%; null = null counts; 4 vs 5 not
    assert size.calibration is None
    assert ev.fields["location"].accuracy == 1.0  # case and whitespace are ignored


def test_write_evaluation_json_and_pngs(run_and_labels, tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    run, labels = run_and_labels
    ev = evaluate_run(run, labels, fields=["nodule", "size_mm"])
    path = write_evaluation(ev, tmp_path / "report")
    data = json.loads(path.read_text())
    assert set(data["fields"]) == {"nodule", "size_mm"}
    assert data["fields"]["nodule"]["calibration"]["ece"] == pytest.approx(0.3375)
    assert "curve" not in data["fields"]["nodule"]["calibration"]
    assert len(data["fields"]["nodule"]["calibration"]["bins"]) == 10
    pngs = data["fields"]["nodule"]["plots"]
    assert pngs == {"reliability": "nodule_reliability.png", "coverage": "nodule_coverage.png"}
    for name in pngs.values():
        png = tmp_path / "report" / name
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(png) as im:
            im.verify()
            assert im.size[0] > 300 and im.size[1] > 300
    assert data["fields"]["size_mm"]["plots"] == {}
    assert sorted(p.name for p in (tmp_path / "report").glob("*.png")) == [
        "nodule_coverage.png",
        "nodule_reliability.png",
    ]


def test_without_matplotlib_json_and_a_note(run_and_labels, tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    run, labels = run_and_labels
    path = write_evaluation(evaluate_run(run, labels), tmp_path / "r")
    data = json.loads(path.read_text())
    assert data["fields"]["nodule"]["calibration"]["ece"] == pytest.approx(0.3375)
    assert "pip install 'extractinator[report]'" in " ".join(data["notes"])
    assert not list((tmp_path / "r").glob("*.png"))


def test_cli_evaluate_prints_tables(run_and_labels, tmp_path):
    run, labels = run_and_labels
    proc = cli("evaluate", run, labels, "--out", tmp_path / "ev", "--fields", "nodule,side")
    assert proc.returncode == 0, proc.stderr
    assert "Evaluation per field" in proc.stdout
    assert "0.338" in proc.stdout  # the ECE of nodule
    assert "nodule: keep cases with confidence" in proc.stdout
    assert re.search(r"0\.80\s+3\s+75\.0%\s+66\.7%", proc.stdout)  # the coverage table row
    assert json.loads((tmp_path / "ev" / "evaluation.json").read_text())["task"] == "nodules"


def test_labels_without_record_need_partial(run_and_labels, tmp_path):
    run, labels = run_and_labels
    labels.write_text(LABELS + "c9,true,left,1,x,\nc8,true,left,1,x,\n", encoding="utf-8")
    with pytest.raises(
        DataError,
        match=r"labels\.csv: id 'c9' has no record in .*run \(and 1 more\); use --partial",
    ):
        evaluate_run(run, labels)
    ev = evaluate_run(run, labels, partial=True)
    assert ev.matching.labels_without_record == 2
    assert ev.matching.labels_without_record_ids == ["c9", "c8"]
    assert ev.fields["nodule"].n == 5
    proc = cli("evaluate", run, labels, "--out", tmp_path / "ev")
    assert_one_line_error(proc, "labels.csv", "'c9'", "--partial")


def test_bad_labels_name_file_id_and_field(run_and_labels, tmp_path):
    run, labels = run_and_labels
    labels.write_text(LABELS.replace("c2,1,left", "c2,1,middle"), encoding="utf-8")
    with pytest.raises(DataError, match=r"labels\.csv: id 'c2' \(row 2\): field 'side': 'middle'"):
        evaluate_run(run, labels)
    labels.write_text(LABELS.replace("c3,false,left,5", "c3,false,left,five"), encoding="utf-8")
    proc = cli("evaluate", run, labels)
    assert_one_line_error(proc, "labels.csv", "'c3'", "'size_mm'", "'five' is not a number")
    labels.write_text(LABELS + "c1,true,left,1,x,\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate id 'c1' .row 1 and row 5."):
        evaluate_run(run, labels)
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": "x1", "nodule": true}\n', encoding="utf-8")
    with pytest.raises(DataError, match="none of its 1 ids has a record .*'x1'.*'c0'"):
        evaluate_run(run, other)
    with pytest.raises(DataError, match="no field 'colour'"):
        evaluate_run(run, labels, fields=["colour"])
    labels.write_text(LABELS.replace("c0,true,left,10,RUL,", 'c0,true,left,10,RUL,"[a"'))
    with pytest.raises(DataError, match=r"id 'c0' .*field 'sites': '\[a' is not a JSON value"):
        evaluate_run(run, labels, fields=["sites"])
    nolabels = tmp_path / "n.csv"
    nolabels.write_text("id,foo\nc0,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="no column matches a field"):
        evaluate_run(run, nolabels)
    with pytest.raises(RunDirError, match="not a run directory"):
        evaluate_run(tmp_path / "nowhere", labels)


def test_evaluate_a_run_made_by_the_runner(tmp_path):
    """Through the real runner (no probabilities: accuracy only, no calibration, no PNG)."""
    task = Task.model_validate(
        {"name": "sizes", "description": "d", "id": "id",
         "fields": {"size_mm": {"type": "integer"}, "big": {"type": "boolean"}}}
    )  # fmt: skip
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": f"Laesie van {i * 10} mm."}) + "\n"
                for i in range(4)),
        encoding="utf-8",
    )  # fmt: skip

    def answer(req):
        size = int(req.messages[-1].content.split()[2])
        return json.dumps({"size_mm": size, "big": size > 15})

    run_task(task, data, tmp_path / "run", RunConfig(progress=False), engine=FakeEngine(answer))
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(json.dumps({"id": f"r{i}", "size_mm": i * 10 + (i == 3), "big": i >= 1}) + "\n"
                for i in range(4)),
        encoding="utf-8",
    )  # fmt: skip
    ev = evaluate_run(tmp_path / "run", labels)
    size, big = ev.fields["size_mm"], ev.fields["big"]
    assert (size.n, size.coverage, size.within_5pct) == (4, 1.0, 1.0)  # 30 vs 31 is within 5%
    assert size.mae == pytest.approx(0.25)
    assert big.accuracy == 0.75 and big.calibration is None
    path = write_evaluation(ev, tmp_path / "ev")
    assert not list(path.parent.glob("*.png"))


def test_the_report_shows_what_the_model_was_asked_to_check_and_what_was_computed(tmp_path):
    """A second look (a later lab result) and a summary from the findings, through the
    runner, are listed on the case; without texts the check's report words are left out."""
    from extractinator.reports.html import render_report

    task = Task.model_validate(
        {"name": "lab", "id": "id", "description": "Give the most recent value.",
         "fields": {"hb": {"type": "number", "unit": "mmol/l", "nullable": True},
                    "lesions": {"type": "list", "items": {"type": "object", "fields": {
                        "size_mm": {"type": "number", "unit": "mm", "nullable": True}}}},
                    "largest_lesion_mm": {"type": "number", "unit": "mm", "nullable": True}}}
    )  # fmt: skip
    data = tmp_path / "d.jsonl"
    text = "Hb 5,1 mmol/l. Na transfusie: Hb 5,9 mmol/l. Cyste 8 mm, laesie 2,2 cm."
    data.write_text(json.dumps({"id": "c1", "text": text}) + "\n", encoding="utf-8")
    first = {"lesions": [{"size_mm": "8 mm"}, {"size_mm": "2,2 cm"}], "hb": "5,1 mmol/l",
             "largest_lesion_mm": "8 mm"}  # fmt: skip
    engine = FakeEngine([json.dumps(first), json.dumps({**first, "hb": "5,9 mmol/l"})])
    run_task(task, data, tmp_path / "run", RunConfig(progress=False), engine=engine)
    html = render_report(tmp_path / "run")
    assert "asked to check: &#34;hb&#34; is &#34;5,1 mmol/l&#34;, but the report writes" in html
    assert "computed from the findings: largest_lesion_mm: 8 -&gt; 22, the largest" in html
    private = render_report(tmp_path / "run", texts=False)
    assert "asked to check" not in private and "computed from the findings" in private


# ------------------------------------------------------------------------------------------
# DRAGON binary tasks: calibration of the P(true) predictions.

T101, T104 = "Task101_Example_sl_bin_clf", "Task104_Example_ml_bin_clf"


def write_dragon(tmp_path, p101=(0.9, 0.2, 0.4, 0.95)):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    for task, label, truths, preds in [
        (T101, "single_label_binary_classification", [True, False, True, False], list(p101)),
        (T104, "multi_label_binary_classification", [[True, False], [0, 1]],
         [[0.7, 0.1], [0.3, 0.2]]),
    ]:  # fmt: skip
        cases = [{"uid": f"u{i}", f"{label}_target": t} for i, t in enumerate(truths)]
        (gt / f"{task}.json").write_text(json.dumps(cases), encoding="utf-8")
        job = pred / f"{task}-fold0"
        job.mkdir(parents=True)
        rows = [{"uid": f"u{i}", label: p} for i, p in enumerate(preds)]
        (job / "nlp-predictions-dataset.json").write_text(json.dumps(rows), encoding="utf-8")
    return gt, pred


def test_dragon_calibration_pools_binary_predictions(tmp_path):
    from extractinator.dragon.calibration import dragon_calibration

    gt, pred = write_dragon(tmp_path)
    reports, notes = dragon_calibration(gt, pred, tmp_path / "cal", folds=[0])
    single, multi = reports[T101], reports[T104]
    # confidences .9 (right) .8 (right) .6 (wrong) .95 (wrong)
    assert single.n == 4
    assert single.ece == pytest.approx(0.5 * 0.425 + 0.25 * 0.2 + 0.25 * 0.6)
    assert single.brier == pytest.approx((0.01 + 0.04 + 0.36 + 0.9025) / 4)
    assert single.auc == pytest.approx(0.5)
    # labels pooled over cases: P(true) .7 .2 (true) against .1 .3 (false): 3 of 4 pairs
    assert multi.n == 4 and multi.auc == pytest.approx(0.75)
    data = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    assert data["tasks"][T101]["ece"] == pytest.approx(single.ece)
    if plots.matplotlib_available():
        for name in data["tasks"][T104]["plots"].values():
            assert (tmp_path / "cal" / name).read_bytes()[:8] == PNG_SIGNATURE


def test_dragon_calibration_names_bad_predictions(tmp_path):
    from extractinator.dragon.calibration import dragon_calibration

    gt, pred = write_dragon(tmp_path, p101=(0.9, 1.5, 0.4, 0.95))
    with pytest.raises(DataError, match=r"fold0.*nlp-predictions-dataset\.json: uid 'u1'.*1\.5"):
        dragon_calibration(gt, pred, tmp_path / "cal", folds=[0], tasks=["101"])


def test_cli_dragon_evaluate_with_calibration(tmp_path):
    gt, pred = write_dragon(tmp_path)
    proc = cli("dragon", "evaluate", gt, pred, "--folds", "0", "--calibration", tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    assert "Calibration" in proc.stdout and T104 in proc.stdout
    data = json.loads((tmp_path / "c" / "calibration.json").read_text())
    assert set(data["tasks"]) == {T101, T104} and data["folds"] == [0]


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".json", ".tsv"])
def test_labels_in_other_formats(run_and_labels, suffix):
    import io

    import pandas as pd

    run, labels = run_and_labels
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    frame = pd.read_csv(io.StringIO(LABELS), dtype=str, keep_default_na=False)
    other = labels.with_suffix(suffix)
    if suffix == ".xlsx":
        frame.replace("", None).to_excel(other, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(other)
    elif suffix == ".json":
        frame.to_json(other, orient="records")
    else:
        frame.to_csv(other, sep="\t", index=False)
    ev = evaluate_run(run, other)
    assert ev.fields["nodule"].calibration.ece == pytest.approx(0.3375)
    assert ev.fields["size_mm"].mae == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------------------
# List, object and spans fields (labels as JSON values).

LETTER = Task.model_validate(
    {
        "name": "letters",
        "description": "d",
        "id": "id",
        "fields": {
            "allergies": {"type": "list", "items": {"type": "string"}},
            "patient": {"type": "object", "fields": {"age": {"type": "integer"}}},
            "drugs": {"type": "spans", "labels": ["MED"]},
        },
    }
)
LETTER_TEXT = "metoprolol en furosemide; later weer metoprolol"


def _span(text, start, **extra):
    return {"text": text, "label": "MED", "start": start, "end": start + len(text), **extra}


def test_evaluate_scores_list_object_and_spans_fields(tmp_path):
    rundir = RunDir(tmp_path / "run")
    rundir.prepare({}, overwrite=True)
    rundir.write_manifest({"task": {"definition": LETTER.model_dump(mode="json")}})
    outputs = [
        {"allergies": ["Latex", "jodium"], "patient": {"age": 70},
         "drugs": [_span("metoprolol", 0, alignment="exact"),
                   _span("Furosemide", 14, alignment="fuzzy")]},
        {"allergies": [], "patient": {"age": 60},
         "drugs": [_span("metoprolol", 0, alignment="exact")]},
    ]  # fmt: skip
    for i, output in enumerate(outputs):
        rundir.append(Record(id=f"c{i}", row=i, status="ok", key=f"c{i}", output=output))
    rundir.close()
    gold = [_span("metoprolol", 0), _span("furosemide", 14), _span("metoprolol", 37)]
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"id": "c0", "allergies": ["jodium", "latex"], "patient": {"age": 70},
                    "drugs": gold}) + "\n"
        + json.dumps({"id": "c1", "allergies": ["pleisters"], "patient": {"age": 51},
                      "drugs": []}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    ev = evaluate_run(tmp_path / "run", labels)
    allergies, patient, drugs = (ev.fields[n] for n in ("allergies", "patient", "drugs"))
    assert allergies.accuracy == 0.5  # order and case do not matter; c1 missed its item
    assert (allergies.items.tp, allergies.items.fp, allergies.items.fn) == (2, 0, 1)
    assert patient.accuracy == 0.5  # every sub-field must match: 60 is not within 5% of 51
    # exact text: "Furosemide" is not "furosemide", the second metoprolol is missing, and
    # c1's metoprolol is a false positive; by offsets the fuzzy-grounded span is right
    assert (drugs.spans_text.tp, drugs.spans_text.fp, drugs.spans_text.fn) == (1, 2, 2)
    assert (drugs.spans_offsets.tp, drugs.spans_offsets.fp, drugs.spans_offsets.fn) == (2, 1, 1)
    assert drugs.spans_offsets.f1 == pytest.approx(2 / 3)

    csv_labels = tmp_path / "labels.csv"
    csv_labels.write_text(
        'id,allergies,drugs\nc0,"[""latex"", ""jodium""]","[]"\nc1,[],[]\n', encoding="utf-8"
    )
    ev = evaluate_run(tmp_path / "run", csv_labels)
    assert ev.fields["allergies"].accuracy == 1.0 and ev.fields["drugs"].spans_text.fp == 3
    proc = cli("evaluate", tmp_path / "run", labels, "--out", tmp_path / "ev")
    assert proc.returncode == 0, proc.stderr
    assert "F1: list items (as a multiset); spans by exact text / by offsets" in proc.stdout
    assert re.search(r"0\.333\s*/\s*0\.667", proc.stdout)  # drugs: exact text / offsets
    from extractinator.reports.html import render_report

    html = render_report(tmp_path / "run", labels)
    assert "<td>0.333 / 0.667</td>" in html and "<td>0.800</td>" in html  # spans, list F1


@pytest.mark.parametrize(
    "cell, message",
    [
        ('[{""text"": ""x"", ""label"": ""DRUG""}]', "label 'DRUG' is not one of MED"),
        ('[{""text"": ""x"", ""label"": ""MED"", ""start"": 5, ""end"": 2}]', "start <= end"),
        ('{""text"": ""x""}', "must be a JSON list"),
        ("[1", "is not a JSON value"),
    ],
)
def test_bad_spans_labels_name_id_and_field(tmp_path, cell, message):
    labels = tmp_path / "labels.csv"
    labels.write_text(f'id,drugs\nc0,"{cell}"\n', encoding="utf-8")
    spec = LETTER.fields["drugs"]
    from extractinator.reports.labels import read_labels

    with pytest.raises(
        DataError, match=rf"id 'c0' \(row 0\): field 'drugs': .*{re.escape(message)}"
    ):
        read_labels(labels, {"drugs": spec}, id_column="id")
