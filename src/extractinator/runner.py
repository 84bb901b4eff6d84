"""Run a task over many cases: bounded concurrency, resume, progress, manifest, exports."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import RunConfig
from .data import Case, count_rows, read_cases
from .engines import Engine, create_engine
from .errors import EngineUnreachable, ExtractinatorError, RunStopped
from .pipeline import CompiledTask, extract_case
from .progress import RunProgress
from .prompt import template_hash
from .records import Record, RecordError, record_key
from .sink import RunDir
from .task.spec import Example, Task

log = logging.getLogger(__name__)

ExamplesFor = Callable[[Case], list[Example]]


@dataclass
class RunTotals:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    repaired: int = 0  # ok, but from a cut-off answer closed after its last complete entry
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, record: Record) -> None:
        if record.ok:
            self.ok += 1
            self.repaired += record.repaired is not None
        else:
            self.failed += 1
        self.prompt_tokens += record.prompt_tokens
        self.prompt_tokens_evaluated += record.prompt_tokens_evaluated or 0
        self.completion_tokens += record.completion_tokens

    @property
    def cases_per_min(self) -> float:
        done = self.ok + self.failed
        return 60.0 * done / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"ok {self.ok}{f' ({self.repaired} repaired)' if self.repaired else ''} · "
            f"failed {self.failed} · skipped (already done) {self.skipped} · "
            f"prompt tokens {self.prompt_tokens} (evaluated {self.prompt_tokens_evaluated}) · "
            f"generated {self.completion_tokens} · {self.seconds:.1f} s · "
            f"{self.cases_per_min:.1f} cases/min"
        )


class FailureGuard:
    """Stops a run whose cases keep failing: after ``config.max_failures`` failed cases,
    and when the first ``config.engine_failure_limit`` finished cases all failed on the
    engine with none ok (a wrong server path, a bad key, an unknown model: every later
    case would fail the same way)."""

    def __init__(self, config: RunConfig) -> None:
        self.max_failures = config.max_failures
        self.engine_limit = config.engine_failure_limit
        self.ok = 0
        self.failed = 0
        self.engine_failed = 0

    def check(self, record: Record) -> None:
        """Count one finished case; RunStopped when the run should not go on."""
        if record.ok:
            self.ok += 1
            return
        self.failed += 1
        error = record.error
        engine = error is not None and error.type == "engine_error"
        self.engine_failed += engine
        what = f"{error.type}: {error.message}" if error else "failed"
        if self.ok == 0 and self.failed == self.engine_limit == self.engine_failed:
            raise RunStopped(
                f"stopped: the first {self.failed} cases all failed on the engine and none "
                f"succeeded (the last, case {record.id!r}: {what}); check the server URL, "
                "--model and --api-key, then rerun (these cases run again)"
            )
        if self.max_failures is not None and self.failed >= self.max_failures:
            raise RunStopped(
                f"stopped after {self.failed} failed case{'s' if self.failed > 1 else ''} "
                f"(--max-failures {self.max_failures}); the last, case {record.id!r}: {what}; "
                "finished cases are saved: rerun to resume"
            )


async def process_cases(
    compiled: CompiledTask,
    cases: Iterable[Case],
    engine: Engine,
    config: RunConfig,
    on_record: Callable[[Record], None],
    *,
    skip_keys: set[str] | frozenset[str] = frozenset(),
    progress: RunProgress | None = None,
    examples_for: ExamplesFor | None = None,
) -> RunTotals:
    """Feed cases to ``concurrency`` workers; each finished record goes to ``on_record``
    at once (in completion order). Cases whose key is in ``skip_keys`` are not run."""
    totals = RunTotals()
    guard = FailureGuard(config)
    started = time.perf_counter()
    concurrency = config.engine.total_concurrency
    queue: asyncio.Queue[Case | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def worker() -> None:
        while (case := await queue.get()) is not None:
            try:
                examples = examples_for(case) if examples_for else None
                record = await extract_case(
                    compiled, engine, config.generation, case.id, case.row, case.text, examples
                )
            except EngineUnreachable:
                raise
            except Exception as e:  # a bug or an unforeseen engine failure: one case only
                log.exception("case %s (row %d) failed unexpectedly", case.id, case.row)
                record = Record(
                    id=case.id,
                    row=case.row,
                    status="failed",
                    key=record_key(case.id, case.text, compiled.fingerprint, engine.model_id),
                    error=RecordError(type="internal_error", message=f"{type(e).__name__}: {e}"),
                )
            if case.extra:  # e.g. a document's pages (documents.py)
                record.extra = {**case.extra, **record.extra}
            on_record(record)
            totals.add(record)
            if progress:
                progress.advance(record.ok)
            guard.check(record)

    async def produce() -> None:
        for case in cases:
            key = record_key(case.id, case.text, compiled.fingerprint, engine.model_id)
            if key in skip_keys:
                totals.skipped += 1
                if progress:
                    progress.skip()
                continue
            await queue.put(case)
        for _ in range(concurrency):
            await queue.put(None)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    producer = asyncio.create_task(produce())
    try:
        # the first failure (e.g. EngineUnreachable, a data error) stops everything
        await asyncio.gather(producer, *workers)
    finally:
        for t in [producer, *workers]:
            t.cancel()
        totals.seconds = time.perf_counter() - started
    return totals


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in ("extractinator", "llama-cpp-python", "pydantic", "httpx"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_task(
    task: Task,
    data: str | Path,
    outdir: str | Path,
    config: RunConfig | None = None,
    *,
    engine: Engine | None = None,
    task_source: str | None = None,
) -> RunTotals:
    """Run a task over a data file into OUTDIR (see :func:`run_cases`)."""
    config = config or RunConfig()
    # read the data's header first: a missing column fails before the model loads
    cases = read_cases(
        data, input=task.input, id=task.id, encoding=config.encoding, limit=config.limit
    )
    total = count_rows(data, encoding=config.encoding, limit=config.limit)
    return run_cases(
        task,
        cases,
        outdir,
        config,
        engine=engine,
        total=total,
        task_source=task_source,
        data_info={"path": str(Path(data).resolve()), "rows": total},
    )


def run_cases(
    task: Task,
    cases: Iterable[Case],
    outdir: str | Path,
    config: RunConfig | None = None,
    *,
    engine: Engine | None = None,
    total: int | None = None,
    task_source: str | None = None,
    data_info: dict[str, Any] | None = None,
    examples_for: ExamplesFor | None = None,
) -> RunTotals:
    """The whole run: records to OUTDIR/records.jsonl (resumable), manifest, exports.
    One process writes into OUTDIR at a time (its lock). An engine passed in is left open
    (reuse it); one made here is closed. The manifest says how the run ended: ``finished``,
    ``stopped`` (its cases kept failing), ``failed`` (with ``error``) or ``interrupted``."""
    config = config or RunConfig()
    compiled = CompiledTask(task)
    rundir = RunDir(outdir)
    case_iter = iter(cases)
    first = next(case_iter, None)  # a data problem shows before the model loads
    rundir.lock()
    try:
        own_engine = engine is None
        engine = engine or create_engine(config.engine)
        run = _Run(compiled, rundir, config, engine, total, task_source, data_info)
        try:
            return asyncio.run(run.execute(_chain(first, case_iter), examples_for, own_engine))
        finally:
            rundir.close()
    finally:
        rundir.unlock()


@dataclass
class _Run:
    """One run into a locked run directory, inside one event loop."""

    compiled: CompiledTask
    rundir: RunDir
    config: RunConfig
    engine: Engine
    total: int | None
    task_source: str | None
    data_info: dict[str, Any] | None

    async def execute(
        self, cases: Iterable[Case], examples_for: ExamplesFor | None, own_engine: bool
    ) -> RunTotals:
        try:
            manifest = await self._start()
            try:
                totals = await self._process(cases, manifest, examples_for)
            except BaseException as e:
                _record_end(self.rundir, manifest, e)
                raise
            manifest.update(status="finished", ended=_now(), totals=_dir_totals(self.rundir))
            manifest.setdefault("runs", []).append(
                {"started": manifest["started"], **asdict(totals)}
            )
            self.rundir.write_manifest(manifest)
            return totals
        finally:
            if own_engine:
                await self.engine.aclose()

    async def _start(self) -> dict[str, Any]:
        """Check the directory's run against this one and write the manifest."""
        identify = getattr(self.engine, "identify", None)
        if identify is not None:  # the model's identity as the server reports it
            await identify()
        task = self.compiled.task
        identity = {
            "task_fingerprint": self.compiled.fingerprint,
            "model_id": self.engine.model_id,
            "prompt_template": template_hash(),
        }
        self.rundir.prepare(identity, overwrite=self.config.overwrite)
        manifest: dict[str, Any] = {
            **identity,
            "status": "running",
            "started": _now(),
            "task": {
                "name": task.name,
                "source": self.task_source,
                "definition": task.model_dump(),
            },
            "data": self.data_info or {"rows": self.total},
            "engine": self.engine.describe(),
            "config": self.config.model_dump(mode="json", exclude={"engine": {"api_key"}}),
            "versions": package_versions(),
        }
        previous = self.rundir.read_manifest()
        if previous and previous.get("runs"):
            manifest["runs"] = previous["runs"]
        self.rundir.write_manifest(manifest)
        return manifest

    async def _process(
        self, cases: Iterable[Case], manifest: dict[str, Any], examples_for: ExamplesFor | None
    ) -> RunTotals:
        done = self.rundir.done_keys(include_failed=not self.config.retry_failed)
        label = self.compiled.task.name
        with RunProgress(self.total, enabled=self.config.progress, label=label) as progress:
            totals = await process_cases(
                self.compiled,
                cases,
                self.engine,
                self.config,
                self.rundir.append,
                skip_keys=done,
                progress=progress,
                examples_for=examples_for,
            )
        self.rundir.close()
        self.rundir.export()
        return totals


def _record_end(rundir: RunDir, manifest: dict[str, Any], e: BaseException) -> None:
    """Write how a run ended early into its manifest; a manifest that cannot be written
    (a full disk) is logged, and the error that ended the run is the one reported."""
    if isinstance(e, RunStopped):
        status = "stopped"
    elif isinstance(e, Exception):
        status = "failed"
    else:  # Ctrl-C, a cancelled studio run
        status = "interrupted"
    manifest.update(status=status, ended=_now())
    if status != "interrupted":
        message = str(e) if isinstance(e, ExtractinatorError) else f"{type(e).__name__}: {e}"
        manifest["error"] = " ".join(message.split())
    rundir.close()
    try:
        manifest["totals"] = _dir_totals(rundir)
        rundir.write_manifest(manifest)
    except (OSError, ExtractinatorError) as err:
        log.error("%s: cannot record how the run ended (%s)", rundir.manifest_path, err)


def _chain(first: Case | None, rest: Iterable[Case]) -> Iterable[Case]:
    if first is not None:
        yield first
    yield from rest


def _dir_totals(rundir: RunDir) -> dict[str, int]:
    counts = {"cases": 0, "ok": 0, "failed": 0}
    for rec in rundir.latest_records():
        counts["cases"] += 1
        counts["ok" if rec.ok else "failed"] += 1
    return counts
