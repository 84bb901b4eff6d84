"""The studio and the HTML report, hermetic: FastAPI TestClient on fabricated run folders
and FakeEngine runs (security guards, task builder, data, runs, results, export, report)."""

from __future__ import annotations

import base64
import json
import os
import socket

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from click.testing import CliRunner
from fastapi.testclient import TestClient

from extractinator.cli import main
from extractinator.reports.casesview import Mark, segments
from extractinator.reports.html import render_report
from extractinator.sink import RunDir
from extractinator.studio.app import create_app, loopback_hosts
from extractinator.task import load_task

from paths import REPO
from studio_fixtures import XSS_TEXT, fake_factory, make_workdir, wait_for_run


@pytest.fixture
def workdir(tmp_path):
    return make_workdir(tmp_path / "work")


@pytest.fixture
def client(workdir):
    with TestClient(create_app(workdir, engine_factory=fake_factory())) as c:
        yield c


# ------------------------------------------------------------------------------------------
# Security.


@pytest.mark.parametrize(
    "url",
    [
        "/data?path=../outside.csv",
        "/data?path=/etc/passwd",
        "/api/data/preview?path=../../etc/passwd",
        "/files?path=../../../etc/hostname",
        "/results?run=..",
        "/results/export?run=../work/../..&format=csv",
        "/tasks?path=%2e%2e/secret.yaml",
        "/api/tasks/load?path=runs/../../secret.yaml",
    ],
)
def test_traversal_is_refused(client, url):
    r = client.get(url)
    assert r.status_code == 403
    assert "outside the studio folder" in r.text


def test_symlink_out_of_the_workdir_is_refused(client, workdir, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("id,text\n1,geheim\n", encoding="utf-8")
    os.symlink(secret, workdir / "link.csv")
    assert client.get("/data?path=link.csv").status_code == 403
    assert "link.csv" not in client.get("/data").text  # not listed either


def test_writes_outside_the_workdir_are_refused(client, workdir):
    task = load_task(workdir / "radiology_task.yaml").model_dump(mode="json", exclude_none=True)
    r = client.post("/api/tasks/save", json={"path": "../evil.yaml", "task": task})
    assert r.status_code == 403
    assert not (workdir.parent / "evil.yaml").exists()
    body = {"task": "radiology_task.yaml", "data": "radiology_reports.csv", "outdir": "../out"}
    assert client.post("/api/runs", json=body).status_code == 403


TOKEN = "Qx7-kP2vLm9sT4wZ8rBn3cYd"  # 24 characters: above the 128-bit minimum


def test_token_is_required_when_set(workdir):
    app = create_app(workdir, token=TOKEN)
    with TestClient(app) as c:
        assert c.get("/").status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        r = c.get(f"/?token={TOKEN}")
        assert r.status_code == 200
        assert c.get("/results").status_code == 200  # the cookie set by the first visit
    with TestClient(app) as c:
        assert c.get("/run", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get("/static/studio.js").status_code == 401
        c.cookies.set("extractinator_token", "")
        assert c.get("/").status_code == 401


@pytest.mark.parametrize("token", ["", "   ", "s3cret", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"])
def test_empty_short_or_simple_tokens_are_refused(workdir, token):
    from extractinator.errors import ExtractinatorError

    with pytest.raises(ExtractinatorError, match="token"):
        create_app(workdir, token=token)
    result = CliRunner().invoke(
        main, ["studio", "--host", "0.0.0.0", "--token", token, "--workdir", str(workdir)]
    )
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "token" in lines[0] and "Traceback" not in result.output


def test_studio_command_prints_a_token_when_not_on_loopback(workdir, monkeypatch):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = CliRunner().invoke(main, ["studio", "--host", "0.0.0.0", "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    assert "?token=" in result.output
    assert "0.0.0.0" not in result.output  # a URL another machine can open
    assert f"http://{socket.gethostname()}:8765/?token=" in result.output
    token = result.output.split("?token=")[1].split()[0]
    assert len(token) >= 22
    with TestClient(served["app"]) as c:
        assert c.get("/").status_code == 401
        assert c.get(f"/?token={token}").status_code == 200
    result = CliRunner().invoke(main, ["studio", "--workdir", str(workdir)])
    assert "token" not in result.output and served["host"] == "127.0.0.1"


def test_loopback_studio_refuses_other_host_names(workdir):
    app = create_app(workdir, allowed_hosts=loopback_hosts())
    with TestClient(app, base_url="http://attacker.example") as c:
        assert c.get("/").status_code == 400
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        assert c.get("/").status_code == 200


def test_cross_origin_writes_are_refused(client):
    r = client.post(
        "/api/tasks/preview", json={"task": {}}, headers={"Origin": "http://evil.example"}
    )
    assert r.status_code == 403
    # the same host and port over another scheme is another origin
    r = client.post(
        "/api/tasks/preview", json={"task": {}}, headers={"Origin": "https://testserver"}
    )
    assert r.status_code == 403
    r = client.post(
        "/api/tasks/preview", json={"task": {}}, headers={"Origin": "http://testserver"}
    )
    assert r.status_code == 200


def test_gets_write_nothing(client, workdir):
    """Every page and download is a GET that leaves the folder as it was."""
    before = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    urls = [
        "/",
        "/evaluate?run=runs/radiology&labels=radiology_reports.csv&prefix=expected_",
        "/report?run=runs/radiology&labels=radiology_reports.csv&prefix=expected_",
        "/results?run=runs/radiology&labels=radiology_reports.csv&prefix=expected_",
        "/review?run=runs/radiology",
        "/review/export?run=runs/radiology",
        "/data?path=radiology_reports.csv",
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*")) == before
    r = client.post(
        "/api/evaluate/save",
        json={"run": "runs/radiology", "labels": "radiology_reports.csv", "prefix": "expected_"},
    )
    assert r.json() == {"saved": "runs/radiology/evaluation/evaluation.json"}
    assert (workdir / "runs" / "radiology" / "evaluation" / "evaluation.json").exists()


def _outside_examples_task(workdir, tmp_path, target: str) -> None:
    (workdir / "leak.yaml").write_text(
        "name: leak\ndescription: d\ninput: text\nfields:\n  a: {type: string}\n"
        f"examples_file: {target}\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize("target", ["../outside_examples.yaml", "/etc/passwd", "/no/such/file"])
def test_examples_file_outside_the_workdir_is_refused(client, workdir, tmp_path, target):
    (workdir.parent / "outside_examples.yaml").write_text(
        "- {input: geheim, output: {a: geheim}}\n", encoding="utf-8"
    )
    _outside_examples_task(workdir, tmp_path, target)
    for url in ("/api/tasks/load?path=leak.yaml", "/tasks?path=leak.yaml"):
        r = client.get(url)
        assert r.status_code == 403, (url, r.text)
        assert "geheim" not in r.text and "not found" not in r.text
        assert "examples_file is outside the studio folder" in r.text
    body = {"task": "leak.yaml", "data": "radiology_reports.csv", "input": "report"}
    assert client.post("/api/runs", json=body).status_code == 403


def test_examples_file_inside_the_workdir_is_read(client, workdir, tmp_path):
    (workdir / "ex.yaml").write_text("- {input: tekst, output: {a: b}}\n", encoding="utf-8")
    _outside_examples_task(workdir, tmp_path, "ex.yaml")
    r = client.get("/api/tasks/load?path=leak.yaml")
    assert r.status_code == 200 and r.json()["task"]["examples"][0]["input"] == "tekst"
    (workdir / "ex.yaml").write_text("just a string\n", encoding="utf-8")
    r = client.get("/api/tasks/load?path=leak.yaml")
    assert r.status_code == 422 and "leak.yaml" in r.json()["detail"]


def test_legacy_parser_files_are_never_run(client, workdir):
    marker = workdir.parent / "parser_was_run"
    (workdir / "parsers").mkdir()
    (workdir / "parsers" / "out.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from pydantic import BaseModel\nclass OutputParser(BaseModel):\n    a: str\n",
        encoding="utf-8",
    )
    legacy = {"Description": "d", "Input_Field": "text", "Parser_Format": "out.py"}
    (workdir / "Task001_legacy.json").write_text(json.dumps(legacy), encoding="utf-8")
    for url in ("/api/tasks/load?path=Task001_legacy.json", "/tasks?path=Task001_legacy.json"):
        r = client.get(url)
        assert r.status_code == 422 and "never runs code from task files" in r.text
    body = {"task": "Task001_legacy.json", "data": "radiology_reports.csv", "input": "report"}
    assert client.post("/api/runs", json=body).status_code == 422
    assert not marker.exists()
    legacy["Parser_Format"] = {"a": {"type": "str"}}  # inline fields are fine
    (workdir / "Task001_legacy.json").write_text(json.dumps(legacy), encoding="utf-8")
    assert client.get("/api/tasks/load?path=Task001_legacy.json").status_code == 200


def test_report_does_not_read_data_outside_the_workdir(client, workdir, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"id": "x1", "text": "GEHEIME TEKST"}\n', encoding="utf-8")
    manifest_path = workdir / "runs" / "xss" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["data"]["path"] = str(outside)
    manifest_path.write_text(json.dumps(manifest))
    for url in ("/report?run=runs/xss", "/results/case?run=runs/xss&id=x1", "/review?run=runs/xss"):
        r = client.get(url)
        assert r.status_code == 200 and "GEHEIME" not in r.text, url
    assert "outside the studio" in client.get("/report?run=runs/xss").text


def test_task_and_run_names_cannot_leave_their_folder(client, workdir):
    task = load_task(workdir / "radiology_task.yaml").model_dump(mode="json", exclude_none=True)
    for name in ("../tasks/x", "a/b", "two\nlines", ".."):
        r = client.post(
            "/api/tasks/save", json={"path": "tasks/ok.yaml", "task": {**task, "name": name}}
        )
        assert r.status_code == 422, name
        assert not (workdir / "tasks" / "ok.yaml").exists()
        preview = client.post("/api/tasks/preview", json={"task": {**task, "name": name}}).json()
        assert any(e["path"] == "name" for e in preview["errors"])
    # a task file written by hand with such a name still runs into runs/<safe name>-<time>
    evil = workdir / "evil.yaml"
    evil.write_text(
        (workdir / "radiology_task.yaml")
        .read_text()
        .replace("name: lung_nodules", "name: ../tasks/evil"),
        encoding="utf-8",
    )
    assert "../tasks/evil" in evil.read_text()
    r = client.post(
        "/api/runs", json={"task": "evil.yaml", "data": "radiology_reports.csv", "limit": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json()["run"].startswith("runs/tasks_evil-")
    wait_for_run(client, r.json()["run"])
    assert not (workdir / "tasks").exists()
    for outdir in ("runs/a\r\nb", "runs/x\ny"):
        body = {"task": "radiology_task.yaml", "data": "radiology_reports.csv", "outdir": outdir}
        assert client.post("/api/runs", json=body).status_code == 400
    body = {"task": "radiology_task.yaml", "data": "radiology_reports.csv", "outdir": "."}
    assert client.post("/api/runs", json=body).status_code == 422


def test_upload_size_limit_and_names(workdir):
    with TestClient(create_app(workdir, max_upload_bytes=1000)) as c:
        big = b"id,text\n" + b"1,aaaa\n" * 20_000
        r = c.post("/api/upload", files={"file": ("big.csv", big, "text/csv")})
        assert r.status_code == 413  # refused before reading (Content-Length)
        medium = b"id,text\n" + b"1,aaaa\n" * 300
        r = c.post("/api/upload", files={"file": ("medium.csv", medium, "text/csv")})
        assert r.status_code == 413  # refused while copying
        assert not list((workdir / "uploads").glob("*"))
        r = c.post(
            "/api/upload",
            files={"file": ("../../evil name.csv", b"id,text\n1,x\n", "text/csv")},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/data?path=uploads/evil_name.csv"
        assert (workdir / "uploads" / "evil_name.csv").read_text() == "id,text\n1,x\n"
        r = c.post("/api/upload", files={"file": ("x.exe", b"MZ", "application/octet-stream")})
        assert r.status_code == 415


# ------------------------------------------------------------------------------------------
# Report text is untrusted: always shown as text.


def _assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # the model's string output


def test_xss_in_report_text_and_outputs_is_escaped(client):
    html = client.get("/results/case?run=runs/xss&id=x1").text
    _assert_escaped(html)
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # the model's string output
    # grounded spans are highlighted around escaped text
    assert '">aspirine</mark>' in html
    assert '">&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;</mark>' in html
    failed = client.get("/results/case?run=runs/xss&id=x2").text
    assert "&lt;b&gt;maybe&lt;/b&gt;" in failed and "<b>" not in failed  # raw output
    table = client.get("/results?run=runs/xss").text
    assert "<img src=x" not in table and "&lt;b&gt;x&lt;/b&gt;" in table


def test_xss_is_escaped_in_the_html_report(workdir):
    html = render_report(workdir / "runs" / "xss")
    _assert_escaped(html)
    assert html.count("<script>") == 1  # only the report's own filter script


def test_segments_nest_marks_and_split_crossing_ones():
    text = "abc def ghi"
    segs, shown = segments(
        text,
        [
            Mark(4, 7, "span", "B", ""),
            Mark(0, 3, "span", "A", ""),
            Mark(5, 9, "evidence", "crossing", ""),
            Mark(8, 99, "span", "out of range", ""),
            Mark(0, 11, "evidence", "outer", ""),
        ],
    )
    assert "".join(s.text for s in segs) == text
    assert shown == {0, 1, 2, 4}
    (outer,) = segs
    assert (outer.kind, outer.label) == ("evidence", "outer")
    inner = [(s.text, s.label, s.first) for s in outer.children]
    assert inner == [
        ("abc", "A", True),
        (" ", "", True),
        ("def", "B", True),
        (" g", "crossing", False),  # the rest of the quote that crosses B's end
        ("hi", "", True),
    ]
    b = outer.children[2]
    assert [(s.text, s.label, s.first) for s in b.children] == [
        ("d", "", True),
        ("ef", "crossing", True),
    ]


# ------------------------------------------------------------------------------------------
# Task builder.


def test_builder_shows_validation_errors_with_their_place(client):
    task = {
        "name": "t",
        "description": "d",
        "fields": {
            "side": {"type": "enum"},
            "nodule": {"type": "object", "fields": {"size": {"type": "number", "unit": 3}}},
            "ok": {"type": "boolean"},
        },
        "examples": [{"input": "x", "output": {"ok": "perhaps"}}],
    }
    res = client.post("/api/tasks/preview", json={"task": task}).json()
    assert not res["ok"]
    paths = {e["path"] for e in res["errors"]}
    assert "fields.side" in paths
    assert "fields.nodule.fields.size.unit" in paths
    assert "yaml" in res and "side:" in res["yaml"]
    task["fields"]["side"]["values"] = ["left", "right"]
    task["fields"]["nodule"]["fields"]["size"]["unit"] = "mm"
    res = client.post("/api/tasks/preview", json={"task": task}).json()
    assert {e["path"] for e in res["errors"]} == {  # examples are checked like answers
        "examples.0.output.ok",
        "examples.0.output.side",
        "examples.0.output.nodule",
    }
    task["examples"][0]["output"] = {"side": "left", "nodule": {"size": 3}, "ok": True}
    res = client.post("/api/tasks/preview", json={"task": task, "sample": "Rechts 3 mm"}).json()
    assert res["ok"] and res["errors"] == []
    assert res["messages"][0]["role"] == "system" and "one of" in res["messages"][0]["content"]
    assert res["messages"][-1]["content"] == "Rechts 3 mm"
    assert '"side"' in res["schema"]


def test_builder_saves_and_loads_task_files(client, workdir):
    bad = {"name": "t", "description": "d", "fields": {"side": {"type": "enum"}}}
    r = client.post("/api/tasks/save", json={"path": "tasks/t.yaml", "task": bad})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "fields.side"
    assert not (workdir / "tasks" / "t.yaml").exists()
    good = {
        "name": "meds",
        "description": "Line one.\nLine two.",
        "input": "text",
        "fields": {"medications": {"type": "spans", "labels": {"MED": "a drug"}}},
    }
    r = client.post("/api/tasks/save", json={"path": "tasks/t.yaml", "task": good})
    assert r.json() == {"ok": True, "path": "tasks/t.yaml"}
    saved = load_task(workdir / "tasks" / "t.yaml")
    assert saved.fields["medications"].labels == {"MED": "a drug"}
    assert saved.description == "Line one.\nLine two."
    assert client.get("/api/tasks/load?path=tasks/t.yaml").json()["task"]["name"] == "meds"
    page = client.get("/tasks?path=medication_task.yaml").text
    assert "initial-task" in page and "MEDICATION" in page
    r = client.post("/api/tasks/save", json={"path": "tasks/t.txt", "task": good})
    assert r.status_code == 400


# ------------------------------------------------------------------------------------------
# Data, runs, results, export, evaluation.


def test_data_preview_and_column_choice(client):
    page = client.get("/data?path=radiology_reports.csv").text
    assert "ct001" in page and 'name="input"' in page
    assert (
        '<option value="report" selected>report</option>' in page
    )  # the longest texts: the report
    res = client.get("/api/data/preview?path=radiology_reports.csv&n=2").json()
    assert res["columns"][:2] == ["case_id", "report"] and len(res["rows"]) == 2


def test_a_studio_run_is_an_ordinary_run_folder(client, workdir):
    body = {
        "task": "radiology_task.yaml",
        "data": "radiology_reports.csv",
        "limit": 4,
        "outdir": "runs/studio",
    }
    r = client.post("/api/runs", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"run": "runs/studio", "total": 4}
    progress = wait_for_run(client, "runs/studio")
    assert progress["status"] == "finished" and progress["ok"] == 4 and progress["total"] == 4
    manifest = RunDir(workdir / "runs" / "studio").read_manifest()
    assert manifest["status"] == "finished" and manifest["totals"]["ok"] == 4
    assert (workdir / "runs" / "studio" / "records.csv").exists()
    events = client.get("/api/runs/events?run=runs/studio").text
    assert events.startswith("data: ") and json.loads(events[6:].strip())["finished"]
    assert "runs/studio" in client.get("/").text
    table = client.get("/results?run=runs/studio").text
    assert "ct004" in table and "ct005" not in table


def test_cancel_stops_a_run_and_it_can_be_resumed(workdir):
    app = create_app(workdir, engine_factory=fake_factory(delay=0.15))
    with TestClient(app) as c:
        body = {"task": "radiology_task.yaml", "data": "radiology_reports.csv", "outdir": "runs/c"}
        assert c.post("/api/runs", json=body).status_code == 200
        assert c.post("/api/runs", json=body).status_code == 409  # one run at a time
        wait_for_run(c, "runs/c", until=lambda p: p["done"] >= 1)
        assert c.post("/api/runs/cancel?run=runs/c").json() == {"cancelled": True}
        progress = wait_for_run(c, "runs/c")
        assert progress["status"] == "cancelled" and 1 <= progress["done"] < 12
        assert RunDir(workdir / "runs" / "c").read_manifest()["status"] == "interrupted"
        assert c.post("/api/runs", json=body).status_code == 200  # resumes
        progress = wait_for_run(c, "runs/c")
        assert progress["status"] == "finished" and progress["done"] == 12


def test_run_errors_are_one_line(client):
    body = {"task": "radiology_task.yaml", "data": "radiology_reports.csv", "input": "nope"}
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422 and "no column 'nope'" in r.json()["detail"]
    body = {"task": "radiology_task.yaml", "data": "radiology_reports.csv", "temperature": 9}
    assert client.post("/api/runs", json=body).status_code == 422


def test_results_filters(client):
    def ids(query):
        html = client.get(f"/results?run=runs/radiology&{query}").text
        return {
            line.split('">')[1].split("<")[0]
            for line in html.splitlines()
            if "/results/case?" in line
        }

    assert len(ids("")) == 12
    assert ids("status=failed") == {"ct004"}
    assert ids("field=side&value=bilateral") == {"ct003", "ct005", "ct008"}
    assert ids("conf_below=0.7") == {"ct003", "ct008"}
    assert ids("q=ct01") == {"ct010", "ct011", "ct012"}
    assert client.get("/results?run=runs/radiology&conf_below=x").status_code == 422


def test_export_follows_the_filters(client):
    r = client.get("/results/export?run=runs/radiology&format=csv&status=ok&value=bilateral")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("id,status,error_type,error_message,nodule_present")
    assert [line.split(",")[0] for line in lines[1:]] == ["ct003", "ct005", "ct008"]
    r = client.get("/results/export?run=runs/radiology&format=json&status=failed")
    (record,) = r.json()
    assert record["id"] == "ct004" and record["error"]["type"] == "invalid_json"


def test_evaluation_page_with_prefixed_labels(client, workdir):
    url = "/evaluate?run=runs/radiology&labels=radiology_reports.csv&prefix=expected_"
    html = client.get(url).text
    assert "Confusion matrix: nodule_present" in html and "Confusion matrix: side" in html
    assert "(failed)" in html
    assert not (workdir / "runs" / "radiology" / "evaluation").exists()  # a GET writes nothing
    pngs = [line for line in html.splitlines() if "<img src=" in line]
    assert pngs  # embedded: the plots were made in a temporary folder
    src = pngs[0].split('src="')[1].split('"')[0]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    html = client.get("/evaluate?run=runs/radiology&labels=radiology_reports.csv").text
    assert "no column matches a field" in html


def test_report_command_writes_a_self_contained_file(workdir, tmp_path):
    out = tmp_path / "report.html"
    run = workdir / "runs" / "radiology"
    labels = workdir / "radiology_reports.csv"
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(run),
            "--labels",
            str(labels),
            "--label-prefix",
            "expected_",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Confusion matrix: side" in html and "data:image/png;base64," in html
    for external in ('src="http', 'href="http', "<link", "@import", "url("):
        assert external not in html
    assert html.count('<section class="case"') == 12
    assert "In de rechter bovenkwab" in html  # report texts are there
    result = CliRunner().invoke(main, ["report", str(workdir / "runs" / "xss")])
    assert result.exit_code == 0 and (workdir / "runs" / "xss" / "report.html").exists()
    assert XSS_TEXT.split("aspirine")[0] in (workdir / "runs" / "xss" / "report.html").read_text()


def test_the_builder_preview_shows_computed_fields_apart_and_checks_their_expressions(client):
    task = {
        "name": "nodules",
        "description": "d",
        "fields": {
            "sizes": {"type": "list", "items": {"type": "number", "unit": "mm"}},
            "largest": {"type": "number", "nullable": True, "compute": "max(sizes)"},
        },
    }
    res = client.post("/api/tasks/preview", json={"task": task}).json()
    assert res["ok"] and res["computed"] == {"largest": "max(sizes)"}
    assert '"largest"' not in res["messages"][0]["content"]  # the model is not asked for it
    assert "largest" not in res["schema"]
    task["fields"]["largest"]["compute"] = "max(size)"
    res = client.post("/api/tasks/preview", json={"task": task}).json()
    assert not res["ok"]
    assert any("unknown name 'size'" in e["message"] for e in res["errors"])


def test_the_builder_offers_exactly_the_spans_layouts_and_trims_of_the_task_spec():
    import re
    from typing import get_args

    from extractinator.task.spec import SpanLayout, SpanTrim

    js = (REPO / "src" / "extractinator" / "studio" / "static" / "builder.js").read_text()

    def choices(name: str) -> list[str]:
        found = re.search(rf"var {name} = \[([^\]]*)\];", js)
        assert found, name
        return re.findall(r'"([^"]*)"', found.group(1))

    # "" is the task's default, which only task/spec.py names
    assert choices("LAYOUTS") == ["", *get_args(SpanLayout)]
    assert sorted(choices("TRIMS")) == sorted(["", *get_args(SpanTrim)])
    assert "default: pairs" not in js and "default: by_label" not in js
