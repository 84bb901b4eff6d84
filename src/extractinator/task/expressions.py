"""Computed fields: ``compute: EXPRESSION`` over the other fields, evaluated in a sandbox
(simpleeval, a maintained restricted evaluator) after the model's answer is read.

An expression is Python expression syntax without statements, imports, lambdas or
attribute access other than the fields of objects (``n.size_mm`` or ``n["size_mm"]``):
arithmetic, comparisons, ``and/or/not``, ``x if c else y``, ``in``, list/set/dict literals
and comprehensions, and the functions in :data:`FUNCTIONS`. Names are the task's fields
(computed fields declared earlier included). Null is ``None``: arithmetic with a null gives
null (``psa / volume`` with no volume), a comparison with a null is false
(``largest_mm > 8`` with no size), the aggregate functions skip nulls (``max`` of nothing is
null), ``len(None)`` is 0, and division by zero gives null. Each evaluation is bounded:
expression length, steps, comprehension size, powers and string lengths.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import FieldSpec, Task

__all__ = ["FUNCTIONS", "ComputeError", "check_expressions", "evaluate", "names_used"]

MAX_EXPRESSION_CHARS = 2000
MAX_STEPS = 200_000  # evaluated nodes per expression and case


class ComputeError(Exception):
    """An expression failed on one case (the case gets a ``compute_error``)."""


def _values(args: tuple[Any, ...]) -> list[Any]:
    """f(a, b, c) or f(iterable): the non-null values."""
    items: Iterable[Any] = args[0] if len(args) == 1 and _iterable(args[0]) else args
    return [v for v in items if v is not None]


def _iterable(x: Any) -> bool:
    return isinstance(x, (list, tuple, set, frozenset, dict)) or (
        hasattr(x, "__iter__") and not isinstance(x, (str, bytes))
    )


def _max(*args: Any) -> Any:
    vals = _values(args)
    return max(vals) if vals else None


def _min(*args: Any) -> Any:
    vals = _values(args)
    return min(vals) if vals else None


def _sum(*args: Any) -> Any:
    return sum(_values(args))


def _mean(*args: Any) -> Any:
    vals = _values(args)
    return sum(vals) / len(vals) if vals else None


def _len(x: Any) -> int:
    return 0 if x is None else len(x)


def _count(items: Any, value: Any = True) -> int:
    return sum(1 for v in items or [] if v == value)


def _distinct(items: Any) -> list[Any]:
    """The non-null items, each once, in order."""
    out: list[Any] = []
    for v in items or []:
        if v is not None and v not in out:
            out.append(v)
    return out


def _coalesce(*args: Any) -> Any:
    return next((a for a in args if a is not None), None)


def _round(x: Any, digits: int = 0) -> Any:
    if x is None:
        return None
    return round(x, digits) if digits else round(x)


def _unit(text: Any) -> str | None:
    """The unit written in an amount ("14 cm" -> "cm"); null when there is none."""
    from ..amounts import AmountError, parse_amount

    try:
        written = parse_amount(str(text)).written_unit if text is not None else None
    except AmountError:
        return None
    return written.lower() if written else None


def _amount(text: Any, unit: str | None = None, pick: str = "largest") -> float | None:
    """A written amount as a number: in ``unit`` when given ("1,4 cm", "mm" -> 14), else as
    written; a range or dimensions reduced by ``pick``; null when it cannot be read."""
    from ..amounts import AmountError, convert, parse_amount, pick_value

    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        parsed = parse_amount(str(text))
        values = parsed.numbers
        written = parsed.written_unit
        if unit is not None and written is not None:
            values = [convert(v, written, unit) for v in values]
        return pick_value(values, pick)
    except (AmountError, ValueError):
        return None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "unit": _unit,
    "amount": _amount,
    "len": _len,
    "max": _max,
    "min": _min,
    "sum": _sum,
    "mean": _mean,
    "count": _count,
    "distinct": _distinct,
    "coalesce": _coalesce,
    "any": lambda xs: any(v for v in xs or [] if v is not None),
    "all": lambda xs: all(v for v in xs or [] if v is not None),
    "round": _round,
    "abs": lambda x: None if x is None else abs(x),
    "sqrt": lambda x: None if x is None else math.sqrt(x),
    "sorted": lambda xs: sorted(v for v in xs or [] if v is not None),
    "lower": lambda s: None if s is None else str(s).lower(),
    "int": lambda x: None if x is None else int(x),
    "float": lambda x: None if x is None else float(x),
    "str": lambda x: None if x is None else str(x),
}
_CONSTANTS = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}


def _null_safe(op: Callable[[Any, Any], Any], when_null: Any) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        return when_null if a is None or b is None else op(a, b)

    return apply


def _operators() -> dict[Any, Any]:
    """simpleeval's guarded operators, with arithmetic on a null giving null and a
    comparison with a null giving false."""
    from simpleeval import DEFAULT_OPERATORS

    ops = dict(DEFAULT_OPERATORS)
    for node in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow):
        ops[node] = _null_safe(ops[node], None)
    for node in (ast.Gt, ast.Lt, ast.GtE, ast.LtE):
        ops[node] = _null_safe(ops[node], False)
    neg, pos = ops[ast.USub], ops[ast.UAdd]
    ops[ast.USub] = lambda a: None if a is None else neg(a)
    ops[ast.UAdd] = lambda a: None if a is None else pos(a)
    return ops


def _evaluator(names: dict[str, Any]) -> Any:
    from simpleeval import EvalWithCompoundTypes, FeatureNotAvailable

    class _Sandbox(EvalWithCompoundTypes):  # type: ignore[misc]
        """Counts its steps; attributes are the fields of objects (dict keys), nothing else."""

        steps = 0

        def _eval(self, node: ast.AST) -> Any:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise ComputeError(f"the expression took more than {MAX_STEPS} steps")
            return super()._eval(node)

        def _eval_attribute(self, node: ast.Attribute) -> Any:
            value = self._eval(node.value)
            if not isinstance(value, dict):
                raise FeatureNotAvailable(
                    f"'.{node.attr}' reads a field of an object; this is {type(value).__name__}"
                )
            if node.attr not in value:
                raise ComputeError(f"no field {node.attr!r} in {sorted(value)}")
            return value[node.attr]

    return _Sandbox(
        operators=_operators(), functions=dict(FUNCTIONS), names={**_CONSTANTS, **names}
    )


def parse(expression: str) -> ast.Expression:
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        return ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"not an expression ({e.msg}, column {e.offset})") from None


def names_used(expression: str) -> set[str]:
    """The free names an expression reads (not functions, constants or loop variables)."""
    tree = parse(expression)
    bound = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.comprehension)
        for t in ast.walk(node.target)
        if isinstance(t, ast.Name)
    }
    called = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and n.id not in bound
        and n.id not in _CONSTANTS
        and not (n.id in called and n.id in FUNCTIONS)
    }


def evaluate(expression: str, values: dict[str, Any]) -> Any:
    """The expression's value for one case (null rules: see the module docstring); a
    division by zero gives None, anything else that goes wrong is a ComputeError with a
    one-line reason."""
    from simpleeval import InvalidExpression

    evaluator = _evaluator(values)
    try:
        return evaluator.eval(expression.strip())
    except ZeroDivisionError:
        return None
    except ComputeError:
        raise
    except (InvalidExpression, ArithmeticError, TypeError, LookupError, ValueError) as e:
        raise ComputeError(f"{type(e).__name__}: {e}") from None
    except Exception as e:  # the sandbox's own refusals and limits, whatever their class
        raise ComputeError(f"{type(e).__name__}: {e}") from None


def check_result(spec: FieldSpec, value: Any) -> Any:
    """The value as the field's type, or ComputeError."""
    if value is None:
        if spec.nullable:
            return None
        raise ComputeError("the expression gave null, and the field is not nullable")
    t = spec.type
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = (
        (t == "boolean" and isinstance(value, bool))
        or (t == "integer" and number and float(value).is_integer())
        or (t == "number" and number and math.isfinite(value))
        or (t == "string" and isinstance(value, str))
        or (t == "enum" and any(value == v and type(value) is type(v) for v in spec.values or []))
        or (t in ("list", "spans") and isinstance(value, (list, tuple)))
        or (t == "object" and isinstance(value, dict))
    )
    if not ok:
        shown = repr(value)[:60]
        if t == "enum":
            raise ComputeError(f"the expression gave {shown}, not one of {spec.values}")
        if t == "integer" and number:
            raise ComputeError(f"the expression gave {shown}, not a whole number")
        raise ComputeError(f"the expression gave {shown}, which is not a {t}")
    if t == "integer":
        return int(value)
    if t in ("list", "spans"):
        return list(value)
    return value


def _sample_value(spec: FieldSpec) -> Any:
    """A plausible non-null value of a field, for checking expressions when a task loads."""
    t = spec.type
    if t == "boolean":
        return True
    if t == "integer":
        return 1
    if t == "number":
        return 1.5
    if t == "string":
        return "x"
    if t == "enum":
        return (spec.values or [None])[0]
    if t == "list":
        assert spec.items is not None
        return [_sample_value(spec.items)]
    if t == "object":
        return {k: _sample_value(v) for k, v in (spec.fields or {}).items()}
    if t == "spans":
        return [{"text": "x", "label": spec.label_names[0], "start": 0, "end": 1}]
    return None


def check_expressions(task: Task) -> None:
    """Every computed field's expression parses, reads only fields declared before it or
    answered by the model, and runs on a made-up answer without a type error; the error
    names the field otherwise (a ValueError, inside task validation)."""
    known: dict[str, Any] = {}
    computed = [n for n, s in task.fields.items() if s.compute is not None]
    for name, spec in task.fields.items():
        if spec.compute is None:
            known[name] = _sample_value(spec)
    for name in computed:
        spec = task.fields[name]
        expression = spec.compute or ""
        where = f"field '{name}': compute"
        try:
            used = names_used(expression)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        unknown = sorted(used - set(known))
        if unknown:
            later = [u for u in unknown if u in task.fields]
            hint = (
                f" ('{later[0]}' is computed after it: declare it first)"
                if later
                else f" (fields: {', '.join(known)}; functions: {', '.join(FUNCTIONS)})"
            )
            raise ValueError(f"{where}: unknown name '{unknown[0]}'{hint}")
        try:
            value = _evaluator(known).eval(expression.strip())
        except Exception as e:
            raise ValueError(
                f"{where}: fails on a sample answer: {type(e).__name__}: {e}"
            ) from None
        if value is not None and spec.type != "enum":
            try:
                check_result(spec, value)
            except ComputeError as e:
                raise ValueError(f"{where}: {e}") from None
        known[name] = _sample_value(spec) if value is None else value
