"""``extractinator dragon run``: every job folder in, official predictions out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..data import Case
from ..engines import Engine, create_engine
from ..errors import TaskError
from ..runner import run_cases
from ..sink import RunDir, write_json_atomic
from ..task import FieldSpec, Task
from .convert import case_text, inventory, to_prediction
from .derive import derive_entry
from .fewshot import FewShotSelector
from .jobs import PREDICTIONS, DragonJob, find_jobs, read_job
from .library import LibraryEntry, find_entry

log = logging.getLogger(__name__)


@dataclass
class JobSummary:
    job: str
    task_source: str
    cases: int
    ok: int
    failed: int
    fallbacks: int
    seconds: float  # model time: the sum of the cases' own seconds (resumed ones included)
    prompt_tokens: int
    completion_tokens: int

    @property
    def cases_per_min(self) -> float:
        return 60 * self.cases / self.seconds if self.seconds else 0.0


def entry_for(
    job: DragonJob, few_shot: int, *, warn: bool = True, library: bool = True
) -> tuple[LibraryEntry, int]:
    """The library entry for a job (or a derived one) and the few-shot K to use."""
    inv = inventory(job)
    entry = find_entry(job.task_name) if library else None
    if entry is None:
        if warn and library:
            log.warning(
                "%s: not in the task library; deriving fields from the training labels",
                job.task_name,
            )
        return derive_entry(job, inv), max(few_shot, 3)
    if entry.dragon.label_name != job.label_name:
        raise TaskError(
            f"{entry.source}: label_name {entry.dragon.label_name} does not match "
            f"{job.folder}: {job.label_name}"
        )
    return entry, few_shot


TRANSLATE = Task(
    name="translate_to_english",
    description=(
        "Translate the clinical report to English. Translate everything, sentence by "
        "sentence; keep every number, unit, date, name and abbreviation exactly as written."
    ),
    fields={"translation": FieldSpec(type="string", description="the full English translation")},
)


def translate_cases(
    job: DragonJob, cases: list[Case], job_dir: Path, config: RunConfig, engine: Engine
) -> list[Case]:
    """In-context translation to English with the same model, kept on disk (a resumable run
    in ``<job>/translate``). A case whose translation failed keeps its original text. NER
    tasks are not translated: their tags must refer to the original tokens."""
    if "entity" in job.label_name:
        log.warning("%s: --translate skipped for an NER task", job.task_name)
        return cases
    run_cases(
        TRANSLATE,
        cases,
        job_dir / "translate",
        config,
        engine=engine,
        total=len(cases),
        task_source="built-in translation task",
    )
    done = {rec.id: rec for rec in RunDir(job_dir / "translate").latest_records()}
    translated = []
    for case in cases:
        rec = done.get(case.id)
        text = rec.output["translation"] if rec and rec.ok and rec.output else case.text
        translated.append(Case(id=case.id, row=case.row, text=text))
    return translated


def run_job(
    job: DragonJob,
    output_dir: Path,
    config: RunConfig,
    engine: Engine,
    few_shot: int = 0,
    library: bool = True,
    translate: bool = False,
    instructions: str | None = None,
    sample: int | None = None,
) -> JobSummary:
    entry, k = entry_for(job, few_shot, library=library)
    task = entry.task
    if task.truncation_side is None and job.truncation_side in ("left", "right"):
        # the job's recommended_truncation_side: which end of a too-long report matters less
        task = task.model_copy(update={"truncation_side": job.truncation_side})
    if instructions:
        # a prompt variant: extra instructions after the task's own (part of its identity)
        task = task.model_copy(update={"description": f"{task.description}\n{instructions}"})
    if k:
        # few-shot examples change what the model sees: part of the task identity
        task = task.model_copy(update={"name": f"{task.name} (few-shot {k})"})
    test = evenly_spaced(job.test, sample) if sample else job.test
    test = test[: config.limit] if config.limit else test
    cases = [
        Case(id=str(c["uid"]), row=i, text=case_text(c, job, entry)) for i, c in enumerate(test)
    ]
    selector = FewShotSelector(job, entry, k) if k else None
    job_dir = output_dir / job.name
    rundir = job_dir / "run"
    if translate:
        cases = translate_cases(job, cases, job_dir, config, engine)
        rundir = job_dir / "run-translated"
    run_cases(
        task,
        cases,
        rundir,
        config,
        engine=engine,
        total=len(cases),
        task_source=entry.source,
        data_info={"dragon_job": str(job.folder), "rows": len(cases)},
        examples_for=selector,
    )
    records = {rec.id: rec for rec in RunDir(rundir).latest_records()}
    inv = inventory(job)
    predictions: list[dict[str, Any]] = []
    fallbacks = 0
    for case in test:
        value, fell_back = to_prediction(records.get(str(case["uid"])), case, job, entry, inv)
        fallbacks += fell_back
        predictions.append({"uid": case["uid"], job.prediction_key: value})
    write_json_atomic(job_dir / PREDICTIONS, predictions)
    ok = sum(r.ok for r in records.values())
    return JobSummary(
        job=job.name,
        task_source=entry.source,
        cases=len(test),
        ok=ok,
        failed=len(records) - ok,
        fallbacks=fallbacks,
        seconds=sum(r.seconds for r in records.values()),
        prompt_tokens=sum(r.prompt_tokens for r in records.values()),
        completion_tokens=sum(r.completion_tokens for r in records.values()),
    )


def evenly_spaced(cases: list[Any], n: int) -> list[Any]:
    """Case i*len/n for i < n (all cases when there are fewer): a sample spread over the
    whole set, not its first N (the first 20 of Task103 are all one class)."""
    if len(cases) <= n:
        return list(cases)
    return [cases[i * len(cases) // n] for i in range(n)]


def run_dragon(
    input_dir: Path,
    output_dir: Path,
    config: RunConfig,
    *,
    tasks: list[str] | None = None,
    folds: list[int] | None = None,
    few_shot: int = 0,
    library: bool = True,
    translate: bool = False,
    engine: Engine | None = None,
    instructions: str | None = None,
    sample: int | None = None,
) -> list[JobSummary]:
    """Run every job folder found; one model load for all of them. ``library=False``
    derives every task from its training labels instead of using the task library;
    ``instructions`` are appended to every task's description (a prompt variant);
    ``sample`` runs N evenly spaced test cases of each job (case i*n/N) instead of all."""
    folders = find_jobs(input_dir, tasks, folds)
    jobs = [read_job(f) for f in folders]  # all input errors before the model loads
    for job in jobs:
        entry_for(job, few_shot, warn=False, library=library)
    own = engine is None
    engine = engine or create_engine(config.engine)
    summaries = []
    try:
        for job in jobs:
            summaries.append(
                run_job(
                    job,
                    output_dir,
                    config,
                    engine,
                    few_shot,
                    library,
                    translate,
                    instructions,
                    sample,
                )
            )
    finally:
        if own:
            import asyncio

            asyncio.run(engine.aclose())
    return summaries


def format_summaries(summaries: list[JobSummary]) -> str:
    lines = [
        f"{'job':<36}{'cases':>6}{'ok':>5}{'failed':>7}{'fallback':>9}{'cases/min':>10}"
        f"{'tokens/case':>12}"
    ]
    for s in summaries:
        tokens = (s.prompt_tokens + s.completion_tokens) / s.cases if s.cases else 0
        lines.append(
            f"{s.job:<36}{s.cases:>6}{s.ok:>5}{s.failed:>7}{s.fallbacks:>9}"
            f"{s.cases_per_min:>10.1f}{tokens:>12.0f}"
        )
    return "\n".join(lines)
