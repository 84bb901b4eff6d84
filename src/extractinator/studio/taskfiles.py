"""Task files as the studio loads them: every path they name confined to the workdir, and
no code from them ever run.

``load_task`` follows ``examples_file`` (our format) and ``Example_Path`` (llm_extractinator
task files) wherever they point, and imports a legacy ``Parser_Format`` Python file. The
studio checks the parsed file first: a path outside the workdir is refused with a 403 that
says nothing about whether the file exists, and a ``Parser_Format`` naming a file is refused
outright (the CLI runs it only when asked to).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fastapi import HTTPException

from ..errors import ExtractinatorError
from ..task import load_task
from ..task.spec import Task
from .security import Workdir

NO_CODE = (
    "{path}: Parser_Format names a Python file ({name}); the studio never runs code from "
    "task files: write the fields inline in Parser_Format, or use the command line"
)


def _parsed(path: Path) -> dict[str, Any] | None:
    """The task file's mapping, or None when it does not parse (load_task then says why)."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
        data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _legacy_example_path(value: str, task_path: Path) -> Path:
    """Where llm_extractinator's ``Example_Path`` is looked for (as task/legacy.py does)."""
    given = Path(value).expanduser()
    if given.is_absolute():
        return given
    task_dir = task_path.resolve().parent
    tried = [
        task_dir.parent / "examples" / given,
        Path.cwd() / "examples" / given,
        task_dir / given,
        Path.cwd() / given,
    ]
    return next((p for p in tried if p.exists()), tried[0])


def check_task_file(wd: Workdir, path: Path) -> None:
    """403/422 when the task file names a path outside the workdir or a Python file."""
    data = _parsed(path)
    if data is None:
        return
    rel = wd.rel(path)
    if "Description" in data and "fields" not in data:  # an llm_extractinator task file
        parser = data.get("Parser_Format")
        if isinstance(parser, str):
            raise HTTPException(422, NO_CODE.format(path=rel, name=Path(parser).name))
        example = data.get("Example_Path")
        if isinstance(example, str) and example.strip():
            wd.confine(_legacy_example_path(example, path), f"{rel}: Example_Path")
        return
    examples_file = data.get("examples_file")
    if examples_file is not None:
        if not isinstance(examples_file, str) or not examples_file.strip():
            raise HTTPException(422, f"{rel}: examples_file must be a file name")
        wd.confine(examples_file, f"{rel}: examples_file", base=path.parent)


def load_confined_task(wd: Workdir, rel_path: str | None) -> tuple[Task, Path]:
    """The task file at ``rel_path`` (inside the workdir), checked, then loaded; 404 when
    missing, 422 with the one-line loader error when invalid."""
    path = wd.resolve(rel_path)
    if not path.is_file():
        raise HTTPException(404, "no such task file")
    check_task_file(wd, path)
    try:
        return load_task(path, root=wd.root), path
    except ExtractinatorError as e:
        raise HTTPException(422, str(e).replace(str(wd.root) + "/", "")) from None
    except (AttributeError, TypeError, ValueError) as e:  # e.g. an examples file of one string
        raise HTTPException(422, f"{wd.rel(path)}: cannot load the task ({e})") from None
