"""extractinator.dragon scores equal dragon-eval 0.2.11's (the oracle, imported only here)."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import dragon_eval
import numpy as np
import pytest
from dragon_eval.evaluation import REGRESSION_EPSILON as DE_EPSILON
from dragon_eval.evaluation import TASK_TYPE, EvalType

from extractinator.dragon.evaluate import evaluate, format_table
from extractinator.dragon.metrics import (
    REGRESSION_EPSILON,
    TASK_KINDS,
    MetricKind,
    ner_weighted_f1,
    rsmape,
    score_task,
    task_metric,
)
from extractinator.errors import DataError

from paths import DRAGON_SYNTHETIC, REPO

SYNTHETIC = DRAGON_SYNTHETIC / "test-ground-truth"
SEEDS = (0, 1, 2, 3, 4)  # one fold per seed
REAL_SEEDS = (1, 2, 3)  # ties, numeric strings, integer class labels
K = MetricKind


# ---------------------------------------------------------------------------------------------
# The oracle and the comparison.


def run_dragon_eval(gt_dir: Path, pred_dir: Path, out: Path, folds, tasks=None) -> dict:
    """Run dragon-eval as its CLI does (DragonEval(...).evaluate()) and read its metrics.json."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        dragon_eval.DragonEval(
            ground_truth_path=gt_dir,
            predictions_path=pred_dir,
            output_file=out,
            folds=folds,
            tasks=tasks,
        ).evaluate()
    return json.loads(out.read_text())


def assert_same(ours: Any, theirs: Any, path: str = "") -> None:
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), path
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{path}/{key}")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert math.isnan(ours), path
    elif isinstance(theirs, (int, float)):
        assert ours == pytest.approx(theirs, abs=1e-9, rel=0), path
    else:
        assert ours == theirs, path


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def label_of(cases: list[dict]) -> str:
    return next(k for k in cases[0] if k.endswith("_target"))


def write_predictions(pred_dir: Path, task: str, fold: int, cases: list[dict], values) -> None:
    key = label_of(cases).replace("_target", "")
    records = [{"uid": c["uid"], key: v} for c, v in zip(cases, values, strict=True)]
    write_json(pred_dir / f"{task}-fold{fold}" / "nlp-predictions-dataset.json", records)


# ---------------------------------------------------------------------------------------------
# Random predictions per metric kind (seed varies the flavour: ties, strings, ints, ...).


def _prob(truth, rng, seed: int):
    p = float(np.clip(0.35 * float(truth) + 0.65 * rng.random(), 0, 1))
    if seed % 3 == 1:
        p = round(p, 1)  # many ties
    return str(p) if seed == 2 else p  # numeric strings are accepted by dragon-eval


def _label(truth, labels, rng, to_int: bool):
    pred = truth if rng.random() < 0.55 else labels[rng.integers(len(labels))]
    if to_int and isinstance(pred, str) and pred.isdigit():
        return int(pred)  # single-label "2" vs 2: read_json makes them equal in dragon-eval
    return pred


def _number(truth, rng, seed: int):
    if rng.random() < 0.08:
        return None  # dragon-eval imputes 0
    base = 10 * rng.random() if truth is None else truth
    value = base * (1 + rng.normal(0, 0.3)) + rng.normal(0, 0.5 * (seed + 1))
    return round(value) if seed == 4 else value


def _ner_tags(tags: list[str], pool: list[str], rng, seed: int) -> list[str]:
    rate = 1.0 if seed == 4 else 0.1 + 0.05 * seed
    return [pool[rng.integers(len(pool))] if rng.random() < rate else t for t in tags]


def _ml_ner_tags(tokens: list[list[str]], pool: list[str], rng, seed: int) -> list[list[str]]:
    out = []
    for tags in tokens:
        tags = list(tags)
        r = rng.random()
        if r < 0.08 + 0.03 * seed:
            tags = [pool[rng.integers(len(pool))]]
        elif r < 0.15 + 0.03 * seed and len(tags) > 1:
            tags = tags[: int(rng.integers(1, len(tags)))]
        elif r < 0.2 + 0.03 * seed:
            tags = [*tags, pool[rng.integers(len(pool))]]
        elif r < 0.3:
            tags = tags[::-1]  # the first tag matching a label counts
        out.append(tags)
    return out


def random_predictions(task: str, cases: list[dict], seed: int) -> list[Any]:
    rng = np.random.default_rng([seed, int(task[4:7])])
    kind = TASK_KINDS[task]
    truths = [c[label_of(cases)] for c in cases]

    def each(fn, truth):
        return [fn(t) for t in truth] if isinstance(truth, list) else fn(truth)

    if kind in (K.AUC, K.AUC_PER_LABEL):
        return [each(lambda t: _prob(t, rng, seed), t) for t in truths]
    if kind in (K.KAPPA, K.KAPPA_LINEAR):
        flat = [v for t in truths for v in (t if isinstance(t, list) else [t])]
        labels = sorted(set(flat), key=str)
        to_int = seed == 3 and not isinstance(truths[0], list)
        return [each(lambda t: _label(t, labels, rng, to_int), t) for t in truths]
    if kind is K.RSMAPE:
        return [each(lambda t: _number(t, rng, seed), t) for t in truths]
    if kind is K.NER_MACRO_F1:
        pool = sorted({tag for t in truths for tag in t} | {"O", "I-EXTRA"})
        return [_ner_tags(t, pool, rng, seed) for t in truths]
    pool = sorted({tag for t in truths for token in t for tag in token})
    return [_ml_ner_tags(t, pool, rng, seed) for t in truths]


# ---------------------------------------------------------------------------------------------
# Ground truth in the real tasks' formats (constructed; the real data is not public).

LABELS = {
    "Task009_pdac_diagnosis_clf": ["PDAC", "no PDAC", "other"],
    "Task010_prostate_radiology_clf": ["1", "2", "3", "4", "5"],
    "Task011_prostate_pathology_clf": ["0", "1", "2", "3"],
    "Task012_pathology_tissue_type_clf": ["benign", "malignant", "normal", "other"],
    "Task013_pathology_tissue_origin_clf": ["colon", "lung", "prostate", "skin"],
    "Task014_textual_entailment_clf": ["contradiction", "entailment", "neutral"],
    "Task017_pdac_attributes_clf": ["absent", "present", "unknown"],
    "Task018_osteoarthritis_clf": ["0", "1", "2", "3", "4", "n/a"],
}
MULTI = {"Task007": 5, "Task015": 7, "Task016": 5, "Task017": 4, "Task018": 6, "Task023": 5,
         "Task024": 5}  # fmt: skip
ENTITIES = {"Task025": ["PERSOON", "DATUM", "TIJD"], "Task026": ["ANATOMY", "DISEASE"]}


def _bio(n_tokens: int, entities: list[str], rng) -> list[str]:
    tags, i = ["O"] * n_tokens, 0
    while i < n_tokens:
        if rng.random() < 0.2:
            ent, length = entities[rng.integers(len(entities))], int(rng.integers(1, 4))
            for j in range(i, min(i + length, n_tokens)):
                tags[j] = ("B-" if j == i else "I-") + ent
            i += length
        i += 1
    return tags


def real_task_cases(task: str, n: int = 60) -> list[dict]:
    rng = np.random.default_rng(int(task[4:7]))
    kind, width = TASK_KINDS[task], MULTI.get(task[:7])
    prefix = "multi_label_" if width else "single_label_"
    cases = []
    for i in range(n):
        case: dict[str, Any] = {"uid": f"{task[:7]}_{rng.integers(10**6)}_{i}", "text": "rapport"}
        if kind in (K.AUC, K.AUC_PER_LABEL):
            value: Any = [bool(rng.random() < 0.3 + 0.1 * k) for k in range(width or 1)]
            case[prefix + "binary_classification_target"] = value if width else value[0]
        elif kind in (K.KAPPA, K.KAPPA_LINEAR):
            labels = LABELS[task]
            value = [labels[rng.integers(len(labels))] for _ in range(width or 1)]
            case[prefix + "multi_class_classification_target"] = value if width else value[0]
        elif kind is K.RSMAPE:
            scale = {"Task020": 10, "Task021": 0.2}.get(task[:7], 50)
            value = [round(float(scale * rng.random()), 2) for _ in range(width or 1)]
            if width:
                value = [v if k < rng.integers(0, width + 1) else None for k, v in enumerate(value)]
            case[prefix + "regression_target"] = value if width else value[0]
            if task.startswith("Task020"):
                case["uid"] = i + 1000  # integer uids: dragon-eval reads them as strings
        elif kind is K.NER_MACRO_F1:
            case["named_entity_recognition_target"] = _bio(25, ENTITIES[task[:7]], rng)
        else:
            n_labels = 4 if task.startswith("Task027") else 12  # Task028: "1-x" inside "11-x"
            sl = [_bio(30, [f"{k}-lesion"], rng) for k in range(n_labels)]
            tokens = [[s[t] for s in sl if s[t] != "O"] or ["O"] for t in range(30)]
            tokens = [rng.permutation(tags).tolist() for tags in tokens]  # "11-x" before "1-x"
            case["multi_label_named_entity_recognition_target"] = tokens
        cases.append(case)
    return cases


REAL_TASKS = sorted(t for t in TASK_KINDS if int(t[4:7]) < 100)


# ---------------------------------------------------------------------------------------------
# Fixtures: one dragon-eval run per scenario, shared by the tests that compare with it.


@pytest.fixture(scope="module")
def synthetic_ground_truth() -> dict[str, list[dict]]:
    if not SYNTHETIC.is_dir():
        pytest.skip("no DRAGON synthetic data")
    return {p.stem: json.loads(p.read_text()) for p in sorted(SYNTHETIC.glob("*.json"))}


@pytest.fixture(scope="module")
def synthetic_random(tmp_path_factory, synthetic_ground_truth):
    root = tmp_path_factory.mktemp("synthetic_random")
    for task, cases in synthetic_ground_truth.items():
        for seed in SEEDS:
            preds = random_predictions(task, cases, seed)
            write_predictions(root / "pred", task, seed, cases, preds)
    theirs = run_dragon_eval(SYNTHETIC, root / "pred", root / "metrics.json", SEEDS)
    return root, theirs


@pytest.fixture(scope="module")
def real_random(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_random")
    for task in REAL_TASKS:
        cases = real_task_cases(task)
        write_json(root / "gt" / f"{task}.json", cases)
        if isinstance(cases[0]["uid"], int):  # predict with string uids for integer ones
            cases = [{**c, "uid": str(c["uid"])} for c in cases]
        for seed in REAL_SEEDS:
            preds = random_predictions(task, cases, seed)
            write_predictions(root / "pred", task, seed, cases, preds)
    theirs = run_dragon_eval(root / "gt", root / "pred", root / "metrics.json", REAL_SEEDS)
    return root, theirs


# ---------------------------------------------------------------------------------------------
# (a) ground truth as predictions, (b) random predictions, (c) the real tasks' formats.


def test_ground_truth_as_predictions_scores_like_dragon_eval(tmp_path, synthetic_ground_truth):
    for task, cases in synthetic_ground_truth.items():
        write_predictions(tmp_path / "pred", task, 0, cases, [c[label_of(cases)] for c in cases])
    theirs = run_dragon_eval(SYNTHETIC, tmp_path / "pred", tmp_path / "m.json", [0])
    ours = evaluate(SYNTHETIC, tmp_path / "pred", folds=[0])
    assert_same(ours, theirs)
    assert ours["aggregates"]["overall"]["mean"] == 1.0
    assert len(ours["case"]) == 9


def test_random_predictions_on_synthetic_tasks_score_like_dragon_eval(synthetic_random):
    root, theirs = synthetic_random
    ours = evaluate(SYNTHETIC, root / "pred", folds=SEEDS, output_file=root / "ours.json")
    assert_same(ours, theirs)
    assert_same(json.loads((root / "ours.json").read_text()), theirs)
    scores = [s for task in ours["case"].values() for s in task.values()]
    assert len(scores) == 45 and all(-1 < s < 1 for s in scores)  # not trivially perfect


def test_real_task_formats_score_like_dragon_eval(real_random):
    root, theirs = real_random
    ours = evaluate(root / "gt", root / "pred", folds=REAL_SEEDS)
    assert_same(ours, theirs)
    assert sorted(ours["case"]) == REAL_TASKS and len(REAL_TASKS) == 28


def test_score_task_matches_dragon_eval_per_fold(real_random):
    root, theirs = real_random
    for task in ("Task015_colon_pathology_clf", "Task021_psad_reg", "Task028_skin_pathology_ner"):
        gt = json.loads((root / "gt" / f"{task}.json").read_text())
        preds = json.loads(
            (root / "pred" / f"{task}-fold1/nlp-predictions-dataset.json").read_text()
        )
        ours = score_task(task, gt, preds)
        assert ours == pytest.approx(theirs["case"][task][f"{task}-fold1"], abs=1e-9)


def test_colon_pathology_is_the_mean_of_per_label_aucs(real_random):
    from sklearn.metrics import roc_auc_score

    root, theirs = real_random
    task = "Task015_colon_pathology_clf"
    gt = json.loads((root / "gt" / f"{task}.json").read_text())
    preds = json.loads((root / "pred" / f"{task}-fold3/nlp-predictions-dataset.json").read_text())
    key = "multi_label_binary_classification"
    truth = np.array([c[key + "_target"] for c in gt], dtype=int)
    score = np.array([p[key] for p in preds], dtype=float)
    per_label = [roc_auc_score(truth[:, i], score[:, i]) for i in range(7)]
    pooled = roc_auc_score(truth.ravel(), score.ravel())
    expected = theirs["case"][task][f"{task}-fold3"]
    assert np.mean(per_label) == pytest.approx(expected, abs=1e-9)
    assert pooled != pytest.approx(expected, abs=1e-6)  # really not the pooled AUC
    assert score_task(task, gt, preds) == pytest.approx(expected, abs=1e-9)


def test_psad_uses_its_small_epsilon():
    gt = [{"uid": "a", "single_label_regression_target": 0.10},
          {"uid": "b", "single_label_regression_target": None}]  # fmt: skip
    preds = [
        {"uid": "a", "single_label_regression": 0.15},
        {"uid": "b", "single_label_regression": 9},
    ]
    expected = 1 - 0.05 / (0.10 + 0.15 + 0.04)  # the null target is skipped
    assert score_task("Task021_psad_reg", gt, preds) == pytest.approx(expected, abs=1e-12)
    assert task_metric("Task021_psad_reg", "single_label_regression_target").epsilon == 0.04


def test_ordinal_tasks_use_linear_weights_over_sorted_labels():
    from sklearn.metrics import cohen_kappa_score

    truth, pred = ["0", "1", "2", "3", "3", "0"], ["1", "1", "3", "0", "3", "2"]
    gt = [{"uid": str(i), "single_label_multi_class_classification_target": t}
          for i, t in enumerate(truth)]  # fmt: skip
    preds = [{"uid": str(i), "single_label_multi_class_classification": int(p)}
             for i, p in enumerate(pred)]  # fmt: skip
    linear = cohen_kappa_score(truth, pred, weights="linear")
    assert score_task("Task011_prostate_pathology_clf", gt, preds) == pytest.approx(linear)
    assert score_task("Task009_pdac_diagnosis_clf", gt, preds) == pytest.approx(
        cohen_kappa_score(truth, pred)
    )
    assert linear != pytest.approx(cohen_kappa_score(truth, pred))


def test_degenerate_folds_score_like_dragon_eval(tmp_path):
    """One-class AUC (0.0), constant kappa (NaN) and all-null regression targets (NaN)."""
    tasks = {
        "Task101_Example_sl_bin_clf": ("single_label_binary_classification", True, 0.3),
        "Task103_Example_mednli": ("single_label_multi_class_classification", "neutral", "neutral"),
        "Task107_Example_ml_reg": ("multi_label_regression", [None, None], [1.0, None]),
    }
    for task, (key, truth, pred) in tasks.items():
        cases = [{"uid": f"u{i}", f"{key}_target": truth} for i in range(4)]
        write_json(tmp_path / "gt" / f"{task}.json", cases)
        write_predictions(tmp_path / "pred", task, 0, cases, [pred] * 4)
    theirs = run_dragon_eval(tmp_path / "gt", tmp_path / "pred", tmp_path / "m.json", [0])
    ours = evaluate(tmp_path / "gt", tmp_path / "pred", folds=[0])
    assert_same(ours, theirs)
    assert ours["case"]["Task101_Example_sl_bin_clf"]["Task101_Example_sl_bin_clf-fold0"] == 0.0
    assert math.isnan(ours["aggregates"]["overall"]["mean"])


def test_metric_functions_match_dragon_eval_helpers():
    import pandas as pd
    from dragon_eval.evaluation import score_multi_label_f1, score_rsmape

    rng = np.random.default_rng(7)
    truth = [[float(v) if v > 0.3 else None for v in rng.random(3) * 40] for _ in range(50)]
    pred = [[float(v) for v in rng.random(3) * 40] for _ in range(50)]
    expected = score_rsmape(
        y_true=pd.Series(truth).explode().astype(float),
        y_pred=pd.Series(pred).explode().astype(float),
        epsilon=4,
        ignore_missing_targets=True,
    )
    assert rsmape(truth, pred, epsilon=4) == pytest.approx(expected, abs=1e-12)

    # "1-x" is a substring of "11-x": dragon-eval takes the first tag containing the label
    y_true = [[["B-11-x", "B-1-x"], ["I-11-x", "I-1-x"], ["O"]], [["B-1-x"], ["B-2-x"], ["O"]]]
    y_pred = [[["B-1-x"], ["I-11-x", "I-1-x"], ["B-2-x"]], [["B-11-x", "B-1-x"], ["O"], ["O"]]]
    expected = score_multi_label_f1(y_true=pd.Series(y_true), y_pred=pd.Series(y_pred))
    assert ner_weighted_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# The metric table and the package's independence from dragon-eval.


EXPECTED_KIND = {
    EvalType.BINARY_CLASSIFICATION: K.AUC,
    EvalType.BINARY_CLASSIFICATION_NON_SHARED_TASK: K.AUC_PER_LABEL,
    EvalType.ORDINAL_MULTI_CLASS_CLASSIFICATION: K.KAPPA_LINEAR,
    EvalType.NONORDINAL_MULTI_CLASS_CLASSIFICATION: K.KAPPA,
    EvalType.REGRESSION: K.RSMAPE,
    EvalType.SINGLE_LABEL_NER: K.NER_MACRO_F1,
    EvalType.MULTI_LABEL_NER: K.NER_WEIGHTED_F1,
}


def test_task_table_is_dragon_evals():
    assert len(TASK_KINDS) == 37
    assert {t: EXPECTED_KIND[e] for t, e in TASK_TYPE.items()} == TASK_KINDS
    assert DE_EPSILON == REGRESSION_EPSILON


def test_task_metric_spec():
    spec = task_metric("Task107_Example_ml_reg", "multi_label_regression_target")
    assert (spec.kind, spec.multi_label, spec.epsilon) == (K.RSMAPE, True, 4)
    assert spec.description == "R-SMAPE (eps=4)"
    spec = task_metric("Task015_colon_pathology_clf", "multi_label_binary_classification_target")
    assert spec.kind is K.AUC_PER_LABEL and spec.epsilon is None
    with pytest.raises(DataError, match="does not fit"):
        task_metric("Task020_psa_reg", "single_label_binary_classification_target")


def test_package_does_not_import_dragon_eval():
    for path in (REPO / "src" / "extractinator" / "dragon").glob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+dragon_eval", path.read_text(), re.M), path


def test_format_table(real_random):
    root, theirs = real_random
    table = format_table(theirs)
    lines = table.splitlines()
    assert len(lines) == 1 + 1 + 28 + 1 + 1
    assert "Task015_colon_pathology_clf" in table and "mean of per-label AUCs" in table
    assert "R-SMAPE (eps=0.04)" in table
    assert (
        lines[-1].startswith("overall")
        and f"{theirs['aggregates']['overall']['mean']:.4f}" in lines[-1]
    )


# ---------------------------------------------------------------------------------------------
# Bad input: one-line DataErrors naming the file and the uid.

TASK_BIN, KEY = "Task104_Example_ml_bin_clf", "multi_label_binary_classification"
GT_BIN = [{"uid": f"c{i}", f"{KEY}_target": [i % 2 == 0, i % 3 == 0]} for i in range(6)]


def _good_preds() -> list[dict]:
    return [{"uid": c["uid"], KEY: [0.5, 0.2]} for c in GT_BIN]


@pytest.fixture
def bad_layout(tmp_path) -> tuple[Path, Path, Path]:
    write_json(tmp_path / "gt" / f"{TASK_BIN}.json", GT_BIN)
    pred_file = tmp_path / "pred" / f"{TASK_BIN}-fold0" / "nlp-predictions-dataset.json"
    write_json(pred_file, _good_preds())
    return tmp_path / "gt", tmp_path / "pred", pred_file


def _error(gt: Path, pred: Path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        evaluate(gt, pred, folds=[0], **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_layout_scores(bad_layout):
    gt, pred, _ = bad_layout
    assert evaluate(gt, pred, folds=[0])["case"][TASK_BIN][f"{TASK_BIN}-fold0"] > 0


def test_missing_predictions_file(bad_layout):
    gt, pred, pred_file = bad_layout
    pred_file.unlink()
    assert f"{pred_file}: predictions file not found" in _error(gt, pred)


def test_missing_fold(bad_layout):
    gt, pred, _ = bad_layout
    with pytest.raises(DataError, match=f"{TASK_BIN}-fold1"):
        evaluate(gt, pred)  # default folds 0-4


def test_malformed_json(bad_layout):
    gt, pred, pred_file = bad_layout
    pred_file.write_text('[{"uid": "c0", ')
    message = _error(gt, pred)
    assert str(pred_file) in message and "malformed JSON at line 1" in message


# fmt: off
BAD_PREDICTIONS = {
    "missing-uid": (lambda p: p.pop(3), "uid 'c3': no prediction"),
    "extra-uid": (lambda p: p.append({"uid": "zz", KEY: [1, 0]}), "uid 'zz': not in the ground"),
    "none": (lambda p: p[2].update({KEY: [None, 0.3]}), f"uid 'c2': '{KEY}': got None where a n"),
    "nan": (lambda p: p[1].update({KEY: [math.nan, 0.3]}), f"uid 'c1': '{KEY}': got nan where a n"),
    "short-list": (lambda p: p[4].update({KEY: [0.1]}), "expected a list of 2 values, got 1"),
    "scalar": (lambda p: p[4].update({KEY: 0.1}), f"uid 'c4': '{KEY}': expected a list of 2"),
    "string": (lambda p: p[0].update({KEY: ["x", 0.1]}), f"uid 'c0': '{KEY}': got 'x' where a nu"),
    "missing-key": (lambda p: p[5].pop(KEY), f"uid 'c5': no '{KEY}'"),
    "duplicate": (lambda p: p.append(dict(p[0])), "uid 'c0': duplicate uid"),
}
# fmt: on


@pytest.mark.parametrize(("mutate", "expected"), BAD_PREDICTIONS.values(), ids=BAD_PREDICTIONS)
def test_bad_predictions(bad_layout, mutate, expected):
    gt, pred, pred_file = bad_layout
    preds = _good_preds()
    mutate(preds)
    pred_file.write_text(json.dumps(preds))  # json writes NaN for float("nan")
    message = _error(gt, pred)
    assert message.startswith(f"{pred_file}: ") and expected in message


def test_unknown_task(bad_layout):
    gt, pred, _ = bad_layout
    shutil.copy(gt / f"{TASK_BIN}.json", gt / "Task999_mystery.json")
    message = _error(gt, pred, tasks=["Task999"])
    assert "Task999_mystery.json" in message and "unknown DRAGON task 'Task999_mystery'" in message
    with pytest.raises(DataError, match="unknown DRAGON task"):
        score_task("Task999_mystery", GT_BIN, _good_preds())


def test_unknown_and_ambiguous_task_names(bad_layout):
    gt, pred, _ = bad_layout
    assert "matches no ground truth file" in _error(gt, pred, tasks=["Task042"])
    shutil.copy(gt / f"{TASK_BIN}.json", gt / "Task104_other.json")
    assert "matches several files" in _error(gt, pred, tasks=["Task104"])


@pytest.mark.parametrize(
    ("task", "label", "truth", "pred", "expected"),
    [
        ("Task106_Example_sl_reg", "single_label_regression", 3.0, "abc",
         "got 'abc' where a number is needed"),
        ("Task108_Example_sl_ner", "named_entity_recognition", ["B-X", "O"], ["O"],
         "expected a list of 2 values, got 1"),
        ("Task109_Example_ml_ner", "multi_label_named_entity_recognition", [["B-X"], ["O"]],
         ["B-X", "O"], "expected a list of string tags per token"),
        ("Task102_Example_sl_mc_clf", "single_label_multi_class_classification", "1", None,
         "got None where a class label is needed"),
        ("Task105_Example_ml_mc_clf", "multi_label_multi_class_classification", ["a", "b"],
         ["a", 2], "class labels mix strings and numbers"),
    ],
)  # fmt: skip
def test_bad_values_per_metric_kind(task, label, truth, pred, expected):
    gt = [{"uid": "u1", f"{label}_target": truth}]
    with pytest.raises(DataError, match=expected):
        score_task(task, gt, [{"uid": "u1", label: pred}], predictions_source="p.json")


def test_regression_imputes_missing_predictions_with_zero_like_dragon_eval():
    gt = [{"uid": "a", "multi_label_regression_target": [10.0, None]}]
    preds = [{"uid": "a", "multi_label_regression": [None, None]}]
    assert score_task("Task107_Example_ml_reg", gt, preds) == pytest.approx(1 - 10 / 14)
