"""Benchmark: the DRAGON synthetic tasks (fold 0) on the embedded default model.

Runs `N` evenly spaced test cases (case i*n/N) of each of Task101-Task109 with the task
library (or, with --derive, with generic fields derived from the label name and the
training labels, and the 3 most similar training cases as examples: no rules, but not
zero-shot), scores them with the official metrics (on the cases run), and prints per-task
score, the utility score (mean over tasks), cases/min, tokens per case and failures, beside
the published fine-tuned baseline.

    python benchmarks/dragon_synthetic.py --sample 20 [--derive] [--out DIR] [--few-shot K]

Reruns into the same --out resume (finished cases are not recomputed).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from extractinator.config import GenerationConfig, LlamaCppConfig, RunConfig
from extractinator.dragon.evaluate import evaluate
from extractinator.dragon.run import run_dragon

SHARED = Path(__file__).resolve().parents[2] / "shared" / "dragon-synthetic"
# published fine-tuned baseline (distilbert-base-multilingual-cased, mean of 5 folds)
BASELINE = {
    "Task101": 0.943,
    "Task102": 0.864,
    "Task103": 0.838,
    "Task104": 0.990,
    "Task105": 0.897,
    "Task106": 0.890,
    "Task107": 0.823,
    "Task108": 0.446,
    "Task109": 0.536,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=20, help="evenly spaced test cases per task")
    parser.add_argument("--limit", type=int, default=None, help="the first N cases instead")
    parser.add_argument(
        "--derive",
        action="store_true",
        help="no task library (generic fields, 3 similar training cases as examples)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/dragon-synthetic"))
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--tasks", nargs="*", default=None, help="e.g. 101 104")
    parser.add_argument("--few-shot", type=int, default=0)
    parser.add_argument("--model", default=None, help="GGUF path (default: embedded model)")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--retry-failed", action="store_true", help="run failed cases again")
    args = parser.parse_args()

    config = RunConfig(
        engine=LlamaCppConfig(model=args.model, n_threads=args.threads),
        generation=GenerationConfig(),
        limit=args.limit,
        retry_failed=args.retry_failed,
        progress=True,
    )
    started = time.perf_counter()
    summaries = run_dragon(
        args.data / "test-input",
        args.out,
        config,
        tasks=args.tasks,
        folds=[0],
        few_shot=args.few_shot,
        library=not args.derive,
        sample=None if args.limit else args.sample,
    )
    wall = time.perf_counter() - started
    tasks = sorted({s.job.split("-fold")[0] for s in summaries})
    result = evaluate(
        args.data / "test-ground-truth", args.out, folds=[0], tasks=tasks, partial=True
    )
    rows = []
    print(
        f"\n{'task':<30}{'score':>7}{'baseline':>9}{'cases':>6}{'failed':>7}"
        f"{'cases/min':>10}{'tokens/case':>12}"
    )
    for s in summaries:
        task = s.job.split("-fold")[0]
        score = result["aggregates"][task]["mean"]
        tokens = (s.prompt_tokens + s.completion_tokens) / max(s.cases, 1)
        rows.append(
            {
                "task": task,
                "score": score,
                "cases": s.cases,
                "failed": s.failed,
                "cases_per_min": s.cases_per_min,
                "tokens_per_case": tokens,
            }
        )
        print(
            f"{task:<30}{score:>7.3f}{BASELINE.get(task[:7], float('nan')):>9.3f}"
            f"{s.cases:>6}{s.failed:>7}{s.cases_per_min:>10.1f}{tokens:>12.0f}"
        )
    n = sum(s.cases for s in summaries)
    compute = sum(s.seconds for s in summaries)
    utility = result["aggregates"]["overall"]["mean"]
    baseline = sum(BASELINE[t[:7]] for t in tasks) / len(tasks)
    print(
        f"\nDRAGON utility (mean over {len(tasks)} tasks, "
        f"{args.limit or args.sample} {'first' if args.limit else 'evenly spaced'} cases each): "
        f"{utility:.3f}   fine-tuned baseline: {baseline:.3f}"
    )
    print(
        f"{n} cases in {compute:.0f} s of model time ({60 * n / compute:.1f} cases/min); "
        f"wall {wall:.0f} s incl. model load and resumed cases; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if args.json:
        args.json.write_text(json.dumps({"utility": utility, "tasks": rows}, indent=2))


if __name__ == "__main__":
    main()
