#!/usr/bin/env python3
"""Run llm_extractinator 0.7.1 (the peer) on the held-out benchmark, scored like ours.

For each task folder (see benchmarks/heldout.py) this

1. converts task.yaml into an llm_extractinator task: ``OUT/tasks/TaskNNN_<task>.json``
   (``Description``, ``Data_Path``, ``Input_Field``, ``Parser_Format``) and the parser
   ``OUT/tasks/parsers/<task>.py`` with a pydantic ``OutputParser``: booleans, integers,
   floats and strings as such, enums as ``Literal``, lists as ``List[...]``, objects as
   nested models, nullable fields as ``Optional[...] = None``, field descriptions (and a
   field's unit: "(in mm)") as ``Field(description=...)``, minimum/maximum as ``ge``/``le``.
   A spans field becomes a list of ``{text, label}`` objects, ``label`` a ``Literal`` of the
   span labels: the form closest to ours that llm_extractinator's parser docs offer (nested
   models and Literal choices); it keeps mentions of different labels in text order;
2. writes the split's cases as its data JSON (``OUT/data/<task>.json``: id, text);
3. runs ``extractinate`` per task against the Ollama-API shim (../shared/peer/README.md) with
   the settings of llm_extractinator's own DRAGON submission: zero-shot, temperature 0,
   ``--max_context_len split``, ``--num_predict 512``, seed 42; its wall time per task is
   measured around the ``extractinate`` process (the shim has the model loaded already, as
   our side's model loading is left out of its time too);
4. reads the predictions back, grounds each predicted span text to offsets with
   extractinator's own aligner (extractinator.align, what our pipeline uses), so both sides
   are scored by offsets the same way, and scores them with the same code as our side
   (extractinator.experiments.heldout_scoring).

Resumable: a task whose predictions exist for the same cases is not run again
(``--overwrite`` runs it again). ``OUT/peer.json`` records what ran; ``python
benchmarks/heldout.py --peer OUT`` prints the peer beside our side.

  python benchmarks/heldout_peer.py --split dev --out runs/heldout-peer \\
      --peer-bin /tmp/peer-venv/bin/extractinate --shim-python /tmp/shim-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from heldout_peer_convert import convert, parser_source, task_file_name

from extractinator.align import align_spans
from extractinator.errors import DataError, ExtractinatorError
from extractinator.experiments.heldout import (
    DEFAULT_ROOT,
    SPLITS,
    HeldoutTask,
    find_tasks,
    load_heldout_task,
)
from extractinator.experiments.heldout_scoring import (
    HeldoutResult,
    SystemResult,
    score_task,
    summarise,
)
from extractinator.experiments.heldout_table import format_results
from extractinator.records import Record, RecordError
from extractinator.task.spec import FieldSpec

__all__ = ["convert", "main", "parser_source", "prediction_records", "read_peer"]

PEER = "llm_extractinator 0.7.1"
PEER_JSON = "peer.json"
MODEL_NAME = "qwen2.5-coder:1.5b-instruct-q4_K_M"
SETTINGS = [
    "--num_examples", "0", "--temperature", "0.0", "--max_context_len", "split",
    "--num_predict", "512", "--seed", "42", "--n_runs", "1", "--run_name", "run",
]  # fmt: skip
REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHIM = REPO.parent / "shared" / "peer" / "ollama_shim.py"
DEFAULT_MODEL = Path.home() / ".cache/extractinator/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


# ------------------------------------------------------------------------------------------
# Reading predictions back


def _clean(value: Any) -> Any:
    """NaN (pandas writes missing values as NaN) -> None, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _grounded(spec: FieldSpec, value: Any, text: str) -> list[dict[str, Any]]:
    mentions = [
        (str(v.get("text", "")), str(v.get("label", "")))
        for v in value or []
        if isinstance(v, dict)
    ]
    return [a.model_dump() for a in align_spans(text, mentions)] if mentions else []


def prediction_records(ht: HeldoutTask, predictions: Path, ids: list[str]) -> dict[str, Record]:
    """The peer's prediction rows as records (spans grounded with our aligner)."""
    try:
        rows = json.loads(predictions.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{predictions}: unreadable predictions ({e})") from None
    if not isinstance(rows, list):
        raise DataError(f"{predictions}: expected a JSON list of prediction rows")
    texts = {c.id: c.text for c in ht.cases}
    records: dict[str, Record] = {}
    for i, row in enumerate(rows):
        case_id = str(row.get("id"))
        if case_id not in texts:
            raise DataError(f"{predictions}: row {i}: id {case_id!r} is not a case of {ht.name}")
        if row.get("status") == "success":
            output = {}
            for name, spec in ht.task.fields.items():
                value = _clean(row.get(name))
                if spec.type == "spans":
                    value = _grounded(spec, value, texts[case_id])
                output[name] = value
            rec = Record(id=case_id, row=i, status="ok", output=output, key=case_id)
        else:
            error = RecordError(
                type=str(row.get("error_type") or "failure"),
                message=str(row.get("error_message") or "")[:500],
            )
            raw = row.get("raw_output")
            rec = Record(
                id=case_id, row=i, status="failed", error=error, key=case_id,
                raw_output=raw if isinstance(raw, str) else None,
            )  # fmt: skip
        records[case_id] = rec
    missing = [i for i in ids if i not in records]
    if missing:
        print(f"warning: {predictions}: no prediction for {len(missing)} case(s), e.g. "
              f"{missing[0]!r} (scored as failed)", file=sys.stderr)  # fmt: skip
    return records


def read_peer(
    peer_dir: Path, tasks: list[HeldoutTask], split: str, limit: int | None
) -> SystemResult:
    """Score the peer's run in PEER_DIR on the cases of this split (same scoring as ours)."""
    info_path = peer_dir / PEER_JSON
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{info_path}: cannot read the peer's run record ({e})") from None
    results = {}
    for ht in tasks:
        ids = [c.id for c in ht.split_cases(split, limit)]
        entry = (info.get("tasks") or {}).get(ht.name)
        if entry is None or not entry.get("predictions"):
            print(f"warning: {info_path}: no peer run of {ht.name} (scored as failed)",
                  file=sys.stderr)  # fmt: skip
            results[ht.name] = score_task(ht, ids, {}, count_answers=False)
            continue
        records = prediction_records(ht, peer_dir / entry["predictions"], ids)
        results[ht.name] = score_task(
            ht,
            ids,
            records,
            timed_cases=len(entry.get("cases") or []),
            seconds=entry.get("wall_seconds"),
            count_answers=False,  # its records are made from its predictions
        )
    detail = f"{MODEL_NAME} via the Ollama-API shim; " + " ".join(info.get("settings") or SETTINGS)
    return summarise(PEER, results, detail)


# ------------------------------------------------------------------------------------------
# Running


def _get(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (local shim)
        return json.loads(r.read().decode() or "null")


def _post(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 (local shim)
        r.read()


def start_shim(args: argparse.Namespace, out: Path) -> subprocess.Popen[bytes]:
    """Start the shim on args.port and wait until it answers (the model loads first)."""
    if not Path(args.shim).is_file():
        raise DataError(f"{args.shim}: the Ollama-API shim is not there (see --shim)")
    if not Path(args.model).is_file():
        raise DataError(f"{args.model}: model file not found (see --model)")
    env = {
        **os.environ,
        "SHIM_MODEL_PATH": str(args.model),
        "SHIM_PORT": str(args.port),
        "SHIM_N_THREADS": str(args.threads),
        "SHIM_LOG": str(out / "shim_requests.jsonl"),
        "SHIM_IO_LOG": str(out / "shim_io.jsonl"),
    }
    log = (out / "shim.log").open("ab")
    proc = subprocess.Popen([args.shim_python, args.shim], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DataError(f"the shim exited with code {proc.returncode}; see {out / 'shim.log'}")
        try:
            _get(f"http://127.0.0.1:{args.port}/api/version", timeout=2)
            return proc
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise DataError(f"the shim did not answer within 600 s; see {out / 'shim.log'}")


def run_task(args: argparse.Namespace, host: str, task_id: int, name: str, out: Path) -> dict:
    """One ``extractinate`` process; its wall time, exit code and predictions path."""
    try:
        _post(f"{host}/shim/tag", {"tag": name})
    except OSError as e:  # a real Ollama server has no /shim/tag; it only labels the shim's log
        print(f"note: {host}/shim/tag: {e} (no per-task shim statistics)", file=sys.stderr)
    cmd = [
        args.peer_bin, "--task_id", str(task_id), "--model_name", MODEL_NAME,
        "--ollama_host", host, *SETTINGS, "--overwrite",
        "--data_dir", str(out / "data"), "--task_dir", str(out / "tasks"),
        "--output_dir", str(out / "output"), "--log_dir", str(out / "logs" / name),
    ]  # fmt: skip
    started = time.perf_counter()
    with (out / "logs" / f"{name}.out").open("wb") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    folder = f"{task_file_name(task_id, name)[:-5]}-run0"
    predictions = out / "output" / "run" / folder / "nlp-predictions-dataset.json"
    found = predictions.is_file()
    if proc.returncode != 0 or not found:
        print(f"warning: {name}: extractinate exited {proc.returncode}"
              f"{'' if found else ', no predictions file'}; see {out / 'logs' / name}",
              file=sys.stderr)  # fmt: skip
    return {
        "task_id": task_id,
        "returncode": proc.returncode,
        "wall_seconds": round(wall, 3),
        "predictions": str(predictions.relative_to(out)) if found else None,
        "command": " ".join(cmd),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--tasks", nargs="+", default=None)
    p.add_argument("--split", choices=SPLITS, default="dev")
    p.add_argument("--limit", type=int, default=None, help="the first N cases of the split")
    p.add_argument("--out", type=Path, default=Path("runs/heldout-peer"))
    p.add_argument("--json", type=Path, default=None, help="write the peer's scores as JSON")
    p.add_argument("--convert-only", action="store_true", help="write the files, run nothing")
    p.add_argument("--overwrite", action="store_true", help="run tasks already run again")
    p.add_argument("--peer-bin", default="/tmp/peer-venv/bin/extractinate")
    p.add_argument("--shim-python", default="/tmp/shim-venv/bin/python")
    p.add_argument("--shim", type=Path, default=DEFAULT_SHIM)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--host", default=None, help="an Ollama(-API) server already running")
    p.add_argument("--port", type=int, default=11434)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    try:
        return _main(args)
    except ExtractinatorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    every = find_tasks(args.root)  # task ids by position under the root: stable
    ids_of = {path.name: i for i, path in enumerate(every, 1)}
    tasks = [load_heldout_task(path) for path in find_tasks(args.root, args.tasks)]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    info_path = out / PEER_JSON
    info = json.loads(info_path.read_text("utf-8")) if info_path.exists() else {}
    info.update(version=PEER, model=MODEL_NAME, settings=SETTINGS, root=str(args.root))
    info.setdefault("tasks", {})
    todo = []
    for ht in tasks:
        ids = convert(ht, ids_of[ht.name], args.split, args.limit, out)
        done = info["tasks"].get(ht.name) or {}
        if args.overwrite or done.get("cases") != ids or not done.get("predictions"):
            todo.append((ht, ids))
    if args.convert_only:
        print(f"converted {len(tasks)} task(s) into {out} (tasks/, tasks/parsers/, data/)")
        return 0
    shim = None
    try:
        if todo:
            host = args.host or f"http://127.0.0.1:{args.port}"
            if args.host is None:
                shim = start_shim(args, out)
            for ht, ids in todo:
                print(f"{ht.name}: running {PEER} on {len(ids)} case(s)…", flush=True)
                entry = run_task(args, host, ids_of[ht.name], ht.name, out)
                info["tasks"][ht.name] = {"cases": ids, "split": args.split, **entry}
                info_path.write_text(json.dumps(info, indent=2), encoding="utf-8")
                print(f"{ht.name}: {entry['wall_seconds']:.0f} s", flush=True)
            try:
                info["shim_stats"] = _get(f"{host}/shim/stats")
            except OSError as e:
                print(f"note: {host}/shim/stats: {e} (not recorded)", file=sys.stderr)
            info_path.write_text(json.dumps(info, indent=2), encoding="utf-8")
    finally:
        if shim is not None:
            shim.terminate()
            shim.wait(timeout=60)
    result = HeldoutResult(
        root=str(args.root),
        split=args.split,
        limit=args.limit,
        tasks=[t.name for t in tasks],
        command=" ".join(sys.argv),
        systems=[read_peer(out, tasks, args.split, args.limit)],
    )
    print(format_results(result))
    if args.json:
        args.json.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
