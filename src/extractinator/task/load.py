"""Read task files (YAML or JSON, or llm_extractinator's task JSON) into a :class:`Task`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import TaskError
from .confine import confine
from .spec import FIELD_TYPES, Example, Task


def format_validation_error(err: ValidationError, where: str) -> str:
    """One line per problem: ``where: field 'a.b': message``; the first problem only when
    several, with a count, so the CLI can print one line."""
    problems = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        msg = e["msg"].removeprefix("Value error, ")
        if len(loc) > 1 and loc[0] == "fields":
            where_in = f"field '{'.'.join(p for p in loc[1:] if p != 'fields')}': "
        elif loc:
            where_in = f"`{'.'.join(loc)}`: "
        else:
            where_in = ""
        problems.append(f"{where}: {where_in}{msg}")
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return problems[0] + more if problems else f"{where}: invalid task"


def read_mapping(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TaskError(f"{path}: task file not found") from None
    except UnicodeDecodeError as e:
        raise TaskError(f"{path}: task file is not UTF-8 ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise TaskError(f"{path}: cannot read task file ({e.strerror})") from None
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TaskError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {first}") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: a task file must hold a mapping, got {type(data).__name__}")
    return data


def _check_types(fields: Any, where: str, prefix: str = "") -> None:
    """Name an unknown field type with the choices, before pydantic's longer message."""
    if not isinstance(fields, dict):
        return
    for name, spec in fields.items():
        if not isinstance(spec, dict):
            raise TaskError(f"{where}: field '{prefix}{name}': expected a mapping with a `type`")
        t = spec.get("type")
        if t is None:
            raise TaskError(f"{where}: field '{prefix}{name}': missing `type`")
        if t not in FIELD_TYPES:
            raise TaskError(
                f"{where}: field '{prefix}{name}': unknown type {t!r} "
                f"(expected one of {', '.join(FIELD_TYPES)})"
            )
        _check_types(spec.get("fields"), where, f"{prefix}{name}.")
        if isinstance(spec.get("items"), dict):
            _check_types({"[]": spec["items"]}, where, f"{prefix}{name}")


def task_from_mapping(
    data: dict[str, Any],
    where: str,
    base_dir: Path | None = None,
    *,
    allow_task_code: bool = False,
    root: Path | None = None,
) -> Task:
    """Build a task from a parsed mapping. ``examples_file`` is resolved against base_dir
    and must lie inside ``root`` (default: base_dir) unless ``allow_task_code``; every
    example is checked against the fields (task/examples.py), naming the file and the
    example."""
    from .examples import check_examples

    data = dict(data)
    _check_types(data.get("fields"), where)
    examples_file = data.pop("examples_file", None)
    inline = data.get("examples")
    sources = (
        [f"{where}: example {i}" for i in range(len(inline))] if isinstance(inline, list) else []
    )
    if examples_file is not None:
        if not isinstance(examples_file, str) or not examples_file.strip():
            raise TaskError(f"{where}: examples_file must be a file name, got {examples_file!r}")
        base = base_dir or Path.cwd()
        ex_path = Path(examples_file).expanduser()
        if not ex_path.is_absolute():
            ex_path = base / ex_path
        if not allow_task_code:
            confine(ex_path, [root or base], f"{where}: examples_file")
        loaded = load_examples(ex_path, owner=f"{where}: examples_file")
        data["examples"] = list(inline or []) + loaded
        sources += [f"{ex_path}: example {i}" for i in range(len(loaded))]
    try:
        task = Task.model_validate(data)
    except ValidationError as e:
        raise TaskError(format_validation_error(e, where)) from None
    check_examples(task, sources)
    return task


def load_examples(path: Path, owner: str | None = None) -> list[dict[str, Any]]:
    """Examples from a JSON list, JSONL or YAML list of {input, output} mappings
    (``owner``: the task file and key naming the file, for messages)."""
    if path.suffix.lower() == ".jsonl":
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except OSError as e:
            raise TaskError(f"{path}: cannot read examples file ({e.strerror})") from None
        items = []
        for i, line in enumerate(lines, 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise TaskError(f"{path}: line {i}: not valid JSON ({e.msg})") from None
    else:
        loaded = _read_mapping_or_list(path)
        items = loaded.get("examples", []) if isinstance(loaded, dict) else loaded
        if not isinstance(items, list):
            named = f"{owner} {path}" if owner else str(path)
            raise TaskError(
                f"{named}: an examples file holds a list of {{input, output}} mappings "
                f"(or `examples:` with one), got {type(items).__name__}"
            )
    for i, item in enumerate(items):
        try:
            Example.model_validate(item)
        except ValidationError as e:
            raise TaskError(format_validation_error(e, f"{path}: example {i}")) from None
    return items


def _read_mapping_or_list(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise TaskError(f"{path}: cannot read examples file ({e.strerror})") from None
    try:
        return json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise TaskError(f"{path}: not valid {path.suffix}: {str(e).splitlines()[0]}") from None


def load_task(path: str | Path, *, allow_task_code: bool = False, root: Path | None = None) -> Task:
    """Load a task file: our YAML/JSON format, or an llm_extractinator task JSON.

    Paths the file names must lie inside its folder (or ``root``, e.g. the studio's
    workdir), and a Python ``Parser_Format`` is refused, unless ``allow_task_code`` (the
    CLI's ``--allow-task-code``): then the file is trusted, its parser code is run and its
    paths may point anywhere."""
    path = Path(path)
    data = read_mapping(path)
    if "Description" in data and "fields" not in data:
        from .llm_extractinator import task_from_legacy

        return task_from_legacy(data, path, allow_task_code=allow_task_code, root=root)
    return task_from_mapping(
        data, str(path), base_dir=path.parent, allow_task_code=allow_task_code, root=root
    )
