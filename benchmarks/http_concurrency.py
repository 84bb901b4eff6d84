"""Cases/min through an OpenAI-compatible llama.cpp server at several client concurrencies.

    python benchmarks/http_concurrency.py TASK DATA --server PATH/llama-server [--model GGUF]
        [--parallel 4] [--concurrency 1 4] [--limit N] [--threads T] [--json OUT]

Starts llama.cpp's C++ server (``llama-server``, continuous batching over ``--parallel``
slots) on 127.0.0.1 with the model (default: the embedded one), runs
``benchmarks/throughput.py`` against it once per concurrency level, and prints cases/min
for each. Each slot gets ``n_ctx / parallel`` tokens of context, so ``--n-ctx`` is the
per-slot context times ``--parallel``. llama-cpp-python's own server serves one request at
a time, so concurrency cannot help there; this needs the C++ server (built from the
llama.cpp sources vendored in the llama-cpp-python sdist: see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: argparse.Namespace, model: str, port: int, log: Path) -> subprocess.Popen:
    cmd = [
        args.server, "-m", model, "--host", "127.0.0.1", "--port", str(port),
        "--parallel", str(args.parallel), "-c", str(args.n_ctx), "--cont-batching",
        "--no-webui",
    ]  # fmt: skip
    if args.threads:
        cmd += ["-t", str(args.threads), "-tb", str(args.threads)]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"llama-server exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    sys.exit(f"llama-server not ready after 300 s; see {log}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("task")
    p.add_argument("data")
    p.add_argument("--server", default=os.environ.get("LLAMA_SERVER"), help="llama-server path")
    p.add_argument("--model", help="GGUF (default: the embedded model)")
    p.add_argument("--parallel", type=int, default=4, help="server slots")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    p.add_argument("--n-ctx", type=int, default=16384, help="total context (all slots)")
    p.add_argument("--threads", type=int, help="server CPU threads")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args()
    if not args.server:
        sys.exit("--server PATH/llama-server (or $LLAMA_SERVER) is required")
    if args.model:
        model = args.model
    else:
        from extractinator.model_store import ensure_default_model

        model = str(ensure_default_model())
    port = free_port()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        server = start_server(args, model, port, log)
        try:
            for level in args.concurrency:
                out = Path(tmp) / f"c{level}.json"
                cmd = [
                    sys.executable, str(HERE / "throughput.py"), args.task, args.data,
                    "--engine", "openai", "--model", "local",
                    "--base-url", f"http://127.0.0.1:{port}/v1", "--concurrency", str(level),
                    "--limit", str(args.limit), "--tokenizer", model, "--json", str(out),
                ]  # fmt: skip
                subprocess.run(cmd, check=True)
                figures = json.loads(out.read_text(encoding="utf-8"))
                figures["concurrency"] = level
                results.append(figures)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nllama-server --parallel {args.parallel}, {args.limit} cases:")
    base = results[0]["cases_per_min"]
    for r in results:
        print(
            f"  concurrency {r['concurrency']:>2}: {r['cases_per_min']:.1f} cases/min "
            f"(x{r['cases_per_min'] / base:.2f}), wall {r['wall_seconds']:.0f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
