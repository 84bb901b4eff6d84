"""Reading datasets: every format, encodings, ids, joins, limits, streaming and errors."""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from extractinator import data as data_mod
from extractinator.data import Case, DataWarning, count_rows, read_cases
from extractinator.errors import DataError

from paths import FIXTURES

FIX = FIXTURES / "data"


def cases(path: Path | str, **kw) -> list[Case]:
    kw.setdefault("input", "text")
    return list(read_cases(path, **kw))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- formats -------------------------------------------------------------------------


def test_csv_keeps_ids_text_and_diacritics() -> None:
    got = cases(FIX / "reports.csv", id="id")
    assert [c.id for c in got] == ["007", "008", "009", "010"]
    assert [c.row for c in got] == [0, 1, 2, 3]
    assert got[0].text.startswith("Patiënt (68 jr) met coëliakie")
    assert "naïeve beoordeling van één laesie" in got[0].text
    assert got[1].text == 'Echo abdomen:\n"lever" normaal van grootte, géén galstenen.'
    assert got[2].text == ""  # whitespace-only: kept as a case, with empty text
    assert got[3].text == "Café-au-lait vlekken, verder geen bijzonderheden."


def test_without_id_column_the_row_number_is_the_id() -> None:
    assert [c.id for c in cases(FIX / "reports.csv")] == ["0", "1", "2", "3"]


def test_tsv() -> None:
    got = cases(FIX / "reports.tsv", input="verslag", id="nr")
    assert [(c.id, c.text) for c in got] == [
        ("1", "Longfoto: geen infiltraat."),
        ("2", "CT thorax: nodulus 4 mm, controle over één jaar."),
    ]


def test_json_list_int_ids_and_null_text() -> None:
    got = cases(FIX / "reports.json", id="id")
    assert [c.id for c in got] == ["12", "13", "14"]
    assert got[1].text == ""
    assert got[2].text == "MRI knie: scheur mediale meniscus."


def test_jsonl_skips_blank_lines_but_no_records(tmp_path: Path) -> None:
    got = cases(FIX / "reports.jsonl", id="id")
    assert [(c.id, c.row) for c in got] == [("12", 0), ("13", 1), ("14", 2)]
    ndjson = tmp_path / "r.ndjson"
    ndjson.write_bytes((FIX / "reports.jsonl").read_bytes())
    assert [c.text for c in cases(ndjson)] == [c.text for c in got]


def test_float_ids_that_are_integers_lose_the_decimal(tmp_path: Path) -> None:
    p = write(tmp_path / "f.json", '[{"id": 12.0, "text": "a"}, {"id": 1.5, "text": 3}]')
    got = cases(p, id="id")
    assert [(c.id, c.text) for c in got] == [("12", "a"), ("1.5", "3")]


def test_parquet(tmp_path: Path) -> None:
    p = tmp_path / "r.parquet"
    df = pd.DataFrame({"pid": [7, 8, 9], "text": ["één", None, "  "], "x": [1.5, 2.0, 3.0]})
    df.to_parquet(p)
    got = cases(p, id="pid")
    assert [(c.id, c.row, c.text) for c in got] == [("7", 0, "één"), ("8", 1, ""), ("9", 2, "")]
    assert count_rows(p) == 3


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "r.parquet"
    pd.DataFrame({"text": ["a"]}).to_parquet(p)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # makes the import fail
    with pytest.raises(DataError, match=r'pip install "extractinator\[parquet\]"') as e:
        cases(p)
    assert str(p) in str(e.value)


def test_xlsx(tmp_path: Path) -> None:
    p = tmp_path / "r.xlsx"
    df = pd.DataFrame({"id": [12, 13], "code": ["007", "008"], "text": ["Naïef", None]})
    df.to_excel(p, index=False)
    got = cases(p, id="id")
    assert [(c.id, c.text) for c in got] == [("12", "Naïef"), ("13", "")]
    assert [c.id for c in cases(p, id="code")] == ["007", "008"]
    assert count_rows(p) is None


def test_csv_streams_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_mod, "CHUNK_ROWS", 2)
    p = write(tmp_path / "c.csv", "id,text\n" + "".join(f"{i},t{i}\n" for i in range(5)))
    got = cases(p, id="id")
    assert [(c.id, c.row, c.text) for c in got] == [(str(i), i, f"t{i}") for i in range(5)]


# --- encodings -----------------------------------------------------------------------


def test_cp1252_fallback_warns_with_offset_and_decodes() -> None:
    path = FIX / "reports_cp1252.csv"
    offset = path.read_bytes().index(b"\xef")  # the "ï" of "Naïeve"
    with pytest.warns(DataWarning) as record:
        got = cases(path, id="id")
    msg = str(record[0].message)
    assert str(path) in msg and f"offset {offset}" in msg and "0xEF" in msg
    assert "cp1252" in msg and "--encoding" in msg
    assert got[1].text == "Naïeve patiënt; echo van de lever toont één cyste."
    assert got[2].text == "Verslag afgerond door dr. Müller."


def test_explicit_encoding_is_used_without_warning(recwarn: pytest.WarningsRecorder) -> None:
    got = cases(FIX / "reports_cp1252.csv", encoding="cp1252")
    assert got[1].text.startswith("Naïeve")
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]


def test_explicit_wrong_encoding_is_an_error() -> None:
    path = FIX / "reports_cp1252.csv"
    offset = path.read_bytes().index(b"\xef")
    with pytest.raises(DataError, match=rf"0xEF at offset {offset} is not valid utf-8") as e:
        cases(path, encoding="utf-8")
    assert str(path) in str(e.value)
    with pytest.raises(DataError, match="unknown encoding"):
        cases(path, encoding="no-such-codec")


def test_utf8_bom_is_tolerated(recwarn: pytest.WarningsRecorder) -> None:
    got = cases(FIX / "reports_bom.csv", id="id")  # "id" would be "\ufeffid" otherwise
    assert [c.id for c in got] == ["A1", "A2"]
    assert got[0].text == "Rechter nier: één cyste van 12 mm."
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]
    assert [c.id for c in cases(FIX / "reports_bom.csv", id="id", encoding="utf-8")] == [
        "A1",
        "A2",
    ]


# --- input joins, limit ---------------------------------------------------------------


def test_labelled_join_skips_empty_values() -> None:
    got = cases(FIX / "reports.csv", input=["afdeling", "text"])
    assert got[0].text == (
        "afdeling: radiologie\n\ntext: Patiënt (68 jr) met coëliakie. Geen afwijkingen; "
        "naïeve beoordeling van één laesie."
    )
    assert got[1].text.startswith("text: Echo abdomen:")  # empty afdeling left out
    assert got[2].text == "afdeling: pathologie"  # whitespace text left out


def test_nested_values_are_json_in_a_join_and_an_error_alone() -> None:
    got = cases(FIX / "reports.json", input=["text", "meta"])
    assert got[0].text == 'text: Mammografie: BI-RADS 2, benigne kalk.\n\nmeta: {"bron": "PACS"}'
    with pytest.raises(DataError, match=r"record 0: column 'meta' holds an object") as e:
        cases(FIX / "reports.json", input="meta")
    assert str(FIX / "reports.json") in str(e.value)
    # a one-column list input is not labelled (like a plain column), but may hold JSON
    assert cases(FIX / "reports.json", input=["meta"])[1].text == '{"bron": "EPD"}'
    assert cases(FIX / "reports.json", input=["text"])[0].text.startswith("Mammografie")


def test_scalar_texts_are_stringified(tmp_path: Path) -> None:
    p = write(tmp_path / "s.jsonl", '{"text": 5}\n{"text": 2.5}\n{"text": true}\n')
    assert [c.text for c in cases(p)] == ["5", "2.5", "true"]


def test_limit() -> None:
    assert [c.id for c in cases(FIX / "reports.csv", id="id", limit=2)] == ["007", "008"]
    assert cases(FIX / "reports.csv", limit=0) == []
    assert count_rows(FIX / "reports.csv", limit=2) == 2


def test_count_rows() -> None:
    assert count_rows(FIX / "reports.csv") == 4  # a quoted field spans two lines
    assert count_rows(FIX / "reports.tsv") == 2
    assert count_rows(FIX / "reports.jsonl") == 3
    assert count_rows(FIX / "reports.json") is None
    assert count_rows(FIX / "reports_bom.csv") == 2


def test_damaged_binary_files(tmp_path: Path) -> None:
    for name, kind in (("x.parquet", "Parquet"), ("x.xlsx", "Excel")):
        p = tmp_path / name
        p.write_bytes(b"not really " + name.encode())
        with pytest.raises(DataError, match=rf"x\.{p.suffix[1:]}: not a readable {kind} file"):
            cases(p)
    assert count_rows(tmp_path / "x.parquet") is None


# --- streaming -----------------------------------------------------------------------


def test_jsonl_of_100000_rows_streams_with_flat_memory(tmp_path: Path) -> None:
    p = tmp_path / "big.jsonl"
    text = "Geen afwijkingen van betekenis; één controle over een jaar. " * 3
    with p.open("w", encoding="utf-8") as f:
        for i in range(100_000):
            f.write(json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False) + "\n")
    size = p.stat().st_size
    assert size > 15_000_000
    tracemalloc.start()
    try:
        n = 0
        for case in read_cases(p, input="text"):
            n += 1
            last = case
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 100_000 and last.row == 99_999 and last.text == text
    assert peak < 3_000_000, f"peak {peak} bytes for a {size}-byte file: not streaming"


def test_checks_are_eager_and_rows_lazy(tmp_path: Path) -> None:
    p = write(tmp_path / "x.jsonl", '{"text": "a"}\n{"text": "b"}\nnot json\n')
    it = read_cases(p, input="text")  # no error yet: line 3 has not been read
    assert next(it).text == "a"
    with pytest.raises(DataError, match="line 3"):
        list(it)
    with pytest.raises(DataError, match="no column 'tekst'"):
        read_cases(p, input="tekst")  # raised by the call itself, not by iterating


# --- errors --------------------------------------------------------------------------


def test_file_not_found_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing\.csv: data file not found"):
        cases(tmp_path / "missing.csv")
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(DataError, match=r"dir\.csv: no documents in the folder"):
        cases(d)  # a folder is read as documents (documents.py): this one holds none


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path / "secret.csv", "text\na\n")
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object):  # what chmod 0 does, even as root
        if self == p:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(
        DataError, match=r"secret\.csv: cannot read data file \(Permission denied\)"
    ):
        cases(p)


def test_unsupported_suffix_lists_formats(tmp_path: Path) -> None:
    p = write(tmp_path / "r.txt", "text\na\n")
    with pytest.raises(DataError, match=r"r\.txt: unsupported data format '\.txt'") as e:
        cases(p)
    for suffix in (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".xlsx"):
        assert suffix in str(e.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.csv", "", "empty file"),
        ("e.csv", "\n\n", "empty file"),
        ("h.csv", "id,text\n", "no rows"),
        ("e.jsonl", "\n\n", "no rows"),
        ("e.json", "[]", "no rows"),
    ],
)
def test_empty_inputs(tmp_path: Path, name: str, content: str, message: str) -> None:
    p = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message) as e:
        cases(p)
    assert str(p) in str(e.value)


def test_missing_columns_list_the_available_ones() -> None:
    with pytest.raises(DataError) as e:
        cases(FIX / "reports.csv", input="verslag")
    assert str(e.value) == (
        f"{FIX / 'reports.csv'}: no column 'verslag' (available: 'id', 'text', 'afdeling')"
    )
    with pytest.raises(DataError, match=r"no column 'pid' \(available: 'id', 'text'"):
        cases(FIX / "reports.json", id="pid")
    with pytest.raises(DataError, match=r"line 1: no column 'body'"):
        cases(FIX / "reports.jsonl", input=["text", "body"])


def test_json_structure_errors(tmp_path: Path) -> None:
    p = write(tmp_path / "o.json", '{"data": [{"text": "a"}]}')
    with pytest.raises(DataError, match=r"o\.json: expected a JSON list of records"):
        cases(p)
    p = write(tmp_path / "l.json", '[{"text": "a"}, {"text": "b"}, "c"]')
    with pytest.raises(DataError, match=r"l\.json: record 2 is a string, not an object"):
        cases(p)
    p = write(tmp_path / "bad.json", '[{"text": "a"},')
    with pytest.raises(DataError, match=r"bad\.json: not valid JSON \(line 1, column"):
        cases(p)


def test_jsonl_line_errors(tmp_path: Path) -> None:
    p = write(tmp_path / "m.jsonl", '{"text": "a"}\n\n{"text": "b"\n')
    with pytest.raises(DataError, match=r"m\.jsonl: line 3: not valid JSON"):
        cases(p)
    p = write(tmp_path / "n.jsonl", '{"text": "a"}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"n\.jsonl: line 2 is a list, not an object"):
        cases(p)


def test_csv_parse_error_names_the_file(tmp_path: Path) -> None:
    p = write(tmp_path / "bad.csv", "id,text\n1,a\n2,b,c\n")
    with pytest.raises(DataError, match=r"bad\.csv: not valid CSV: .*line 3"):
        cases(p)


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "id,text\n7,a\n8,b\n7,c\n")
    with pytest.raises(DataError) as e:
        cases(p, id="id")
    assert str(e.value) == f"{p}: duplicate id '7' in column 'id' (row 0 and row 2)"
    p = write(tmp_path / "d.jsonl", '{"id": 1, "text": "a"}\n{"id": "1", "text": "b"}\n')
    with pytest.raises(DataError, match=r"duplicate id '1' .*\(line 1 and line 2\)"):
        cases(p, id="id")


def test_empty_id_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path / "i.csv", "id,text\n1,a\n ,b\n")
    with pytest.raises(DataError, match=r"i\.csv: row 1: empty id in column 'id'"):
        cases(p, id="id")


def test_permission_error_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path / "locked.csv", "text\na\n")

    def deny(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(DataError) as e:
        cases(p)
    assert str(e.value) == f"{p}: cannot read data file (Permission denied)"


def test_a_binary_file_is_named_as_binary_without_its_bytes(tmp_path):
    path = tmp_path / "reports.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8)
    with pytest.raises(DataError) as e:
        list(read_cases(path, input="text"))
    assert str(e.value) == (
        f"{path}: a binary file, not CSV text (is it another format under the wrong name?)"
    )


def test_utf16_text_with_an_encoding_is_not_taken_for_binary(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("text\nhallo\n".encode("utf-16-le"))
    cases = list(read_cases(path, input="text", encoding="utf-16-le"))
    assert [c.text for c in cases] == ["hallo"]


def test_json_errors_read_once_each(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b\n')
    with pytest.raises(DataError) as e:
        list(read_cases(path, input="text"))
    assert " at at " not in str(e.value)
    assert str(e.value) == (
        f"{path}: line 2: not valid JSON (column 12: Invalid control character)"
    )


def test_long_junk_column_names_are_shortened(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join("x" * 500 for _ in range(3)) + "\n1,2,3\n")
    with pytest.raises(DataError) as e:
        list(read_cases(path, input="text"))
    assert len(str(e.value)) < 300 and "xxx…" in str(e.value)
