"""One writer per run directory: a second writer is refused naming the holder; a lock left
by a killed process is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from extractinator.config import RunConfig
from extractinator.errors import ExitCode, RunDirLocked
from extractinator.runlock import LOCK, RunLock, read_holder
from extractinator.runner import run_task
from extractinator.task import Task

from fakes import FakeEngine

TASK = Task.model_validate(
    {"name": "t", "description": "d", "id": "id", "fields": {"n": {"type": "integer"}}}
)


def test_second_writer_is_refused_naming_pid_host_and_start(tmp_path):
    with RunLock(tmp_path):
        holder = read_holder(tmp_path)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RunDirLocked) as refused:
            RunLock(tmp_path).acquire()
    message = str(refused.value)
    assert f"pid {os.getpid()} on host {socket.gethostname()} since {holder['started']}" in message
    assert "another --out" in message and refused.value.exit_code == ExitCode.SYSTEM
    assert not (tmp_path / LOCK).exists() and read_holder(tmp_path) is None


def test_a_run_into_a_locked_folder_is_refused_and_touches_nothing(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "x"}) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    engine = FakeEngine(['{"n": 1}'])
    with RunLock(out), pytest.raises(RunDirLocked, match="another run is writing"):
        run_task(TASK, data, out, RunConfig(progress=False), engine=engine)
    assert engine.requests == [] and not (out / "records.jsonl").exists()
    run_task(TASK, data, out, RunConfig(progress=False), engine=engine)  # free again
    assert not (out / LOCK).exists()


HOLD = """
import sys, time
from extractinator.runlock import RunLock
lock = RunLock(sys.argv[1]); lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirLocked, match=f"pid {proc.pid} "):
            RunLock(tmp_path).acquire()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert (tmp_path / LOCK).exists()  # left behind by the killed holder
    assert read_holder(tmp_path) is None  # ...but nobody holds it
    lock = RunLock(tmp_path)
    lock.acquire()
    assert lock.taken_over["pid"] == proc.pid
    assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    lock.release()


def test_two_racing_writers_never_both_hold_the_lock(tmp_path):
    script = """
import sys, time
from extractinator.errors import RunDirLocked
from extractinator.runlock import RunLock
held = 0
deadline = time.monotonic() + 1.5
while time.monotonic() < deadline:
    lock = RunLock(sys.argv[1])
    try:
        lock.acquire()
    except RunDirLocked:
        continue
    with open(sys.argv[2], "a") as fh:
        fh.write(f"in {time.monotonic()}\\n"); fh.flush()
        time.sleep(0.002)
        fh.write(f"out {time.monotonic()}\\n")
    lock.release()
"""
    log = tmp_path / "log"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(log)]) for _ in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    lines = log.read_text().split()
    kinds = lines[0::2]
    assert kinds, "nobody got the lock"
    # strictly alternating in/out: the two never overlapped
    assert kinds == ["in", "out"] * (len(kinds) // 2)
