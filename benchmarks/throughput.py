"""Throughput of one task over one data file, against the engine floor.

    python benchmarks/throughput.py TASK DATA [--engine llamacpp|openai|ollama] [--model M]
        [--base-url URL] [--limit N] [--forced] [--json OUT]

Prints wall seconds, cases/min, peak RSS, and per case (mean and total): prompt tokens sent,
prompt tokens evaluated (not served from the KV cache), the case's own tokens (the prompt
after the instruction prefix every case shares: the case text, the chat template around it;
for a re-ask, the prompt after the conversation its case's last request had), generated
tokens and, with --forced (llamacpp only), the generated tokens the
JSON-schema grammar forced (see forced_tokens.py).

The engine floor is the time the engine needs for the tokens that must be evaluated:
own tokens / prompt rate + generated tokens / generation rate, both rates measured in this
run from the engine's own timings (llama.cpp's perf counters in-process; a llama.cpp
server's or Ollama's reported timings). Option scoring (llamacpp: P(value) of boolean/enum
fields, decodes after generation) is timed apart and not part of the floor. Own tokens need
the model's tokenizer: in-process it is the engine's; for servers pass --tokenizer GGUF.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from extractinator.config import EngineConfig, GenerationConfig, LlamaCppConfig, RunConfig
from extractinator.config import engine_config as make_engine_config
from extractinator.engines import Engine, GenerationRequest, GenerationResult, create_engine
from extractinator.engines.option_scoring import common_prefix
from extractinator.engines.stats import EngineStats
from extractinator.prompt import build_messages
from extractinator.records import Record
from extractinator.runner import run_task
from extractinator.sink import RunDir
from extractinator.task import Task, load_task


class MeasuredEngine:
    """Passes requests to an engine and keeps what records do not: each request's own
    tokens (its prompt after the prefix shared by every case) and, with a token capture,
    the generated token ids and grammar for the --forced replay."""

    def __init__(
        self, inner: Engine, task: Task, tokenizer: Any | None, capture: Any | None
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.tokenizer = tokenizer  # has tokenize_prompt(request) -> list[int]
        self.capture = capture
        self.requests = 0
        self.own_tokens = 0
        self.answers: list[tuple[Any, list[int]]] = []  # (LlamaGrammar, generated ids)
        self._shared: list[int] = []
        self._last: list[int] = []  # the previous request's prompt
        if tokenizer is not None:
            probe = GenerationRequest(messages=build_messages(task, ""))
            self._shared = tokenizer.tokenize_prompt(probe)

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def context_size(self) -> int | None:
        return self.inner.context_size

    async def count_tokens(self, request: GenerationRequest) -> int | None:
        return await self.inner.count_tokens(request)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def stats(self) -> EngineStats | None:
        return self.inner.stats()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if self.capture is not None:
            self.capture.take()
        result = await self.inner.generate(request)
        self.requests += 1
        if self.tokenizer is not None:
            tokens = self.tokenizer.tokenize_prompt(request)
            shared = common_prefix(tokens, self._shared)
            if len(request.messages) > 2:  # a re-ask: its case's conversation so far is shared
                shared = max(shared, common_prefix(tokens, self._last))
            self.own_tokens += len(tokens) - shared
            self._last = tokens
        if self.capture is not None and request.json_schema is not None:
            grammar = self.inner._grammar(request)  # type: ignore[attr-defined]
            self.answers.append((grammar, self.capture.take()))
        return result


def rate(tokens: int, seconds: float) -> float | None:
    return tokens / seconds if seconds > 0 else None


def engine_rates(records: list[Record]) -> dict[str, Any]:
    """Prompt and generation rates from the engine's timings, over the records that have
    them: evaluated prompt tokens / prompt seconds, generated tokens / generation seconds."""
    timed_p = [r for r in records if r.prompt_seconds is not None]
    timed_g = [r for r in records if r.generation_seconds is not None]
    p_tok = sum(r.prompt_tokens_evaluated or 0 for r in timed_p)
    p_sec = sum(r.prompt_seconds or 0.0 for r in timed_p)
    g_tok = sum(r.completion_tokens for r in timed_g)
    g_sec = sum(r.generation_seconds or 0.0 for r in timed_g)
    return {
        "prompt_tokens": p_tok,
        "prompt_seconds": round(p_sec, 3),
        "prompt_rate": _round(rate(p_tok, p_sec)),
        "generated_tokens": g_tok,
        "generation_seconds": round(g_sec, 3),
        "generation_rate": _round(rate(g_tok, g_sec)),
        "timed_records": len(timed_p),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def peak_rss_mb() -> dict[str, float]:
    """ru_maxrss (KiB on Linux) of this process and of its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "children": round(children, 1)}


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """The engine the flags name; options that do not apply to it are left unset."""
    server = args.engine != "llamacpp"
    return make_engine_config(
        args.engine,
        model=args.model,
        base_url=args.base_url if server else None,
        api_key=os.environ.get("EXTRACTINATOR_API_KEY") if args.engine == "openai" else None,
        n_ctx=args.n_ctx if args.engine != "openai" else None,
        n_threads=None if server else args.threads,
        concurrency=args.concurrency if server else None,
    )


def build_tokenizer(args: argparse.Namespace, engine: Engine) -> Any | None:
    if args.tokenizer:
        from extractinator.engines.llamacpp import LlamaCppEngine

        config = LlamaCppConfig(model=args.tokenizer, n_ctx=256, options={"vocab_only": True})
        return LlamaCppEngine(config)
    return engine if hasattr(engine, "tokenize_prompt") else None


def measure(args: argparse.Namespace, engine: Engine | None = None) -> dict[str, Any]:
    """Run the task once and return the figures. ``engine`` (tests) replaces the one the
    arguments describe; it is closed at the end either way."""
    task = load_task(args.task)
    if args.forced and (args.engine != "llamacpp" or args.concurrency != 1):
        sys.exit("error: --forced needs --engine llamacpp and --concurrency 1")
    config = RunConfig(
        engine=engine_config(args),
        generation=GenerationConfig(max_tokens=args.max_tokens, probabilities=not args.no_scoring),
        limit=args.limit,
        progress=False,
    )
    started = time.perf_counter()
    engine = engine or create_engine(config.engine)
    load_seconds = time.perf_counter() - started
    tokenizer = build_tokenizer(args, engine)
    capture = None
    if args.forced:
        from forced_tokens import TokenCapture

        capture = TokenCapture(engine)
    measured = MeasuredEngine(engine, task, tokenizer, capture)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            run_task(task, args.data, Path(tmp) / "run", config, engine=measured)
            wall = time.perf_counter() - started
            records = list(RunDir(Path(tmp) / "run").latest_records())
        forced = None
        if args.forced:
            replay_started = time.perf_counter()
            counts = forced_counts(engine._llm, measured.answers)  # type: ignore[attr-defined]
            forced = {**counts, "replay_seconds": round(time.perf_counter() - replay_started, 1)}
        stats = engine.stats()
        scoring = stats.option_scoring if stats is not None else None
        return figures(args, engine, measured, records, wall, load_seconds, scoring, forced)
    finally:
        if tokenizer is not None and tokenizer is not engine:
            asyncio.run(tokenizer.aclose())
        asyncio.run(engine.aclose())


def forced_counts(llm: Any, answers: list[tuple[Any, list[int]]]) -> dict[str, int]:
    """Replay every answer through the grammar (after the timed run: it is slow)."""
    from dataclasses import asdict

    from forced_tokens import ForcedCounts, GrammarReplay

    replay = GrammarReplay(llm)
    counts = ForcedCounts()
    for grammar, tokens in answers:
        replay.count(grammar, tokens, counts)
    return asdict(counts)


def figures(
    args: argparse.Namespace,
    engine: Engine,
    measured: MeasuredEngine,
    records: list[Record],
    wall: float,
    load_seconds: float,
    scoring: Any | None,
    forced: dict[str, Any] | None,
) -> dict[str, Any]:
    """Everything the run measured, as one JSON-ready dict."""
    n = len(records)
    own = measured.own_tokens if measured.tokenizer is not None else None
    totals: dict[str, int | None] = {
        "prompt": sum(r.prompt_tokens for r in records),
        "evaluated": sum(r.prompt_tokens_evaluated or 0 for r in records),
        "own": own,
        "generated": sum(r.completion_tokens for r in records),
    }
    if forced is not None:
        totals["forced_single"] = forced["single"]
        totals["forced_text"] = forced["text_forced"]
    timings = engine_rates(records)
    floor = None
    if own is not None and timings["prompt_rate"] and timings["generation_rate"]:
        floor = own / timings["prompt_rate"] + totals["generated"] / timings["generation_rate"]
    out: dict[str, Any] = {
        "task": str(args.task),
        "data": str(args.data),
        "engine": engine.describe(),
        "cases": n,
        "ok": sum(r.ok for r in records),
        "failed": sum(not r.ok for r in records),
        "requests": measured.requests,
        "load_seconds": round(load_seconds, 2),
        "wall_seconds": round(wall, 2),
        "cases_per_min": round(60 * n / wall, 2) if wall > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
        "totals": totals,
        "per_case": {k: (v / n if v is not None and n else None) for k, v in totals.items()},
        "engine_timings": timings,
        "option_scoring": None,
        "floor_seconds": round(floor, 2) if floor else None,
        "wall_over_floor": round(wall / floor, 3) if floor else None,
        "forced": forced,
    }
    if scoring is not None:
        out["option_scoring"] = {
            "requests": scoring.requests,
            "seconds": round(scoring.seconds, 3),
            "decode_seconds": round(scoring.decode_seconds, 3),
            "tokens": scoring.tokens,
        }
    return out


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "n/a" if value is None else format(value, fmt)


def report(f: dict[str, Any]) -> str:
    """The figures as a short plain-text report."""
    rss = f["peak_rss_mb"]
    lines = [
        f"task {f['task']}  data {f['data']}",
        f"engine {json.dumps(f['engine'], default=str)}",
        f"cases {f['cases']} (ok {f['ok']}, failed {f['failed']}), requests {f['requests']}, "
        f"model load {f['load_seconds']:.1f} s",
        f"wall {f['wall_seconds']:.2f} s   cases/min {_num(f['cases_per_min'])}   "
        f"peak RSS {rss['self']:.0f} MB (children {rss['children']:.0f} MB)",
        "",
        f"{'per case':<40}{'mean':>10}{'total':>10}",
    ]
    labels = {
        "prompt": "prompt tokens sent",
        "evaluated": "prompt tokens evaluated (not cached)",
        "own": "own tokens (prompt after the shared prefix; a re-ask's after its last turn)",
        "generated": "generated tokens",
        "forced_single": "forced: grammar allowed one token",
        "forced_text": "forced: grammar fixed the token's text",
    }
    for key, total in f["totals"].items():
        mean = f["per_case"][key]
        lines.append(f"{labels[key]:<40}{_num(mean):>10}{_num(total, 'd'):>10}")
    t = f["engine_timings"]
    lines += [
        "",
        f"engine timings ({t['timed_records']} of {f['cases']} cases timed): prompt "
        f"{_num(t['prompt_rate'])} tok/s ({t['prompt_tokens']} tok, {t['prompt_seconds']:.2f} s), "
        f"generation {_num(t['generation_rate'])} tok/s ({t['generated_tokens']} tok, "
        f"{t['generation_seconds']:.2f} s)",
    ]
    decode = t["prompt_seconds"] + t["generation_seconds"]
    other = f["wall_seconds"] - decode
    if f["option_scoring"]:
        s = f["option_scoring"]
        other -= s["seconds"]
        lines.append(
            f"option scoring (not in the floor): {s['seconds']:.2f} s for {s['requests']} "
            f"answers, {s['tokens']} tokens decoded in {s['decode_seconds']:.2f} s"
        )
    lines.append(
        f"wall - engine decode{' - scoring' if f['option_scoring'] else ''} = {other:.2f} s "
        "(sampling and grammar, Python, validation, I/O)"
    )
    tot = f["totals"]
    if tot["own"] is not None:
        lines.append(
            f"prompt tokens evaluated beyond own tokens: {tot['evaluated'] - tot['own']} "
            "(the shared prefix once, plus any cache misses; not in the floor)"
        )
    lines.append(
        f"engine floor {_num(f['floor_seconds'], '.2f')} s (own / prompt rate + generated / "
        f"generation rate)   wall / floor {_num(f['wall_over_floor'], '.2f')}"
    )
    if f["forced"]:
        fc = f["forced"]
        lines.append(
            f"forced (grammar replay over {fc['steps']} generated tokens, "
            f"{fc['replay_seconds']} s): one token allowed {fc['single']}, text fixed "
            f"{fc['text_forced']}, answers rejected part-way {fc['rejected']}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", help="task file (YAML/JSON)")
    p.add_argument("data", help="data file (CSV, JSONL, ...)")
    p.add_argument("--engine", choices=["llamacpp", "openai", "ollama"], default="llamacpp")
    p.add_argument("--model", help="GGUF path (llamacpp; default: embedded) or server model")
    p.add_argument("--base-url", help="server URL (openai: .../v1; ollama: host:11434)")
    p.add_argument("--limit", type=int, help="first N cases only")
    p.add_argument("--forced", action="store_true", help="count grammar-forced tokens")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument("--threads", type=int, help="llamacpp CPU threads (default: all cores)")
    p.add_argument("--n-ctx", type=int, default=8192, help="context window")
    p.add_argument("--max-tokens", type=int, default=1024, help="output budget per answer")
    p.add_argument("--concurrency", type=int, default=1, help="requests in flight (servers)")
    p.add_argument("--no-scoring", action="store_true", help="skip option scoring")
    p.add_argument("--tokenizer", help="GGUF whose tokenizer counts own tokens (servers)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = measure(args)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
