"""Check a task's examples against its fields when the task loads: an example is an answer
shown to the model, so one that does not fit the fields teaches it a wrong answer.

An example's output holds final values, as records do (``value_model``, strictly: the text
"true" is not a yes/no answer, nor "12" a number): amounts as numbers in the field's unit,
spans as ``[{"text", "label"}]`` (or the layout the model writes), computed fields
optional, and a ``<field>_evidence`` quote beside each evidence field.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import TaskError
from .evidence import SUFFIX
from .schema import value_model
from .spans import spans_as_list
from .spec import Task


def example_problem(task: Task, output: dict[str, Any]) -> str | None:
    """Why ``output`` is not a valid example answer of ``task`` (None when it is)."""
    quotes = {f"{name}{SUFFIX}" for name in task.evidence_fields()}
    unknown = [k for k in output if k not in task.fields and k not in quotes]
    if unknown:
        return f"'{unknown[0]}' is not a field of the task (fields: {', '.join(task.fields)})"
    for key in quotes & set(output):
        if output[key] is not None and not isinstance(output[key], str):
            return f"field '{key}': the quote must be text or null"
    answered = task.answer_fields()
    missing = [name for name in answered if name not in output]
    if missing:
        return f"field '{missing[0]}' is missing (an example gives every field; null if unknown)"
    checked = {name: spec for name, spec in task.fields.items() if name in output}
    values = {name: _as_final(task, name, output[name]) for name in checked}
    try:
        value_model(checked).model_validate(values, strict=True)  # "true" is not true
    except ValidationError as e:
        return _first_problem(e, task)
    return None


def _as_final(task: Task, name: str, value: Any) -> Any:
    """Spans in any layout the model writes -> ``[{"text", "label"}]``."""
    spec = task.fields[name]
    if spec.type != "spans" or value is None:
        return value
    try:
        return spans_as_list(spec, value)
    except (KeyError, IndexError, TypeError):
        return value  # the model check names what is wrong with it


def _first_problem(e: ValidationError, task: Task) -> str:
    err = e.errors()[0]
    loc = [str(p) for p in err["loc"]]
    path = ".".join(loc)
    top = task.fields.get(loc[0]) if loc else None
    given = err.get("input")
    if top is not None and top.is_amount and len(loc) == 1 and isinstance(given, str):
        return (
            f"field '{path}': an amount is given as a number in {top.unit} "
            f"(the model is shown it as written), got {given!r}"
        )
    shown = f" (got {given!r})" if not isinstance(given, (dict, list)) else ""
    message = err["msg"].removeprefix("Value error, ")
    return f"field '{path}': {message}{shown}"


def check_examples(task: Task, sources: list[str]) -> None:
    """TaskError naming the file and the example (``sources[i]``: where example i came
    from, e.g. ``task.yaml: example 0``) of the first example that does not fit."""
    for i, example in enumerate(task.examples):
        problem = example_problem(task, example.output)
        if problem is not None:
            where = sources[i] if i < len(sources) else f"example {i}"
            raise TaskError(f"{where}: {problem}")
