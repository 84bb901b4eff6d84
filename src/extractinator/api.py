"""The Python API: ``extract(task, records)`` returns the records the CLI would write."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .config import ENGINE_CONFIGS, EngineConfig, RunConfig
from .data import Case, row_id_of
from .engines import Engine, create_engine
from .errors import DataError
from .pipeline import CompiledTask
from .records import Record
from .runner import process_cases
from .task import Task, load_task
from .task.inputs import case_text


def as_task(task: Task | str | Path | type[BaseModel], description: str | None = None) -> Task:
    """A Task from a Task, a task file path, or a pydantic class (its docstring, or
    ``description``, becomes the instructions)."""
    if isinstance(task, Task):
        return task
    if isinstance(task, (str, Path)):
        return load_task(task)
    if isinstance(task, type) and issubclass(task, BaseModel):
        from .task.from_pydantic import task_from_pydantic

        desc = description or (task.__doc__ or "").strip()
        if not desc:
            raise TypeError(f"{task.__name__}: give a description= (or a class docstring)")
        return task_from_pydantic(task, name=task.__name__, description=desc)
    raise TypeError(f"expected a Task, a task file path or a pydantic class, got {task!r}")


def _case(i: int, item: str | Mapping[str, Any], task: Task) -> Case:
    if isinstance(item, str):
        return Case(id=str(i), row=i, text=item)
    where = f"record {i}"
    missing = [f for f in task.input_fields if f not in item]
    if missing:
        raise DataError(f"{where}: no input field {missing[0]!r} (task input: {task.input})")
    case_id = row_id_of(item, task.id, where) if task.id and task.id in item else str(i)
    return Case(id=case_id, row=i, text=case_text(item, task.input, where))


def extract(
    task: Task | str | Path | type[BaseModel],
    records: Iterable[str | Mapping[str, Any]],
    *,
    engine: Engine | EngineConfig | None = None,
    config: RunConfig | None = None,
    description: str | None = None,
    progress: bool = False,
) -> list[Record]:
    """Run ``task`` on texts (or mappings holding the task's input field) and return one
    record per input, in input order. Pass an Engine to reuse a loaded model across calls."""
    the_task = as_task(task, description)
    config = config or RunConfig(progress=progress)
    if isinstance(engine, tuple(ENGINE_CONFIGS.values())):
        config = config.model_copy(update={"engine": engine})
        engine = None
    own = engine is None
    the_engine = engine or create_engine(config.engine)
    cases = [_case(i, item, the_task) for i, item in enumerate(records)]
    out: list[Record] = []

    async def go() -> None:
        try:
            await process_cases(CompiledTask(the_task), cases, the_engine, config, out.append)
        finally:
            if own:
                await the_engine.aclose()

    asyncio.run(go())
    return sorted(out, key=lambda r: r.row)
