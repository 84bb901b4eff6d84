"""DRAGON end to end with the real embedded model: `dragon run --limit` on the shared
synthetic job folders, then `dragon evaluate --partial`, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paths import DRAGON_SYNTHETIC

pytestmark = [
    pytest.mark.model,
]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "extractinator", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=1500,
    )


def test_dragon_run_then_evaluate_all_synthetic_tasks(tmp_path):
    out = tmp_path / "predictions"
    limit = 2
    run = cli(
        "dragon", "run", DRAGON_SYNTHETIC / "test-input", out, "--limit", limit, "--no-progress"
    )
    assert run.returncode == 0, run.stderr
    jobs = sorted(p.name for p in (DRAGON_SYNTHETIC / "test-input").iterdir())
    assert len(jobs) == 9
    for job in jobs:
        config = json.loads(
            (DRAGON_SYNTHETIC / "test-input" / job / "nlp-task-configuration.json").read_text()
        )
        test = json.loads(
            (DRAGON_SYNTHETIC / "test-input" / job / "nlp-test-dataset.json").read_text()
        )[:limit]
        preds = json.loads((out / job / "nlp-predictions-dataset.json").read_text())
        key = config["label_name"].removesuffix("_target")
        assert [p["uid"] for p in preds] == [c["uid"] for c in test]
        for pred, case in zip(preds, test, strict=True):
            value = pred[key]
            if "entity" in key:  # one tag (list) per token
                assert len(value) == len(case["text_parts"])
            elif key.startswith("multi_label"):
                assert isinstance(value, list)
            assert value is not None
        assert (out / job / "run" / "records.jsonl").exists()
    metrics = tmp_path / "metrics.json"
    ev = cli(
        "dragon",
        "evaluate",
        DRAGON_SYNTHETIC / "test-ground-truth",
        out,
        "--folds",
        0,
        "--partial",
        "--output",
        metrics,
    )
    assert ev.returncode == 0, ev.stderr
    assert "overall" in ev.stdout
    result = json.loads(metrics.read_text())
    assert len(result["aggregates"]) == 10  # nine tasks + overall
    assert sum(result["partial_cases"].values()) == 9 * limit
