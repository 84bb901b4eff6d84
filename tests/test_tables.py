"""Tables in a report's text: cells with their offsets, and when each result was taken."""

from __future__ import annotations

import pytest

from extractinator.tables import tables_in, time_of
from table_fixtures import ALIGNED, MARKDOWN


def texts(row):
    return [c.text if c is not None else None for c in row]


def test_columns_aligned_with_spaces_are_cut_into_cells_under_their_header():
    (table,) = tables_in(ALIGNED)
    assert texts(table.header)[:3] == ["Bepaling", "21-11 06:10", "20-11 06:05"]
    assert texts(table.rows[1]) == ["Kalium", "5,3 H", None, "4,2", "mmol/l", "3,5 - 5,0"]
    cell = table.rows[0][1]
    assert ALIGNED[cell.start : cell.end] == "7,4 L"
    assert ALIGNED[table.start : table.end].startswith("Bepaling")
    assert ALIGNED[table.start : table.end].endswith("< 10")
    assert list(table.times_across()) == [1, 2, 3] and table.times_down() == {}


def test_a_header_without_a_cell_over_the_labels_gets_an_empty_one():
    text = (
        "Laboratorium (meest recente uitslag links):\n"
        "               14-6      12-6      10-6 (opname)\n"
        "Hb             7,1 ↓     7,6       8,4\n"
        "CRP            187 ↑     312 ↑     41\n"
    )
    (table,) = tables_in(text)
    assert texts(table.header) == ["", "14-6", "12-6", "10-6 (opname)"]
    assert [texts(r) for r in table.rows] == [
        ["Hb", "7,1 ↓", "7,6", "8,4"],
        ["CRP", "187 ↑", "312 ↑", "41"],
    ]
    assert list(table.times_across()) == [1, 2, 3]


def test_markdown_rows_are_cut_into_cells_and_the_rule_line_is_skipped():
    (table,) = tables_in(MARKDOWN)
    assert texts(table.header) == ["datum", "kreatinine (µmol/l)", "Hb (mmol/l)"]
    assert [texts(r) for r in table.rows] == [
        ["maart", "132", "8,3"],
        ["vandaag", "161 (↑)", "8,7"],
    ]
    assert MARKDOWN[table.rows[1][2].start : table.rows[1][2].end] == "8,7"
    down = table.times_down()
    assert table.times_across() == {} and max(down, key=down.get) == 1  # vandaag is latest


@pytest.mark.parametrize(
    "text",
    [
        "Hb 7,1 mmol/l, K 4,2 mmol/l.\nCRP 12 mg/l.",  # running text
        "Naam:  Jansen   Leeftijd:  72\nGeslacht:  M",  # two lines: no table
    ],
)
def test_running_text_is_no_table(text):
    assert tables_in(text) == []


def test_times_sort_by_date_then_clock_and_now_is_latest():
    assert time_of("21-11 06:10") > time_of("20-11 22:40") > time_of("19-11")
    assert time_of("2026-11-21") > time_of("20-11-2026")
    assert time_of("vandaag") > time_of("21-12-2026") and time_of("juni") > time_of("maart")
    assert time_of("Kalium") is None and time_of("mmol/l") is None and time_of("8,5") is None


def test_words_for_before_and_after_order_two_columns_around_any_date():
    assert time_of("post-HD") > time_of("21-11-2026") > time_of("pre-HD")
    assert time_of("ontslag") > time_of("opname") and time_of("vandaag") > time_of("post-HD")
    assert time_of("pre- en post-HD") is None  # both: no order


def test_days_of_the_week_order_a_table_within_one_week():
    assert time_of("vr 06:15") > time_of("wo 06:30") > time_of("ma 07:00") > time_of("ma")
    assert time_of("Friday") > time_of("mon") and time_of("do.") == time_of("donderdag")
    assert time_of("ma 7") is None and time_of("do het") is None  # not a day and a clock
    text = (
        "Lab        ma 07:00   wo 06:30   vr 06:15   eenheid\n"
        "Hb         8,8        8,4 L      8,3 L      mmol/l\n"
        "CRP        188 H      121 H      47 H       mg/l\n"
    )
    (table,) = tables_in(text)
    across = table.times_across()
    assert texts(table.header)[max(across, key=across.get)] == "vr 06:15"
