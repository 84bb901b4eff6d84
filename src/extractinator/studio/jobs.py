"""Runs started from the studio: one at a time, in a background thread, cancellable, with
progress read from the run directory itself.

A studio run is an ordinary run directory written by :func:`extractinator.runner.run_cases`
(so the CLI can resume it, and the studio shows CLI runs the same way). Progress of any run
comes from tailing its ``records.jsonl`` (:class:`RecordCounter`), so no hook in the runner
is needed. Cancelling raises :class:`RunCancelled` (a BaseException, so the runner records
no failed case for it) from the engine wrapper and from the case stream: the case in
flight finishes, the manifest says ``interrupted``, and a rerun resumes.

A run never goes dark: the folder and a placeholder manifest (``status: loading model``)
exist before the model loads, so the page can follow it at once; an engine that fails to
start is written into the manifest (``status: failed``, ``error``) and shown on the page
and in the runs list; the rate is frozen when the run ends.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import EngineConfig, RunConfig
from ..data import Case
from ..engines import Engine, create_engine
from ..engines.base import GenerationRequest, GenerationResult
from ..engines.stats import EngineStats
from ..errors import ExtractinatorError, RunDirError
from ..runner import run_cases
from ..sink import MANIFEST, RECORDS, RunDir, write_json_atomic
from ..task.spec import Task

log = logging.getLogger(__name__)

EngineFactory = Callable[[EngineConfig], Engine]


class RunCancelled(BaseException):
    """Stops a studio run (not an Exception: no case is recorded as failed for it)."""


class JobConflict(RuntimeError):
    """A run is already in progress."""


class _CancellableEngine:
    """Delegates to an engine, refusing new requests once the run is cancelled."""

    def __init__(self, engine: Engine, cancelled: threading.Event) -> None:
        self._engine = engine
        self._cancelled = cancelled
        self.name = engine.name

    @property
    def model_id(self) -> str:
        return self._engine.model_id

    @property
    def context_size(self) -> int | None:
        return self._engine.context_size

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        return await self._engine.count_tokens(request)

    async def identify(self) -> None:
        """The model's identity as its server reports it (resume keys), as a CLI run asks."""
        identify = getattr(self._engine, "identify", None)
        if identify is not None:
            await identify()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if self._cancelled.is_set():
            raise RunCancelled
        return await self._engine.generate(request)

    def describe(self) -> dict[str, Any]:
        return self._engine.describe()

    def stats(self) -> EngineStats | None:
        return self._engine.stats()

    async def aclose(self) -> None:  # the manager decides when the engine is closed
        return None


class RecordCounter:
    """Counts the cases in a records.jsonl by reading only what was appended since."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._latest: dict[str, bool] = {}

    def update(self) -> tuple[int, int]:
        """(ok, failed) over the latest record per key."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            self._offset, self._latest = 0, {}
            return 0, 0
        if size < self._offset:  # overwritten
            self._offset, self._latest = 0, {}
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read(size - self._offset)
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            try:
                rec = json.loads(line)
                self._latest[rec.get("key") or rec["id"]] = rec.get("status") == "ok"
            except (ValueError, KeyError, TypeError):
                continue
        self._offset += len(complete)
        ok = sum(self._latest.values())
        return ok, len(self._latest) - ok


LOADING = "loading model"
PLACEHOLDER = "studio_placeholder"  # set in a manifest written before the model loaded


@dataclass
class Job:
    """A studio run in its thread."""

    outdir: Path
    task_name: str
    total: int
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = LOADING  # loading model, running, finished, cancelled, failed
    error: str | None = None
    started: float = field(default_factory=time.monotonic)  # reset when the model is loaded
    ended: float | None = None  # the rate is frozen here
    baseline: int = 0  # cases already done when it started (resume)
    thread: threading.Thread | None = None


def read_manifest(outdir: Path) -> dict[str, Any]:
    """The run's manifest as the sink reads it; {} while there is none or it is unreadable
    (the page polls while the runner writes)."""
    try:
        return RunDir(outdir).read_manifest() or {}
    except RunDirError:
        return {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def one_line(e: BaseException) -> str:
    """An exception as the one line the page shows."""
    text = str(e).strip().splitlines()
    if isinstance(e, ExtractinatorError) and text:
        return text[0]
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _finished_rate(manifest: dict[str, Any]) -> float | None:
    """Cases per minute of a run's last session, from its manifest (frozen at its end)."""
    sessions = manifest.get("runs") or []
    last = sessions[-1] if sessions else {}
    done = (last.get("ok") or 0) + (last.get("failed") or 0)
    seconds = last.get("seconds") or 0
    return 60.0 * done / seconds if done and seconds > 0 else None


class JobManager:
    """Starts, cancels and reports on runs; keeps one embedded model loaded between runs."""

    def __init__(self, engine_factory: EngineFactory | None = None) -> None:
        self._factory = engine_factory
        self._lock = threading.Lock()
        self._jobs: dict[Path, Job] = {}
        self._counters: dict[Path, RecordCounter] = {}
        self._engine: Engine | None = None
        self._engine_key: str | None = None

    # -- engines ----------------------------------------------------------------------
    def _engine_for(self, config: EngineConfig) -> tuple[Engine, bool]:
        """An engine for the config, and whether the caller must close it after the run.
        Embedded llama.cpp engines are kept loaded (loading takes seconds)."""
        if self._factory is not None:
            return self._factory(config), False
        if config.kind != "llamacpp":
            return create_engine(config), True
        key = config.model_dump_json()
        if self._engine is None or self._engine_key != key:
            self._close_cached()
            self._engine = create_engine(config)
            self._engine_key = key
        return self._engine, False

    def _close_cached(self) -> None:
        if self._engine is not None:
            engine, self._engine, self._engine_key = self._engine, None, None
            _run_blocking(engine.aclose)

    def close(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel.set()
            if job.thread is not None:
                job.thread.join(timeout=30)
        self._close_cached()

    # -- runs -------------------------------------------------------------------------
    def active(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.state in (LOADING, "running")), None)

    def job(self, outdir: Path) -> Job | None:
        return self._jobs.get(outdir.resolve())

    def start(
        self,
        task: Task,
        cases: list[Case],
        outdir: Path,
        config: RunConfig,
        *,
        data_info: dict[str, Any],
        task_source: str | None = None,
    ) -> Job:
        """Run ``cases`` into ``outdir`` in a background thread (409-style JobConflict when
        a run is already going). The folder, with a placeholder manifest when it holds no
        run yet, exists when this returns."""
        outdir = outdir.resolve()
        with self._lock:
            running = self.active()
            if running is not None:
                raise JobConflict(f"a run is in progress: {running.outdir.name}")
            outdir.mkdir(parents=True, exist_ok=True)
            if not (outdir / MANIFEST).exists() and not (outdir / RECORDS).exists():
                write_json_atomic(
                    outdir / MANIFEST,
                    {
                        PLACEHOLDER: True,
                        "status": LOADING,
                        "started": _now(),
                        "task": {"name": task.name, "source": task_source},
                        "data": data_info,
                        "engine": {"engine": config.engine.kind, "model": config.engine.model},
                    },
                )
            job = Job(outdir=outdir, task_name=task.name, total=len(cases))
            job.baseline = sum(self.counter(outdir).update())
            self._jobs[outdir] = job
        job.thread = threading.Thread(
            target=self._work,
            args=(job, task, cases, config, data_info, task_source),
            name=f"studio-run-{outdir.name}",
            daemon=True,
        )
        job.thread.start()
        return job

    def _work(
        self,
        job: Job,
        task: Task,
        cases: list[Case],
        config: RunConfig,
        data_info: dict[str, Any],
        task_source: str | None,
    ) -> None:
        import asyncio

        own = False
        engine: Engine | None = None
        try:
            engine, own = self._engine_for(config.engine)
            if read_manifest(job.outdir).get(PLACEHOLDER) and not (job.outdir / RECORDS).exists():
                (job.outdir / MANIFEST).unlink()  # the runner writes the real one now
            job.started, job.state = time.monotonic(), "running"
            run_cases(
                task,
                _until_cancelled(cases, job.cancel),
                job.outdir,
                config.model_copy(update={"progress": False}),
                engine=_CancellableEngine(engine, job.cancel),  # type: ignore[arg-type]
                total=len(cases),
                task_source=task_source,
                data_info=data_info,
            )
            job.state = "cancelled" if job.cancel.is_set() else "finished"
        except RunCancelled:
            job.state = "cancelled"
        except Exception as e:  # shown on the page and in the runs list, kept in the manifest
            log.exception("studio run %s failed", job.outdir)
            job.state, job.error = "failed", one_line(e)
            self._record_error(job)
        finally:
            job.ended = time.monotonic()
            if own and engine is not None:
                asyncio.run(engine.aclose())

    def _record_error(self, job: Job) -> None:
        """Write a start error into the run's manifest (a placeholder becomes ``failed``;
        a real run keeps its status: the next run's manifest replaces the error)."""
        manifest = read_manifest(job.outdir)
        if not manifest and (job.outdir / RECORDS).exists():
            return  # a run without a manifest: leave it as the runner left it
        if manifest.get(PLACEHOLDER) or not manifest:
            manifest.update({PLACEHOLDER: True, "status": "failed", "ended": _now()})
        manifest["error"] = job.error
        try:
            write_json_atomic(job.outdir / MANIFEST, manifest)
        except OSError as e:
            log.error("%s: cannot record the error in the manifest (%s)", job.outdir, e)

    def cancel(self, outdir: Path) -> bool:
        job = self.job(outdir)
        if job is None or job.state not in (LOADING, "running"):
            return False
        job.cancel.set()
        return True

    def forget(self, outdir: Path) -> None:
        """Drop what is known about a run folder (renamed or deleted)."""
        key = outdir.resolve()
        self._jobs.pop(key, None)
        self._counters.pop(key, None)

    # -- progress ---------------------------------------------------------------------
    def counter(self, outdir: Path) -> RecordCounter:
        key = outdir.resolve()
        if key not in self._counters:
            self._counters[key] = RecordCounter(key / RECORDS)
        return self._counters[key]

    def progress(self, outdir: Path, since: tuple[float, int] | None = None) -> dict[str, Any]:
        """State, cases done (ok/failed), total, rate per minute and ETA of a run folder.
        The rate counts cases since the studio run's model was loaded (frozen when it
        ends), since ``since`` = (monotonic time, cases done) for runs going on elsewhere,
        or the last session's in the manifest for runs that ended."""
        ok, failed = self.counter(outdir).update()
        manifest = read_manifest(outdir)
        job = self.job(outdir)
        done = ok + failed
        total = job.total if job else (manifest.get("data") or {}).get("rows")
        if job is not None:
            status, error = job.state, job.error
        else:
            status, error = manifest.get("status", "unknown"), manifest.get("error")
            if manifest.get(PLACEHOLDER) and status == LOADING:
                status = "interrupted"  # a studio that stopped while loading the model
        rate: float | None = None
        if job is not None and job.state != LOADING:
            elapsed = (job.ended or time.monotonic()) - job.started
            rate = 60.0 * (done - job.baseline) / elapsed if elapsed > 0 else None
        elif job is None and status == "running":
            t0, d0 = since or (time.monotonic(), done)
            elapsed = time.monotonic() - t0
            rate = 60.0 * (done - d0) / elapsed if elapsed > 0 and done > d0 else None
        elif job is None:
            rate = _finished_rate(manifest)
        finished = status not in (LOADING, "running")
        eta = None
        if rate and total and not finished:
            eta = max(total - done, 0) / (rate / 60.0)
        return {
            "status": status,
            "task": job.task_name if job else (manifest.get("task") or {}).get("name"),
            "done": done,
            "ok": ok,
            "failed": failed,
            "total": total,
            "rate_per_min": round(rate, 2) if rate else None,
            "eta_s": None if eta is None else round(eta, 1),
            "error": error,
            "studio_job": job is not None,
            "finished": finished,
        }


def _run_blocking(make: Callable[[], Any]) -> None:
    """Run the coroutine ``make()`` to its end, also when called from inside an event loop
    (the app's shutdown handler): then in a thread of its own."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(make())
        return
    thread = threading.Thread(target=lambda: asyncio.run(make()), name="studio-engine-close")
    thread.start()
    thread.join(timeout=60)


def _until_cancelled(cases: Iterable[Case], cancelled: threading.Event) -> Iterator[Case]:
    for case in cases:
        if cancelled.is_set():
            raise RunCancelled
        yield case
