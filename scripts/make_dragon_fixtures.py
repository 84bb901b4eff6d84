"""Build the small DRAGON synthetic fixture the tests use (tests/fixtures/dragon-synthetic)
from the full public set (DIAGNijmegen/dragon_baseline, Apache-2.0), so a fresh clone runs
every test with nothing beside it.

    python scripts/make_dragon_fixtures.py FULL_SET_DIR tests/fixtures/dragon-synthetic

Per task: the training cases the task library uses as examples plus evenly spaced ones
(case i*n/N) up to TRAIN, evenly spaced VALIDATION and TEST cases, and the ground truth of
those test cases. Files keep the official layout and are otherwise unchanged.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import yaml

TRAIN, VALIDATION, TEST = 40, 10, 20
LIBRARY = Path(__file__).resolve().parents[1] / "src" / "extractinator" / "dragon" / "tasks"


def evenly(items: list, n: int) -> list:
    """Case i*len/n for i < n (all cases when there are fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def case_texts(case: dict, task: str) -> set[str]:
    """The texts a library example may quote a training case by."""
    if "text" in case:
        return {case["text"]}
    parts = case["text_parts"]
    return {" ".join(parts), f"Premise: {parts[0]}\nHypothesis: {parts[1]}"}


def label_units(case: dict) -> set[str]:
    """What a case contributes to its task's label inventory: its class (per position for
    multi-label tasks) or its entity types (NER)."""
    key = next(k for k in case if k.endswith("_target"))
    label = case[key]
    if "entity" in key:
        tags = {t for tok in label for t in (tok if isinstance(tok, list) else [tok])}
        return {t[2:] for t in tags if t != "O"}
    if "regression" in key:
        return set()
    if isinstance(label, list):
        return {f"{i}={v}" for i, v in enumerate(label)}
    return {str(label)}


def covering(cases: list[dict], chosen: list[dict]) -> list[dict]:
    """More cases until every label unit of ``cases`` is in ``chosen`` (first ones first)."""
    have = set().union(*(label_units(c) for c in chosen)) if chosen else set()
    extra = []
    for case in cases:
        new = label_units(case) - have
        if new and case not in chosen:
            extra.append(case)
            have |= new
    return extra


def example_inputs(task: str) -> set[str]:
    inputs: set[str] = set()
    for path in LIBRARY.glob(f"{task.split('_')[0]}_*.yaml"):
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        for ex in (entry.get("task") or entry).get("examples") or []:
            if isinstance(ex.get("input"), str):
                inputs.add(ex["input"])
    return inputs


README = """# DRAGON synthetic tasks: the small test fixture

A subset of the public synthetic DRAGON example tasks Task101-Task109 (fold 0), published
by DIAG / Radboudumc under the Apache-2.0 licence (see LICENSE beside this file), taken
from the `test-input/` and `test-ground-truth/` folders of the public repository
DIAGNijmegen/dragon_baseline at commit 9b9484443be1acbd20bc41a75f1b8c46e370eac2, case
records unchanged. Per task: about 40 training cases (the ones the task library quotes as
examples, evenly spaced ones, and one more for each label value not yet present), 10
validation and 20 test cases (evenly spaced: case i*n/N), and the ground truth of those
test cases.

Made by `python scripts/make_dragon_fixtures.py FULL_SET tests/fixtures/dragon-synthetic`.
Tests use only this subset; the benchmarks use the full set.
"""


def main(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    (dst / "test-ground-truth").mkdir(parents=True)
    shutil.copy(src / "LICENSE", dst / "LICENSE")
    (dst / "README.md").write_text(README, encoding="utf-8")
    for job in sorted((src / "test-input").iterdir()):
        task = job.name.removesuffix("-fold0")
        out = dst / "test-input" / job.name
        out.mkdir(parents=True)
        shutil.copy(job / "nlp-task-configuration.json", out)
        train = json.loads((job / "nlp-training-dataset.json").read_text(encoding="utf-8"))
        wanted = example_inputs(task)
        chosen = [c for c in train if case_texts(c, task) & wanted]
        chosen += [c for c in evenly(train, TRAIN) if c not in chosen]
        chosen += covering(train, chosen)
        chosen.sort(key=train.index)
        val = json.loads((job / "nlp-validation-dataset.json").read_text(encoding="utf-8"))
        test = json.loads((job / "nlp-test-dataset.json").read_text(encoding="utf-8"))
        test = evenly(test, TEST)
        uids = {c["uid"] for c in test}
        truth = json.loads((src / "test-ground-truth" / f"{task}.json").read_text("utf-8"))
        for name, rows in (
            ("nlp-training-dataset.json", chosen),
            ("nlp-validation-dataset.json", evenly(val, VALIDATION)),
            ("nlp-test-dataset.json", test),
        ):
            (out / name).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        kept = [c for c in truth if c["uid"] in uids]
        (dst / "test-ground-truth" / f"{task}.json").write_text(
            json.dumps(kept, indent=1, ensure_ascii=False) + "\n"
        )
        print(
            f"{task}: train {len(chosen)} ({len(wanted)} library examples), "
            f"validation {min(len(val), VALIDATION)}, test {len(test)}"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
