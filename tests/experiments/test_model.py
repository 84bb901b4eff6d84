"""Acceptance: a two-cell sweep (default model and Qwen2.5-Coder-0.5B) on two cases each of
two synthetic DRAGON tasks, killed midway (SIGKILL) and resumed, gives a
leaderboard whose four cells score exactly what each cell scores when run alone with
``extractinator dragon run`` settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from extractinator.experiments.leaderboard import collect

from paths import DRAGON_SYNTHETIC

pytestmark = [
    pytest.mark.model,
]
TASKS = ["Task105_Example_ml_mc_clf", "Task107_Example_ml_reg"]  # classification, regression
SETTINGS = {"n_ctx": 2048, "threads": 2, "max_tokens": 256, "seed": 0}
LIMIT = 2


def sweep_file(tmp_path):
    data = {
        "benchmark": {
            "dragon": str(DRAGON_SYNTHETIC / "test-input"),
            "tasks": [t[4:7] for t in TASKS],
            "folds": [0],
            "limit": LIMIT,
        },
        "models": ["default", "qwen2.5-coder-0.5b"],
        "grid": {"translate": [False]},
        "settings": SETTINGS,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_alone(model, translate, out):
    """One cell on its own: ``extractinator dragon run`` with the sweep's settings as flags,
    then ``dragon evaluate --partial``."""
    from click.testing import CliRunner

    from extractinator.cli import main
    from extractinator.dragon.evaluate import evaluate

    args = ["dragon", "run", str(DRAGON_SYNTHETIC / "test-input"), str(out), "--folds", "0"]
    for task in TASKS:
        args += ["--tasks", task[4:7]]
    args += ["--limit", str(LIMIT), "--n-ctx", str(SETTINGS["n_ctx"]), "--no-progress"]
    args += ["--threads", str(SETTINGS["threads"]), "--max-tokens", str(SETTINGS["max_tokens"])]
    args += ["--seed", str(SETTINGS["seed"]), *(["--model", model] if model else [])]
    args += ["--translate"] if translate else []
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return evaluate(
        DRAGON_SYNTHETIC / "test-ground-truth", out, folds=[0], tasks=TASKS, partial=True
    )


def test_sweep_killed_midway_resumes_to_the_scores_of_each_cell_run_alone(tmp_path):
    from extractinator.errors import ModelError
    from extractinator.model_store import SMALL_MODEL, ensure_model

    try:
        small = ensure_model(SMALL_MODEL)
    except ModelError as e:
        pytest.skip(str(e))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "extractinator",
        "sweep",
        str(sweep_file(tmp_path)),
        "--out",
        str(out),
        "--no-progress",
    ]
    first = out / "default__fewshot0__translate-off"
    records = first / f"{TASKS[0]}-fold0" / "run" / "records.jsonl"
    started = time.monotonic()
    with (tmp_path / "log1").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while time.monotonic() - started < 600:
            if records.exists() and records.read_bytes().count(b"\n") >= 1:
                break
            assert proc.poll() is None, (tmp_path / "log1").read_text()
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = time.monotonic() - started
    assert (first / "cell.json").exists() and not (first / "scores.json").exists()

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "[1/2] default__fewshot0__translate-off: running" in rerun.stdout
    swept_at = time.monotonic() - started

    board = collect(out)
    assert len(board.rows) == 2 and all(r.status == "finished" for r in board.rows)
    assert board.references and set(board.tasks) == set(TASKS)
    rows = {r.name: r for r in board.rows}
    for name, model, translate in [
        ("default__fewshot0__translate-off", None, False),
        ("qwen2.5-coder-0.5b__fewshot0__translate-off", str(small), False),
    ]:
        alone = run_alone(model, translate, tmp_path / "alone" / name)
        row = rows[name]
        assert row.overall == pytest.approx(alone["aggregates"]["overall"]["mean"], abs=1e-12)
        for task in TASKS:
            assert row.tasks[task] == pytest.approx(alone["aggregates"][task]["mean"], abs=1e-12)
        assert row.cases == LIMIT * len(TASKS) and row.cases_per_min and row.tokens_per_case
    print(
        f"\nkilled after {killed_at:.0f} s, sweep done after {swept_at:.0f} s, cells alone "
        f"done after {time.monotonic() - started:.0f} s\n{rerun.stdout}"
    )
