"""The one rule for turning a row's input columns into the case text the model reads (data
files, the Python API and few-shot examples all use it, so they build the same prompt and
the same resume key for the same row)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import DataError


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT: no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return type(value).__name__ in ("NAType", "NaTType")  # pandas NA / NaT, not imported


def scalar_text(value: Any) -> str:
    """A scalar as text: true/false, 3 (not 3.0), ISO dates, numpy scalars unwrapped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):  # numpy scalar
        return scalar_text(value.item())
    return str(value)


def kind_of(value: Any) -> str:
    """What a value is, in words, for messages."""
    names = {
        dict: "an object",
        list: "a list",
        tuple: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def value_text(value: Any, column: str, where: str, *, nested: bool) -> str:
    """One input value as text ("" when missing or blank). Objects and lists become JSON
    only where several columns are joined (``nested``); alone they are an error."""
    if is_missing(value):
        return ""
    if isinstance(value, str):
        return value if value.strip() else ""
    if isinstance(value, (dict, list, tuple)):
        if not nested:
            raise DataError(
                f"{where}: column {column!r} holds {kind_of(value)}, not text "
                f"(list it with other columns in `input` to include it as JSON)"
            )
        return json.dumps(value, ensure_ascii=False, default=str)
    return scalar_text(value)


def case_text(values: Mapping[str, Any], input: str | Sequence[str], where: str) -> str:
    """The case text of one row for a task's ``input``: one column's value, or, for a list
    of columns, the columns joined as ``"column: value"`` paragraphs, skipping empty ones
    (objects and lists in a list input become JSON). ``where`` names the row in error
    messages (e.g. ``"data.csv: row 3"``)."""
    if isinstance(input, str):
        return value_text(values.get(input), input, where, nested=False)
    parts = [(c, value_text(values.get(c), c, where, nested=True)) for c in input]
    if len(parts) == 1:
        return parts[0][1]
    return "\n\n".join(f"{c}: {t}" for c, t in parts if t)
