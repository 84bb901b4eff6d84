"""The run directory under failure: an --out that cannot be created, a full disk, exports
keyed by case id."""

from __future__ import annotations

import errno
import json

import pytest

from extractinator import sink
from extractinator.config import RunConfig
from extractinator.errors import ExitCode, OutputError, RunDirError
from extractinator.runner import run_task
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {"name": "t", "description": "d", "id": "id", "fields": {"n": {"type": "integer"}}}
)


def write_data(path, texts):
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in texts.items()))
    return path


def answer(req):
    return json.dumps({"n": len(req.messages[-1].content)})


def test_out_under_a_file_is_one_line_naming_the_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    data = write_data(tmp_path / "d.jsonl", {"a": "x"})
    with pytest.raises(RunDirError, match="cannot create the output folder.*another --out"):
        run_task(TASK, data, blocker / "out", RunConfig(progress=False), engine=FakeEngine([]))
    with pytest.raises(RunDirError, match="exists and is not a directory"):
        run_task(TASK, data, blocker, RunConfig(progress=False), engine=FakeEngine([]))


def test_full_disk_while_writing_records_ends_in_one_line_and_a_manifest(tmp_path, monkeypatch):
    data = write_data(tmp_path / "d.jsonl", {f"c{i}": f"tekst {i}" for i in range(6)})
    out = tmp_path / "out"
    real_write = sink.os.write
    lines_written = []

    def write(fd, data):  # os.write is the lock's too: only records count
        if bytes(data[:7]) == b'{"id":"' and len(lines_written) == 3:
            real_write(fd, bytes(data[:20]))  # the disk fills up halfway through record 4
            raise OSError(errno.ENOSPC, "No space left on device")
        if bytes(data[:7]) == b'{"id":"':
            lines_written.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(sink.os, "write", write)
    with pytest.raises(OutputError) as failed:
        run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(answer))
    message = str(failed.value)
    assert "records.jsonl: cannot write (No space left on device)" in message
    assert "the disk is full: free some space and rerun to resume" in message
    assert failed.value.exit_code == ExitCode.SYSTEM
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "disk is full" in manifest["error"]
    assert manifest["totals"] == {"cases": 3, "ok": 3, "failed": 0}
    assert not list(out.glob("*.tmp")) and not (out / "run.lock").exists()
    assert (out / "records.jsonl").read_bytes().count(b"\n") == 3  # and half a line
    monkeypatch.setattr(sink.os, "write", real_write)  # space again: resume
    engine = FakeEngine(answer)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert (totals.skipped, totals.ok) == (3, 3)
    ids = [json.loads(x)["id"] for x in (out / "records.jsonl").read_text().splitlines()]
    assert sorted(ids) == [f"c{i}" for i in range(6)]


def test_a_failed_manifest_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    real_fsync = sink.os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink.os, "fsync", full)
    with pytest.raises(OutputError, match="manifest.json: cannot write.*disk is full"):
        sink.write_json_atomic(tmp_path / "manifest.json", {"a": 1})
    monkeypatch.setattr(sink.os, "fsync", real_fsync)
    assert list(tmp_path.iterdir()) == []


def test_exports_hold_each_case_once_its_latest_record(tmp_path):
    out = tmp_path / "out"
    data = write_data(tmp_path / "d.jsonl", {f"c{i}": f"tekst {i}" for i in range(5)})
    run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(answer))
    changed = {f"c{i}": f"tekst {i}" for i in range(5)} | {"c2": "een veel langere tekst"}
    write_data(data, changed)
    totals = run_task(TASK, data, out, RunConfig(progress=False), engine=FakeEngine(answer))
    assert (totals.skipped, totals.ok) == (4, 1)  # the changed case ran again
    assert len((out / "records.jsonl").read_text().splitlines()) == 6
    exported = json.loads((out / "records.json").read_text())
    assert [r["id"] for r in exported] == ["c0", "c1", "c2", "c3", "c4"]
    c2 = next(r for r in exported if r["id"] == "c2")
    assert c2["output"] == {"n": len("een veel langere tekst")}
    csv_rows = (out / "records.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"] == {"cases": 5, "ok": 5, "failed": 0}
