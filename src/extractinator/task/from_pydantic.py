"""Build task fields from a pydantic model or a JSON Schema (as pydantic emits it).

The conversion is deliberately strict: a construct a :class:`FieldSpec` cannot express
(a free-form ``dict``, ``Any``, a union of different types, a recursive model) raises a
:class:`TaskError` naming the field instead of being approximated silently.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import TaskError
from .load import format_validation_error
from .spec import FieldSpec, Task

logger = logging.getLogger(__name__)

# Constraints a FieldSpec cannot express: dropped with a warning.
_DROPPED = {
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "minProperties",
    "maxProperties",
}


def make_spec(where: str, path: str, **attrs: Any) -> FieldSpec:
    """A FieldSpec, or a TaskError naming ``where`` and the field path."""
    try:
        return FieldSpec(**attrs)
    except ValidationError as e:
        raise TaskError(format_validation_error(e, f"{where}: field '{path}'")) from None


def fields_from_json_schema(
    schema: dict[str, Any], *, where: str = "schema"
) -> dict[str, FieldSpec]:
    """The fields of an object JSON Schema (``$defs``/``$ref`` resolved, inlined)."""
    converter = _Converter(schema, where)
    root = converter.resolve(schema, "", ())
    if root.get("type") != "object" or not isinstance(root.get("properties"), dict):
        raise TaskError(f"{where}: the schema root must be an object with `properties`")
    stack = (root["_ref"],) if "_ref" in root else ()
    return converter.properties(root, "", stack)


def fields_from_pydantic(
    model: type[BaseModel], *, where: str | None = None
) -> dict[str, FieldSpec]:
    """The fields of a pydantic model, via ``model.model_json_schema()``; errors name
    ``where`` (default: the class name)."""
    where = where or getattr(model, "__name__", repr(model))
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TaskError(f"{where}: not a pydantic BaseModel subclass")
    try:
        schema = model.model_json_schema()
    except Exception as e:  # pydantic raises several error types for unschemable models
        first = str(e).splitlines()[0] if str(e) else ""
        raise TaskError(f"{where}: cannot build a JSON Schema ({type(e).__name__}: {first})") from e
    return fields_from_json_schema(schema, where=where)


def task_from_pydantic(
    model: type[BaseModel],
    *,
    name: str,
    description: str,
    input: str | list[str] = "text",
    id: str | None = None,
) -> Task:
    """A task whose output fields are those of ``model``."""
    fields = fields_from_pydantic(model)
    try:
        return Task(name=name, description=description, input=input, id=id, fields=fields)
    except ValidationError as e:
        raise TaskError(format_validation_error(e, f"task {name!r}")) from None


class _Converter:
    def __init__(self, schema: dict[str, Any], where: str) -> None:
        self.defs: dict[str, Any] = {
            **schema.get("definitions", {}),
            **schema.get("$defs", {}),
        }
        self.where = where

    def fail(self, path: str, msg: str) -> TaskError:
        return TaskError(f"{self.where}: field '{path}': {msg}")

    def resolve(self, node: Any, path: str, stack: tuple[str, ...]) -> dict[str, Any]:
        """Inline ``$ref`` and single-element ``allOf``; sibling keys win (descriptions)."""
        if not isinstance(node, dict):
            raise self.fail(path, f"expected a schema object, got {type(node).__name__}")
        if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return {**self.resolve(node["allOf"][0], path, stack), **rest}
        ref = node.get("$ref")
        if ref is None:
            return node
        name = str(ref).rsplit("/", 1)[-1]
        if not str(ref).startswith("#/") or name not in self.defs:
            raise self.fail(path, f"unresolvable $ref {ref!r}")
        if name in stack:
            raise self.fail(path, f"recursive model {name!r} is not supported")
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**self.resolve(self.defs[name], path, (*stack, name)), **rest, "_ref": name}

    def properties(
        self, node: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> dict[str, FieldSpec]:
        props = node.get("properties") or {}
        if not props:
            raise self.fail(path or "<root>", "an object needs at least one property")
        prefix = f"{path}." if path else ""
        return {k: self.convert(v, f"{prefix}{k}", stack) for k, v in props.items()}

    def convert(self, node: Any, path: str, stack: tuple[str, ...]) -> FieldSpec:
        node = self.resolve(node, path, stack)
        if "_ref" in node:
            stack = (*stack, node["_ref"])
        desc = node.get("description")
        for key in ("anyOf", "oneOf"):
            if key in node:
                return self._union(node[key], node, path, stack)
        if isinstance(node.get("type"), list):
            options = [{**node, "type": t} for t in node["type"]]
            return self._union(options, {"description": desc}, path, stack)
        return self._single(node, path, stack, nullable=False)

    def _union(
        self, options: Any, outer: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> FieldSpec:
        if not isinstance(options, list) or not options:
            raise self.fail(path, "anyOf/oneOf must be a non-empty list")
        resolved = [self.resolve(o, path, stack) for o in options]
        present = [o for o in resolved if o.get("type") != "null"]
        nullable = len(present) < len(resolved)
        desc = outer.get("description")
        if len(present) == 1:
            inner = present[0]
            if desc is not None:
                inner = {**inner, "description": desc}
            spec = self.convert(inner, path, stack)
            if not nullable:
                return spec
            return spec.model_copy(update={"nullable": True})
        if present and all("enum" in o or "const" in o for o in present):
            values = [v for o in present for v in self._values(o)]
            merged = {"enum": list(dict.fromkeys(values)), "description": desc}
            return self._single(merged, path, stack, nullable=nullable)
        types = {o.get("type") for o in present}
        if present and types <= {"integer", "number"} and all(len(o) == 1 for o in present):
            return make_spec(self.where, path, type="number", description=desc, nullable=nullable)
        kinds = ", ".join(str(o.get("type", o.get("_ref", "?"))) for o in present)
        raise self.fail(path, f"a union of different types ({kinds}) is not supported")

    @staticmethod
    def _values(node: dict[str, Any]) -> list[Any]:
        return [node["const"]] if "const" in node else list(node["enum"])

    def _single(
        self, node: dict[str, Any], path: str, stack: tuple[str, ...], *, nullable: bool
    ) -> FieldSpec:
        desc = node.get("description")
        dropped = sorted(k for k in node if k in _DROPPED)
        if dropped:
            logger.warning(
                "%s: field '%s': constraint(s) %s cannot be enforced and are dropped",
                self.where,
                path,
                ", ".join(dropped),
            )
        base: dict[str, Any] = {"description": desc}
        if "enum" in node or "const" in node:
            values = self._values(node)
            if None in values:
                nullable = True
                values = [v for v in values if v is not None]
            bad = [v for v in values if not isinstance(v, (str, int, float, bool))]
            if bad:
                raise self.fail(path, f"enum value {bad[0]!r} is not a string/number/boolean")
            return make_spec(
                self.where, path, type="enum", values=values, nullable=nullable, **base
            )
        t = node.get("type")
        base["nullable"] = nullable
        if t in ("string", "boolean"):
            return make_spec(self.where, path, type=t, **base)
        if t in ("integer", "number"):
            return make_spec(self.where, path, type=t, **base, **_bounds(node, t == "integer"))
        if t == "array":
            items = node.get("items")
            if not isinstance(items, dict) or not items or "prefixItems" in node:
                raise self.fail(
                    path,
                    "a list needs one item type (list[X]); "
                    "untyped lists and tuples are not supported",
                )
            return make_spec(
                self.where, path, type="list", items=self.convert(items, f"{path}[]", stack), **base
            )
        if t == "object":
            if not node.get("properties"):
                raise self.fail(
                    path, "a free-form dict/object is not supported; use a model with named fields"
                )
            return make_spec(
                self.where, path, type="object", fields=self.properties(node, path, stack), **base
            )
        if t is None:
            raise self.fail(path, "an untyped value (Any) is not supported")
        raise self.fail(path, f"JSON Schema type {t!r} is not supported")


def _bounds(node: dict[str, Any], integer: bool) -> dict[str, float]:
    """minimum/maximum; exclusive bounds are exact for integers, approximate for numbers."""
    step = 1 if integer else 0
    lows = [node[k] for k in ("minimum",) if k in node]
    highs = [node[k] for k in ("maximum",) if k in node]
    if "exclusiveMinimum" in node:
        lows.append(node["exclusiveMinimum"] + step)
    if "exclusiveMaximum" in node:
        highs.append(node["exclusiveMaximum"] - step)
    out: dict[str, float] = {}
    if lows:
        out["minimum"] = max(lows)
    if highs:
        out["maximum"] = min(highs)
    return out
