"""Read a labelled data file: one row per case, an id column, one column per field.

Any format :mod:`extractinator.data` reads (CSV, TSV, JSON, JSONL, Parquet, Excel), with the
same id rules (a blank or nested id is an error; without an id column, ids are row numbers).
Label values are parsed by the field's type; a value that does not parse is an error naming
the file, the id and the field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..data import is_missing, read_rows, row_id
from ..errors import DataError
from ..task.spec import FieldSpec

# field types that have a metric; list/object/spans fields are not evaluated (yet)
SUPPORTED_TYPES = ("boolean", "enum", "string", "integer", "number")
_TRUE = {"true", "yes", "y", "1", "ja", "j", "t"}
_FALSE = {"false", "no", "n", "0", "nee", "f"}


class Unlabelled:
    """Marks a blank label of a non-nullable field: the case is not scored for that field."""

    def __repr__(self) -> str:
        return "UNLABELLED"


UNLABELLED = Unlabelled()


def read_labels(
    path: Path,
    fields: dict[str, FieldSpec],
    *,
    id_column: str | None,
    encoding: str | None = None,
) -> dict[str, dict[str, Any]]:
    """id -> {field: parsed label} (``None`` for null, :data:`UNLABELLED` for a blank
    label of a non-nullable field), in file order."""
    needed = list(dict.fromkeys([*([id_column] if id_column else []), *fields]))
    labels: dict[str, dict[str, Any]] = {}
    seen: dict[str, str] = {}
    for row, where, rec in read_rows(path, needed, encoding):
        case_id = (
            str(row) if id_column is None else row_id(path, where, id_column, rec.get(id_column))
        )
        if case_id in seen:
            raise DataError(f"{path}: duplicate id {case_id!r} ({seen[case_id]} and {where})")
        seen[case_id] = where
        values = {}
        for name, spec in fields.items():
            try:
                values[name] = parse_label(rec.get(name), spec)
            except ValueError as e:
                raise DataError(f"{path}: id {case_id!r} ({where}): field {name!r}: {e}") from None
        labels[case_id] = values
    if not labels:
        raise DataError(f"{path}: no rows")
    return labels


def _blank(value: Any) -> bool:
    return is_missing(value) or (isinstance(value, str) and value.strip().lower() in ("", "null"))


def parse_label(value: Any, spec: FieldSpec) -> Any:
    """A label cell as the field's type; ValueError (naming the value) if it is not one."""
    if _blank(value):
        return None if spec.nullable else UNLABELLED
    text = value.strip() if isinstance(value, str) else value
    shown = repr(value if not isinstance(value, str) or len(value) < 60 else value[:57] + "...")
    if spec.type == "boolean":
        if isinstance(text, bool):
            return text
        number = _number(text)
        key = str(int(number)) if number in (0.0, 1.0) else str(text).lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise ValueError(f"{shown} is not a boolean (true/false, yes/no, 1/0)")
    if spec.type in ("integer", "number"):
        number = _number(text)
        if number is None:
            raise ValueError(f"{shown} is not a number")
        return number
    if spec.type == "enum":
        values = spec.values or []
        for same in (_same_enum, _same_enum_ignoring_case):
            matches = [allowed for allowed in values if same(text, allowed)]
            if len(matches) == 1:
                return matches[0]
        options = ", ".join(json.dumps(v) for v in spec.values or [])
        raise ValueError(f"{shown} is not one of the allowed values ({options})")
    if spec.type == "string":
        return str(text)
    raise ValueError(f"fields of type {spec.type} cannot be evaluated")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return _number(value.item())
    text = str(value).strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a Dutch decimal comma
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _same_enum(value: Any, allowed: Any) -> bool:
    if isinstance(allowed, bool):
        return str(value).lower() == json.dumps(allowed)
    if isinstance(allowed, (int, float)):
        return _number(value) == float(allowed)
    return str(value) == allowed


def _same_enum_ignoring_case(value: Any, allowed: Any) -> bool:
    return isinstance(allowed, str) and str(value).casefold() == allowed.casefold()
