"""An answer cut off inside a list (stopped in a loop, or at the output budget) keeps the
list's complete entries; when the fields after the list are then missing, they are asked
for on their own, so one looping list does not cost the whole case."""

from __future__ import annotations

from typing import Any

from .task.spec import Task
from .validate import InvalidOutput, close_truncated_json, parse_json, validate_output

MAX_CANDIDATES = 50  # closed-off versions of a cut answer tried, longest first


def sub_task(task: Task, names: list[str]) -> Task:
    """The task asking only for the answer fields ``names`` (no computed fields, and no
    examples: their answers hold the other fields too)."""
    return task.model_copy(update={"fields": {n: task.fields[n] for n in names}, "examples": []})


def kept_part(task: Task, answer: str) -> tuple[dict[str, Any], list[str]] | None:
    """The longest closed-off version of a cut answer whose fields so far are valid, and
    the answer fields it lacks, in order; None when nothing is kept or nothing lacks."""
    fields = list(task.answer_fields())
    for candidate in close_truncated_json(answer)[:MAX_CANDIDATES]:
        try:
            keys = parse_json(candidate).keys()
        except InvalidOutput:
            continue
        present = [n for n in fields if n in keys]
        missing = [n for n in fields if n not in keys]
        if not present or not missing:
            continue
        try:
            return validate_output(candidate, sub_task(task, present).output_model()), missing
        except InvalidOutput:
            continue
    return None
