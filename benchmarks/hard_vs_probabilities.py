"""AUC with option probabilities vs with hard 0/1 answers, same model, same cases.

Reads a finished DRAGON run (e.g. from benchmarks/dragon_synthetic.py) and, for the binary
tasks, writes the official predictions twice — P(true) from the records' probabilities, and
1.0/0.0 from the generated answers — then scores both with the official metric:

    python benchmarks/hard_vs_probabilities.py runs/dragon-synthetic-n20 [--tasks 101 104]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from extractinator.dragon.convert import inventory, to_prediction
from extractinator.dragon.evaluate import evaluate
from extractinator.dragon.jobs import PREDICTIONS, find_jobs, read_job
from extractinator.dragon.run import entry_for
from extractinator.sink import RunDir, write_json_atomic

SHARED = Path(__file__).resolve().parents[2] / "shared" / "dragon-synthetic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="output folder of a DRAGON run")
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--tasks", nargs="*", default=["101", "104"])
    args = parser.parse_args()
    jobs = [read_job(f) for f in find_jobs(args.data / "test-input", args.tasks, [0])]
    with tempfile.TemporaryDirectory() as tmp:
        out = {"probabilities": Path(tmp, "p"), "hard": Path(tmp, "h")}
        names = []
        for job in jobs:
            entry, _ = entry_for(job, 0)
            records = {r.id: r for r in RunDir(args.run / job.name / "run").latest_records()}
            inv = inventory(job)
            test = [c for c in job.test if str(c["uid"]) in records]
            names.append(job.name.split("-fold")[0])
            for kind, folder in out.items():
                preds = []
                for case in test:
                    record = records[str(case["uid"])]
                    if kind == "hard":
                        record = record.model_copy(update={"probabilities": None})
                    value, _ = to_prediction(record, case, job, entry, inv)
                    preds.append({"uid": case["uid"], job.prediction_key: value})
                (folder / job.name).mkdir(parents=True, exist_ok=True)
                write_json_atomic(folder / job.name / PREDICTIONS, preds)
        scores = {
            kind: evaluate(
                args.data / "test-ground-truth", folder, folds=[0], tasks=names, partial=True
            )
            for kind, folder in out.items()
        }
    print(f"{'task':<28}{'cases':>6}{'AUC hard 0/1':>14}{'AUC P(true)':>13}")
    for name in names:
        cases = scores["hard"]["partial_cases"][f"{name}-fold0"]
        hard = scores["hard"]["aggregates"][name]["mean"]
        prob = scores["probabilities"]["aggregates"][name]["mean"]
        print(f"{name:<28}{cases:>6}{hard:>14.3f}{prob:>13.3f}")


if __name__ == "__main__":
    main()
