"""Benchmark the bundled examples on the embedded default model.

Prints, per example: cases/min, prompt tokens sent and evaluated per case (vs the case's own
tokens: the shared instruction prefix should be evaluated once), generated tokens per case,
and the process's peak RSS.

    python benchmarks/examples.py [--model PATH.gguf] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from extractinator.cli.demo import EXAMPLES, example_paths
from extractinator.config import LlamaCppConfig, RunConfig
from extractinator.data import read_cases
from extractinator.engines.llamacpp import LlamaCppEngine
from extractinator.runner import run_task
from extractinator.sink import RunDir
from extractinator.task import load_task


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="GGUF path (default: embedded model)")
    parser.add_argument("--repeat", type=int, default=1, help="run the data N times over")
    args = parser.parse_args()
    engine = LlamaCppEngine(LlamaCppConfig(model=args.model))
    print(f"model: {engine.describe()['model_path']}  threads: {engine.describe()['n_threads']}")
    header = (
        f"{'example':<11}{'cases':>6}{'cases/min':>10}{'prompt/case':>12}{'evaluated/case':>15}"
        f"{'own/case':>9}{'eval/own':>9}{'gen/case':>9}"
    )
    print(header)
    for name in EXAMPLES:
        task_file, data = example_paths(name)
        task = load_task(task_file)
        cases = list(read_cases(data, input=task.input, id=task.id))
        own = sum(len(engine._llm.tokenize(c.text.encode(), add_bos=False)) for c in cases)
        with tempfile.TemporaryDirectory() as tmp:
            total_cases = 0
            started = time.perf_counter()
            prompt = evaluated = generated = 0
            for i in range(args.repeat):
                out = Path(tmp) / f"run{i}"
                cfg = RunConfig(progress=False)
                run_task(task, data, out, cfg, engine=engine)
                for rec in RunDir(out).latest_records():
                    total_cases += 1
                    prompt += rec.prompt_tokens
                    evaluated += rec.prompt_tokens_evaluated or 0
                    generated += rec.completion_tokens
            wall = time.perf_counter() - started
        n = total_cases
        own_per_case = own / len(cases)
        print(
            f"{name:<11}{n:>6}{60 * n / wall:>10.1f}{prompt / n:>12.0f}{evaluated / n:>15.1f}"
            f"{own_per_case:>9.1f}{evaluated / n / own_per_case:>9.2f}{generated / n:>9.1f}"
        )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    asyncio.run(engine.aclose())


if __name__ == "__main__":
    main()
