"""A paired comparison of two cells of the same benchmark: per-task score differences (B - A)
with a bootstrap confidence interval over cases.

Only the cases both cells predicted are compared. Each bootstrap resample draws the cases
with replacement, the same draw for both cells (paired), and scores both with the task's
metric: the official DRAGON metric (computed on the resample, as dragon-eval would), or for
task benchmarks each field's accuracy / share within 5% / span F1 by offsets (hits decided
by reports/matching.py, like ``extractinator evaluate``). The overall difference resamples
every task at once and averages the task differences. The interval is the percentile
interval of the resampled differences; one that excludes 0 says the difference is unlikely
to be noise at that level. Resamples a metric cannot score (e.g. AUC with one class drawn)
are left out and counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import astuple
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..errors import DataError, ExtractinatorError
from .scoring import read_cell

Scorer = Callable[[np.ndarray], float]  # case indices -> score


class Difference(BaseModel):
    """B - A on one task (or overall), with its bootstrap interval."""

    task: str
    metric: str
    cases: int
    score_a: float
    score_b: float
    diff: float
    ci_low: float | None = None
    ci_high: float | None = None
    b_better: float | None = None  # share of resamples where B scored higher
    resamples: int = 0  # resamples scored
    unscorable: int = 0  # resamples the metric could not score

    @property
    def significant(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or (self.ci_high or 0) < 0)


class Comparison(BaseModel):
    cell_a: str
    cell_b: str
    confidence: float
    n_boot: int
    seed: int
    tasks: list[Difference]
    overall: Difference | None = None


class _Paired:
    """One task: how many cases, and a scorer for each cell."""

    def __init__(self, name: str, metric: str, n: int, a: Scorer, b: Scorer) -> None:
        self.name, self.metric, self.n, self.a, self.b = name, metric, n, a, b


def _dragon_pairs(dir_a: Path, dir_b: Path, ground_truth: Path) -> list[_Paired]:
    from ..dragon.evaluate import PREDICTIONS_FILE, load_records
    from ..dragon.metrics import describe_metric, score_task

    jobs_a = {p.parent.name for p in dir_a.glob(f"Task*-fold*/{PREDICTIONS_FILE}")}
    jobs_b = {p.parent.name for p in dir_b.glob(f"Task*-fold*/{PREDICTIONS_FILE}")}
    by_task: dict[str, list[str]] = {}
    for job in sorted(jobs_a & jobs_b):
        by_task.setdefault(job.rpartition("-fold")[0], []).append(job)
    pairs = []
    for task, jobs in by_task.items():
        gt_by_uid = {
            str(g["uid"]): g for g in load_records(ground_truth / f"{task}.json", "ground truth")
        }
        # one unit per (fold, case): folds are scored separately and averaged, as officially
        units: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for f, job in enumerate(jobs):
            pa = {str(p["uid"]): p for p in load_records(dir_a / job / PREDICTIONS_FILE, "preds")}
            pb = {str(p["uid"]): p for p in load_records(dir_b / job / PREDICTIONS_FILE, "preds")}
            for uid in sorted(set(pa) & set(pb) & set(gt_by_uid)):
                units.append((f, gt_by_uid[uid], pa[uid], pb[uid]))
        if not units:
            continue
        folds = np.array([u[0] for u in units])

        def scorer(
            which: int, task: str = task, units: list[Any] = units, folds: np.ndarray = folds
        ) -> Scorer:
            def score(idx: np.ndarray) -> float:
                per_fold = []
                for f in np.unique(folds[idx]):
                    chosen = [i for i in idx if folds[i] == f]
                    gt = [{**units[i][1], "uid": str(k)} for k, i in enumerate(chosen)]
                    pred = [{**units[i][which], "uid": str(k)} for k, i in enumerate(chosen)]
                    per_fold.append(score_task(task, gt, pred))
                return float(np.mean(per_fold))

            return score

        pairs.append(_Paired(task, describe_metric(task), len(units), scorer(2), scorer(3)))
    return pairs


def _task_pairs(dir_a: Path, dir_b: Path, labels: Path, id_column: str | None) -> list[_Paired]:
    from ..reports import matching as m
    from ..reports.evaluate import load_run
    from ..reports.labels import SUPPORTED_TYPES, UNLABELLED, read_labels

    task, recs_a = load_run(dir_a)
    _, recs_b = load_run(dir_b)
    specs = {n: s for n, s in task.fields.items() if s.type in SUPPORTED_TYPES}
    truth = read_labels(labels, specs, id_column=id_column or task.id)
    ids = [i for i in truth if i in recs_a and i in recs_b]

    pairs = []
    for name, spec in specs.items():
        rows = [i for i in ids if truth[i][name] is not UNLABELLED]
        if not rows:
            continue
        scorers = []
        for recs in (recs_a, recs_b):
            covered = np.array([bool(recs[i].ok and name in (recs[i].output or {})) for i in rows])
            got = [
                (truth[i][name], recs[i].output[name] if c else None)  # type: ignore[index]
                for c, i in zip(covered, rows, strict=True)
            ]
            if spec.type == "spans":  # micro F1 by offsets over the resampled cases
                counts = np.array(
                    [astuple(m.span_counts_offsets(t, p)) for t, p in got], dtype=float
                ).reshape(-1, 3)
                scorers.append(_f1_scorer(covered, counts))
            else:
                hits = np.array(
                    [
                        bool(c and m.values_match(spec, t, p))
                        for c, (t, p) in zip(covered, got, strict=True)
                    ]
                )
                scorers.append(_share_scorer(covered, hits))
        metric = {"integer": "within 5%", "number": "within 5%", "spans": "span F1 (offsets)"}
        pairs.append(_Paired(name, metric.get(spec.type, "accuracy"), len(rows), *scorers))
    return pairs


def _heldout_pairs(dir_a: Path, dir_b: Path, bench: dict[str, Any]) -> list[_Paired]:
    """One pair per held-out task: the task's mean over its fields on the resampled cases
    (scored as benchmarks/heldout.py scores them)."""
    from .heldout import load_tasks
    from .heldout_scoring import field_score, run_dir_records, task_outcomes
    from .sweep import HeldoutBenchmark

    b = HeldoutBenchmark.model_validate(bench)
    pairs = []
    for ht in load_tasks(b.heldout, b.tasks):
        recs_a, recs_b = run_dir_records(dir_a / ht.name), run_dir_records(dir_b / ht.name)
        ids = [c.id for c in ht.split_cases(b.split, b.limit) if c.id in recs_a and c.id in recs_b]
        if not ids:
            continue
        scorers = []
        for recs in (recs_a, recs_b):
            outcomes = task_outcomes(ht, ids, recs)

            def score(
                idx: np.ndarray, outcomes: dict[str, Any] = outcomes, specs: Any = ht.task.fields
            ) -> float:
                got = [
                    field_score(specs[name], [row[i] for i in idx])
                    for name, row in outcomes.items()
                ]
                return float(np.mean([g for g in got if g is not None]))

            scorers.append(score)
        pairs.append(_Paired(ht.name, "mean over fields", len(ids), *scorers))
    return pairs


def _share_scorer(covered: np.ndarray, hits: np.ndarray) -> Scorer:
    def score(idx: np.ndarray) -> float:
        n = covered[idx].sum()
        if n == 0:
            raise DataError("no covered case in the resample")
        return float(hits[idx].sum() / n)

    return score


def _f1_scorer(covered: np.ndarray, counts: np.ndarray) -> Scorer:
    def score(idx: np.ndarray) -> float:
        chosen = idx[covered[idx]]
        if len(chosen) == 0:
            raise DataError("no covered case in the resample")
        tp, fp, fn = counts[chosen].sum(axis=0)
        return float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 1.0

    return score


def _interval(diffs: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    if len(diffs) < 2:
        return None, None
    alpha = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [alpha, 100 - alpha])
    return float(low), float(high)


def _safe(score: Scorer, idx: np.ndarray) -> float:
    try:
        return score(idx)
    except (DataError, ValueError, ZeroDivisionError):
        return float("nan")


def compare_cells(
    cell_a: str | Path,
    cell_b: str | Path,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Per-task and overall differences B - A with bootstrap intervals over cases."""
    dir_a, dir_b = Path(cell_a), Path(cell_b)
    info_a, info_b = read_cell(dir_a), read_cell(dir_b)
    bench_a, bench_b = info_a.get("benchmark") or {}, info_b.get("benchmark") or {}
    same = {k: v for k, v in bench_a.items() if k != "limit"} == {
        k: v for k, v in bench_b.items() if k != "limit"
    }
    if not same:
        raise DataError(f"{dir_a} and {dir_b}: the cells ran different benchmarks")
    try:
        if "dragon" in bench_a:
            gt = Path(
                bench_a.get("ground_truth") or Path(bench_a["dragon"]).parent / "test-ground-truth"
            )
            pairs = _dragon_pairs(dir_a, dir_b, gt)
        elif "heldout" in bench_a:
            pairs = _heldout_pairs(dir_a, dir_b, bench_a)
        else:
            pairs = _task_pairs(dir_a, dir_b, Path(bench_a["labels"]), bench_a.get("id"))
    except ExtractinatorError:
        raise
    except (KeyError, ValueError, json.JSONDecodeError) as e:
        raise DataError(f"{dir_a} / {dir_b}: cannot compare ({e})") from None
    if not pairs:
        raise DataError(f"{dir_a} and {dir_b}: no task has predictions for cases in both cells")
    rng = np.random.default_rng(seed)
    results, boot_diffs = [], []
    for pair in pairs:
        everything = np.arange(pair.n)
        a, b = pair.a(everything), pair.b(everything)
        diffs = np.empty(n_boot)
        for r in range(n_boot):
            idx = rng.integers(0, pair.n, pair.n)
            diffs[r] = _safe(pair.b, idx) - _safe(pair.a, idx)
        boot_diffs.append(diffs)
        ok = diffs[~np.isnan(diffs)]
        low, high = _interval(ok, confidence)
        results.append(
            Difference(
                task=pair.name,
                metric=pair.metric,
                cases=pair.n,
                score_a=a,
                score_b=b,
                diff=b - a,
                ci_low=low,
                ci_high=high,
                b_better=float((ok > 0).mean()) if len(ok) else None,
                resamples=len(ok),
                unscorable=n_boot - len(ok),
            )
        )
    stacked = np.vstack(boot_diffs).mean(axis=0)  # NaN where any task's resample failed
    ok = stacked[~np.isnan(stacked)]
    low, high = _interval(ok, confidence)
    overall = Difference(
        task="overall",
        metric="mean over tasks",
        cases=sum(p.n for p in pairs),
        score_a=float(np.mean([d.score_a for d in results])),
        score_b=float(np.mean([d.score_b for d in results])),
        diff=float(np.mean([d.diff for d in results])),
        ci_low=low,
        ci_high=high,
        b_better=float((ok > 0).mean()) if len(ok) else None,
        resamples=len(ok),
        unscorable=n_boot - len(ok),
    )
    return Comparison(
        cell_a=str(dir_a),
        cell_b=str(dir_b),
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        tasks=results,
        overall=overall,
    )


def format_comparison(c: Comparison) -> str:
    """A plain-text table of the differences."""
    pct = f"{c.confidence:.0%}"
    lines = [
        f"A: {c.cell_a}",
        f"B: {c.cell_b}",
        f"{'task':<30}{'metric':>26}{'cases':>7}{'A':>8}{'B':>8}{'B - A':>8}"
        f"{pct + ' CI':>20}{'P(B>A)':>8}",
    ]
    for d in [*c.tasks, *([c.overall] if c.overall else [])]:
        ci = "n/a" if d.ci_low is None else f"[{d.ci_low:+.3f}, {d.ci_high:+.3f}]"
        mark = " *" if d.significant else ""
        better = "n/a" if d.b_better is None else f"{d.b_better:.2f}"
        lines.append(
            f"{d.task[:29]:<30}{d.metric[:25]:>26}{d.cases:>7}{d.score_a:>8.3f}{d.score_b:>8.3f}"
            f"{d.diff:>+8.3f}{ci:>20}{better:>8}{mark}"
        )
    unscorable = sum(d.unscorable for d in c.tasks)
    lines.append(
        f"{c.n_boot} paired bootstrap resamples over cases (seed {c.seed}); "
        f"* the {pct} interval excludes 0"
        + (f"; {unscorable} task resamples unscorable (left out)" if unscorable else "")
    )
    return "\n".join(lines)
