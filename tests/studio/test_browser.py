"""The studio in a real browser: headless Debian chromium driven by Selenium through the
Debian chromedriver, against uvicorn on a free 127.0.0.1 port.

One test builds a task in the builder, uploads data, runs it on two cases with the real
embedded model, reviews highlighted spans and exports CSV (marked ``model``); the other is
hermetic (XSS payload shown as text, traversal refused, evaluation page). Both save PNG
screenshots of the pages: to $EXTRACTINATOR_SCREENSHOTS (e.g. docs/studio) when set, else
to a temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="needs selenium (pip install -e '.[dev]')")
pytest.importorskip("uvicorn", reason="needs the studio extra")

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from extractinator.studio.app import create_app, loopback_hosts
from extractinator.task import load_task

from browser_support import needs_browser, serve, set_value, snap, text_in, wait
from paths import EXAMPLES
from studio_fixtures import make_workdir

pytestmark = needs_browser


@pytest.fixture
def studio(tmp_path):
    """(base URL, workdir, app) of a studio over fabricated runs (no model), for one test."""
    workdir = make_workdir(tmp_path / "work")
    app = create_app(workdir, allowed_hosts=loopback_hosts())
    base, server, thread = serve(app)
    yield base, workdir, app
    server.should_exit = True
    thread.join(timeout=30)


# ------------------------------------------------------------------------------------------


def test_xss_traversal_and_evaluation_in_the_browser(browser, studio, shots):
    base, workdir, _ = studio
    d = browser
    # a <script> in a report and in the model's output is shown as text, never run
    d.get(f"{base}/results/case?run=runs/xss&id=x1")
    text = d.find_element(By.CSS_SELECTOR, ".report-text").text
    assert '<script>alert("xss")</script>' in text
    with pytest.raises(TimeoutException):
        WebDriverWait(d, 1).until(EC.alert_is_present())
    marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, ".report-text mark.span")]
    assert marks == ["aspirine", '<script>alert("xss")</script>', "metoprolol"]
    assert "<img src=x onerror=alert(2)>" in d.find_element(By.CSS_SELECTOR, "table.fields").text
    assert not d.find_elements(By.CSS_SELECTOR, ".report-text script, .report-text img")
    # paths outside the studio folder are refused
    for url in ("/data?path=../../../../etc/passwd", "/files?path=/etc/hostname"):
        d.get(base + url)
        assert "outside the studio folder" in d.find_element(By.TAG_NAME, "body").text
    # the home page lists the runs
    d.get(base + "/")
    assert "runs/radiology" in d.page_source
    snap(d, shots, "index")
    # results filters in the browser
    d.get(f"{base}/results?run=runs/radiology")
    Select(d.find_element(By.ID, "f-status")).select_by_value("failed")
    d.find_element(By.ID, "apply-filters").click()
    wait(d, text_in((By.ID, "shown-count"), "1 of 12"))
    # evaluation with the label columns' prefix
    d.get(base + "/evaluate")
    Select(d.find_element(By.ID, "eval-run")).select_by_value("runs/radiology")
    Select(d.find_element(By.ID, "eval-labels")).select_by_value("radiology_reports.csv")
    set_value(d, d.find_element(By.ID, "eval-prefix"), "expected_")
    d.find_element(By.ID, "eval-go").click()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".confusion-matrix")))
    assert len(d.find_elements(By.CSS_SELECTOR, ".confusion-matrix")) == 2
    images = d.find_elements(By.CSS_SELECTOR, ".plots img")
    assert images and all(
        d.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images
    )
    snap(d, shots, "evaluation")


def _upload_file(tmp_path: Path) -> Path:
    lines = (EXAMPLES / "medication_snippets.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "medication_snippets.jsonl"
    path.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    return path


@pytest.mark.model
def test_build_run_review_and_export_with_the_real_model(
    browser, tmp_path, shots, downloads, default_engine
):
    workdir = make_workdir(tmp_path / "work")
    app = create_app(
        workdir, allowed_hosts=loopback_hosts(), engine_factory=lambda config: default_engine
    )
    base, server, thread = serve(app)
    d = browser
    try:
        # 1. build the task in the builder
        d.get(base + "/tasks")
        wait(d, text_in((By.ID, "valid-state"), "valid task"))
        set_value(d, d.find_element(By.ID, "t-name"), "medications_ui")
        set_value(
            d,
            d.find_element(By.ID, "t-description"),
            "From the Dutch medication list or discharge letter snippet, list every medication "
            "(geneesmiddel) that is mentioned: brand or generic name only, without dose, unit "
            "or frequency. Include medications that were stopped.",
        )
        set_value(d, d.find_element(By.ID, "t-input"), "text")
        set_value(d, d.find_element(By.ID, "t-id"), "id")
        field = d.find_element(By.CSS_SELECTOR, "#fields > .field")
        set_value(d, field.find_element(By.CSS_SELECTOR, ".f-name"), "medications")
        Select(field.find_element(By.CSS_SELECTOR, ".f-type")).select_by_value("enum")
        wait(d, text_in((By.CSS_SELECTOR, "#fields > .field > .err"), "needs its options"))
        assert "problem" in d.find_element(By.ID, "valid-state").text
        Select(field.find_element(By.CSS_SELECTOR, ".f-type")).select_by_value("spans")
        field.find_element(By.CSS_SELECTOR, ".f-labels").send_keys(
            "MEDICATION: a drug name as written in the text (generic or brand), without dose"
        )
        Select(field.find_element(By.CSS_SELECTOR, ".f-layout")).select_by_value("list")
        set_value(d, field.find_element(By.CSS_SELECTOR, ".f-desc"), "Every medication mention.")
        d.find_element(By.ID, "add-field").click()
        count = d.find_elements(By.CSS_SELECTOR, "#fields > .field")[-1]
        set_value(d, count.find_element(By.CSS_SELECTOR, ".f-name"), "count")
        Select(count.find_element(By.CSS_SELECTOR, ".f-type")).select_by_value("integer")
        set_value(d, count.find_element(By.CSS_SELECTOR, ".f-min"), "0")
        set_value(d, count.find_element(By.CSS_SELECTOR, ".f-max"), "50")
        set_value(
            d,
            count.find_element(By.CSS_SELECTOR, ".f-desc"),
            "Number of distinct medications mentioned.",
        )
        wait(d, text_in((By.ID, "valid-state"), "✓ valid task"))
        wait(d, text_in((By.ID, "tab-yaml"), "Number of distinct medications"))
        d.find_element(By.CSS_SELECTOR, ".tabs button[data-tab=prompt]").click()
        assert "MEDICATION" in d.find_element(By.ID, "prompt-messages").text
        d.find_element(By.CSS_SELECTOR, ".tabs button[data-tab=yaml]").click()
        set_value(d, d.find_element(By.ID, "save-path"), "tasks/medications_ui.yaml")
        d.find_element(By.ID, "save-btn").click()
        wait(d, text_in((By.ID, "save-status"), "saved tasks/medications_ui.yaml"))
        snap(d, shots, "task_builder")
        task = load_task(workdir / "tasks" / "medications_ui.yaml")
        assert task.fields["medications"].label_names == ["MEDICATION"]
        assert task.id == "id" and task.fields["count"].maximum == 50

        # 2. upload the data, preview it, choose the columns
        d.get(base + "/data")
        d.find_element(By.ID, "upload-file").send_keys(str(_upload_file(tmp_path)))
        d.find_element(By.CSS_SELECTOR, "form.panel button[type=submit]").click()
        wait(d, EC.url_contains("/data?path=uploads/medication_snippets.jsonl"))
        assert "metoprolol" in d.find_element(By.CSS_SELECTOR, ".preview-table").text
        Select(d.find_element(By.ID, "input-col")).select_by_visible_text("text")
        Select(d.find_element(By.ID, "id-col")).select_by_visible_text("id")
        snap(d, shots, "data")
        d.find_element(By.ID, "use-data").click()

        # 3. run on two cases with the real embedded model
        wait(d, EC.url_contains("/run?"))
        Select(d.find_element(By.ID, "run-task")).select_by_value("tasks/medications_ui.yaml")
        assert Select(d.find_element(By.ID, "run-data")).first_selected_option.text == (
            "uploads/medication_snippets.jsonl"
        )
        set_value(d, d.find_element(By.ID, "run-limit"), "2")
        set_value(d, d.find_element(By.ID, "run-outdir"), "runs/medications_ui")
        d.find_element(By.ID, "start-run").click()
        panel = (By.ID, "progress-panel")
        wait(
            d, lambda drv: drv.find_element(*panel).get_attribute("data-status") == "finished", 600
        )
        assert "2 of 2 cases" in d.find_element(By.ID, "progress-text").text
        snap(d, shots, "run")

        # 4. review: results table, a case with its highlighted spans
        d.find_element(By.ID, "progress-results").click()
        wait(d, EC.presence_of_element_located((By.ID, "results-table")))
        rows = d.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")
        assert len(rows) == 2
        snap(d, shots, "results")
        d.find_element(By.LINK_TEXT, "m01").click()
        wait(d, text_in((By.ID, "case-id"), "m01"))
        marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, ".report-text mark.span")]
        assert marks, "no highlighted span"
        report_text = d.find_element(By.CSS_SELECTOR, ".report-text").text
        assert all(m in report_text for m in marks)
        assert any("metoprolol" in m.lower() for m in marks), marks
        snap(d, shots, "case")

        # 5. export the results as CSV
        d.back()
        wait(d, EC.presence_of_element_located((By.ID, "export-csv")))
        d.find_element(By.ID, "export-csv").click()
        exported = downloads / "medications_ui.csv"
        wait(d, lambda drv: exported.exists() and exported.stat().st_size > 0, 20)
        lines = exported.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("id,status,error_type,error_message,medications,count")
        assert [line.split(",")[0] for line in lines[1:]] == ["m01", "m02"]
        records = (workdir / "runs" / "medications_ui" / "records.jsonl").read_text()
        assert len(records.splitlines()) == 2
        assert json.loads(records.splitlines()[0])["status"] == "ok"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
