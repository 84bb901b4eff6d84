"""The studio's guards: file access confined to the workdir, a token when bound to another
address than loopback, same-origin writes, a Host check on loopback, and an upload limit.

Every path a request, a task file or a run's manifest names goes through
:meth:`Workdir.resolve` (or :meth:`Workdir.contains`), which resolves symlinks and ``..``
first and refuses anything outside the workdir (403). Names that become folder or file
names (tasks, runs) go through :func:`check_name`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request, Response, UploadFile
from fastapi.responses import PlainTextResponse

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_COOKIE = "extractinator_token"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MIN_TOKEN_CHARS = 22  # 128 bits as URL-safe base64 (secrets.token_urlsafe(16))
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".cache"})


def is_loopback(host: str) -> bool:
    return host.strip("[]") in LOOPBACK


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


def token_problem(token: str | None) -> str | None:
    """Why a given access token is refused (None: acceptable, or no token at all)."""
    if token is None:
        return None
    if not token.strip():
        return "the access token is empty: leave --token out to get a new random one"
    if len(token) < MIN_TOKEN_CHARS or len(set(token)) < 8:
        return (
            f"the access token is too short or too simple (at least {MIN_TOKEN_CHARS} "
            "random characters, 128 bits): leave --token out to get a new random one"
        )
    if any(c.isspace() or not c.isprintable() for c in token):
        return "the access token may not hold spaces or control characters"
    return None


_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


def check_name(name: str, what: str) -> str:
    """A task or run name that becomes a file or folder name: no path separators, no
    ``..``, no line breaks or other control characters (422 otherwise)."""
    stripped = name.strip()
    if not stripped or stripped in (".", "..") or ".." in stripped or _BAD_NAME.search(name):
        raise HTTPException(
            422, f"{what} {name!r} cannot be a file name: no /, \\, .. or line breaks"
        )
    return stripped


def name_for_file(name: str) -> str:
    """A file/folder-safe form of any name (for names built from a task name)."""
    cleaned = re.sub(r"[^\w.-]+", "_", name).replace("..", "_").strip("._")
    return cleaned[:80] or "task"


class Workdir:
    """The one folder the studio may read and write."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def contains(self, path: Path) -> bool:
        resolved = path.resolve()
        return resolved == self.root or self.root in resolved.parents

    def resolve(self, rel: str | None) -> Path:
        """A path a request names, relative to the workdir (or absolute inside it),
        resolved; 400 when empty, 403 outside (see :meth:`confine`)."""
        if rel is None or not str(rel).strip():
            raise HTTPException(400, "no path given")
        return self.confine(str(rel).strip(), "the path")

    def confine(self, path: str | Path, what: str, base: Path | None = None) -> Path:
        """The one confinement check: a path named by a request, a task file or a run's
        manifest, relative to ``base`` (default: the workdir), resolved (symlinks and
        ``..``); 400 for control characters (line breaks), a one-line 403 naming ``what``
        when it points outside the workdir. Nothing is said about whether a file exists."""
        text = str(path)
        if any(ord(c) < 32 or c == "\x7f" for c in text):
            raise HTTPException(400, f"{what} holds line breaks or control characters")
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            candidate = (base or self.root) / candidate
        candidate = candidate.resolve()
        if not self.contains(candidate):
            raise HTTPException(403, f"{what} is outside the studio folder")
        return candidate

    def rel(self, path: Path) -> str:
        """A workdir path as the posix string the pages and forms use."""
        resolved = path.resolve()
        return "." if resolved == self.root else resolved.relative_to(self.root).as_posix()

    def walk(self, max_depth: int = 4, limit: int = 2000) -> Iterator[Path]:
        """Files and folders under the workdir (hidden and tool folders skipped)."""
        count = 0
        stack = [(self.root, 0)]
        while stack:
            folder, depth = stack.pop()
            try:
                entries = sorted(folder.iterdir(), key=lambda p: p.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in _SKIP_DIRS:
                    continue
                if not self.contains(entry):  # a symlink out of the workdir
                    continue
                yield entry
                count += 1
                if count >= limit:
                    return
                if entry.is_dir() and depth + 1 < max_depth:
                    stack.append((entry, depth + 1))

    def run_dirs(self) -> list[Path]:
        """Folders holding a run (a manifest or records file)."""
        return sorted(
            p
            for p in self.walk()
            if p.is_dir() and ((p / "manifest.json").is_file() or (p / "records.jsonl").is_file())
        )


def safe_filename(name: str) -> str:
    """An upload's file name without folders or odd characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.-]+", "_", base).strip("._")
    return cleaned or "upload"


async def save_upload(upload: UploadFile, dest: Path, limit: int) -> int:
    """Copy an upload to ``dest`` in chunks; 413 (and nothing kept) past ``limit`` bytes."""
    size = 0
    tmp = dest.with_name(dest.name + ".part")
    try:
        with tmp.open("wb") as fh:
            while chunk := await upload.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"upload larger than {limit // (1024 * 1024)} MiB")
                fh.write(chunk)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return size


def _same_origin(request: Request) -> bool:
    """Scheme and host:port of the Origin header equal this request's."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser cross-site request (browsers send Origin on POST)
    parts = urlsplit(origin)
    return parts.scheme == request.url.scheme and parts.netloc == request.headers.get("host", "")


def _given_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)


def install_guards(
    app: FastAPI,
    *,
    token: str | None,
    allowed_hosts: frozenset[str] | None,
    max_upload: int,
) -> None:
    """The middleware that checks every request before any route runs."""

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if allowed_hosts is not None and (request.url.hostname or "") not in allowed_hosts:
            return PlainTextResponse("host not allowed", status_code=400)
        if request.method not in _SAFE_METHODS and not _same_origin(request):
            return PlainTextResponse("cross-origin request refused", status_code=403)
        if token is not None:
            given = _given_token(request)
            if given is None or not hmac.compare_digest(given.encode(), token.encode()):
                return PlainTextResponse(
                    "token required: open the URL with ?token=… printed when the studio started",
                    status_code=401,
                )
        if request.method == "POST" and request.url.path.startswith("/api/upload"):
            length = request.headers.get("content-length")
            if length is None:
                return PlainTextResponse("uploads need a Content-Length", status_code=411)
            if not length.isdigit() or int(length) > max_upload + 64 * 1024:
                return PlainTextResponse(
                    f"upload larger than {max_upload // (1024 * 1024)} MiB", status_code=413
                )
        response = await call_next(request)
        if token is not None and request.query_params.get("token") == token:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        )
        return response
