"""Sweeps, leaderboards and paired comparisons, without a model (FakeEngine, fabricated
cell directories)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from extractinator.errors import ConfigError
from extractinator.experiments.compare import compare_cells, format_comparison
from extractinator.experiments.execute import run_sweep
from extractinator.experiments.leaderboard import BASELINE_LABEL, collect, to_csv
from extractinator.experiments.render import to_html, to_markdown
from extractinator.experiments.scoring import CellScores, TaskScore
from extractinator.experiments.sweep import (
    CellSettings,
    ModelEntry,
    cell_name,
    load_sweep,
    plan_cells,
)

from fakes import FakeEngine
from paths import DRAGON_SYNTHETIC, EXAMPLES

INPUT = DRAGON_SYNTHETIC / "test-input"
GT = DRAGON_SYNTHETIC / "test-ground-truth"


def write_sweep(tmp_path: Path, data: dict, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def fake_models(tmp_path: Path, *names: str) -> list[str]:
    paths = []
    for name in names:
        (tmp_path / f"{name}.gguf").write_bytes(b"GGUF")
        paths.append(f"{name}.gguf")
    return paths


def dragon_sweep(tmp_path: Path, **extra) -> dict:
    return {
        "benchmark": {"dragon": str(INPUT), "tasks": [101, 106], "folds": [0], "limit": 3},
        "models": fake_models(tmp_path, "alpha", "beta"),
        "grid": {"translate": [False, True]},
        **extra,
    }


# ---------------------------------------------------------------- sweep file and cells


def test_sweep_file_plans_one_cell_per_model_and_setting(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, dragon_sweep(tmp_path)))
    assert sweep.benchmark.ground_truth == GT  # the sibling folder by default
    assert [c.name for c in plan_cells(sweep)] == [
        "alpha__fewshot0__translate-off",
        "alpha__fewshot0__translate-on",
        "beta__fewshot0__translate-off",
        "beta__fewshot0__translate-on",
    ]
    assert Path(sweep.models[0].gguf) == tmp_path / "alpha.gguf"  # relative to the file


def test_a_server_model_takes_the_request_timeout():
    from extractinator.experiments.sweep import SweepFile, engine_config

    model = ModelEntry.model_validate({"ollama": "q", "base_url": "http://h:1", "timeout": 42})
    sweep = SweepFile.model_validate(
        {"benchmark": {"dragon": str(INPUT)}, "models": [model.model_dump(exclude_none=True)]}
    )
    assert engine_config(sweep, model).timeout == 42


def test_cell_names_are_readable_and_leave_defaults_out():
    model = ModelEntry.model_validate({"ollama": "qwen2.5:7b"})
    assert cell_name(CellSettings(model=model)) == "ollama-qwen2.5-7b__fewshot0__translate-off"
    cell = CellSettings(
        model=ModelEntry(gguf="default", name="Big Model"),
        few_shot=3,
        translate=True,
        samples=5,
        temperature=0.7,
        prompt="Careful v2",
    )
    assert cell.name == "big-model__fewshot3__translate-on__samples5__temp0.7__prompt-careful-v2"


@pytest.mark.parametrize(
    "change, key, message",
    [
        ({"colour": "red"}, "`colour`", "unknown key"),
        ({"grid": {"few_shot": [0, 99]}}, "`grid.few_shot`", "0..20"),
        ({"grid": {"translte": [True]}}, "`grid.translte`", "unknown key"),
        ({"grid": {"prompt": ["terse"]}}, "", "'terse' is not defined under `prompts`"),
        ({"models": [{"gguf": "x.gguf", "ollama": "y"}]}, "`models.0`", "exactly one"),
        ({"models": [{"gguf": "default", "timeout": 5}]}, "`models.0`", "`timeout` is for"),
        ({"models": ["missing.gguf"]}, "`models.0.gguf`", "not found"),
        ({"models": ["qwen9"]}, "`models.0.gguf`", "known model"),
        ({"settings": {"n_ctx": "big"}}, "`settings.n_ctx`", "integer"),
        (
            {"benchmark": {"dragon": str(INPUT), "limit": 0}},
            "`benchmark.limit`",
            "greater than or equal to 1",
        ),
        ({"benchmark": {"dragon": str(INPUT), "tsks": [1]}}, "`benchmark.tsks`", "unknown key"),
        ({"benchmark": {"data": "x.csv"}}, "`benchmark`", "give `dragon: INPUT_DIR`"),
        ({"grid": {"samples": [3]}}, "", "needs a temperature above 0"),
    ],
)
def test_sweep_file_errors_are_one_line_naming_file_and_key(tmp_path, change, key, message):
    path = write_sweep(tmp_path, {**dragon_sweep(tmp_path), **change})
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: {key}")
    assert message in text


def test_task_benchmark_refuses_few_shot_and_translation(tmp_path):
    data = {
        "benchmark": {
            "task": str(EXAMPLES / "radiology_task.yaml"),
            "data": str(EXAMPLES / "radiology_reports.csv"),
        },
        "models": ["default"],
        "grid": {"translate": [True]},
    }
    with pytest.raises(ConfigError, match="translation needs a DRAGON benchmark"):
        load_sweep(write_sweep(tmp_path, data))


# ---------------------------------------------------------------- running a sweep (fake)


def schema_instance(schema: dict, seed: int):
    """A valid answer for a JSON schema (values vary with ``seed``)."""
    if "enum" in schema:
        return schema["enum"][seed % len(schema["enum"])]
    if "anyOf" in schema:
        return schema_instance(next(s for s in schema["anyOf"] if s.get("type") != "null"), seed)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return {k: schema_instance(v, seed) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind == "boolean":
        return seed % 2 == 0
    if kind in ("number", "integer"):
        return min(schema.get("maximum", 1000), max(schema.get("minimum", 0), 10 + seed % 50))
    return "translated text"


class Engines:
    """An engine factory: a FakeEngine per model file, counting loads and requests."""

    def __init__(self, broken: str | None = None) -> None:
        self.loads: list[str] = []
        self.requests = 0
        self.broken = broken

    def __call__(self, config):
        name = Path(config.model).stem
        if name == self.broken:
            raise RuntimeError(f"cannot load {name}")
        self.loads.append(name)

        def reply(request):
            self.requests += 1
            text = request.messages[-1].content
            seed = len(text) + (7 if name == "beta" else 0)
            return json.dumps(schema_instance(request.json_schema, seed))

        return FakeEngine(reply, model_id=f"fake:{name}")


def test_sweep_runs_every_cell_then_skips_finished_ones(tmp_path):
    path = write_sweep(tmp_path, dragon_sweep(tmp_path))
    out = tmp_path / "out"
    lines: list[str] = []
    engines = Engines()
    outcomes = run_sweep(path, out, progress=False, echo=lines.append, engine_factory=engines)
    assert [o.status for o in outcomes] == ["finished"] * 4
    assert engines.loads == ["alpha", "beta"]  # one load per model
    assert any(re.match(r"\[1/4\] alpha__fewshot0__translate-off: finished", x) for x in lines)
    cell = out / "alpha__fewshot0__translate-on"
    info = json.loads((cell / "cell.json").read_text())
    assert info["status"] == "finished" and info["settings"]["translate"] is True
    assert (cell / "Task101_Example_sl_bin_clf-fold0" / "translate" / "records.jsonl").exists()
    assert (cell / "Task106_Example_sl_reg-fold0" / "run-translated" / "records.jsonl").exists()
    scores = CellScores.model_validate_json((cell / "scores.json").read_text())
    assert set(scores.tasks) == {"Task101_Example_sl_bin_clf", "Task106_Example_sl_reg"}
    assert scores.types.keys() == {"classification", "regression"}
    assert scores.cases == 6 and scores.model_id == "fake:alpha"
    assert (out / "results.md").exists() and (out / "results.csv").exists()

    # a rerun loads no model and recomputes nothing
    again = Engines()
    outcomes = run_sweep(path, out, progress=False, echo=lines.append, engine_factory=again)
    assert [o.status for o in outcomes] == ["skipped"] * 4 and again.loads == []

    # a cell left unfinished (killed) is resumed: its records are reused, not recomputed
    info["status"] = "running"
    (cell / "cell.json").write_text(json.dumps(info))
    (cell / "scores.json").unlink()
    again = Engines()
    outcomes = run_sweep(path, out, progress=False, echo=lines.append, engine_factory=again)
    assert [o.status for o in outcomes].count("finished") == 1
    assert again.loads == ["alpha"] and again.requests == 0

    board = collect(out)
    assert len(board.rows) == 4 and board.references[0].name == BASELINE_LABEL
    assert board.references[0].overall == pytest.approx((0.943 + 0.890) / 2)
    overall = [r.overall for r in board.rows]
    assert overall == sorted(overall, reverse=True)


def test_a_model_that_fails_to_load_does_not_stop_the_others(tmp_path):
    path = write_sweep(tmp_path, dragon_sweep(tmp_path))
    out = tmp_path / "out"
    lines: list[str] = []
    outcomes = run_sweep(
        path, out, progress=False, echo=lines.append, engine_factory=Engines(broken="alpha")
    )
    assert [o.status for o in outcomes] == ["failed", "failed", "finished", "finished"]
    assert "cannot load alpha" in outcomes[0].error
    assert any("FAILED" in x for x in lines)
    board = collect(out)
    failed = [r for r in board.rows if r.status == "failed"]
    assert len(failed) == 2 and all(r.overall is None for r in failed)
    assert board.rows[-1].status == "failed"  # no score sorts last
    assert "cannot load alpha" in to_markdown(board)
    # the next run retries the failed cells only
    outcomes = run_sweep(path, out, progress=False, echo=lines.append, engine_factory=Engines())
    assert [o.status for o in outcomes] == ["finished", "finished", "skipped", "skipped"]


def test_task_benchmark_sweep_scores_fields(tmp_path):
    labels = tmp_path / "labels.csv"
    text = (EXAMPLES / "radiology_reports.csv").read_text(encoding="utf-8")
    labels.write_text(text.replace("expected_", ""), encoding="utf-8")
    data = {
        "benchmark": {
            "task": str(EXAMPLES / "radiology_task.yaml"),
            "data": str(EXAMPLES / "radiology_reports.csv"),
            "labels": "labels.csv",
            "limit": 4,
        },
        "models": fake_models(tmp_path, "alpha"),
        "grid": {"prompt": ["default", "careful"]},
        "prompts": {"careful": {"append": "Read carefully."}},
    }
    out = tmp_path / "out"
    engines = Engines()
    outcomes = run_sweep(
        write_sweep(tmp_path, data),
        out,
        progress=False,
        echo=lambda s: None,
        engine_factory=engines,
    )
    assert [o.status for o in outcomes] == ["finished", "finished"], outcomes[0].error
    scores = outcomes[1].scores
    assert scores.benchmark == "task" and scores.cases == 4 and scores.tasks
    assert (out / "alpha__fewshot0__translate-off__prompt-careful" / "records.jsonl").exists()
    board = collect(out)
    assert not board.references and set(board.tasks) == set(scores.tasks)


# ---------------------------------------------------------------- leaderboard


def fabricate_cell(root: Path, name: str, overall, tasks: dict, *, status="finished", **stats):
    cell = root / name
    cell.mkdir(parents=True)
    model, _, rest = name.partition("__")
    info = {
        "name": name,
        "settings": {
            "model": {"gguf": model},
            "few_shot": 0,
            "translate": "on" in rest,
            "samples": 1,
            "temperature": 0.0,
            "prompt": "default",
        },
        "benchmark": {"dragon": str(INPUT)},
        "status": status,
        "error": stats.pop("error", None),
        "wall_seconds": 30.0,
    }
    (cell / "cell.json").write_text(json.dumps(info))
    if status == "finished":
        scores = CellScores(
            benchmark="dragon",
            metric="DRAGON utility",
            overall=overall,
            tasks={t: TaskScore(type=ty, metric="m", score=s) for t, (ty, s) in tasks.items()},
            **stats,
        )
        from extractinator.experiments.scoring import type_means

        scores.types = type_means(scores.tasks)
        (cell / "scores.json").write_text(scores.model_dump_json())
    return cell


def test_leaderboard_aggregates_sorts_and_renders(tmp_path):
    t1, t6 = "Task101_Example_sl_bin_clf", "Task106_Example_sl_reg"
    fabricate_cell(
        tmp_path,
        "small__fewshot0__translate-off",
        0.4,
        {t1: ("classification", 0.5), t6: ("regression", 0.3)},
        cases=10,
        failed=1,
        seconds=60.0,
        prompt_tokens=900,
        completion_tokens=100,
    )
    fabricate_cell(
        tmp_path,
        "big<script>__fewshot0__translate-on",
        0.7,
        {t1: ("classification", 0.9), t6: ("regression", 0.5)},
        cases=10,
        seconds=120.0,
        prompt_tokens=1500,
        completion_tokens=500,
    )
    fabricate_cell(
        tmp_path,
        "gone__fewshot0__translate-off",
        None,
        {},
        status="failed",
        error="ModelError: no such file",
    )
    board = collect(tmp_path)
    assert [r.name.split("__")[0] for r in board.rows] == ["big<script>", "small", "gone"]
    best, small, gone = board.rows
    assert best.types == {"classification": 0.9, "regression": 0.5}
    assert small.cases_per_min == pytest.approx(10.0) and small.tokens_per_case == 100.0
    assert small.failed == 1 and gone.error == "ModelError: no such file"
    assert board.types == ["classification", "regression"] and board.tasks == [t1, t6]
    ref = board.references[0]
    assert ref.tasks == {t1: 0.943, t6: 0.890} and ref.types["regression"] == 0.890

    md = to_markdown(board, png="board.png")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 3 + 1  # header, rule, cells, reference
    assert table[2].startswith("| 1 | big<script>") and "**0.700**" in table[2]
    assert "| Task101 | Task106 |" in table[0] and "![" in md and "(board.png)" in md
    html = to_html(board)
    assert "<script>__" not in html and "big&lt;script&gt;" in html
    pytest.importorskip("matplotlib")
    assert 'src="data:image/png;base64,' in html
    csv_text = to_csv(board)
    assert csv_text.splitlines()[1].startswith("1,big<script>")


# ---------------------------------------------------------------- paired comparison


def fabricate_dragon_predictions(root: Path, name: str, values) -> Path:
    task = "Task101_Example_sl_bin_clf"
    cell = fabricate_cell(root, name, None, {}, status="running")
    job = cell / f"{task}-fold0"
    job.mkdir()
    preds = [{"uid": uid, "single_label_binary_classification": v} for uid, v in values]
    (job / "nlp-predictions-dataset.json").write_text(json.dumps(preds))
    return cell


def test_bootstrap_interval_holds_zero_for_equal_cells_and_excludes_it_for_a_real_gap(tmp_path):
    truth = json.loads((GT / "Task101_Example_sl_bin_clf.json").read_text())
    labels = [(g["uid"], float(g["single_label_binary_classification_target"])) for g in truth]
    rng = np.random.default_rng(1)
    noisy = [(uid, float(rng.random())) for uid, _ in labels]
    good = [(uid, 0.8 * y + 0.2 * float(rng.random())) for uid, y in labels]
    a = fabricate_dragon_predictions(tmp_path, "a__fewshot0__translate-off", noisy)
    a2 = fabricate_dragon_predictions(tmp_path, "a2__fewshot0__translate-off", noisy)
    b = fabricate_dragon_predictions(tmp_path, "b__fewshot0__translate-off", good)

    same = compare_cells(a, a2, n_boot=200)
    d = same.tasks[0]
    assert d.diff == 0 and d.ci_low <= 0 <= d.ci_high and not d.significant

    gap = compare_cells(a, b, n_boot=200)
    d = gap.tasks[0]
    assert d.cases == len(labels) == 20 and d.score_b == pytest.approx(1.0)
    assert d.diff > 0.3 and d.ci_low > 0 and d.significant and d.b_better == 1.0
    assert gap.overall.diff == pytest.approx(d.diff)
    assert "*" in format_comparison(gap)

    # the interval is only as wide as the cases allow: 10 cases give a wider one
    few_a = fabricate_dragon_predictions(tmp_path, "c__fewshot0__translate-off", noisy[:10])
    few_b = fabricate_dragon_predictions(tmp_path, "d__fewshot0__translate-off", good[:10])
    few = compare_cells(few_a, few_b, n_boot=200).tasks[0]
    assert few.ci_high - few.ci_low > d.ci_high - d.ci_low
