"""Read a labelled data file: one row per case, an id column, one column per field.

Any format :mod:`extractinator.data` reads (CSV, TSV, JSON, JSONL, Parquet, Excel), with the
same id rules (a blank or nested id is an error; without an id column, ids are row numbers).
Label values are parsed by the field's type; a value that does not parse is an error naming
the file, the id and the field. List, object and spans labels are JSON values: as they are
in a JSON/JSONL file, or a JSON string in a CSV/Excel cell (``["a", "b"]``; spans
``[{"text": "metoprolol", "label": "MEDICATION", "start": 12, "end": 22}]``, offsets
optional).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..data import is_missing, read_rows, row_id
from ..errors import DataError
from ..task.spec import FieldSpec

# field types that have a metric (all of them; see matching.py for how each is compared)
SUPPORTED_TYPES = ("boolean", "enum", "string", "integer", "number", "list", "object", "spans")
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
    if spec.type in ("list", "object", "spans"):
        return _structured(_json_value(text, shown), spec, "")
    raise ValueError(f"fields of type {spec.type} cannot be evaluated")


def _json_value(value: Any, shown: str) -> Any:
    if isinstance(value, (list, dict)):
        return value
    if hasattr(value, "tolist"):  # a numpy array from Parquet
        return value.tolist()
    try:
        return json.loads(str(value))
    except ValueError:
        raise ValueError(f"{shown} is not a JSON value (a list/object label is JSON)") from None


def _structured(value: Any, spec: FieldSpec, where: str) -> Any:
    """A list / object / spans label checked against its spec, nested values parsed by
    their own types (``where`` locates a nested value in messages: ``[2].size``)."""
    at = f" at {where}" if where else ""
    if value is None:
        if spec.nullable:
            return None
        raise ValueError(f"null{at}, but the value is not nullable")
    if spec.type == "spans":
        if not isinstance(value, list):
            raise ValueError(f"spans{at} must be a JSON list of {{text, label}} objects")
        return [_span(s, spec, f"{where}[{i}]") for i, s in enumerate(value)]
    if spec.type == "list":
        if not isinstance(value, list):
            raise ValueError(f"expected a JSON list{at}, got {json.dumps(value)[:40]}")
        assert spec.items is not None
        return [_structured(v, spec.items, f"{where}[{i}]") for i, v in enumerate(value)]
    if spec.type == "object":
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object{at}, got {json.dumps(value)[:40]}")
        fields = spec.fields or {}
        unknown = [k for k in value if k not in fields]
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}{at} (keys: {', '.join(fields)})")
        return {k: _structured(value.get(k), sub, f"{where}.{k}") for k, sub in fields.items()}
    try:
        parsed = parse_label(value, spec)
    except ValueError as e:
        raise ValueError(f"{e}{at}") from None
    if parsed is UNLABELLED:
        raise ValueError(f"empty value{at}")
    return parsed


def _span(value: Any, spec: FieldSpec, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise ValueError(f"span {where} must be an object with a string `text` and a `label`")
    label = value.get("label")
    if label not in spec.label_names:
        raise ValueError(
            f"span {where}: label {label!r} is not one of {', '.join(spec.label_names)}"
        )
    span = {"text": value["text"], "label": label}
    start, end = value.get("start"), value.get("end")
    if start is not None or end is not None:
        if not (_offset(start) and _offset(end) and start <= end):
            raise ValueError(f"span {where}: start/end must be integers with start <= end")
        span.update(start=start, end=end)
    return span


def _offset(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


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
