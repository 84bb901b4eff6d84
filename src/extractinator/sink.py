"""The run directory: crash-safe JSONL records, resume, manifest, exports and its lock.

``records.jsonl`` gets one line per finished case, appended, flushed and fsynced at once, so
a run killed at any moment (even SIGKILL) loses at most the case in flight. A rerun into
the same directory reads the keys already there and skips those cases; a partial last line
left by a kill is cut off first, and a damaged line elsewhere is moved to
``records.corrupt.jsonl`` (named with its line number) so its case simply runs again. One
process writes into a directory at a time (``run.lock``, see runlock.py). Exports hold one
row per case id, its latest record.
"""

from __future__ import annotations

import csv
import errno
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import OutputError, RunDirError
from .records import Record
from .runlock import RunLock

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
CORRUPT = "records.corrupt.jsonl"
EXPORT_JSON = "records.json"
EXPORT_CSV = "records.csv"
# manifest entries that must match for a rerun to resume into the same directory
IDENTITY_KEYS = ("task_fingerprint", "model_id", "prompt_template")
# failed records that say nothing about their case (the server failed, not the case): a
# rerun runs those cases again
RETRIED_ON_RESUME = frozenset({"engine_error"})


def write_error(path: Path, e: OSError) -> OutputError:
    """One line for a failed write: which file, why, and what to do."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "the disk is full: free some space and rerun to resume"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "no permission to write there: choose another --out folder"
    else:
        advice = "rerun to resume once the cause is fixed"
    return OutputError(f"{path}: cannot write ({e.strerror or e}); {advice}")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file, so readers never see half a file;
    the temporary file is removed when the write fails (a full disk)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove_quietly(tmp)
        raise write_error(path, e) from None


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as e:  # the original failure is the one to report
        log.warning("%s: cannot remove the temporary file (%s)", path, e)


class RunDir:
    """An output directory holding one run (one task, one model)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records_path = self.path / RECORDS
        self.manifest_path = self.path / MANIFEST
        self._fd: int | None = None  # records.jsonl, opened for appending
        self._failed: OutputError | None = None  # the write error that ended appending
        self._lock: RunLock | None = None
        self._reported: set[int] = set()  # corrupt lines already warned about

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RunDirError(
                f"{self.manifest_path}: unreadable manifest ({_one_line(e)}); move it away "
                "to resume the run without it"
            ) from None
        if not isinstance(data, dict):
            raise RunDirError(f"{self.manifest_path}: the manifest is not a JSON object")
        return data

    def create(self) -> None:
        """Make the directory (and its parents): a one-line error when it cannot be."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path}: exists and is not a directory; choose another --out")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunDirError(
                f"{self.path}: cannot create the output folder (a part of the path is a file); "
                "choose another --out"
            ) from None
        except OSError as e:
            raise OutputError(
                f"{self.path}: cannot create the output folder ({e.strerror or e}); "
                "choose another --out"
            ) from None

    def lock(self) -> None:
        """Create the directory and hold its lock until :meth:`unlock` (RunDirLocked when
        another process holds it)."""
        self.create()
        if self._lock is None:
            self._lock = RunLock(self.path)
        self._lock.acquire()

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def prepare(self, identity: dict[str, Any], *, overwrite: bool) -> None:
        """Check that an existing run matches ``identity``; clear it if ``overwrite``."""
        self.create()
        old = self.read_manifest()
        has_records = self.records_path.exists()
        if old is not None or has_records:
            mismatch = [k for k in IDENTITY_KEYS if old is None or old.get(k) != identity.get(k)]
            if mismatch and not overwrite:
                raise RunDirError(self._mismatch(old, identity, mismatch))
            if mismatch:
                self.clear()

    def _mismatch(self, old: dict[str, Any] | None, new: dict[str, Any], keys: list[str]) -> str:
        if old is None:
            what = "records but no manifest (cannot tell which task and model made them)"
        else:
            what = "; ".join(
                f"{k.replace('_', ' ')} {old.get(k)!r}, this run {new.get(k)!r}" for k in keys
            )
        finished = sum(1 for _ in self.latest_records())
        keep = (
            f"to keep its {finished} finished records, run into another --out folder"
            if finished
            else "run into another --out folder"
        )
        return f"{self.path}: holds another run ({what}); {keep} (--overwrite deletes them)"

    def clear(self) -> None:
        for name in (RECORDS, MANIFEST, EXPORT_JSON, EXPORT_CSV, CORRUPT):
            (self.path / name).unlink(missing_ok=True)

    def repair(self, on_record: Callable[[Record], None] | None = None) -> int:
        """Cut a partial trailing line (a kill mid-write) and move damaged lines to
        ``records.corrupt.jsonl``; ``on_record`` sees every valid record in file order.
        Returns the number of lines moved away."""
        if not self.records_path.exists():
            return 0
        with self.records_path.open("rb+") as fh:
            data = fh.read()
            good = data.rfind(b"\n") + 1
            if good != len(data):
                fh.truncate(good)
                log.warning(
                    "%s: removed a partial last line (%d bytes) from an interrupted run",
                    self.records_path,
                    len(data) - good,
                )
        lines = data[:good].splitlines(keepends=True)
        bad: list[tuple[int, bytes, str]] = []
        for n, line in enumerate(lines, 1):
            if line.strip():
                try:
                    record = Record.model_validate_json(line)
                except ValueError as e:
                    bad.append((n, line, _reason(e)))
                    continue
                if on_record is not None:
                    on_record(record)
        if bad:
            self._quarantine(lines, bad)
        return len(bad)

    def _quarantine(self, lines: list[bytes], bad: list[tuple[int, bytes, str]]) -> None:
        corrupt = self.path / CORRUPT
        numbers = {n for n, _, _ in bad}
        try:
            with corrupt.open("ab") as fh:
                for n, line, _ in bad:
                    entry = {"line": n, "text": line.decode("utf-8", "replace").rstrip("\n")}
                    fh.write((json.dumps(entry, ensure_ascii=False) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
            tmp = self.records_path.with_name(RECORDS + ".tmp")
            with tmp.open("wb") as fh:
                fh.writelines(line for n, line in enumerate(lines, 1) if n not in numbers)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.records_path)
        except OSError as e:
            _remove_quietly(self.records_path.with_name(RECORDS + ".tmp"))
            raise write_error(self.records_path, e) from None
        for n, _, reason in bad:
            log.warning(
                "%s: line %d is not a valid record (%s); moved to %s, its case runs again",
                self.records_path,
                n,
                reason,
                CORRUPT,
            )

    def iter_records(self) -> Iterator[tuple[int, Record]]:
        """(byte offset, record) for every valid line; a damaged line is skipped with a
        warning naming it (a writer moves it away: :meth:`repair`)."""
        if not self.records_path.exists():
            return
        with self.records_path.open("rb") as fh:
            offset = 0
            for number, line in enumerate(fh, 1):
                if line.strip() and line.endswith(b"\n"):
                    try:
                        yield offset, Record.model_validate_json(line)
                    except ValueError as e:
                        self._skip(number, e)
                offset += len(line)

    def _skip(self, number: int, e: ValueError) -> None:
        if number not in self._reported:
            self._reported.add(number)
            log.warning(
                "%s: line %d is not a valid record (%s); skipped",
                self.records_path,
                number,
                _reason(e),
            )

    def done_keys(self, *, include_failed: bool = True) -> set[str]:
        """Keys of the cases a rerun skips: the ok ones, and (``include_failed``) the
        failed ones, except those that failed on the engine (RETRIED_ON_RESUME)."""
        latest: dict[str, bool] = {}

        def note(rec: Record) -> None:
            retried = rec.error is not None and rec.error.type in RETRIED_ON_RESUME
            latest[rec.key] = rec.ok or (include_failed and not retried)

        self.repair(note)
        return {k for k, done in latest.items() if done}

    def append(self, record: Record) -> None:
        """Append one record as one line, written and fsynced before this returns. After a
        failed write (a full disk) every later append fails the same way: the file then
        ends in at most one partial line, which the next run cuts off."""
        if self._failed is not None:
            raise self._failed
        data = (record.model_dump_json() + "\n").encode("utf-8")
        try:
            if self._fd is None:
                self.create()
                self._fd = os.open(self.records_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as e:
            self._failed = write_error(self.records_path, e)
            self.close()
            raise self._failed from None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.manifest_path, manifest)

    def latest_records(self) -> Iterator[Record]:
        """The last record per case id, in input row order, reading lines back on demand
        so memory holds an index rather than every record. (A case rerun after its text
        changed appears once, as its latest record.)"""
        index: dict[str, tuple[int, int]] = {}
        for offset, rec in self.iter_records():
            index[rec.id] = (rec.row, offset)
        if not index:
            return
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
        try:
            self._write_exports(json_tmp, csv_tmp, columns)
            os.replace(json_tmp, self.path / EXPORT_JSON)
            os.replace(csv_tmp, self.path / EXPORT_CSV)
        except OSError as e:
            _remove_quietly(json_tmp)
            _remove_quietly(csv_tmp)
            raise write_error(self.path / EXPORT_JSON, e) from None

    def _write_exports(
        self, json_tmp: Path, csv_tmp: Path, columns: dict[str, Callable[[Record], Any]]
    ) -> None:
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


def _reason(e: ValueError) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc}: {err['msg']}" if loc else str(err["msg"])
    return _one_line(e)


def _one_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    return text[:200] if text else type(e).__name__
