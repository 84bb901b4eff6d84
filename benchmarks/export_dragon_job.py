"""Export a DRAGON job's test cases and its library task as a plain task file + JSONL, so
the generic benchmarks (throughput.py) can run them:

    python benchmarks/export_dragon_job.py \\
        ../shared/dragon-synthetic/test-input/Task108_Example_sl_ner-fold0 runs/task108 \\
        [--limit 10] [--layout pairs|list|by_label]
    python benchmarks/throughput.py runs/task108/task.yaml runs/task108/cases.jsonl --limit 6
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from extractinator.dragon.convert import case_text
from extractinator.dragon.jobs import read_job
from extractinator.dragon.run import entry_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", type=Path, help="a <Task>-fold<k> job folder")
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--layout", choices=["pairs", "list", "by_label"], default=None)
    args = parser.parse_args()
    job = read_job(args.job)
    entry, _ = entry_for(job, 0)
    task = entry.task.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    task["input"], task["id"] = "text", "id"
    if args.layout:
        for spec in task["fields"].values():
            if spec.get("type") == "spans":
                spec["layout"] = args.layout
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "task.yaml").write_text(
        yaml.safe_dump(task, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    test = job.test[: args.limit] if args.limit else job.test
    with (args.out / "cases.jsonl").open("w", encoding="utf-8") as f:
        for case in test:
            row = {"id": str(case["uid"]), "text": case_text(case, job, entry)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.out / 'task.yaml'}, {args.out / 'cases.jsonl'} ({len(test)} cases)")


if __name__ == "__main__":
    main()
