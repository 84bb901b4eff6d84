"""benchmarks/heldout/check_data.py: the shipped held-out data passes, broken copies do not."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from paths import REPO

HELDOUT = REPO / "benchmarks" / "heldout"


@pytest.fixture(scope="module")
def check_data():
    spec = importlib.util.spec_from_file_location("check_data", HELDOUT / "check_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def task_folders() -> list[Path]:
    return sorted(p.parent for p in HELDOUT.glob("*/task.yaml"))


def test_shipped_folders_pass(check_data, capsys):
    folders = task_folders()
    assert folders, "no held-out task folders found"
    assert check_data.main([str(f) for f in folders]) == 0
    lines = capsys.readouterr().out.splitlines()
    for folder in folders:
        summary = [line for line in lines if line.startswith(f"{folder.name}: ")]
        assert len(summary) == 1 and summary[0].endswith(": OK"), summary


def rewrite(path: Path, edit) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    edit(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def test_broken_labels_are_named(check_data, tmp_path, capsys):
    folder = tmp_path / "mammography"
    shutil.copytree(HELDOUT / "mammography", folder)

    def break_labels(rows):
        rows[0]["birads"] = "1"  # a string where the enum holds integers
        rows[1]["lesion_side"] = None  # not nullable
        del rows[2]["microcalcifications"]
        rows.append(dict(rows[3]))  # a second label line for one case

    def break_cases(rows):
        rows[4]["split"] = "train"

    rewrite(folder / "labels.jsonl", break_labels)
    rewrite(folder / "cases.jsonl", break_cases)
    assert check_data.main([str(folder)]) == 1
    err = capsys.readouterr().err
    assert "labels.jsonl:1: field 'birads': '1' is not one of" in err
    assert "labels.jsonl:2: field 'lesion_side': null but the field is not nullable" in err
    assert "labels.jsonl:3: field 'microcalcifications' missing" in err
    assert "second label line for mammography_004" in err
    assert "cases.jsonl:5: split 'train' is not one of dev, dev2, dev3, dev4, test" in err


def test_span_offsets_are_checked(check_data, tmp_path, capsys):
    folder = tmp_path / "meds"
    folder.mkdir()
    (folder / "task.yaml").write_text(
        "name: meds\ndescription: List the drugs.\ninput: text\nid: id\n"
        "fields:\n  drugs: {type: spans, labels: {MEDICATION: a drug name}}\n",
        "utf-8",
    )
    (folder / "meta.yaml").write_text("kinds: {drugs: spans}\nabout: test\n", "utf-8")
    text = "metoprolol 50 mg en paracetamol"
    cases = [{"id": f"meds_00{i}", "split": s, "text": text} for i, s in ((1, "dev"), (2, "test"))]
    good = [{"text": "metoprolol", "label": "MEDICATION", "start": 0, "end": 10}]
    bad = [{"text": "paracetamol", "label": "MEDICATION", "start": 19, "end": 30}]
    labels = [{"id": "meds_001", "drugs": good}, {"id": "meds_002", "drugs": bad}]
    for name, rows in (("cases.jsonl", cases), ("labels.jsonl", labels)):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    assert check_data.main([str(folder)]) == 1
    err = capsys.readouterr().err
    assert "labels.jsonl:2: field 'drugs'[0]: text 'paracetamol' != case text" in err
    assert "labels.jsonl:1" not in err
