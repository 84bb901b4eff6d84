"""Is a data file text, and in which encoding: the checks data.py makes before reading."""

from __future__ import annotations

import codecs
import warnings
from pathlib import Path

from .errors import DataError, DataWarning

SCAN_BYTES = 1 << 16  # bytes per block of the encoding check
_KINDS = {"csv": "CSV", "tsv": "TSV", "json": "JSON", "jsonl": "JSON Lines"}


def check_text(path: Path, fmt: str, encoding: str | None) -> None:
    """A CSV/TSV/JSON file that holds NUL bytes is binary (an executable, a zip, a
    spreadsheet with the wrong suffix): say so, not what its bytes look like as text."""
    if encoding is not None and is_wide(encoding):
        return  # UTF-16/32 text has NUL bytes
    with path.open("rb") as f:
        head = f.read(SCAN_BYTES)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        kind = _KINDS[fmt]
        raise DataError(
            f"{path}: a binary file, not {kind} text (is it another format under the wrong name?)"
        )


def _first_bad_byte(path: Path, encoding: str) -> tuple[int, int] | None:
    """(offset, byte) of the first byte that does not decode, or None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with path.open("rb") as f:
        pos = 0
        if codecs.lookup(encoding).name == "utf-8" and f.read(3) == codecs.BOM_UTF8:
            pos = 3
        f.seek(pos)
        while True:
            chunk = f.read(SCAN_BYTES)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                return pos - pending + e.start, e.object[e.start]
            if not chunk:
                return None
            pos += len(chunk)


def choose_encoding(path: Path, encoding: str | None) -> str:
    """The given encoding (checked), else UTF-8 (BOM tolerated), else cp1252 with a warning."""
    if encoding is not None:
        try:
            bad = _first_bad_byte(path, encoding)
        except LookupError:
            raise DataError(f"{path}: unknown encoding {encoding!r}") from None
        if bad is not None:
            raise DataError(
                f"{path}: byte 0x{bad[1]:02X} at offset {bad[0]} is not valid {encoding}"
            )
        return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    bad = _first_bad_byte(path, "utf-8")
    if bad is None:
        return "utf-8-sig"
    fallback = "cp1252" if _first_bad_byte(path, "cp1252") is None else "latin-1"
    warnings.warn(
        f"{path}: not valid UTF-8 (byte 0x{bad[1]:02X} at offset {bad[0]}); read as "
        f"{fallback} instead (pass --encoding / encoding= to choose another)",
        DataWarning,
        stacklevel=4,
    )
    return fallback


def is_wide(encoding: str) -> bool:
    """UTF-16 and UTF-32, whose text is full of NUL bytes."""
    try:
        return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        return False  # choose_encoding names the unknown encoding
