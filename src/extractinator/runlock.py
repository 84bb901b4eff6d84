"""One writer per run directory: ``run.lock`` names the holder (pid, host, start time).

The lock is an advisory ``flock`` on the file, which the kernel drops when its process ends
however it ends (SIGKILL included), so a lock left by a killed run is stale by construction
and the next run takes it over. The file is removed on release; a run that locked a file
that was removed meanwhile tries again, so two runs never both hold it. Where ``fcntl`` is
missing (Windows) the file is created exclusively and a holder that is no longer alive on
this host counts as stale.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import OutputError, RunDirLocked

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK = "run.lock"


def holder_text(info: dict[str, Any]) -> str:
    """'pid 123 on host x since 2024-05-01T10:00:00+00:00' from a lock file's content."""
    if not info:
        return "holder unknown"
    return (
        f"pid {info.get('pid', '?')} on host {info.get('host', '?')} "
        f"since {info.get('started', '?')}"
    )


class RunLock:
    """``with RunLock(directory):`` holds the directory's lock (the directory must exist)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK
        self._fd: int | None = None
        self.taken_over: dict[str, Any] | None = None  # a stale holder's info, if any

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            fd = self._acquire_flock() if fcntl is not None else self._acquire_exclusive()
        except OSError as e:
            raise OutputError(
                f"{self.path}: cannot create the run's lock file ({e.strerror or e}); "
                "check the --out folder's permissions"
            ) from None
        previous = _read(fd)
        if previous:
            self.taken_over = previous
            log.warning(
                "%s: taking over the lock of a run that ended without releasing it (%s)",
                self.directory,
                holder_text(previous),
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(info) + "\n").encode())
        os.fsync(fd)
        self._fd = fd

    def _acquire_flock(self) -> int:
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise self._locked(holder) from None
            try:  # a holder releasing the lock removes the file: ours must still be it
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
        raise self._locked({})

    def _acquire_exclusive(self) -> int:  # pragma: no cover - Windows
        for _ in range(5):
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = _read_path(self.path)
                if _alive_here(info):
                    raise self._locked(info) from None
                self.path.unlink(missing_ok=True)
        raise self._locked(_read_path(self.path))

    def _locked(self, holder: dict[str, Any]) -> RunDirLocked:
        return RunDirLocked(
            f"{self.directory}: another run is writing into this folder ({holder_text(holder)}); "
            "wait for it to end, or use another --out folder"
        )

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError as e:
            log.warning("%s: cannot remove the lock file (%s)", self.path, e)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_holder(directory: str | Path) -> dict[str, Any] | None:
    """Who holds a run directory's lock right now (None when nobody does)."""
    path = Path(directory) / LOCK
    if not path.exists():
        return None
    if fcntl is None:  # pragma: no cover - Windows
        info = _read_path(path)
        return info if _alive_here(info) else None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    return _parse(raw)


def _read_path(path: Path) -> dict[str, Any]:
    try:
        return _parse(path.read_bytes()[:4096])
    except OSError:
        return {}


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _alive_here(info: dict[str, Any]) -> bool:  # pragma: no cover - Windows
    """A holder counts as alive unless it ran on this host and its pid is gone."""
    if info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
        return bool(info)
    try:
        os.kill(info["pid"], 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
