"""Parse a model's answer and validate it against the task's pydantic model."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidOutput(Exception):
    """The answer is not valid JSON or does not match the task's fields.

    ``kind`` is "invalid_json" or "invalid_output"; ``str(self)`` is the message the model
    gets when it is re-asked, and the message stored in a failed record."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def parse_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (tolerates code fences and trailing prose)."""
    fenced = _FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        snippet = text.strip()[:80]
        raise InvalidOutput("invalid_json", f"no JSON object in the answer: {snippet!r}")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as e:
        raise InvalidOutput(
            "invalid_json", f"the answer is not valid JSON ({e.msg} at character {e.pos})"
        ) from None
    if not isinstance(value, dict):  # pragma: no cover - raw_decode at "{" yields a dict
        raise InvalidOutput("invalid_json", "the answer is not a JSON object")
    return value


_UNION_TAGS = ("float", "str", "int", "bool", "none")  # pydantic's loc of a union member


def describe_errors(err: ValidationError) -> str:
    """Pydantic errors as short lines: field 'a.b': message (got value). The members of a
    union that all failed (an amount: text or a number) make one line."""
    lines: list[str] = []
    seen_unions: set[str] = set()
    for e in err.errors():
        parts = [str(p) for p in e["loc"]]
        got = e.get("input")
        got_text = json.dumps(got, ensure_ascii=False, default=str) if got is not None else "null"
        if len(got_text) > 60:
            got_text = got_text[:57] + "..."
        if len(parts) > 1 and parts[-1] in _UNION_TAGS:
            loc = ".".join(parts[:-1])
            if loc not in seen_unions:
                seen_unions.add(loc)
                lines.append(f"field '{loc}': expected text or a number (got {got_text})")
            continue
        loc = ".".join(parts)
        if e["type"] == "missing":
            lines.append(f"field '{loc}': missing")
        else:
            lines.append(f"field '{loc}': {e['msg']} (got {got_text})")
    return "; ".join(lines)


def validate_output(text: str, model: type[BaseModel]) -> dict[str, Any]:
    """Parse and validate; returns the validated answer as plain JSON-able data."""
    data = parse_json(text)
    try:
        validated = model.model_validate(data)
    except ValidationError as e:
        raise InvalidOutput("invalid_output", describe_errors(e)) from None
    result: dict[str, Any] = validated.model_dump(mode="json", by_alias=True)
    return result


def close_truncated_json(text: str) -> list[str]:
    """An answer cut off mid-way (output budget, or stopped in a loop) made whole: cut
    after a complete element inside a list or object and close what is open. Returns the
    candidates, longest first (empty when nothing complete can be kept); the caller keeps
    the first that validates (a cut inside a list entry leaves that entry incomplete)."""
    start = text.find("{")
    if start < 0:
        return []
    stack: list[str] = []
    in_string = escaped = False
    after_colon = False  # the string being read is an object value, not a key
    string_is_value = False
    cuts: list[tuple[int, str]] = []
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                if stack and (stack[-1] == "]" or string_is_value):
                    cuts.append((i + 1, "".join(reversed(stack))))
            continue
        if ch == '"':
            in_string = True
            string_is_value = bool(stack) and stack[-1] == "}" and after_colon
            after_colon = False
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            after_colon = False
        elif ch in "}]":
            if not stack:
                return []
            stack.pop()
            if not stack:
                return [text[start : i + 1]]  # the object was complete after all
            cuts.append((i + 1, "".join(reversed(stack))))
        elif ch == ":":
            after_colon = True
        elif ch == ",":
            after_colon = False
    return list(dict.fromkeys(text[start:cut] + closers for cut, closers in reversed(cuts)))


def validate_repaired(text: str, model: type[BaseModel]) -> dict[str, Any] | None:
    """The longest closed-off version of a cut-off answer that validates, or None."""
    for candidate in close_truncated_json(text)[:50]:
        try:
            return validate_output(candidate, model)
        except InvalidOutput:
            continue
    return None


def reask_message(error: InvalidOutput) -> str:
    return (
        f"That answer was not valid: {error}. Check the report again (units, decimal commas, "
        "allowed values) and answer with the corrected JSON object only."
    )
