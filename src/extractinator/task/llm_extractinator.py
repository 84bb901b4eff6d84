"""Read llm_extractinator task files (``tasks/TaskNNN_name.json``) into a :class:`Task`.

The format, as DIAGNijmegen/llm_extractinator reads it: ``Description`` (instructions),
``Input_Field`` (the text column), ``Parser_Format`` (an inline field spec, or the file name
of a Python module in ``<task folder>/parsers/`` defining a pydantic class ``OutputParser``),
``Data_Path`` (relative to its ``--data_dir``, default ``./data``) and optionally
``Example_Path`` (relative to ``--example_dir``, default ``./examples``; a .json/.csv of
``input``/``output`` pairs). Older files may also carry ``Task``, ``Task_Name``, ``Type``
and ``Length``, which do not change what is extracted.

A ``Parser_Format`` naming a Python file is code: it is imported only when the user trusts
the task file (``allow_task_code``, the CLI's ``--allow-task-code``). The files the task
names are looked for where llm_extractinator looks, and must lie in the task's folder or the
``data/`` and ``examples/`` folders beside it or in the working directory (confine.py),
unless the task file is trusted.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import TaskError
from .confine import TRUST_HINT, confine
from .examples import check_examples
from .from_pydantic import fields_from_pydantic, make_spec
from .load import format_validation_error
from .spec import FieldSpec, Task

logger = logging.getLogger(__name__)

USED_KEYS = (
    "Description",
    "Input_Field",
    "Parser_Format",
    "Data_Path",
    "Example_Path",
    "Extra_Instructions",
)
IGNORED_KEYS = ("Task", "Task_Name", "Type", "Length")
MAX_EXAMPLES = 5  # llm_extractinator picked --num_examples per case by similarity
_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_SPEC_KEYS = {"type", "description", "optional", "literals", "items", "properties", "name"}


def task_from_legacy(
    data: dict[str, Any], path: Path, *, allow_task_code: bool = False, root: Path | None = None
) -> Task:
    """A task from a parsed llm_extractinator task file (``path`` names it, and anchors
    the parser and example files; ``allow_task_code``: trusted, see the module doc;
    ``root``: the one folder its files may come from instead of the task's folders)."""
    path = Path(path)
    unknown = [k for k in data if k not in USED_KEYS + IGNORED_KEYS]
    if unknown:
        raise TaskError(
            f"{path}: unknown key {unknown[0]!r} in an llm_extractinator task "
            f"(known: {', '.join(USED_KEYS + IGNORED_KEYS)})"
        )
    if data.get("Type") in ("Translation", "Example Generation"):
        raise TaskError(f"{path}: Type {data['Type']!r} is not an extraction task")
    description = _text(data, "Description", path)
    extra = data.get("Extra_Instructions")
    if extra is not None:
        description = f"{description}\n\n{_text(data, 'Extra_Instructions', path)}"
    input_field = data.get("Input_Field")
    if not (isinstance(input_field, str) and input_field.strip()) and not (
        isinstance(input_field, list)
        and input_field
        and all(isinstance(c, str) and c for c in input_field)
    ):
        raise TaskError(f"{path}: Input_Field must name the text column, got {input_field!r}")
    fields = _fields(data.get("Parser_Format"), path, allow_task_code)
    examples, sources = _examples(data.get("Example_Path"), path, allow_task_code, root)
    try:
        task = Task(
            name=path.stem,
            description=description,
            input=input_field,
            fields=fields,
            examples=examples,
        )
    except ValidationError as e:
        raise TaskError(format_validation_error(e, str(path))) from None
    check_examples(task, sources)
    return task


def legacy_data_path(
    data: dict[str, Any], path: Path, *, allow_task_code: bool = False
) -> Path | None:
    """Where ``Data_Path`` points (None when absent): ``<project>/data/`` next to the
    task folder, ``./data/``, the task folder or ``.``; the first that exists, else the
    first of those. It must lie in the task's folders unless ``allow_task_code``."""
    value = data.get("Data_Path")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TaskError(f"{path}: Data_Path must be a file name, got {value!r}")
    found = _resolve(value, Path(path), "data")
    if not allow_task_code:
        hint = "give DATA on the command line, or pass --allow-task-code to trust this task"
        confine(found, _roots(Path(path), "data"), f"{path}: Data_Path", hint)
    return found


def fields_from_legacy_spec(spec: Any, where: str, prefix: str = "") -> dict[str, FieldSpec]:
    """Fields from llm_extractinator's inline ``Parser_Format`` mapping: name ->
    {type: str|int|float|bool|list|dict, description, optional, literals, items, properties}."""
    if not isinstance(spec, dict) or not spec:
        raise TaskError(f"{where}: expected a non-empty mapping of field name to field spec")
    return {name: _legacy_field(info, where, f"{prefix}{name}") for name, info in spec.items()}


def _legacy_field(info: Any, where: str, path: str) -> FieldSpec:
    def fail(msg: str) -> TaskError:
        return TaskError(f"{where}: field '{path}': {msg}")

    if not isinstance(info, dict):
        raise fail("expected a mapping with a `type`")
    unknown = sorted(set(info) - _SPEC_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_SPEC_KEYS))})")
    t = info.get("type")
    optional = info.get("optional", False)
    if not isinstance(optional, bool):
        raise fail(f"`optional` must be true or false, got {optional!r}")
    base: dict[str, Any] = {"description": info.get("description"), "nullable": optional}
    literals = info.get("literals")
    if literals is not None and not isinstance(literals, list):
        raise fail(f"`literals` must be a list, got {literals!r}")
    if t in _TYPES:
        spec: dict[str, Any] = {"type": _TYPES[t]}
    elif t == "list":
        if not isinstance(info.get("items"), dict):
            raise fail("type list needs `items` (the spec of each element)")
        spec = {"type": "list", "items": _legacy_field(info["items"], where, f"{path}[]")}
    elif t == "dict":
        if not isinstance(info.get("properties"), dict) or not info["properties"]:
            raise fail("type dict needs `properties` (a mapping of its fields)")
        spec = {
            "type": "object",
            "fields": fields_from_legacy_spec(info.get("properties"), where, f"{path}."),
        }
    elif t == "any":
        raise fail("type 'any' cannot be validated; use str, int, float, bool, list or dict")
    else:
        raise fail(f"unknown type {t!r} (expected one of str, int, float, bool, list, dict)")
    if literals:  # as in llm_extractinator, literals replace the type
        spec = {"type": "enum", "values": literals}
    return make_spec(where, path, **spec, **base)


def _text(data: dict[str, Any], key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaskError(f"{path}: {key} must be a non-empty string, got {value!r}")
    return value.strip()


def _fields(parser: Any, path: Path, allow_task_code: bool) -> dict[str, FieldSpec]:
    if isinstance(parser, dict):
        return fields_from_legacy_spec(parser, f"{path}: Parser_Format")
    if not isinstance(parser, str) or not parser.strip():
        raise TaskError(
            f"{path}: Parser_Format must be a field mapping or a parser file name, got {parser!r}"
        )
    if not allow_task_code:
        raise TaskError(
            f"{path}: Parser_Format names a Python file ({parser}), which would run as code; "
            "pass --allow-task-code if you trust this task file, or write the fields "
            "inline in Parser_Format"
        )
    given = Path(parser)
    tried = (
        [given] if given.is_absolute() else [path.parent / "parsers" / given, path.parent / given]
    )
    found = next((p for p in tried if p.is_file()), None)
    if found is None:
        raise TaskError(
            f"{path}: Parser_Format: parser file not found (looked for "
            f"{' and '.join(str(p) for p in tried)})"
        )
    return _parser_file_fields(found)


def _parser_file_fields(file: Path) -> dict[str, FieldSpec]:
    """Import ``file`` by path (under a private module name) and convert its OutputParser."""
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    name = f"_extractinator_legacy_parser_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise TaskError(f"{file}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves forward references through it
    try:
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # the user's module may raise anything while importing
            lines = str(e).strip().splitlines()
            detail = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
            raise TaskError(f"{file}: cannot import the parser file ({detail})") from e
        model = getattr(module, "OutputParser", None)
        if model is None:
            raise TaskError(f"{file}: defines no class OutputParser (the root output model)")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TaskError(f"{file}: OutputParser is not a pydantic BaseModel class")
        return fields_from_pydantic(model, where=f"{file}: OutputParser")
    finally:
        sys.modules.pop(name, None)


def _roots(task_path: Path, folder: str) -> list[Path]:
    """The folders a task file's ``folder`` files may come from: its own folder, and
    ``folder`` ("data", "examples") beside its folder and in the working directory."""
    task_dir = task_path.resolve().parent
    return [task_dir, task_dir.parent / folder, Path.cwd() / folder]


def _resolve(value: str, task_path: Path, folder: str) -> Path:
    given = Path(value).expanduser()
    if given.is_absolute():
        return given
    task_dir = task_path.resolve().parent
    tried = [
        task_dir.parent / folder / given,
        Path.cwd() / folder / given,
        task_dir / given,
        Path.cwd() / given,
    ]
    return next((p for p in tried if p.exists()), tried[0])


def _examples(
    value: Any, path: Path, allow_task_code: bool, root: Path | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Example_Path as Task examples when each is an input text and an output object,
    and where each came from; otherwise none, with a warning (examples are optional)."""
    if value is None:
        return [], []
    if not isinstance(value, str) or not value.strip():
        raise TaskError(f"{path}: Example_Path must be a file name, got {value!r}")
    file = _resolve(value, path, "examples")
    if not allow_task_code:
        roots = [root] if root is not None else _roots(path, "examples")
        confine(file, roots, f"{path}: Example_Path", TRUST_HINT)
    try:
        if file.suffix.lower() == ".csv":
            with file.open(encoding="utf-8-sig", newline="") as f:
                items: Any = list(csv.DictReader(f))
        else:
            items = json.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as e:
        logger.warning(
            "%s: Example_Path %s could not be read (%s); examples ignored", path, file, e
        )
        return [], []
    examples = []
    for i, item in enumerate(items if isinstance(items, list) else [items]):
        out = item.get("output") if isinstance(item, dict) else None
        if isinstance(out, str):
            try:
                out = json.loads(out)
            except ValueError:
                out = None
        text = item.get("input") if isinstance(item, dict) else None
        if not isinstance(text, str) or not isinstance(out, dict):
            logger.warning(
                "%s: Example_Path: example %d in %s is not an input text with an "
                "output object; examples ignored",
                path,
                i,
                file,
            )
            return [], []
        examples.append({"input": text, "output": out})
    if len(examples) > MAX_EXAMPLES:
        logger.warning(
            "%s: Example_Path: using the first %d of %d examples", path, MAX_EXAMPLES, len(examples)
        )
    kept = examples[:MAX_EXAMPLES]
    return kept, [f"{file}: example {i}" for i in range(len(kept))]
