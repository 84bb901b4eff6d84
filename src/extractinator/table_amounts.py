"""The most recent result of a test in a table. Where the task asks for the most recent
value (``field_names.asks_most_recent``) and the report gives the field's test in a
table with a time per column or per row (``tables``), the answer should be the cell of the
latest time that holds a number: in "Bepaling 21-11 06:10 20-11 06:05 19-11 22:40 ...",
"Kalium 5,3 H 4,9 4,2" is 5,3; in "| vandaag | 161 (↑) | 5,6 (↑) | 8,7 |" under "Hb
(mmol/l)" Hb is 8,7. A small model reads the table as running text and copies the last
column, or a reference value, or leaves the field out.

The field's test is the one row (times across) or column (times down) whose label names
the field (a naming word of the field, ``field_names``); none or several, and nothing is
said. An answer copied from inside the table that is not that cell's number, or a null, is
shown the cell once. An answer copied from outside the table stands where the text names
the test right before it (the text may give a later result: "Verder vandaag: kalium
4,1"); a number from elsewhere ("3" of "3x per week") is shown the cell. A field whose
answer is the cell's number is settled: the other checks of amounts leave it alone (a unit
column far to the right is not the amount's unit)."""

from __future__ import annotations

import re
from typing import Any

from .amounts import AmountError, is_known_unit, parse_number
from .field_names import WORD, asks_most_recent, names, naming_words, same_word
from .records import AmountReading
from .tables import Table, tables_in
from .task.spec import Task

__all__ = ["table_amount_doubts"]

_VALUE = re.compile(r"(?:[<>≤≥]\s*)?\d[\d.,]*")


def table_amount_doubts(
    task: Task, output: dict[str, Any], text: str, readings: dict[str, AmountReading]
) -> tuple[list[str], set[str]]:
    """The doubts about top-level amount fields whose most recent result a table gives (see
    the module docstring), and the names of all fields a table settles or doubts."""
    tables = tables_in(text)
    doubts: list[str] = []
    settled: set[str] = set()
    if not tables:
        return doubts, settled
    for name, spec in task.answer_fields().items():
        if not spec.is_amount or not spec.unit or not is_known_unit(spec.unit):
            continue
        if not asks_most_recent(task, name):
            continue
        labels = naming_words(name, spec)
        found = _latest(tables, labels)
        if found is None:
            continue
        table, label, time, written, number = found
        reading = readings.get(name)
        where = f'the table gives "{label}" at "{time}", its most recent result, as "{written}"'
        if output.get(name) is None:
            settled.add(name)
            doubts.append(
                f'"{name}" is null, but {where}. If that is what "{name}" asks for, give it '
                "as written; if not, keep null."
            )
            continue
        if reading is None:
            continue
        if number in reading.numbers:
            settled.add(name)
            continue
        outside = reading.start is None or not table.start <= reading.start < table.end
        if outside and _named_outside(text, reading.start, labels):
            continue  # the test named outside the table: the text may give a later result
        settled.add(name)
        doubts.append(
            f'"{name}" is "{reading.text}", but {where}. The task asks for the most recent '
            "value: if that is the same test, give it as written; if not, keep your answer."
        )
    return doubts, settled


def _latest(tables: list[Table], labels: set[str]) -> tuple[Table, str, str, str, float] | None:
    """The table, label, time, written value and number of the latest result of the one
    test that ``labels`` name in ``tables``, or None."""
    found = []
    for table in tables:
        across, down = table.times_across(), table.times_down()
        if across:
            for row in table.rows:
                if row[0] is not None and _names(row[0].text, labels):
                    cells = [(across[i], table.header[i], row[i]) for i in across]
                    found.append((table, row[0].text, cells))
        elif down:
            for i, head in enumerate(table.header):
                if i and _names(head.text, labels):
                    cells = [(t, table.rows[r][0], table.rows[r][i]) for r, t in down.items()]
                    found.append((table, head.text, cells))
    if len(found) != 1:
        return None
    table, label, cells = found[0]
    for _, time, cell in sorted(cells, key=lambda c: c[0], reverse=True):
        value = _VALUE.search(cell.text) if cell is not None else None
        if cell is None or time is None or value is None:
            continue
        try:
            number = parse_number(value.group().lstrip("<>≤≥ "))
        except AmountError:
            continue
        return table, label, time.text, value.group(), number
    return None


def _named_outside(text: str, start: int | None, labels: set[str]) -> bool:
    return start is not None and names(text, start, labels) is not None


def _names(label: str, labels: set[str]) -> bool:
    return any(same_word(w, x) for w in WORD.findall(label) for x in labels)
