"""The hidden label rules of the synthetic DRAGON tasks Task101-Task109, checked on data.

Each `rule_1NN` implements our best hypothesis of how a task's label follows from its text
(found on the training + validation sets of fold 0 only; the test labels are never read).
The library task files in `src/extractinator/dragon/tasks/` state these rules for the model.

    python benchmarks/synthetic_rules.py [DATA_DIR]   # prints the agreement per task

DATA_DIR defaults to `$DRAGON_SYNTHETIC` or `/work/shared/dragon-synthetic`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = {
    "Task101": "Task101_Example_sl_bin_clf",
    "Task102": "Task102_Example_sl_mc_clf",
    "Task103": "Task103_Example_mednli",
    "Task104": "Task104_Example_ml_bin_clf",
    "Task105": "Task105_Example_ml_mc_clf",
    "Task106": "Task106_Example_sl_reg",
    "Task107": "Task107_Example_ml_reg",
    "Task108": "Task108_Example_sl_ner",
    "Task109": "Task109_Example_ml_ner",
}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV"]
ROMAN += ["XV", "XVI", "XVII", "XVIII", "XIX", "XX"]


def data_dir(base: str | os.PathLike[str] | None = None) -> Path:
    base = base or os.environ.get("DRAGON_SYNTHETIC", "/work/shared/dragon-synthetic")
    return Path(base) / "test-input"


def load_cases(task: str, base: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The labelled cases (training + validation, fold 0) of a task ("Task101")."""
    folder = data_dir(base) / f"{TASKS[task]}-fold0"
    cases: list[dict[str, Any]] = []
    for split in ("training", "validation"):
        with open(folder / f"nlp-{split}-dataset.json", encoding="utf-8") as fh:
            cases.extend(json.load(fh))
    return cases


def label_of(case: dict[str, Any]) -> Any:
    return next(v for k, v in case.items() if k.endswith("_target"))


def half_up(x: float) -> float:
    return float(math.floor(x + 0.5))


# ---------------------------------------------------------------------------------------------
# Findings: "<prefix> lesion of 14 cm." / "normal of 9.0 mm" / "other structure of size 17mm"

_FINDING = re.compile(
    r"\b(lesion|normal|other structure)(?: of size| of)\s*(\d+(?:\.\d+)?)\s*(mm|cm)"
)


def findings(text: str) -> list[tuple[str, float, str]]:
    """(kind, value as written, unit) of every measured finding, in order."""
    return [(k, float(v), u) for k, v, u in _FINDING.findall(text)]


def to_mm(value: float, unit: str) -> float:
    return value * 10 if unit == "cm" else value


# Task101: true when any lesion is measured in cm ("lesion of 14 cm"); sizes in mm, and other
# findings ("normal", "other structure"), never count.
def rule_101(text: str) -> bool:
    return any(k == "lesion" and u == "cm" for k, _, u in findings(text))


# Task102: the number of lesions measured in cm, as a string ("0" ... "4").
def rule_102(text: str) -> str:
    return str(sum(k == "lesion" and u == "cm" for k, _, u in findings(text)))


# Task103: real NLI (premise, hypothesis); a keyword approximation: hobbies and lifestyle in
# the hypothesis -> neutral, a hypothesis that denies the finding -> contradiction, else
# entailment.
_NEUTRAL = re.compile(
    r"\b(enjoys?|fan of|recently|interest(ed)?|learning|plan(s|ning)?|thinking|considering|"
    r"favou?rite|hobby|loves|likes|collects|travels|children|cats?|dog|years old|lives in|"
    r"volunteers|yoga|exercise|vegetarian|dream(ed)?|passionate|wants|family history|"
    r"allergic|two years ago|practicing|taken up|started)\b",
    re.IGNORECASE,
)
_CONTRA = re.compile(
    r"\b(never|no|not|doesn't|perfect(ly)?|clear|free|optimal|normal|well|impeccable|pristine|"
    r"intact|healthy|sharp|energetic|soundly|rapidly|always|exceptionally|extremely|steady|"
    r"regular|average|stable|consistent|quick|happy|hearty|strong|without|watery|high|low|"
    r"elevated)\b",
    re.IGNORECASE,
)


def rule_103(parts: list[str]) -> str:
    hypothesis = parts[1]
    if _NEUTRAL.search(hypothesis):
        return "neutral"
    if re.search(r"\b(might|may|could|likely)\b", hypothesis):
        return "entailment"
    return "contradiction" if _CONTRA.search(hypothesis) else "entailment"


# Task104: label k (k = 0..4) is true when at least k + 1 lesions have a size ("lesion of
# 11 cm" or "lesion of 11 mm"); a bare "lesion" without a size does not count.
def rule_104(text: str) -> list[bool]:
    n = sum(k == "lesion" for k, _, _ in findings(text))
    return [n > k for k in range(5)]


# Task105: [diagnosis, medication] from "Patient reports <symptoms>. On examination, <finding
# A> and <finding B> was noted."
# Diagnosis: the first disease (in this order) whose signs are all present, else "Unknown".
# Medication: the first examination finding that names a drug (high blood pressure -> beta
# blockers, inflamed tonsils -> antibiotics); otherwise headache or chest pain -> pain
# killers; otherwise "Unknown".
DISEASES = [
    ("Flu", {"cough", "fever", "inflamed tonsils"}),
    ("COVID-19", {"cough", "fever", "shortness of breath", "chest congestion"}),
    ("Common Cold", {"cough", "inflamed tonsils"}),
    ("Pneumonia", {"fever", "chest congestion"}),
    ("Heart Disease", {"chest pain", "dizziness", "irregular heart rate"}),
    ("Migraine", {"headache", "dizziness", "nausea"}),
    ("Arthritis", {"joint pain"}),
]
_DRUG_FINDINGS = {"high blood pressure": "beta blockers", "inflamed tonsils": "antibiotics"}
_REPORT = re.compile(r"Patient reports (.*?)\. On examination, (.*?) and (.*?) was noted")


def parse_105(text: str) -> tuple[list[str], list[str]]:
    m = _REPORT.search(text)
    if m is None:
        return [], []
    return m.group(1).split(", "), [m.group(2), m.group(3)]


def rule_105(text: str) -> list[str]:
    symptoms, exam = parse_105(text)
    signs = set(symptoms) | set(exam)
    diagnosis = next((name for name, need in DISEASES if need <= signs), "Unknown")
    drug = next((_DRUG_FINDINGS[f] for f in exam if f in _DRUG_FINDINGS), None)
    if drug is None:
        drug = "pain killers" if signs & {"headache", "chest pain"} else "Unknown"
    return [diagnosis, drug]


# Task106: the largest lesion size in mm (cm x 10), rounded to a whole mm; 0 without lesions.
# The label comes from a hidden exact size: "16 cm" can be 162 mm (written sizes are rounded).
def rule_106(text: str) -> float:
    sizes = [to_mm(v, u) for k, v, u in findings(text) if k == "lesion"]
    return half_up(max(sizes)) if sizes else 0.0


# Task107: items "I: ... of 9.0 mm." to "V: ..."; label i is the size of item i+1 in mm
# (cm x 10) rounded to a whole mm, whatever the finding (lesion, normal, other structure);
# null when the item is absent.
_ITEM_107 = re.compile(
    r"\b(I|II|III|IV|V): [^.]*?(?:lesion|normal|other structure)(?: of size| of)\s*"
    r"(\d+(?:\.\d+)?)\s*(mm|cm)"
)


def rule_107(text: str) -> list[float | None]:
    out: list[float | None] = [None] * 5
    for numeral, value, unit in _ITEM_107.findall(text):
        out[ROMAN.index(numeral)] = half_up(to_mm(float(value), unit))
    return out


# Task108: BIO tags on the text_parts tokens. PREFIX: the opening phrase ("Patient presents
# with", "Case involves", "Individual reports", "Subject describes"); SYMPTOM: the words up to
# the diagnosis; DIAGNOSIS: the phrase after the symptom ("likely viral infection"); every
# Roman numeral; STRUCTURE: the finding word ("lesion", "normal", "other") of each item; NOTE:
# the first closing sentence after the last item, and, when more sentences follow, all of
# them together as a second NOTE.
PREFIXES = [["Patient", "presents", "with"], ["Case", "involves"]]
PREFIXES += [["Individual", "reports"], ["Subject", "describes"]]
DIAGNOSIS_STARTS = {"likely", "possible", "potential", "indication", "symptoms", "early"}


def _bio(tags: list[str], start: int, end: int, label: str) -> None:
    for i in range(start, end):
        tags[i] = ("B-" if i == start else "I-") + label


def rule_108(tokens: list[str]) -> list[str]:
    tags = ["O"] * len(tokens)
    prefix = next(p for p in PREFIXES if tokens[: len(p)] == p)
    i = len(prefix)
    _bio(tags, 0, i, "PREFIX")
    j = next(k for k in range(i, len(tokens)) if tokens[k] in DIAGNOSIS_STARTS)
    _bio(tags, i, j, "SYMPTOM")
    k = next((n for n in range(j, len(tokens)) if tokens[n] in ROMAN), len(tokens))
    numerals = [n for n in range(k, len(tokens)) if tokens[n] in ROMAN]
    if not numerals:  # no items: the diagnosis is the next three words (not seen in the data)
        k = min(j + 3, len(tokens))
    _bio(tags, j, k, "DIAGNOSIS")
    last = k
    for n in numerals:
        _bio(tags, n, n + 1, "ROMAN_NUMERAL")
        of = tokens.index("of", n)
        _bio(tags, of - 1, of, "STRUCTURE")
        last = of + 3  # "of", size, unit.
    end = next((n + 1 for n in range(last, len(tokens)) if tokens[n].endswith(".")), last)
    _bio(tags, last, end, "NOTE")
    _bio(tags, end, len(tokens), "NOTE")
    return tags


# Task109: item headers are Roman numerals, several joined by "+" ("I+II", "III+IV+V"); when
# the item's finding is a lesion, its size tokens (number and unit, e.g. "12" "mm") carry
# "<k>-lesion" for every numeral k+1 of the header (I -> 0, II -> 1, ... X -> 9; numerals
# after X get no label). Non-lesion items and everything else are "O".
def rule_109(tokens: list[str]) -> list[list[str]]:
    tags: list[list[str]] = [["O"] for _ in tokens]
    for n, tok in enumerate(tokens):
        numerals = tok.split("+")
        if not all(x in ROMAN for x in numerals) or n + 5 >= len(tokens):
            continue
        if "of" not in tokens[n : n + 8]:
            continue
        of = tokens.index("of", n)
        if tokens[of - 1] != "lesion":
            continue
        idx = [i for i in (ROMAN.index(x) for x in numerals) if i < 10]
        if not idx:
            continue
        tags[of + 1] = [f"B-{i}-lesion" for i in idx]
        tags[of + 2] = [f"I-{i}-lesion" for i in idx]
    return tags


# ---------------------------------------------------------------------------------------------
# Agreement with the labels.

RULES: dict[str, Callable[[Any], Any]] = {
    "Task101": rule_101,
    "Task102": rule_102,
    "Task103": rule_103,
    "Task104": rule_104,
    "Task105": rule_105,
    "Task106": rule_106,
    "Task107": rule_107,
    "Task108": rule_108,
    "Task109": rule_109,
}
INPUT = {"Task103": "text_parts", "Task108": "text_parts", "Task109": "text_parts"}


def _close(pred: float | None, truth: float | None) -> bool:
    """Equal, or within the rounding noise of the written sizes (5 %, at least 0.5 mm)."""
    if pred is None or truth is None:
        return pred is truth
    return abs(pred - truth) <= max(0.05 * abs(truth), 0.5)


def _units(task: str, pred: Any, truth: Any) -> list[bool]:
    """Per-unit agreement: one entry per label position (multi-label) or token (NER)."""
    if task in ("Task106",):
        return [_close(pred, truth)]
    if task == "Task107":
        return [_close(p, t) for p, t in zip(pred, truth, strict=True)]
    if task == "Task109":
        return [sorted(p) == sorted(t) for p, t in zip(pred, truth, strict=True)]
    if isinstance(truth, list):
        return [p == t for p, t in zip(pred, truth, strict=True)]
    return [pred == truth]


def agreement(task: str, base: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Fraction of cases whose whole label the rule reproduces, and of label units (label
    positions, or tokens for NER); regression counts rounding noise (5 %) as agreement."""
    cases = load_cases(task, base)
    rule = RULES[task]
    whole = units = n_units = 0
    for case in cases:
        pred = rule(case[INPUT.get(task, "text")])
        ok = _units(task, pred, label_of(case))
        whole += all(ok)
        units += sum(ok)
        n_units += len(ok)
    return {
        "cases": len(cases),
        "case_agreement": whole / len(cases),
        "unit_agreement": units / n_units,
    }


def rsmape_106(base: str | os.PathLike[str] | None = None) -> float:
    """The official Task106 score (R-SMAPE, epsilon 4) the rule would get on train + val."""
    cases = load_cases("Task106", base)
    errs = []
    for case in cases:
        p, t = rule_106(case["text"]), float(label_of(case))
        errs.append(abs(t - p) / (abs(t) + abs(p) + 4))
    return 1 - sum(errs) / len(errs)


def main(argv: list[str]) -> None:
    base = argv[1] if len(argv) > 1 else None
    print(f"{'task':<8} {'cases':>6} {'case agreement':>15} {'unit agreement':>15}")
    for task in TASKS:
        a = agreement(task, base)
        print(
            f"{task:<8} {a['cases']:>6} {a['case_agreement']:>15.3f} {a['unit_agreement']:>15.3f}"
        )
    print(f"Task106 R-SMAPE of the rule: {rsmape_106(base):.4f}")


if __name__ == "__main__":
    main(sys.argv)
