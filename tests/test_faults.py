"""Fault injection: a scripted OpenAI-compatible server that fails in every way a server can
(500s, 429s, timeouts, dropped connections, cut-off, malformed and invalid answers), some
faults passing and some lasting. Through the real CLI, at concurrency 1 and 8: exactly one
record per case, with the status and error type the fault calls for."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter

import pytest
from click.testing import CliRunner

from extractinator.cli import main
from extractinator.engines import http

from servers import Reply, StubServer

TASK = "name: t\ndescription: Tel de noduli.\nid: id\nfields:\n  n: {type: integer}\n"


def answer(content: str, finish: str = "stop") -> Reply:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}}
    return Reply(200, {"choices": [choice | {"finish_reason": finish}], "usage": {}})


OK = answer('{"n": 2}')
TIMEOUT = 1.0  # --timeout (its minimum); a hanging reply waits longer than this

# fault -> (the replies to the case's requests in order, the last repeating;
#           the status and error type its record must have)
FAULTS: dict[str, tuple[list[Reply], str, str | None]] = {
    "fine": ([OK], "ok", None),
    "500 once": ([Reply(500, {"error": {"message": "busy"}}), OK], "ok", None),
    "429 twice": ([Reply(429, {}, {"Retry-After": "0"})] * 2 + [OK], "ok", None),
    "500 always": ([Reply(500, {"error": {"message": "broken"}})], "failed", "engine_error"),
    "503 always": ([Reply(503, {"error": {"message": "overloaded"}})], "failed", "engine_error"),
    "reset once": ([Reply(drop=True), OK], "ok", None),
    "reset always": ([Reply(drop=True)], "failed", "engine_error"),
    "timeout once": ([Reply(delay=TIMEOUT + 0.5, body={}), OK], "ok", None),
    "timeout always": ([Reply(delay=TIMEOUT + 0.5, body={})], "failed", "engine_error"),
    "cut off": ([answer('{"n": ', "length")], "failed", "truncated"),
    "not JSON at all": ([Reply(200, b"<html>502 Bad Gateway</html>")], "failed", "engine_error"),
    "no choices": ([Reply(200, {"choices": []})], "failed", "engine_error"),
    "invalid, then valid": ([answer('{"n": "veel"}'), OK], "ok", None),
    "invalid always": ([answer('{"n": "veel"}')], "failed", "invalid_output"),
    "prose": ([answer("Er zijn twee noduli.")], "failed", "invalid_json"),
}
# which fault each case meets: the fine ones first, so the run never looks dead at its start
PLAN = ["fine"] * 6 + [f for f in FAULTS if f != "fine"] * 2


class FaultyServer:
    """Replies per case (the case's marker in the prompt) from its fault's script."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, seen) -> Reply:
        if seen.path != "/v1/chat/completions":
            return Reply(404, {"error": {"message": "no such route"}})
        text = " ".join(m["content"] for m in seen.body["messages"])
        case = re.search(r"CASE-(\d+)", text).group(1)
        replies = FAULTS[PLAN[int(case)]][0]
        with self.lock:
            n = self.seen[case]
            self.seen[case] += 1
        return replies[min(n, len(replies) - 1)]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_every_fault_gives_exactly_one_record_of_the_right_kind(tmp_path, monkeypatch, concurrency):
    monkeypatch.setattr(http.Backoff, "delay", lambda self, retry, retry_after=None: 0.01)
    (tmp_path / "t.yaml").write_text(TASK)
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"c{i:02d}", "text": f"CASE-{i} Twee noduli."}) + "\n"
            for i in range(len(PLAN))
        )
    )
    out = tmp_path / "out"
    with StubServer(responder=FaultyServer()) as stub:
        result = CliRunner().invoke(
            main,
            ["run", str(tmp_path / "t.yaml"), str(data), "--out", str(out), "--no-progress",
             "--engine", "openai", "--model", "m", "--base-url", f"{stub.url}/v1",
             "--concurrency", str(concurrency), "--timeout", str(TIMEOUT)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    ids = [r["id"] for r in records]
    assert sorted(ids) == [f"c{i:02d}" for i in range(len(PLAN))]  # 0 lost, 0 duplicated
    for record in records:
        fault = PLAN[int(record["id"][1:])]
        _, status, error_type = FAULTS[fault]
        got = (record["status"], (record["error"] or {}).get("type"))
        assert got == (status, error_type), f"{fault}: {record['error']}"
    ok = sum(FAULTS[f][1] == "ok" for f in PLAN)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"] == {"cases": len(PLAN), "ok": ok, "failed": len(PLAN) - ok}
    assert manifest["status"] == "finished"
    assert f"ok {ok} · failed {len(PLAN) - ok}" in result.stdout
    # a server that does not answer is never a silent hang: each timeout is a warning
    assert "sent no answer within 1 s (1 attempt); raise --timeout" in result.stderr
