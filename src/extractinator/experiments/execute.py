"""Run a sweep: every cell an ordinary run directory under OUT/<cell-name>/.

Cells are run model by model (one model load per model). A cell whose ``cell.json`` says
it finished with the same settings is skipped without loading anything; a partial one
(killed, or failed) is resumed by its run directories. A cell that fails is recorded as
failed with its error and the sweep goes on. At the end the results table is written to
OUT/results.md and OUT/results.csv.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import EngineConfig
from ..engines import Engine, create_engine
from ..sink import write_json_atomic
from .scoring import CELL_JSON, SCORES_JSON, CellScores, read_cell, score_cell
from .sweep import (
    CellSettings,
    DragonBenchmark,
    HeldoutBenchmark,
    SweepFile,
    engine_config,
    load_sweep,
    plan_cells,
    prompt_instructions,
    run_config,
)

log = logging.getLogger(__name__)

EngineFactory = Callable[[EngineConfig], Engine]
Echo = Callable[[str], None]


@dataclass
class CellOutcome:
    name: str
    status: str  # finished | skipped | failed
    error: str | None = None
    scores: CellScores | None = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def cell_identity(sweep: SweepFile, cell: CellSettings) -> dict[str, Any]:
    """What a finished cell must match to be skipped (everything that shapes its results)."""
    return {
        "settings": cell.model_dump(mode="json"),
        "benchmark": sweep.benchmark.model_dump(mode="json"),
        "sweep_settings": sweep.settings.model_dump(mode="json"),
        "instructions": prompt_instructions(sweep, cell),
    }


def is_finished(cell_dir: Path, identity: dict[str, Any]) -> bool:
    if not (cell_dir / CELL_JSON).exists() or not (cell_dir / SCORES_JSON).exists():
        return False
    info = read_cell(cell_dir)
    return info.get("status") == "finished" and all(info.get(k) == v for k, v in identity.items())


def _write_cell(cell_dir: Path, info: dict[str, Any]) -> None:
    cell_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(cell_dir / CELL_JSON, info)


def run_cell(
    sweep: SweepFile,
    cell: CellSettings,
    cell_dir: Path,
    engine: Engine,
    ecfg: EngineConfig,
    *,
    progress: bool,
) -> CellScores:
    """Run one cell into its directory and score it (exceptions propagate)."""
    from ..dragon.run import run_dragon
    from ..runner import run_task
    from ..task import load_task

    config = run_config(sweep, cell, ecfg, progress=progress)
    instructions = prompt_instructions(sweep, cell)
    bench = sweep.benchmark
    if isinstance(bench, DragonBenchmark):
        run_dragon(
            bench.dragon,
            cell_dir,
            config,
            tasks=bench.tasks,
            folds=bench.folds,
            few_shot=cell.few_shot,
            translate=cell.translate,
            engine=engine,
            instructions=instructions,
        )
    elif isinstance(bench, HeldoutBenchmark):
        from .heldout import load_tasks, run_heldout

        tasks = load_tasks(bench.heldout, bench.tasks)
        run_heldout(tasks, bench.split, cell_dir, config, engine=engine, instructions=instructions)
    else:
        task = load_task(bench.task)
        if instructions:
            task = task.model_copy(update={"description": f"{task.description}\n{instructions}"})
        run_task(task, bench.data, cell_dir, config, engine=engine, task_source=str(bench.task))
    return score_cell(cell_dir)


def _describe(scores: CellScores) -> str:
    overall = f"{scores.overall:.3f}" if scores.overall is not None else "n/a"
    rate = f"{scores.cases_per_min:.1f}" if scores.cases_per_min else "n/a"
    return f"{scores.metric} {overall} · {scores.cases} cases · {scores.failed} failed · {rate}/min"


def run_sweep(
    sweep_file: str | Path,
    out: str | Path,
    *,
    only: list[str] | None = None,
    progress: bool = True,
    echo: Echo = print,
    engine_factory: EngineFactory | None = None,
) -> list[CellOutcome]:
    """Run every cell of a sweep file into OUT (resuming); returns one outcome per cell.
    ``only``: substrings of the cell names to run (the others are left as they are)."""
    sweep = load_sweep(sweep_file)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sweep_file, out / "sweep.yaml")
    cells = plan_cells(sweep)
    if only:
        cells = [c for c in cells if any(o in c.name for o in only)]
    outcomes: list[CellOutcome] = []
    n = len(cells)
    position = {id(c): i for i, c in enumerate(cells, 1)}
    for model in sweep.models:
        group = [c for c in cells if c.model is model]
        todo = []
        for cell in group:
            if is_finished(out / cell.name, cell_identity(sweep, cell)):
                echo(f"[{position[id(cell)]}/{n}] {cell.name}: finished before, skipped")
                scores = CellScores.model_validate_json(
                    (out / cell.name / SCORES_JSON).read_text(encoding="utf-8")
                )
                outcomes.append(CellOutcome(cell.name, "skipped", scores=scores))
            else:
                todo.append(cell)
        if not todo:
            continue
        echo(f"loading model {model.label} ({len(todo)} cell{'s' * (len(todo) != 1)} to run)")
        try:
            ecfg = engine_config(sweep, model)
            engine = engine_factory(ecfg) if engine_factory else create_engine(ecfg)
        except Exception as e:  # the model cannot load: its cells fail, the others go on
            for cell in todo:
                tag = f"[{position[id(cell)]}/{n}]"
                outcomes.append(_fail(sweep, cell, out / cell.name, e, 0.0, echo, tag))
            continue
        try:
            for cell in todo:
                outcomes.append(
                    _run_one(
                        sweep,
                        cell,
                        out / cell.name,
                        engine,
                        ecfg,
                        progress,
                        echo,
                        f"[{position[id(cell)]}/{n}]",
                    )
                )
        finally:
            asyncio.run(engine.aclose())
    from .leaderboard import collect, write_results

    write_results(collect(out), out)
    return outcomes


def _start_info(sweep: SweepFile, cell: CellSettings, cell_dir: Path) -> dict[str, Any]:
    previous = read_cell(cell_dir) if (cell_dir / CELL_JSON).exists() else {}
    return {
        "name": cell.name,
        **cell_identity(sweep, cell),
        "status": "running",
        "error": None,
        "wall_seconds": previous.get("wall_seconds", 0.0),
        "sessions": previous.get("sessions", []),
    }


def _run_one(
    sweep: SweepFile,
    cell: CellSettings,
    cell_dir: Path,
    engine: Engine,
    ecfg: EngineConfig,
    progress: bool,
    echo: Echo,
    tag: str,
) -> CellOutcome:
    info = _start_info(sweep, cell, cell_dir)
    started, t0 = _now(), time.perf_counter()
    _write_cell(cell_dir, info)
    echo(f"{tag} {cell.name}: running")
    try:
        scores = run_cell(sweep, cell, cell_dir, engine, ecfg, progress=progress)
    except Exception as e:
        log.debug("cell %s failed", cell.name, exc_info=True)
        seconds = time.perf_counter() - t0
        return _fail(sweep, cell, cell_dir, e, seconds, echo, tag, info, started)
    seconds = time.perf_counter() - t0
    write_json_atomic(cell_dir / SCORES_JSON, scores.model_dump(mode="json"))
    info["sessions"].append({"started": started, "ended": _now(), "seconds": seconds})
    info.update(status="finished", wall_seconds=info["wall_seconds"] + seconds)
    _write_cell(cell_dir, info)
    echo(f"{tag} {cell.name}: finished in {seconds:.0f} s · {_describe(scores)}")
    return CellOutcome(cell.name, "finished", scores=scores)


def _fail(
    sweep: SweepFile,
    cell: CellSettings,
    cell_dir: Path,
    error: BaseException,
    seconds: float,
    echo: Echo,
    tag: str,
    info: dict[str, Any] | None = None,
    started: str | None = None,
) -> CellOutcome:
    message = f"{type(error).__name__}: {error}".splitlines()[0]
    info = info or _start_info(sweep, cell, cell_dir)
    info["sessions"].append(
        {"started": started or _now(), "ended": _now(), "seconds": seconds, "error": message}
    )
    info.update(status="failed", error=message, wall_seconds=info["wall_seconds"] + seconds)
    _write_cell(cell_dir, info)
    echo(f"{tag} {cell.name}: FAILED ({message})")
    return CellOutcome(cell.name, "failed", error=message)
