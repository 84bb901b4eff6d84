"""The task builder's server side: validate a task mapping into inline errors, and show
the task file (YAML) and the prompt it compiles to."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from pydantic import ValidationError

from ..prompt import build_messages
from ..task.spans import output_in_layout
from ..task.spec import Task

SAMPLE_TEXT = "<the report text of each case goes here>"
KEY_ORDER = ("name", "description", "input", "id", "evidence", "fields", "examples")
STARTER: dict[str, Any] = {
    "name": "my_task",
    "description": "From the Dutch report, extract …",
    "input": "text",
    "fields": {"finding_present": {"type": "boolean", "description": "…"}},
}


# the task checker's wording -> plain words for the builder (the rest is shown as it is)
PLAIN_WORDS: tuple[tuple[str, str], ...] = (
    (
        r"type enum needs a non-empty `values` list",
        "a choice field needs its options: add at least one allowed value",
    ),
    (r"enum `values` has duplicates", "an option is listed twice"),
    (r"type list needs `items`.*", "a list field needs the type of its items"),
    (r"type object needs a non-empty `fields` mapping", "a group field needs at least one part"),
    (
        r"type spans needs a non-empty `labels` list",
        "a passages field needs at least one label (what kind of passage to mark)",
    ),
    (
        r"minimum (\S+) is greater than maximum (\S+)",
        r"the lowest value \1 is above the highest \2",
    ),
    (r"`input` lists no columns", "name the column that holds the report text"),
    (r"a field name is empty", "every field needs a name"),
    (r"Field required", "this is required"),
)


def plain(message: str) -> str:
    for pattern, words in PLAIN_WORDS:
        if re.fullmatch(pattern, message):
            return re.sub(pattern, words, message)
    return message


def _errors(err: ValidationError, prefix: tuple[Any, ...] = ()) -> list[dict[str, str]]:
    out = []
    for e in err.errors():
        loc = [*prefix, *e["loc"]]
        out.append(
            {
                "path": ".".join(str(p) for p in loc),
                "message": plain(e["msg"].removeprefix("Value error, ")),
            }
        )
    return out


_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|\.\.")


def _name_problem(data: dict[str, Any]) -> list[dict[str, str]]:
    name = data.get("name")
    if isinstance(name, str) and _UNSAFE_NAME.search(name):
        message = "the name becomes a file and folder name: no /, \\, .. or line breaks"
        return [{"path": "name", "message": message}]
    return []


def validate_task(data: Any) -> tuple[Task | None, list[dict[str, str]]]:
    """The task, or None and one {path, message} per problem (path like
    ``fields.side.values`` or ``examples.0.output.side``, for inline display)."""
    if not isinstance(data, dict):
        return None, [{"path": "", "message": "a task must be a mapping"}]
    try:
        task = Task.model_validate(data)
    except ValidationError as e:
        return None, _name_problem(data) + _errors(e)
    output_model = task.output_model()
    problems: list[dict[str, str]] = _name_problem(data)
    for i, ex in enumerate(task.examples):
        try:
            output_model.model_validate(output_in_layout(task.fields, ex.output))
        except ValidationError as e:
            problems += _errors(e, ("examples", i, "output"))
    return (task if not problems else None), problems


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """The mapping as a task file holds it: known keys first, empty values dropped."""
    ordered = {k: data[k] for k in KEY_ORDER if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    return {k: v for k, v in ordered.items() if v not in (None, "", [], {}) or k == "fields"}


class _TaskDumper(yaml.SafeDumper):
    """Multi-line strings (instructions, example texts) as literal ``|`` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value.strip() and all(line == line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_TaskDumper.add_representer(str, _str)


def task_yaml(data: dict[str, Any]) -> str:
    return yaml.dump(
        clean(data), Dumper=_TaskDumper, sort_keys=False, allow_unicode=True, width=10**6
    )


def task_as_mapping(task: Task) -> dict[str, Any]:
    """A loaded task as the builder edits it (defaults and nulls left out)."""
    dumped: dict[str, Any] = task.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    dumped.setdefault("input", task.input)
    return clean(dumped)


def preview(data: Any, sample: str | None = None) -> dict[str, Any]:
    """What the builder shows: errors, the YAML, the prompt messages and the JSON Schema."""
    task, errors = validate_task(data)
    text = yaml_text = ""
    if isinstance(data, dict):
        try:
            yaml_text = task_yaml(data)
        except yaml.YAMLError as e:  # pragma: no cover - JSON input always dumps
            text = str(e)
    result: dict[str, Any] = {"ok": task is not None, "errors": errors, "yaml": yaml_text or text}
    if task is not None:
        messages = build_messages(task, sample or SAMPLE_TEXT)
        result["messages"] = [{"role": m.role, "content": m.content} for m in messages]
        result["schema"] = json.dumps(task.json_schema(), indent=2, ensure_ascii=False)
        # what is computed in code after the answer (the model never sees these)
        result["computed"] = {n: s.compute for n, s in task.computed_fields().items()}
    return result
