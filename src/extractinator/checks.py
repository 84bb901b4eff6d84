"""A second look at a valid answer. Each check names fields whose value is in doubt, with
the report's words that raise the doubt; the model is asked once about all of them, and its
second answer stands (it is validated and read like the first)."""

from __future__ import annotations

from typing import Any

from .fractions import fraction_doubts
from .larger_amounts import larger_amount_doubts
from .missed_amounts import missed_amount_doubts
from .pack_years import pack_year_doubts
from .recent_amounts import recent_amount_doubts
from .records import AmountReading
from .table_amounts import table_amount_doubts
from .task.spec import Task

__all__ = ["check_changes", "check_message", "doubts"]


def doubts(
    task: Task, output: dict[str, Any], text: str, readings: dict[str, AmountReading]
) -> list[str]:
    """The doubted fields of a valid answer (its amounts read as ``readings``): counts that
    may be the part of a fraction (fractions.py), amounts answered null or bare where the
    report writes one of that kind (missed_amounts.py), an earlier result where the task
    asks for the most recent (recent_amounts.py), a smaller finding's size where it asks for
    the largest (larger_amounts.py), pack-years implied by packs a day and years smoked
    (pack_years.py). Where a table gives a field's most recent result (table_amounts.py),
    that is the only doubt about the field's amount."""
    from_tables, settled = table_amount_doubts(task, output, text, readings)
    about_amounts = [
        d
        for d in missed_amount_doubts(task, output, text, readings)
        + recent_amount_doubts(task, output, text, readings)
        + larger_amount_doubts(task, output, text, readings)
        if _field_of(d) not in settled
    ]
    return (
        fraction_doubts(task, output, text)
        + from_tables
        + about_amounts
        + pack_year_doubts(task, output, text)
    )


def _field_of(doubt: str) -> str:
    """The field a doubt is about: each starts with its name in quotes."""
    return doubt.split('"', 2)[1]


def check_message(doubts: list[str]) -> str:
    """The follow-up that asks the model to check the doubted fields."""
    lines = "\n".join(f"- {d}" for d in doubts)
    return (
        f"Check these values against the report:\n{lines}\n"
        "Answer again with the whole JSON object, corrected where needed."
    )


def check_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The top-level fields the second look changed, each with its value before and after.
    The model answers the whole object again, so fields it was not asked about can change
    too; the record lists them all (``extra["changed_by_check"]``)."""
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    }
