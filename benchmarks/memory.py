"""Memory at scale: a 100,000-case input streams through the runner with flat memory.

Generates a CSV of N synthetic Dutch reports, loads the real engine (so its memory is in the
figure), and runs the radiology example task over every case with answers that skip the
model's forward pass (a 100,000-case model run takes days on 2 cores; what grows with N is
reading, validation, records and the run directory, and those run for real). Prints peak
RSS and RSS sampled every 10% of the cases, then checks resume on the finished run.

    python benchmarks/memory.py [--cases 100000] [--engine-model GGUF | --no-model]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from extractinator.config import LlamaCppConfig, RunConfig
from extractinator.engines import GenerationRequest, GenerationResult, create_engine
from extractinator.runner import run_task
from extractinator.task import load_task

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "extractinator" / "examples"


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_reports(path: Path, n: int) -> None:
    rng = random.Random(0)
    sides = ["links", "rechts", "beiderzijds"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "report"])
        for i in range(n):
            size = f"{rng.randint(2, 30) / 10:.1f}".replace(".", ",")
            w.writerow(
                [f"r{i}", f"CT thorax: nodus {sides[i % 3]} {size} cm. Geen pleuravocht. {i}"]
            )


class InstantEngine:
    """The loaded engine's identity and memory, without its forward pass: answers a valid
    JSON object at once (the first allowed value of each field)."""

    name = "instant"

    def __init__(self, inner: Any | None, answer: str) -> None:
        self.inner = inner
        self.answer = answer
        self.samples: list[tuple[int, float]] = []
        self.calls = 0

    @property
    def model_id(self) -> str:
        return "instant:" + (self.inner.model_id if self.inner else "none")

    @property
    def context_size(self) -> int | None:
        return None

    async def count_tokens(self, request: GenerationRequest) -> int:
        return 0

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name}

    def stats(self) -> None:
        return None

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls += 1
        if self.calls % 10_000 == 0:
            self.samples.append((self.calls, current_rss_mb()))
        return GenerationResult(text=self.answer, prompt_tokens=1, completion_tokens=1)

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--engine-model", default=None, help="GGUF (default: embedded model)")
    parser.add_argument("--no-model", action="store_true", help="do not load any model")
    args = parser.parse_args()
    task = load_task(EXAMPLES / "radiology_task.yaml")
    answer = json.dumps(
        {
            name: (
                False
                if spec.type == "boolean"
                else (spec.values or [None])[0]
                if spec.type == "enum"
                else None
                if spec.nullable
                else []
            )
            for name, spec in task.fields.items()
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "reports.csv"
        write_reports(data, args.cases)
        before = current_rss_mb()
        inner = None
        if not args.no_model:
            inner = create_engine(LlamaCppConfig(model=args.engine_model))
        loaded = current_rss_mb()
        engine = InstantEngine(inner, answer)
        started = time.perf_counter()
        totals = run_task(task, data, Path(tmp) / "run", RunConfig(progress=True), engine=engine)
        wall = time.perf_counter() - started
        resumed = run_task(task, data, Path(tmp) / "run", RunConfig(progress=False), engine=engine)
        asyncio.run(engine.aclose())
    print(f"cases {args.cases}: ok {totals.ok}, failed {totals.failed}, {wall:.0f} s")
    print(f"RSS before the model {before:.0f} MB, after loading it {loaded:.0f} MB")
    for n, rss in engine.samples:
        print(f"  after {n:>7} cases: RSS {rss:.0f} MB")
    growth = engine.samples[-1][1] - engine.samples[0][1] if len(engine.samples) > 1 else 0.0
    print(f"growth from the first to the last sample: {growth:+.0f} MB")
    print(f"peak RSS {peak_rss_mb():.0f} MB; rerun resumed: skipped {resumed.skipped}")


if __name__ == "__main__":
    main()
