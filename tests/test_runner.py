"""Runs into an output directory: records, manifest, exports, resume, identity checks."""

from __future__ import annotations

import csv
import json

import pytest

from extractinator.config import OpenAIConfig, RunConfig
from extractinator.errors import (
    EngineError,
    EngineUnreachable,
    ExitCode,
    RunDirError,
    RunStopped,
)
from extractinator.runner import run_task
from extractinator.sink import RunDir
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "sizes",
        "description": "Largest size in mm.",
        "id": "id",
        "fields": {"size_mm": {"type": "number", "nullable": True}},
    }
)


def write_data(path, n, empty=()):
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = "" if i in empty else f"Laesie van {i} mm."
            fh.write(json.dumps({"id": f"c{i}", "text": text}) + "\n")
    return path


def size_from_text(req):
    text = req.messages[-1].content
    return json.dumps({"size_mm": int(text.split()[2])})


def lines(outdir):
    return [json.loads(x) for x in (outdir / "records.jsonl").read_text().splitlines()]


def test_run_writes_records_manifest_and_exports(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 5, empty={3})
    out = tmp_path / "out"
    engine = FakeEngine(size_from_text)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert (totals.ok, totals.failed, totals.skipped) == (4, 1, 0)
    recs = {r["id"]: r for r in lines(out)}
    assert recs["c2"]["output"] == {"size_mm": 2.0}
    assert recs["c3"]["status"] == "failed" and recs["c3"]["error"]["type"] == "empty_input"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["model_id"] == "fake:1"
    assert manifest["task_fingerprint"] == TASK.fingerprint()
    assert manifest["totals"] == {"cases": 5, "ok": 4, "failed": 1}
    assert manifest["versions"]["python"]
    exported = json.loads((out / "records.json").read_text())
    assert [r["id"] for r in exported] == [f"c{i}" for i in range(5)]
    with (out / "records.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows[1]["size_mm"] == "1.0" and rows[3]["error_type"] == "empty_input"


def test_rerun_skips_done_cases_and_adds_new_ones(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 4)
    out = tmp_path / "out"
    run_task(TASK, data, out, RunConfig(progress=False, limit=2), engine=FakeEngine(size_from_text))
    engine = FakeEngine(size_from_text)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert totals.skipped == 2 and totals.ok == 2 and len(engine.requests) == 2
    assert sorted(r["id"] for r in lines(out)) == ["c0", "c1", "c2", "c3"]


def test_retry_failed_reruns_only_failed_cases_and_export_keeps_the_latest(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 3)
    out = tmp_path / "out"
    flaky = FakeEngine(
        lambda req: "nonsense" if "1 mm" in req.messages[-1].content else size_from_text(req)
    )
    cfg = RunConfig(progress=False)
    cfg.generation.max_reasks = 0
    run_task(TASK, data, out, cfg, engine=flaky)
    engine = FakeEngine(size_from_text)
    cfg.retry_failed = True
    totals = run_task(TASK, data, out, cfg, engine=engine)
    assert len(engine.requests) == 1 and totals.ok == 1 and totals.skipped == 2
    exported = json.loads((out / "records.json").read_text())
    assert [r["status"] for r in exported] == ["ok", "ok", "ok"]
    assert len(lines(out)) == 4  # the failed attempt stays in the log


def test_changing_task_or_model_into_the_same_outdir_needs_overwrite(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 2)
    out = tmp_path / "out"
    run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(size_from_text))
    other = FakeEngine(size_from_text, model_id="fake:2")
    refused = "model id 'fake:1', this run 'fake:2'.*keep its 2 finished records.*another --out"
    with pytest.raises(RunDirError, match=refused):
        run_task(TASK, data, out, RunConfig(progress=False), engine=other)
    changed = TASK.model_copy(update={"description": "Smallest size in mm."})
    with pytest.raises(RunDirError, match="task fingerprint"):
        run_task(changed, data, out, RunConfig(progress=False), engine=other)
    run_task(TASK, data, out, RunConfig(progress=False, overwrite=True), engine=other)
    assert len(lines(out)) == 2
    assert json.loads((out / "manifest.json").read_text())["model_id"] == "fake:2"


def test_partial_last_line_from_a_kill_is_cut_and_the_case_redone(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 3)
    out = tmp_path / "out"
    run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(size_from_text))
    content = (out / "records.jsonl").read_text()
    kept = content.splitlines(keepends=True)[:2]
    (out / "records.jsonl").write_text("".join(kept) + '{"id": "c2", "row": 2, "sta')
    engine = FakeEngine(size_from_text)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert totals.skipped == 2 and len(engine.requests) == 1
    assert sorted(r["id"] for r in lines(out)) == ["c0", "c1", "c2"]


def test_corrupt_line_is_named_moved_away_and_its_case_run_again(tmp_path, caplog):
    data = write_data(tmp_path / "d.jsonl", 3)
    out = tmp_path / "out"
    run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(size_from_text))
    kept = (out / "records.jsonl").read_text().splitlines(keepends=True)
    (out / "records.jsonl").write_text(kept[0] + '{"id": "c1", "row": "x"}\n' + kept[2])
    assert [r.id for r in RunDir(out).latest_records()] == ["c0", "c2"]  # readers skip it
    assert "line 2 is not a valid record" in caplog.text
    engine = FakeEngine(size_from_text)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert (totals.skipped, totals.ok, len(engine.requests)) == (2, 1, 1)
    assert sorted(r["id"] for r in lines(out)) == ["c0", "c1", "c2"]
    quarantined = [json.loads(x) for x in (out / "records.corrupt.jsonl").read_text().splitlines()]
    assert quarantined == [{"line": 2, "text": '{"id": "c1", "row": "x"}'}]
    assert "moved to records.corrupt.jsonl" in caplog.text


def test_unreachable_engine_stops_the_run_and_keeps_finished_records(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 4)
    out = tmp_path / "out"
    replies = [size_from_text, size_from_text, EngineUnreachable("http://127.0.0.1:9 down")]
    with pytest.raises(EngineUnreachable):
        run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(replies))
    assert len(lines(out)) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "127.0.0.1:9 down" in manifest["error"]
    assert manifest["totals"] == {"cases": 2, "ok": 2, "failed": 0}


def test_concurrency_runs_requests_in_parallel_and_loses_nothing(tmp_path):
    import time

    data = write_data(tmp_path / "d.jsonl", 16)
    out = tmp_path / "out"
    cfg = RunConfig(progress=False, engine=OpenAIConfig(model="fake", concurrency=8))
    started = time.perf_counter()
    run_task(TASK, data, out, cfg, engine=FakeEngine(size_from_text, delay=0.2))
    elapsed = time.perf_counter() - started
    assert sorted(r["id"] for r in lines(out)) == sorted(f"c{i}" for i in range(16))
    assert elapsed < 16 * 0.2 / 2  # would be 3.2 s one at a time


def test_an_unexpected_error_fails_one_case_not_the_run(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 3)
    out = tmp_path / "out"
    replies = [size_from_text, ZeroDivisionError("boom"), size_from_text]
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(replies))
    assert (totals.ok, totals.failed) == (2, 1)
    failed = [r for r in lines(out) if r["status"] == "failed"]
    assert failed[0]["error"] == {"type": "internal_error", "message": "ZeroDivisionError: boom"}


def test_first_cases_all_failing_on_the_engine_stop_the_run(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 20)
    out = tmp_path / "out"
    engine = FakeEngine(lambda req: (_ for _ in ()).throw(EngineError("HTTP 404: not found")))
    with pytest.raises(RunStopped, match="first 5 cases all failed on the engine") as stopped:
        run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert "HTTP 404" in str(stopped.value) and stopped.value.exit_code == ExitCode.RUN_FAILED
    assert len(engine.requests) == 5 and len(lines(out)) == 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and "first 5 cases" in manifest["error"]
    # the server fixed: the cases that failed on the engine run again
    engine = FakeEngine(size_from_text)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert (totals.ok, totals.skipped) == (20, 0)
    assert json.loads((out / "manifest.json").read_text())["totals"]["ok"] == 20


def test_engine_failures_after_a_success_do_not_stop_the_run(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 8)
    replies = [size_from_text] + [EngineError("HTTP 500")] * 7
    totals = run_task(
        TASK, data, tmp_path / "o", RunConfig(progress=False), engine=FakeEngine(replies)
    )
    assert (totals.ok, totals.failed) == (1, 7)


def test_engine_failure_limit_zero_never_stops(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 7)
    config = RunConfig(progress=False, engine_failure_limit=0)
    totals = run_task(TASK, data, tmp_path / "o", config, engine=FakeEngine([EngineError("x")] * 7))
    assert totals.failed == 7


def test_max_failures_stops_after_that_many_failed_cases(tmp_path):
    data = write_data(tmp_path / "d.jsonl", 10, empty={1, 3, 4})
    out = tmp_path / "out"
    config = RunConfig(progress=False, max_failures=2)
    with pytest.raises(RunStopped, match=r"after 2 failed cases \(--max-failures 2\).*'c3'"):
        run_task(TASK, data, out, config, engine=FakeEngine(size_from_text))
    assert [r["id"] for r in lines(out)] == ["c0", "c1", "c2", "c3"]
    assert json.loads((out / "manifest.json").read_text())["status"] == "stopped"
