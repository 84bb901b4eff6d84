"""The run directory: crash-safe JSONL records, resume, manifest and exports.

``records.jsonl`` gets one line per finished case, appended, flushed and fsynced at once, so
a run killed at any moment (even SIGKILL) loses at most the case in flight. A rerun into
the same directory reads the keys already there and skips those cases; a partial last line
left by a kill is cut off first.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import RunDirError
from .records import Record

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
EXPORT_JSON = "records.json"
EXPORT_CSV = "records.csv"
# manifest entries that must match for a rerun to resume into the same directory
IDENTITY_KEYS = ("task_fingerprint", "model_id", "prompt_template")


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunDir:
    """An output directory holding one run (one task, one model)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records_path = self.path / RECORDS
        self.manifest_path = self.path / MANIFEST
        self._fh: Any = None

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            data: dict[str, Any] = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RunDirError(f"{self.manifest_path}: unreadable manifest ({e})") from None
        return data

    def prepare(self, identity: dict[str, Any], *, overwrite: bool) -> None:
        """Check that an existing run matches ``identity``; clear it if ``overwrite``."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path}: exists and is not a directory")
        old = self.read_manifest()
        has_records = self.records_path.exists()
        if old is not None or has_records:
            mismatch = [k for k in IDENTITY_KEYS if old is None or old.get(k) != identity.get(k)]
            if mismatch and not overwrite:
                what = ", ".join(k.replace("_", " ") for k in mismatch)
                raise RunDirError(
                    f"{self.path}: holds a run with a different {what}; "
                    "use --overwrite to replace it, or another --out directory"
                )
            if mismatch:
                self.clear()
        self.path.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        for name in (RECORDS, MANIFEST, EXPORT_JSON, EXPORT_CSV):
            (self.path / name).unlink(missing_ok=True)

    def repair(self) -> int:
        """Cut a partial trailing line (a kill mid-write); returns bytes removed."""
        if not self.records_path.exists():
            return 0
        with self.records_path.open("rb+") as fh:
            data = fh.read()
            good = data.rfind(b"\n") + 1
            if good == len(data):
                return 0
            fh.truncate(good)
        removed = len(data) - good
        log.warning(
            "%s: removed a partial last line (%d bytes) from an interrupted run",
            self.records_path,
            removed,
        )
        return removed

    def iter_records(self) -> Iterator[tuple[int, Record]]:
        """(byte offset, record) for every line; a corrupt line is an error naming it."""
        if not self.records_path.exists():
            return
        with self.records_path.open("rb") as fh:
            offset = 0
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield offset, Record.model_validate_json(line)
                    except ValueError as e:
                        raise RunDirError(
                            f"{self.records_path}: line {number} is not a valid record ({e})"
                        ) from None
                offset += len(line)

    def done_keys(self, *, include_failed: bool = True) -> set[str]:
        self.repair()
        latest: dict[str, bool] = {}
        for _, rec in self.iter_records():
            latest[rec.key] = rec.ok
        return {k for k, ok in latest.items() if ok or include_failed}

    def append(self, record: Record) -> None:
        if self._fh is None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._fh = self.records_path.open("a", encoding="utf-8")
        self._fh.write(record.model_dump_json() + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.manifest_path, manifest)

    def latest_records(self) -> Iterator[Record]:
        """The last record per key, in input row order, reading lines back on demand so
        memory holds an index rather than every record."""
        index: dict[str, tuple[int, int]] = {}
        for offset, rec in self.iter_records():
            index[rec.key] = (rec.row, offset)
        with self.records_path.open("rb") as fh:
            for _, offset in sorted(index.values()):
                fh.seek(offset)
                yield Record.model_validate_json(fh.readline())

    def export(self) -> None:
        """records.json (a list) and records.csv (one column per top-level output field,
        followed where present by its `_agreement`, `_evidence` and `_supported` columns)."""
        if not self.records_path.exists():
            return
        fields: dict[str, None] = {}
        agreed: set[str] = set()
        quoted: set[str] = set()
        for rec in self.latest_records():
            fields.update(dict.fromkeys(rec.output or {}))
            agreed.update(rec.agreement or {})
            quoted.update(rec.evidence or {})
        columns = _output_columns(list(fields), agreed, quoted)
        json_tmp = self.path / (EXPORT_JSON + ".tmp")
        csv_tmp = self.path / (EXPORT_CSV + ".tmp")
        with (
            json_tmp.open("w", encoding="utf-8") as jf,
            csv_tmp.open("w", encoding="utf-8", newline="") as cf,
        ):
            writer = csv.writer(cf)
            writer.writerow(["id", "status", "error_type", "error_message", *columns])
            jf.write("[")
            for i, rec in enumerate(self.latest_records()):
                jf.write(("," if i else "") + "\n  " + rec.model_dump_json())
                writer.writerow(
                    [
                        rec.id,
                        rec.status,
                        rec.error.type if rec.error else "",
                        rec.error.message if rec.error else "",
                        *(_cell(cell(rec)) for cell in columns.values()),
                    ]
                )
            jf.write("\n]\n")
        os.replace(json_tmp, self.path / EXPORT_JSON)
        os.replace(csv_tmp, self.path / EXPORT_CSV)


def _output_columns(
    fields: list[str], agreed: set[str], quoted: set[str]
) -> dict[str, Callable[[Record], Any]]:
    """CSV header -> how to read the cell from a record."""
    columns: dict[str, Callable[[Record], Any]] = {}
    for f in fields:
        columns[f] = lambda rec, f=f: (rec.output or {}).get(f)
        if f in agreed:
            columns[f"{f}_agreement"] = lambda rec, f=f: (rec.agreement or {}).get(f)
        if f in quoted:
            columns[f"{f}_evidence"] = lambda rec, f=f: _evidence(rec, f, "quote")
            columns[f"{f}_supported"] = lambda rec, f=f: _evidence(rec, f, "supported")
    return columns


def _evidence(rec: Record, field_name: str, attr: str) -> Any:
    ev = (rec.evidence or {}).get(field_name)
    return getattr(ev, attr) if ev is not None else None


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
