"""benchmarks/heldout_variant.py: a copy of a held-out root with one setting changed."""

from __future__ import annotations

import subprocess
import sys

from extractinator.experiments.heldout import load_tasks

from paths import REPO

FIXTURE = REPO / "tests" / "fixtures" / "heldout"
SCRIPT = REPO / "benchmarks" / "heldout_variant.py"


def variant(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), str(tmp_path / "v"), "--root", str(FIXTURE), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_examples_come_from_the_first_dev_cases_which_leave_the_split(tmp_path):
    plain = {t.name: t for t in load_tasks(FIXTURE)}
    proc = variant(tmp_path, "--examples", "1", "--tasks", "fixture_letter")
    assert proc.returncode == 0, proc.stderr
    (task,) = load_tasks(tmp_path / "v")  # only the named task was copied
    first = plain["fixture_letter"].split_cases("dev", None)[0]
    assert f"examples {first.id}" in proc.stdout
    assert [c.id for c in task.split_cases("dev", None)] == [
        c.id for c in plain["fixture_letter"].split_cases("dev", None)[1:]
    ]
    test_ids = [c.id for c in plain["fixture_letter"].split_cases("test", None)]
    assert [c.id for c in task.split_cases("test", None)] == test_ids
    (example,) = task.task.examples
    assert example.input == first.text
    label = plain["fixture_letter"].labels[first.id]
    assert example.output["destination"] == label["destination"]
    assert example.output["entities"] == [
        {"text": s["text"], "label": s["label"]} for s in label["entities"]
    ]  # spans without offsets, as task-file examples are written


def test_layout_and_evidence_change_every_task_file(tmp_path):
    assert variant(tmp_path, "--layout", "list", "--evidence").returncode == 0
    tasks = {t.name: t for t in load_tasks(tmp_path / "v")}
    assert tasks["fixture_letter"].task.fields["entities"].layout == "list"
    assert all(t.task.evidence for t in tasks.values())


def test_a_variant_needs_a_setting_and_never_replaces_the_root(tmp_path):
    assert "name a setting" in variant(tmp_path).stderr
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(FIXTURE), "--root", str(FIXTURE), "--evidence"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "must not be the held-out root" in proc.stderr
    assert (FIXTURE / "fixture_letter" / "task.yaml").is_file()
