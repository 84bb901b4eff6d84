"""Read datasets (CSV, TSV, JSON, JSONL, Parquet, Excel) as a stream of :class:`Case`.

Every row becomes a case, none is skipped: a missing or blank text gives ``text == ""``,
which the pipeline records as failed. Problems with the file raise :class:`DataError`
(one line naming the file, and the row/record/line and column where relevant).
"""

from __future__ import annotations

import csv
import itertools
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import DataError, DataWarning
from .task.inputs import case_text, is_missing, kind_of, scalar_text
from .textfiles import check_text, choose_encoding

DOCUMENT = "__document__"  # a document row's pages and reader (documents.py), not a column
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}
CHUNK_ROWS = 10_000  # rows per CSV chunk / Parquet batch
Row = tuple[int, str, dict[str, Any]]  # (row, "row 3" / "line 4" for messages, values)


class Case(BaseModel):
    """One input: its id (resume key part), its 0-based row (data row; for JSON/JSONL the
    record index) and its text; ``extra`` goes into its record's extra (documents: pages)."""

    model_config = ConfigDict(frozen=True)

    id: str
    row: int
    text: str
    extra: dict[str, Any] = Field(default_factory=dict)


def read_cases(
    path: str | Path,
    *,
    input: str | list[str],
    id: str | None = None,
    encoding: str | None = None,
    limit: int | None = None,
) -> Iterator[Case]:
    """Stream the cases of a data file. The file, its columns and its first record are
    checked now; later records as they are read. Several ``input`` columns are joined as
    ``"col: value"`` paragraphs, skipping empty values. A folder is read as documents
    (:mod:`extractinator.documents`: one case per PDF/DOCX/HTML/text/image file)."""
    path = Path(path)
    if path.is_dir() and id is None:
        id = "id"  # a document's id is its file name
    columns = [input] if isinstance(input, str) else list(input)
    if not columns:
        raise DataError(f"{path}: no input column given")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    needed = list(dict.fromkeys([*columns, *([id] if id else [])]))
    records = _records(path, needed, encoding)
    first = next(records, None)  # checks the header / first record now
    if first is None:
        raise DataError(f"{path}: no rows")
    return _cases(path, itertools.chain([first], records), input, id, limit)


def count_rows(
    path: str | Path, *, encoding: str | None = None, limit: int | None = None
) -> int | None:
    """The number of rows, where that is cheap (CSV/TSV, JSONL, Parquet); else None."""
    path = Path(path)
    if path.is_dir():
        from .documents import count_documents

        return count_documents(path, limit)
    fmt = _format(path)
    _check_file(path)
    n: int | None = None
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            return None
        try:
            n = pq.ParquetFile(path).metadata.num_rows
        except Exception:  # a damaged file: read_cases reports it; no total meanwhile
            return None
    elif fmt == "jsonl":
        with path.open("rb") as f:
            n = sum(1 for line in f if line.strip())
    elif fmt in ("csv", "tsv"):
        # latin-1 maps every byte, and cannot invent a quote, separator or newline
        with path.open(encoding=encoding or "latin-1", errors="replace", newline="") as f:
            try:
                n = max(sum(1 for row in csv.reader(f, delimiter=_SEP[fmt]) if row) - 1, 0)
            except csv.Error:  # e.g. a field over the csv module's size limit
                return None
    return n if n is None or limit is None else min(n, limit)


def read_rows(path: Path, needed: list[str], encoding: str | None = None) -> Iterator[Row]:
    """Raw rows of any supported data file as ``(row, where, {column: value})``, checking
    that the ``needed`` columns exist (for other readers than cases, e.g. label files)."""
    return _records(path, needed, encoding)


def row_id(path: Path, where: str, column: str, value: Any) -> str:
    """A row's id from its id column, or a one-line error naming the file and row."""
    return _id(path, where, column, value)


def data_columns(path: Path, encoding: str | None = None) -> list[str]:
    """The column names of a data file (for JSON/JSONL: the keys of the first record)."""
    if path.is_dir():
        from .documents import COLUMNS

        return list(COLUMNS)
    fmt = _format(path)
    _check_file(path)
    if fmt in ("json", "jsonl"):
        first = next(_records(path, [], encoding), None)
        if first is None:
            raise DataError(f"{path}: no rows")
        return list(first[2])
    if fmt == "parquet":
        pq = _pyarrow_parquet(path)
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError for corrupt files
            raise DataError(f"{path}: not a readable Parquet file ({_short(e)})") from None
    import pandas as pd

    if fmt == "excel":
        try:
            return [str(c) for c in pd.read_excel(path, sheet_name=0, nrows=0).columns]
        except Exception as e:  # openpyxl/xlrd raise many types for damaged files
            raise DataError(f"{path}: not a readable Excel file ({_short(e)})") from None
    check_text(path, fmt, encoding)
    with warnings.catch_warnings():  # an encoding fallback is reported when the rows are read
        warnings.simplefilter("ignore", DataWarning)
        enc = choose_encoding(path, encoding)
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, sep=_SEP[fmt], encoding=enc)]
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file (no header row)") from None


_SEP = {"csv": ",", "tsv": "\t"}


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unsupported data format {path.suffix or '(no suffix)'!r} "
            f"(supported: {', '.join(FORMATS)})"
        )
    return fmt


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: data file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    try:
        with path.open("rb") as f:
            empty = not f.read(1)
    except OSError as e:
        raise DataError(f"{path}: cannot read data file ({e.strerror or e})") from None
    if empty:
        raise DataError(f"{path}: empty file")


def _check_columns(path: Path, needed: list[str], available: list[str], where: str = "") -> None:
    """Columns of a table; for JSON, the keys of the first record (``where`` names it)."""
    for col in needed:
        if col not in available:
            shown = ", ".join(repr(_short_name(c)) for c in available[:30])
            more = f" and {len(available) - 30} more" if len(available) > 30 else ""
            at = f"{where}: " if where else ""
            raise DataError(f"{path}: {at}no column {col!r} (available: {shown}{more})")


def _records(path: Path, needed: list[str], encoding: str | None) -> Iterator[Row]:
    if path.is_dir():
        from .documents import folder_rows

        return folder_rows(path, needed)
    fmt = _format(path)
    _check_file(path)
    if fmt in ("parquet", "excel"):
        return _parquet(path, needed) if fmt == "parquet" else _excel(path, needed)
    check_text(path, fmt, encoding)
    enc = choose_encoding(path, encoding)
    if fmt == "json":
        return _json(path, needed, enc)
    if fmt == "jsonl":
        return _jsonl(path, needed, enc)
    return _csv(path, needed, enc, _SEP[fmt])


def _csv(path: Path, needed: list[str], enc: str, sep: str) -> Iterator[Row]:
    import pandas as pd

    opts: dict[str, Any] = dict(
        sep=sep, dtype=str, keep_default_na=False, na_filter=False, encoding=enc
    )
    try:
        header = [str(c) for c in pd.read_csv(path, nrows=0, **opts).columns]
        _check_columns(path, needed, header)
        row = 0
        # all columns, not usecols=: that would silently drop the extra fields of a bad row
        with pd.read_csv(path, chunksize=CHUNK_ROWS, **opts) as reader:
            for chunk in reader:
                for values in zip(*(chunk[c].tolist() for c in needed), strict=True):
                    yield row, f"row {row}", dict(zip(needed, values, strict=True))
                    row += 1
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file (no header row)") from None
    except pd.errors.ParserError as e:
        raise DataError(
            f"{path}: not valid {'CSV' if sep == ',' else 'TSV'}: {str(e).strip().splitlines()[-1]}"
        ) from None


def _json(path: Path, needed: list[str], enc: str) -> Iterator[Row]:
    try:
        data = json.loads(path.read_text(encoding=enc))
    except json.JSONDecodeError as e:
        raise DataError(
            f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of records (objects), got {kind_of(data)}")
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise DataError(f"{path}: record {i} is {kind_of(rec)}, not an object")
        if i == 0:
            _check_columns(path, needed, list(rec), "record 0")
        yield i, f"record {i}", rec


def _jsonl(path: Path, needed: list[str], enc: str) -> Iterator[Row]:
    row = 0
    with path.open(encoding=enc) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(
                    f"{path}: line {lineno}: not valid JSON (column {e.colno}: {_json_msg(e)})"
                ) from None
            if not isinstance(rec, dict):
                raise DataError(f"{path}: line {lineno} is {kind_of(rec)}, not an object")
            if row == 0:
                _check_columns(path, needed, list(rec), f"line {lineno}")
            yield row, f"line {lineno}", rec
            row += 1


def _pyarrow_parquet(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f'{path}: reading Parquet needs pyarrow: pip install "extractinator[parquet]"'
        ) from None
    return pq


def _parquet(path: Path, needed: list[str]) -> Iterator[Row]:
    pq = _pyarrow_parquet(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid/OSError for corrupt files
        raise DataError(f"{path}: not a readable Parquet file ({_short(e)})") from None
    _check_columns(path, needed, list(pf.schema_arrow.names))
    row = 0
    for batch in pf.iter_batches(batch_size=CHUNK_ROWS, columns=needed):
        cols = [batch.column(c).to_pylist() for c in needed]
        for values in zip(*cols, strict=True):
            yield row, f"row {row}", dict(zip(needed, values, strict=True))
            row += 1


def _excel(path: Path, needed: list[str]) -> Iterator[Row]:
    import pandas as pd

    try:
        df = pd.read_excel(path, sheet_name=0, dtype=object)
    except ImportError as e:
        raise DataError(
            f"{path}: reading {path.suffix} needs an extra package ({_short(e)}); "
            f"for .xlsx: pip install openpyxl"
        ) from None
    except Exception as e:  # openpyxl/xlrd raise many types for damaged files
        raise DataError(f"{path}: not a readable Excel file ({_short(e)})") from None
    df.columns = [str(c) for c in df.columns]
    _check_columns(path, needed, list(df.columns))
    for row, values in enumerate(zip(*(df[c].tolist() for c in needed), strict=True)):
        yield row, f"row {row}", dict(zip(needed, values, strict=True))


def _cases(
    path: Path,
    records: Iterator[Row],
    input: str | list[str],
    id_col: str | None,
    limit: int | None,
) -> Iterator[Case]:
    seen: dict[str, str] = {}
    for n, (row, where, rec) in enumerate(records):
        if limit is not None and n >= limit:
            return
        text = case_text(rec, input, f"{path}: {where}")
        # a document read as its own text keeps its pages (offsets into that text)
        extra = {"document": rec[DOCUMENT]} if DOCUMENT in rec and input == "text" else {}
        case_id = str(row)
        if id_col is not None:
            case_id = _id(path, where, id_col, rec.get(id_col))
            if case_id in seen:
                raise DataError(
                    f"{path}: duplicate id {case_id!r} in column {id_col!r} "
                    f"({seen[case_id]} and {where})"
                )
            seen[case_id] = where
        yield Case(id=case_id, row=row, text=text, extra=extra)


def _id(path: Path, where: str, col: str, v: Any) -> str:
    return row_id_of({col: v}, col, f"{path}: {where}")


def row_id_of(values: Any, column: str, where: str) -> str:
    """A row's id from its id column: text, stripped, not empty, not an object or list."""
    v = values.get(column)
    if isinstance(v, (dict, list, tuple)):
        raise DataError(f"{where}: id column {column!r} holds {kind_of(v)}")
    value = "" if is_missing(v) else v.strip() if isinstance(v, str) else scalar_text(v)
    if not value:
        raise DataError(f"{where}: empty id in column {column!r}")
    return value


def _json_msg(e: json.JSONDecodeError) -> str:
    """json's message without its dangling "at" ("Invalid control character at")."""
    return e.msg.removesuffix(" at")


def _short_name(column: str, limit: int = 40) -> str:
    return column if len(column) <= limit else column[: limit - 1] + "…"


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
