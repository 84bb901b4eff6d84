"""Computed fields' expressions: checked when the task loads, evaluated in a sandbox that
refuses every escape, with documented null handling and bounded work."""

from __future__ import annotations

import pytest

from extractinator.errors import TaskError
from extractinator.task import task_from_mapping
from extractinator.task.expressions import ComputeError, evaluate, names_used

FIELDS = {
    "nodules": {
        "type": "list",
        "items": {
            "type": "object",
            "fields": {
                "size_mm": {"type": "number", "unit": "mm", "nullable": True},
                "side": {"type": "enum", "values": ["left", "right"]},
            },
        },
    },
    "psa": {"type": "number", "unit": "ng/ml", "nullable": True},
    "volume": {"type": "number", "unit": "ml", "nullable": True},
}


def task_with(**computed):
    return task_from_mapping(
        {"name": "t", "description": "d", "fields": {**FIELDS, **computed}}, "t.yaml"
    )


NODULES = [{"size_mm": 4.0, "side": "left"}, {"size_mm": 9.5, "side": "right"}]


@pytest.mark.parametrize(
    ("expression", "values", "result"),
    [
        ("len(nodules) > 0", {"nodules": NODULES}, True),
        ("len(nodules) > 0", {"nodules": None}, False),  # len(null) is 0
        ("max(n.size_mm for n in nodules)", {"nodules": NODULES}, 9.5),
        ('max(n["size_mm"] for n in nodules)', {"nodules": NODULES}, 9.5),
        ("max(n.size_mm for n in nodules)", {"nodules": []}, None),  # max of nothing
        ("max(4, None, 2)", {}, 4),  # nulls are skipped
        ("psa / volume", {"psa": 6.4, "volume": 40}, 0.16),
        ("psa / volume", {"psa": 6.4, "volume": None}, None),  # a null operand: null
        ("psa / volume", {"psa": 6.4, "volume": 0}, None),  # division by zero: null
        ("round(psa / volume, 2)", {"psa": 6.5, "volume": 30}, 0.22),
        (
            "'both' if len(distinct(n.side for n in nodules)) > 1 else "
            "(nodules[0].side if nodules else 'none')",
            {"nodules": NODULES},
            "both",
        ),
        ("count([n.side for n in nodules], 'left')", {"nodules": NODULES}, 1),
        ("coalesce(psa, 0) >= 4 and true", {"psa": None}, False),
        ("mean([1, 2, null, 3])", {}, 2.0),
        ('unit("14 cm")', {}, "cm"),
        ('amount("1,4 cm", "mm")', {}, 14.0),
        ('amount("3,2 x 2,1 cm", "mm")', {}, 32.0),
        ('amount("4-6 mm", "mm", "smallest")', {}, 4.0),
        ('amount("onbekend", "mm")', {}, None),
        ('count([unit(s) for s in xs], "cm")', {"xs": ["9.1 mm", "7.9 cm", "11 cm"]}, 2),
    ],
)
def test_expressions_evaluate_with_null_handling(expression, values, result):
    assert (
        evaluate(expression, values) == pytest.approx(result)
        if isinstance(result, float)
        else evaluate(expression, values) == result
    )


@pytest.mark.parametrize(
    "escape",
    [
        "().__class__.__bases__[0].__subclasses__()",
        "nodules.__class__",
        "psa.__class__",
        "__import__('os').system('id')",
        "open('/etc/passwd').read()",
        "eval('1')",
        "exec('x = 1')",
        "getattr(nodules, 'append')",
        "'abc'.upper()",
        "[].append(1)",
        "(lambda: 1)()",
        "globals()",
        "type(psa)",
        "nodules.pop()",
    ],
)
def test_escapes_are_refused(escape):
    with pytest.raises(ComputeError):
        evaluate(escape, {"nodules": list(NODULES), "psa": 1.0})


@pytest.mark.parametrize(
    "heavy",
    [
        "9 ** 9 ** 9",
        "'x' * 10 ** 9",
        "[i for i in range(10 ** 9)]",
        "[[a, b] for a in nodules for b in nodules for c in nodules for d in nodules]",
    ],
)
def test_work_is_bounded(heavy):
    many = [{"size_mm": 1.0, "side": "left"}] * 200
    with pytest.raises(ComputeError):
        evaluate(heavy, {"nodules": many})


def test_the_names_an_expression_reads():
    assert names_used("max(n.size_mm for n in nodules) if psa else len(x)") == {
        "nodules",
        "psa",
        "x",
    }


def test_a_task_with_computed_fields_loads_and_keeps_them_out_of_the_models_schema():
    task = task_with(
        present={"type": "boolean", "compute": "len(nodules) > 0"},
        density={"type": "number", "nullable": True, "compute": "psa / volume"},
    )
    assert list(task.computed_fields()) == ["present", "density"]
    assert "present" not in task.json_schema()["properties"]
    assert "present" not in task.output_model().model_fields


@pytest.mark.parametrize(
    ("computed", "message"),
    [
        ({"type": "boolean", "compute": "size > 3"}, "unknown name 'size'"),
        ({"type": "boolean", "compute": "len(nodules) >"}, "not an expression"),
        ({"type": "number", "compute": "len(nodules) > 0 and 'x'"}, "not a number"),
        ({"type": "boolean", "compute": "nodules.__class__"}, "fails on a sample answer"),
        ({"type": "boolean", "compute": "   "}, "`compute` is empty"),
        ({"type": "boolean", "compute": "x", "evidence": True}, "does not apply to a computed"),
    ],
)
def test_bad_expressions_are_caught_when_the_task_loads(computed, message):
    with pytest.raises(TaskError, match=message) as e:
        task_with(bad=computed)
    assert str(e.value).startswith("t.yaml") and "'bad'" in str(e.value)


def test_a_computed_field_may_read_earlier_ones_only():
    task = task_with(
        n={"type": "integer", "compute": "len(nodules)"},
        many={"type": "boolean", "compute": "n > 1"},
    )
    assert list(task.computed_fields()) == ["n", "many"]
    with pytest.raises(TaskError, match="'later' is computed after it"):
        task_with(
            early={"type": "boolean", "compute": "later > 1"},
            later={"type": "integer", "compute": "len(nodules)"},
        )


def test_computed_fields_are_top_level_and_the_model_answers_something():
    with pytest.raises(TaskError, match="top-level fields only"):
        task_from_mapping(
            {
                "name": "t",
                "description": "d",
                "fields": {
                    "o": {
                        "type": "object",
                        "fields": {
                            "a": {"type": "integer"},
                            "b": {"type": "integer", "compute": "a"},
                        },
                    }
                },
            },
            "t.yaml",
        )
    with pytest.raises(TaskError, match="the model must answer at least one"):
        task_from_mapping(
            {"name": "t", "description": "d", "fields": {"x": {"type": "integer", "compute": "1"}}},
            "t.yaml",
        )
