"""The studio's review loop, run states and file hygiene, hermetic (TestClient, fabricated
runs and FakeEngine runs): the review queue, corrections saved case by case as labels that
``extractinator evaluate`` reads, the reviewed export, examples from corrections, expected
vs predicted, runs that show "loading model" and start errors, rename/delete, uploads."""

from __future__ import annotations

import csv
import json
import re
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from click.testing import CliRunner
from fastapi.testclient import TestClient

from extractinator.cli import main
from extractinator.errors import ModelError
from extractinator.reports.evaluate import evaluate_run
from extractinator.studio.app import create_app
from extractinator.task import load_task

from fakes import FakeEngine
from studio_fixtures import fake_factory, make_workdir, wait_for_run


@pytest.fixture
def workdir(tmp_path):
    return make_workdir(tmp_path / "work")


@pytest.fixture
def client(workdir):
    with TestClient(create_app(workdir, engine_factory=fake_factory())) as c:
        yield c


def _review_data(client, run, case_id=None):
    url = f"/review?run={run}" + (f"&id={case_id}" if case_id else "")
    html = client.get(url).text
    raw = html.split('<script type="application/json" id="review-data">')[1].split("</script>")[0]
    return json.loads(raw)


# ------------------------------------------------------------------------------------------
# Review loop.


def test_the_queue_puts_doubtful_cases_first(client):
    first = _review_data(client, "runs/radiology")
    assert first["id"] == "ct004" and not first["ok"]  # the failed case
    html = client.get("/review?run=runs/radiology").text
    assert "the model gave no valid answer" in html
    order = []
    case_id = None
    for _ in range(3):
        data = _review_data(client, "runs/radiology", case_id)
        order.append(data["id"])
        nxt = client.get(f"/review?run=runs/radiology&id={data['id']}").text
        case_id = nxt.split('id="next-case"')[0].rsplit("id=", 1)[1].split('"')[0]
    assert order[:1] == ["ct004"] and set(order[1:]) == {"ct003", "ct008"}  # low confidence


def test_corrections_are_saved_per_case_as_labels_evaluate_reads(client, workdir):
    run = "runs/radiology"
    data = _review_data(client, run, "ct001")
    assert data["values"] == data["model"]
    r = client.post(
        "/api/review/save",
        json={"run": run, "id": "ct001", "values": data["model"], "reviewer": "anna"},
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["saved"]["_source"] == "model" and saved["saved"]["_changed"] == []
    assert saved["reviewed"] == 1 and saved["total"] == 12 and saved["next"] != "ct001"
    model2 = _review_data(client, run, "ct002")["model"]
    assert model2["side"] != "left"
    corrected = {**model2, "side": "left", "largest_nodule_mm": 9.5}
    r = client.post("/api/review/save", json={"run": run, "id": "ct002", "values": corrected})
    assert r.json()["saved"]["_source"] == "corrected"
    assert r.json()["saved"]["_changed"] == ["largest_nodule_mm", "side"]
    failed = {"nodule_present": False, "largest_nodule_mm": None, "side": "none"}
    assert (
        client.post(
            "/api/review/save", json={"run": run, "id": "ct004", "values": failed}
        ).status_code
        == 200
    )
    # bad values are refused with the field named, and nothing is written for them
    for bad, word in (
        ({"side": "up"}, "side"),
        ({"largest_nodule_mm": 900}, "largest_nodule_mm"),
        ({"nope": 1}, "nope"),
    ):
        r = client.post(
            "/api/review/save", json={"run": run, "id": "ct005", "values": {**data["model"], **bad}}
        )
        assert r.status_code == 422 and word in r.json()["detail"]
    labels = workdir / "runs" / "radiology" / "review_labels.jsonl"
    lines = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [line["case_id"] for line in lines] == ["ct001", "ct002", "ct004"]
    assert lines[0]["_reviewer"] == "anna" and lines[1]["_reviewer"] == "studio"
    assert lines[1]["side"] == "left" and lines[1]["largest_nodule_mm"] == 9.5
    assert lines[0]["_reviewed_at"].endswith("+00:00")
    # saving a case again replaces its line (one line per case: a valid labels file)
    client.post(
        "/api/review/save",
        json={"run": run, "id": "ct001", "values": {**data["model"], "side": "left"}},
    )
    lines = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [line["case_id"] for line in lines] == ["ct001", "ct002", "ct004"] and lines[0][
        "side"
    ] == "left"
    # a reload shows the saved values
    again = _review_data(client, run, "ct002")
    assert again["values"]["side"] == "left" and again["saved"]["_source"] == "corrected"
    assert "3 of 12 reviewed" in client.get(f"/review?run={run}&id=ct002").text
    # the file is a labels file for `extractinator evaluate`
    ev = evaluate_run(workdir / "runs" / "radiology", labels)
    assert ev.matching.matched == 3 and ev.fields["side"].n == 3
    assert ev.fields["side"].accuracy == pytest.approx(0.0)  # ct001/ct002 corrected; ct004 failed
    result = CliRunner().invoke(
        main, ["evaluate", str(workdir / "runs" / "radiology"), str(labels)]
    )
    assert result.exit_code == 0, result.output
    # undo puts a case back into the queue
    client.post("/api/review/undo", json={"run": run, "id": "ct004"})
    assert "ct004" not in labels.read_text()


def test_the_reviewed_export_says_where_each_value_comes_from(client):
    run = "runs/radiology"
    model = _review_data(client, run, "ct001")["model"]
    client.post("/api/review/save", json={"run": run, "id": "ct001", "values": model})
    model2 = _review_data(client, run, "ct002")["model"]
    client.post(
        "/api/review/save", json={"run": run, "id": "ct002", "values": {**model2, "side": "left"}}
    )
    r = client.get(f"/review/export?run={run}&format=jsonl")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = {row["case_id"]: row for row in map(json.loads, r.text.splitlines())}
    assert len(rows) == 12
    assert rows["ct001"]["review"] == "accepted" and rows["ct002"]["review"] == "corrected"
    assert rows["ct002"]["side"] == "left" and rows["ct002"]["changed"] == "side"
    assert rows["ct005"]["review"] == "not reviewed"
    assert (
        rows["ct004"]["review"] == "not reviewed (model failed)" and rows["ct004"]["side"] is None
    )
    csv_text = client.get(f"/review/export?run={run}&format=csv").text
    header = csv_text.splitlines()[0].split(",")
    assert header[:4] == ["case_id", "nodule_present", "largest_nodule_mm", "side"]
    assert header[4:] == ["review", "reviewer", "reviewed_at", "changed"]


def test_spans_are_corrected_against_the_report_text(client, workdir):
    run = "runs/xss"
    data = _review_data(client, run, "x1")
    text = data["text"]
    spans = data["model"]["medications"]
    assert [s["text"] for s in spans][0] == "aspirine"
    start = text.index("metoprolol")
    values = {
        **data["model"],
        "medications": [
            spans[0],
            {"label": "MEDICATION", "start": start, "end": start + 10, "text": "forged"},
            {"label": "MEDICATION", "text": "aspirine 80 mg"},
        ],
    }
    r = client.post("/api/review/save", json={"run": run, "id": "x1", "values": values})
    assert r.status_code == 200, r.text
    saved = r.json()["saved"]["medications"]
    assert [s["text"] for s in saved] == ["aspirine", "aspirine 80 mg", "metoprolol"]  # by offset
    assert all(text[s["start"] : s["end"]] == s["text"] for s in saved)
    assert r.json()["saved"]["_source"] == "corrected"
    for bad in ({"label": "MEDICATION", "start": 0, "end": 10_000}, {"label": "DRUG", "text": "x"}):
        r = client.post(
            "/api/review/save",
            json={"run": run, "id": "x1", "values": {**values, "medications": [bad]}},
        )
        assert r.status_code == 422 and "medications" in r.json()["detail"]
    # the page never puts the report text in as markup
    html = client.get(f"/review?run={run}&id=x1").text
    assert "<script>alert" not in html and "<img src=x" not in html


def test_a_reviewed_case_becomes_a_task_example(client, workdir):
    body = {
        "task": "radiology_task.yaml",
        "data": "radiology_reports.csv",
        "limit": 2,
        "outdir": "runs/ex",
    }
    assert client.post("/api/runs", json=body).status_code == 200
    wait_for_run(client, "runs/ex")
    r = client.post("/api/review/example", json={"run": "runs/ex", "id": "ct001"})
    assert r.status_code == 422 and "review the case first" in r.json()["detail"]
    model = _review_data(client, "runs/ex", "ct001")["model"]
    client.post(
        "/api/review/save",
        json={"run": "runs/ex", "id": "ct001", "values": {**model, "side": "left"}},
    )
    r = client.post("/api/review/example", json={"run": "runs/ex", "id": "ct001"})
    assert r.status_code == 200, r.text
    assert r.json() == {"task": "radiology_task.yaml", "examples": 1}
    task = load_task(workdir / "radiology_task.yaml")
    assert task.examples[0].output["side"] == "left"
    with (workdir / "radiology_reports.csv").open(encoding="utf-8") as fh:
        text = next(row["report"] for row in csv.DictReader(fh) if row["case_id"] == "ct001")
    assert task.examples[0].input == text


def test_results_show_expected_values_and_confusion_cells_open_their_cases(client):
    q = "run=runs/radiology&labels=radiology_reports.csv&prefix=expected_"
    html = client.get(f"/results?{q}").text
    assert html.count("expected: ") >= 2 and 'class="value wrong"' in html
    wrong = client.get(f"/results?{q}&mismatch=1").text
    assert wrong.count("/results/case?") == 3  # ct003, ct008 wrong; ct004 failed
    ev = client.get(f"/evaluate?{q}").text
    cells = re.findall(r'<a href="([^"]*cell_field=[^"]*)" title="show these (\d+) cases">', ev)
    assert len(cells) >= 4 and any("predicted=bilateral" in href for href, _ in cells)
    for href, n in cells:
        page = client.get(href.replace("&amp;", "&")).text
        assert page.count("/results/case?") == int(n), href


def test_units_and_unusual_values_are_shown(client, workdir):
    records = workdir / "runs" / "radiology" / "records.jsonl"
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    for rec in lines:
        if rec["id"] == "ct001":
            rec["output"]["largest_nodule_mm"] = 1.2
        elif rec["status"] == "ok" and rec["output"]["largest_nodule_mm"] is None:
            rec["output"]["largest_nodule_mm"] = 12.0
    records.write_text("".join(json.dumps(r) + "\n" for r in lines))
    html = client.get("/results/case?run=runs/radiology&id=ct001").text
    assert "1.2 mm" in html and "far from this run" in html
    table = client.get("/results?run=runs/radiology").text
    assert "largest_nodule_mm <span" in table and "(mm)" in table
    data = _review_data(client, "runs/radiology")
    assert data["id"] == "ct004"  # failed first, then the unusual and unsure ones
    review = client.get("/review?run=runs/radiology&id=ct001").text
    assert "far from this run" in review


# ------------------------------------------------------------------------------------------
# Runs that always show their state.


def test_a_run_shows_loading_model_then_progress_then_the_end(workdir):
    loaded = threading.Event()

    def slow_factory(config):
        loaded.wait(10)
        return fake_factory()(config)

    with TestClient(create_app(workdir, engine_factory=slow_factory)) as c:
        body = {
            "task": "radiology_task.yaml",
            "data": "radiology_reports.csv",
            "limit": 3,
            "outdir": "runs/first",
        }
        assert c.post("/api/runs", json=body).status_code == 200
        manifest = json.loads((workdir / "runs" / "first" / "manifest.json").read_text())
        assert manifest["status"] == "loading model"
        p = c.get("/api/runs/progress?run=runs/first").json()
        assert p["status"] == "loading model" and not p["finished"] and p["total"] == 3
        runs = c.get("/api/runs").json()["runs"]
        assert any(r["run"] == "runs/first" and r["status"] == "loading model" for r in runs)
        assert c.post("/api/runs", json={**body, "outdir": "runs/second"}).status_code == 409
        loaded.set()
        p = wait_for_run(c, "runs/first")
        assert p["status"] == "finished" and p["done"] == 3
        rate = p["rate_per_min"]
        assert rate and rate > 0
        time.sleep(0.3)
        assert c.get("/api/runs/progress?run=runs/first").json()["rate_per_min"] == rate  # frozen
        manifest = json.loads((workdir / "runs" / "first" / "manifest.json").read_text())
        assert manifest["status"] == "finished" and "studio_placeholder" not in manifest


def test_engine_start_errors_reach_the_page_and_the_runs_list(workdir):
    def broken(config):
        raise ModelError("/models/x.gguf: not a GGUF file (bad magic)")

    with TestClient(create_app(workdir, engine_factory=broken)) as c:
        body = {
            "task": "radiology_task.yaml",
            "data": "radiology_reports.csv",
            "outdir": "runs/broken",
        }
        assert c.post("/api/runs", json=body).status_code == 200
        p = wait_for_run(c, "runs/broken")
        assert p["status"] == "failed" and "not a GGUF file" in p["error"]
        runs = c.get("/api/runs").json()["runs"]
        (row,) = [r for r in runs if r["run"] == "runs/broken"]
        assert row["status"] == "failed" and "not a GGUF file" in row["error"]
        assert "not a GGUF file" in c.get("/").text and "not a GGUF file" in c.get("/run").text
    # a new studio (after a restart) still shows it, from the manifest
    with TestClient(create_app(workdir)) as c:
        p = c.get("/api/runs/progress?run=runs/broken").json()
        assert p["status"] == "failed" and "not a GGUF file" in p["error"]
    # and a later run into the folder starts from scratch
    ok = fake_factory()
    with TestClient(create_app(workdir, engine_factory=ok)) as c:
        assert c.post("/api/runs", json={**body, "limit": 2}).status_code == 200
        p = wait_for_run(c, "runs/broken")
        assert p["status"] == "finished" and p["error"] is None


# ------------------------------------------------------------------------------------------
# Hygiene: pickers, overwrite, rename/delete.


def test_pickers_list_data_and_task_files_only(client, workdir):
    (workdir / "docs").mkdir()
    (workdir / "docs" / "a.txt").write_text("Verslag.", encoding="utf-8")
    html = client.get("/run").text
    for internal in ("records.json", "manifest.json", "evaluation.json", "records.csv"):
        assert internal not in html
    assert "radiology_reports.csv" in html and "docs/" in html and "radiology_task.yaml" in html
    preview = client.get("/api/data/preview?path=docs/").json()
    assert preview["columns"] == ["id", "text", "file"] and preview["rows"][0][0] == "a"


def test_saving_or_uploading_over_a_file_asks_first(client, workdir):
    task = load_task(workdir / "radiology_task.yaml").model_dump(mode="json", exclude_none=True)
    original = (workdir / "radiology_task.yaml").read_text()
    r = client.post(
        "/api/tasks/save",
        json={"path": "radiology_task.yaml", "task": {**task, "description": "x"}},
    )
    assert (
        r.status_code == 409
        and r.json()["exists"]
        and (workdir / "radiology_task.yaml").read_text() == original
    )
    r = client.post(
        "/api/tasks/save",
        json={
            "path": "radiology_task.yaml",
            "task": {**task, "description": "x"},
            "overwrite": True,
        },
    )
    assert r.json()["ok"] and "description: x" in (workdir / "radiology_task.yaml").read_text()
    files = {"file": ("data.csv", b"id,text\n1,a\n", "text/csv")}
    json_accept = {"Accept": "application/json"}
    assert client.post("/api/upload", files=files, headers=json_accept).status_code == 200
    files = {"file": ("data.csv", b"id,text\n1,b\n", "text/csv")}
    r = client.post("/api/upload", files=files, headers=json_accept)
    assert r.status_code == 409 and r.json()["exists"] == ["uploads/data.csv"]
    assert (workdir / "uploads" / "data.csv").read_text() == "id,text\n1,a\n"
    r = client.post("/api/upload", files=files, data={"overwrite": "1"}, headers=json_accept)
    assert r.json()["next"] == "/data?path=uploads/data.csv"
    assert (workdir / "uploads" / "data.csv").read_text() == "id,text\n1,b\n"
    r = client.post(
        "/api/upload",
        files={"file": ("labels.csv", b"case_id,side\nct001,left\n", "text/csv")},
        data={"labels_for": "runs/radiology"},
        headers=json_accept,
    )
    assert r.json()["next"] == "/evaluate?run=runs%2Fradiology&labels=uploads%2Flabels.csv"


def test_documents_upload_into_a_folder(client, workdir):
    files = [
        ("file", ("a.txt", b"Verslag een.", "text/plain")),
        ("file", ("b.html", b"<p>Twee</p>", "text/html")),
    ]
    r = client.post(
        "/api/upload",
        files=files,
        data={"folder": "brieven"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["next"] == "/data?path=uploads/brieven/"
    assert sorted(p.name for p in (workdir / "uploads" / "brieven").iterdir()) == [
        "a.txt",
        "b.html",
    ]
    page = client.get("/data?path=uploads/brieven/").text
    assert "Verslag een." in page and "Twee" in page
    r = client.post(
        "/api/upload", files=files, data={"folder": "../x"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 422
    mixed = [("file", ("a.txt", b"x", "text/plain")), ("file", ("d.csv", b"id\n1\n", "text/csv"))]
    assert client.post("/api/upload", files=mixed).status_code == 415


def test_runs_can_be_renamed_and_deleted(client, workdir):
    r = client.post("/api/runs/rename", json={"run": "runs/xss", "name": "xss-checked"})
    assert r.json() == {"run": "runs/xss-checked"}
    assert (workdir / "runs" / "xss-checked" / "records.jsonl").exists()
    for name in ("../evil", "a/b", "x\ny", ".."):
        r = client.post("/api/runs/rename", json={"run": "runs/xss-checked", "name": name})
        assert r.status_code == 422, name
    r = client.post("/api/runs/rename", json={"run": "runs/xss-checked", "name": "radiology"})
    assert r.status_code == 409
    for not_a_run in (".", "uploads", "..", "radiology_task.yaml"):
        assert client.post("/api/runs/delete", json={"run": not_a_run}).status_code in (
            403,
            404,
            422,
        )
    assert client.post("/api/runs/delete", json={"run": "runs/xss-checked"}).json() == {
        "deleted": "runs/xss-checked"
    }
    assert not (workdir / "runs" / "xss-checked").exists()
    assert (workdir / "radiology_task.yaml").exists()


def test_the_report_can_leave_out_report_texts_and_paths(client, workdir):
    manifest_path = workdir / "runs" / "radiology" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["engine"] = {"engine": "llamacpp", "model_path": "/secret/models/qwen.gguf"}
    manifest_path.write_text(json.dumps(manifest))
    full = client.get("/report?run=runs/radiology").text
    assert "In de rechter bovenkwab" in full and "/secret/models/qwen.gguf" in full
    lean = client.get("/report?run=runs/radiology&texts=0&paths=0").text
    assert "In de rechter bovenkwab" not in lean and '<pre class="report-text">' not in lean
    assert "/secret/models" not in lean and "qwen.gguf" in lean
    assert lean.count('<section class="case"') == 12  # the values are still there
    results = client.get("/results?run=runs/radiology").text
    assert 'id="report-no-texts"' in results and 'action="/report"' in results


def test_the_loaded_model_is_closed_when_the_studio_stops():
    """The shutdown handler runs inside the event loop: closing must not need asyncio.run
    there (it used to leave the engine's aclose un-awaited)."""
    import asyncio

    from extractinator.studio.jobs import JobManager

    manager = JobManager()
    engine = FakeEngine([])
    manager._engine, manager._engine_key = engine, "k"

    async def shutdown() -> None:
        manager.close()

    asyncio.run(shutdown())
    assert engine.closed and manager._engine is None
