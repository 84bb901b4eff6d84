"""The review loop, first runs, documents and the evaluation links in a real browser
(headless Debian chromium through Selenium, as in test_studio_browser.py). Screenshots go
to $EXTRACTINATOR_SCREENSHOTS (e.g. docs/studio) when set."""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="needs selenium (pip install -e '.[dev]')")
pytest.importorskip("uvicorn", reason="needs the studio extra")

from click.testing import CliRunner
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from extractinator.cli import main
from extractinator.reports.evaluate import evaluate_run
from extractinator.studio.app import create_app, loopback_hosts

from browser_support import needs_browser, serve, snap, text_in, wait
from fakes import FakeEngine
from studio_fixtures import make_workdir

pytestmark = needs_browser

REPLY = '{"nodule_present": true, "largest_nodule_mm": 8, "side": "right"}'


def _studio(workdir: Path, factory=None):
    app = create_app(workdir, allowed_hosts=loopback_hosts(), engine_factory=factory)
    return serve(app)


def _stop(server, thread) -> None:
    server.should_exit = True
    thread.join(timeout=30)


def press(driver, *keys) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def case_id(driver) -> str:
    """The case shown; read again when the page re-renders the header while it is read."""
    from selenium.common.exceptions import WebDriverException

    for _ in range(20):
        try:
            return str(driver.find_element(By.ID, "case-id").text)
        except WebDriverException:  # the node was replaced between finding and reading it
            time.sleep(0.1)
    return str(driver.find_element(By.ID, "case-id").text)


def next_case(driver, before: str) -> str:
    wait(driver, lambda d: case_id(d) != before)
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#review-form .review-field")))
    return case_id(driver)


def control(driver, field: str):
    return driver.find_element(By.CSS_SELECTOR, f'.review-field[data-field="{field}"] .rv-control')


def test_review_ten_cases_by_keyboard_reload_and_export(browser, tmp_path, shots, downloads):
    workdir = make_workdir(tmp_path / "work")
    base, server, thread = _studio(workdir)
    d = browser
    labels = workdir / "runs" / "radiology" / "review_labels.jsonl"
    try:
        d.get(f"{base}/review?run=runs/radiology")
        wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "#review-form .review-field")))
        wait(d, lambda d: case_id(d) not in ("", "…"))  # the page fills it in after loading
        first = case_id(d)
        assert first == "ct004"  # the failed case comes first
        assert "no valid answer" in d.find_element(By.ID, "review-reasons").text
        # fill in the failed case: two values chosen, the size "not in report"
        Select(control(d, "nodule_present")).select_by_value("false")
        Select(control(d, "side")).select_by_value('"none"')
        d.find_element(
            By.CSS_SELECTOR, '.review-field[data-field="largest_nodule_mm"] .rv-null'
        ).click()
        d.find_element(By.TAG_NAME, "h1").click()
        snap(d, shots, "review")
        press(d, "a")
        reviewed = [first]
        current = next_case(d, first)
        corrections = {}
        while len(reviewed) < 10:
            if len(reviewed) == 5:  # reload midway: nothing lost
                d.refresh()
                wait(d, text_in((By.ID, "review-progress"), "5 of 12 reviewed"))
                assert len(labels.read_text().splitlines()) == 5
                current = case_id(d)
                assert current not in reviewed
            if len(reviewed) in (2, 7):  # correct a value, save with Ctrl+Enter in the field
                select = Select(control(d, "side"))
                side = "left" if select.first_selected_option.text != "left" else "right"
                select.select_by_value(json.dumps(side))
                corrections[current] = side
                ActionChains(d).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(
                    Keys.CONTROL
                ).perform()
            else:
                d.find_element(By.TAG_NAME, "h1").click()
                press(d, "a")
            reviewed.append(current)
            if len(reviewed) < 10:
                current = next_case(d, current)
        wait(d, lambda drv: len(labels.read_text().splitlines()) == 10)
        lines = {json.loads(x)["case_id"]: json.loads(x) for x in labels.read_text().splitlines()}
        assert set(lines) == set(reviewed) and len(set(reviewed)) == 10
        assert lines["ct004"]["nodule_present"] is False and lines["ct004"]["side"] == "none"
        assert lines["ct004"]["largest_nodule_mm"] is None
        for cid, side in corrections.items():
            assert lines[cid]["side"] == side and lines[cid]["_source"] == "corrected"
        accepted = [c for c in reviewed if c not in corrections and c != "ct004"]
        assert all(lines[c]["_source"] == "model" for c in accepted)
        wait(d, text_in((By.ID, "review-progress"), "10 of 12 reviewed"))

        # export the checked data; `extractinator evaluate` reads it as labels
        d.find_element(By.ID, "review-export-csv").click()
        exported = downloads / "radiology-reviewed.csv"
        wait(d, lambda drv: exported.exists() and exported.stat().st_size > 0)
        run = workdir / "runs" / "radiology"
        result = CliRunner().invoke(
            main, ["evaluate", str(run), str(exported), "--out", str(tmp_path / "ev")]
        )
        assert result.exit_code == 0, result.output
        ev = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
        assert ev["matching"]["matched"] == 12
        assert ev["fields"]["side"]["n"] == 12  # reviewed or (not reviewed) the model's value
        from_labels = evaluate_run(run, labels)
        assert from_labels.matching.matched == 10
        expected_side_acc = (10 - 1 - len(corrections)) / 9  # ct004 failed: not covered
        assert from_labels.fields["side"].accuracy == pytest.approx(expected_side_acc)
        # the evaluation page scores the model against the review
        d.get(f"{base}/review?run=runs/radiology")
        d.find_element(By.ID, "review-evaluate").click()
        wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "table.metrics")))
        assert "matched 10 of 12" in d.find_element(By.TAG_NAME, "main").text
    finally:
        _stop(server, thread)


def _select_text(driver, needle: str) -> None:
    driver.execute_script(
        """
        var pre = document.getElementById("review-text"), needle = arguments[0];
        var walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT), node;
        var text = pre.textContent, start = text.indexOf(needle), seen = 0;
        var range = document.createRange();
        var end = start + needle.length, startSet = false;
        while ((node = walker.nextNode())) {
          var len = node.nodeValue.length;
          if (!startSet && start < seen + len) {
            range.setStart(node, start - seen); startSet = true;
          }
          if (end <= seen + len) { range.setEnd(node, end - seen); break; }
          seen += len;
        }
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        """,
        needle,
    )


def test_review_passages_by_selecting_text(browser, tmp_path, shots):
    workdir = make_workdir(tmp_path / "work")
    base, server, thread = _studio(workdir)
    d = browser
    try:
        d.get(f"{base}/review?run=runs/xss&id=x1")
        wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "#review-text mark.span")))
        marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, "#review-text mark.span")]
        assert marks == ["aspirine", '<script>alert("xss")</script>', "metoprolol"]
        assert not d.find_elements(By.CSS_SELECTOR, "#review-text script, #review-text img")
        chips = d.find_elements(By.CSS_SELECTOR, ".chip")
        chips[1].find_element(By.TAG_NAME, "button").click()  # remove the <script> "drug"
        _select_text(d, "aspirine 80 mg")
        press(d, "s")
        wait(d, lambda drv: len(drv.find_elements(By.CSS_SELECTOR, ".chip")) == 3)
        texts = [
            c.find_element(By.TAG_NAME, "span").text
            for c in d.find_elements(By.CSS_SELECTOR, ".chip")
        ]
        assert texts == ["aspirine", "aspirine 80 mg", "metoprolol"]
        # nested highlights: "aspirine" inside "aspirine 80 mg"
        assert d.find_elements(By.CSS_SELECTOR, "#review-text mark.span mark.span")
        snap(d, shots, "review_passages")
        press(d, "a")
        labels = workdir / "runs" / "xss" / "review_labels.jsonl"
        wait(d, lambda drv: labels.exists())
        (line,) = [json.loads(x) for x in labels.read_text().splitlines()]
        spans = line["medications"]
        text = json.loads((workdir / "xss.jsonl").read_text().splitlines()[0])["text"]
        assert [s["text"] for s in spans] == ["aspirine", "aspirine 80 mg", "metoprolol"]
        assert all(text[s["start"] : s["end"]] == s["text"] for s in spans)
        assert line["_source"] == "corrected"
    finally:
        _stop(server, thread)


def test_a_first_run_shows_loading_model_then_progress(browser, tmp_path, shots):
    workdir = make_workdir(tmp_path / "work")
    release = threading.Event()

    def slow_loading(config):
        release.wait(30)  # the embedded model loading
        return FakeEngine(lambda request: REPLY, delay=0.3)

    base, server, thread = _studio(workdir, slow_loading)
    d = browser
    try:
        d.get(f"{base}/run")
        Select(d.find_element(By.ID, "run-task")).select_by_value("radiology_task.yaml")
        Select(d.find_element(By.ID, "run-data")).select_by_value("radiology_reports.csv")
        d.find_element(By.ID, "run-outdir").send_keys("runs/first")
        d.find_element(By.ID, "start-run").click()
        wait(d, text_in((By.ID, "progress-text"), "loading model"))
        wait(d, text_in((By.ID, "runs-table"), "loading model"))  # the runs list shows it too
        snap(d, shots, "run_loading")
        release.set()
        wait(d, text_in((By.ID, "progress-text"), "running"))
        seen_running = d.find_element(By.ID, "progress-text").text
        assert "of 12 cases" in seen_running
        panel = (By.ID, "progress-panel")
        wait(d, lambda drv: drv.find_element(*panel).get_attribute("data-status") == "finished", 60)
        assert "12 of 12 cases" in d.find_element(By.ID, "progress-text").text
        rate = d.find_element(By.ID, "progress-rate").text
        time.sleep(1.2)
        assert d.find_element(By.ID, "progress-rate").text == rate  # frozen at the end
        wait(d, text_in((By.ID, "runs-table"), "finished"))
        assert d.find_element(By.ID, "progress-review").is_displayed()
    finally:
        release.set()
        _stop(server, thread)


def test_an_engine_that_fails_to_start_shows_its_error(browser, tmp_path):
    from extractinator.errors import ModelError

    workdir = make_workdir(tmp_path / "work")

    def broken(config):
        raise ModelError("/tmp/model.bin: not a GGUF model file")

    base, server, thread = _studio(workdir, broken)
    d = browser
    try:
        d.get(f"{base}/run")
        Select(d.find_element(By.ID, "run-task")).select_by_value("radiology_task.yaml")
        Select(d.find_element(By.ID, "run-data")).select_by_value("radiology_reports.csv")
        d.find_element(By.ID, "start-run").click()
        wait(d, text_in((By.ID, "progress-error"), "not a GGUF model file"))
        wait(d, text_in((By.ID, "runs-table"), "not a GGUF model file"))
        assert d.find_element(By.ID, "progress-panel").get_attribute("data-status") == "failed"
    finally:
        _stop(server, thread)


@pytest.mark.model
def test_a_first_run_with_the_embedded_model_from_a_fresh_studio(browser, tmp_path, shots):
    """No engine handed in: the studio loads the default embedded model itself."""
    workdir = make_workdir(tmp_path / "work")
    base, server, thread = _studio(workdir)
    d = browser
    try:
        d.get(f"{base}/run")
        Select(d.find_element(By.ID, "run-task")).select_by_value("radiology_task.yaml")
        Select(d.find_element(By.ID, "run-data")).select_by_value("radiology_reports.csv")
        d.find_element(By.ID, "run-limit").send_keys("2")
        d.find_element(By.ID, "run-outdir").send_keys("runs/embedded")
        d.find_element(By.ID, "start-run").click()
        wait(d, text_in((By.ID, "progress-text"), "loading model"))
        manifest = workdir / "runs" / "embedded" / "manifest.json"
        assert json.loads(manifest.read_text())["status"] in ("loading model", "running")
        panel = (By.ID, "progress-panel")
        wait(d, lambda drv: drv.find_element(*panel).get_attribute("data-status") == "running", 300)
        wait(
            d, lambda drv: drv.find_element(*panel).get_attribute("data-status") == "finished", 600
        )
        assert "2 of 2 cases" in d.find_element(By.ID, "progress-text").text
        assert json.loads(manifest.read_text())["status"] == "finished"
    finally:
        _stop(server, thread)


SPANS_TASK = """name: findings
description: Mark every finding.
input: text
id: id
fields:
  findings: {type: spans, labels: [FINDING], layout: list}
  size_mm: {type: number, nullable: true, unit: mm}
"""


def _spans_reply(request) -> str:
    text = request.messages[-1].content
    found = [t for t in ("nodus van 8 mm", "longnodus links", "metoprolol") if t in text.lower()]
    return json.dumps(
        {
            "findings": [{"text": t, "label": "FINDING"} for t in found],
            "size_mm": 8 if "8 mm" in text else None,  # a number the report writes
        }
    )


def test_documents_uploaded_run_and_highlighted(browser, tmp_path, shots):
    pytest.importorskip("pypdf")
    pytest.importorskip("docx")
    from document_fixtures import write_docx, write_scanned_pdf, write_text_pdf

    ocr = (
        shutil.which("tesseract")
        and shutil.which("pdftoppm")
        and importlib.util.find_spec("pytesseract")
    )
    workdir = make_workdir(tmp_path / "work")
    (workdir / "findings.yaml").write_text(SPANS_TASK, encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    files = [
        write_text_pdf(
            src / "ct1.pdf", [["CT thorax."], ["Solide nodus van 8 mm rechts.", "Metoprolol."]]
        ),
        write_docx(src / "brief2.docx", ["Geachte collega,", "Patiënt gebruikt metoprolol."]),
    ]
    if ocr:
        files.append(write_scanned_pdf(src / "scan3.pdf", ["Conclusie: longnodus links."]))
    factory = lambda config: FakeEngine(_spans_reply)  # noqa: E731
    base, server, thread = _studio(workdir, factory)
    d = browser
    try:
        d.get(f"{base}/data")
        d.find_element(By.ID, "upload-folder").clear()
        d.find_element(By.ID, "upload-folder").send_keys("verslagen")
        d.find_element(By.ID, "upload-documents-files").send_keys("\n".join(str(f) for f in files))
        d.find_element(By.CSS_SELECTOR, "#upload-documents button[type=submit]").click()
        wait(d, EC.url_contains("/data?path=uploads/verslagen/"))
        table = d.find_element(By.CSS_SELECTOR, ".preview-table").text
        assert "nodus van 8 mm" in table and "brief2" in table
        snap(d, shots, "documents")
        d.find_element(By.ID, "use-data").click()
        wait(d, EC.url_contains("/run?"))
        Select(d.find_element(By.ID, "run-task")).select_by_value("findings.yaml")
        d.find_element(By.ID, "run-outdir").send_keys("runs/docs")
        d.find_element(By.ID, "start-run").click()
        panel = (By.ID, "progress-panel")
        wait(
            d, lambda drv: drv.find_element(*panel).get_attribute("data-status") == "finished", 120
        )
        d.get(f"{base}/results/case?run=runs/docs&id=ct1")
        marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, ".report-text mark.span")]
        assert [m.lower() for m in marks] == ["nodus van 8 mm", "metoprolol"]
        assert d.find_elements(By.CSS_SELECTOR, ".report-text .page-start[data-page='2']")
        assert "8 mm" in d.find_element(By.CSS_SELECTOR, "table.fields").text
        snap(d, shots, "case_document")
        if ocr:
            d.get(f"{base}/results/case?run=runs/docs&id=scan3")
            marks = [
                m.text.lower() for m in d.find_elements(By.CSS_SELECTOR, ".report-text mark.span")
            ]
            assert marks == ["longnodus links"]
    finally:
        _stop(server, thread)


def test_labels_upload_and_confusion_cells_in_the_browser(browser, tmp_path, shots):
    workdir = make_workdir(tmp_path / "work")
    labels = tmp_path / "truth.csv"
    labels.write_text(
        (workdir / "radiology_reports.csv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    base, server, thread = _studio(workdir)
    d = browser
    try:
        d.get(f"{base}/evaluate?run=runs/radiology")
        d.find_element(By.ID, "labels-file").send_keys(str(labels))
        d.find_element(By.ID, "labels-upload-btn").click()
        wait(d, EC.url_contains("labels=uploads%2Ftruth.csv"))
        d.find_element(By.ID, "eval-prefix").send_keys("expected_")
        d.find_element(By.ID, "eval-go").click()
        wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".confusion-matrix a")))
        cell = d.find_element(By.CSS_SELECTOR, ".confusion-matrix td.off a")
        n = int(cell.text)
        cell.click()
        wait(d, EC.presence_of_element_located((By.ID, "cell-filter")))
        assert len(d.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")) == n
        d.get(
            f"{base}/results?run=runs/radiology&labels=uploads/truth.csv&prefix=expected_&mismatch=1"
        )
        assert d.find_elements(By.CSS_SELECTOR, "td.value.wrong .expected")
        snap(d, shots, "results_compare")
        # uploading the same name again asks first; declining keeps the file
        d.get(f"{base}/evaluate?run=runs/radiology")
        d.find_element(By.ID, "labels-file").send_keys(str(labels))
        d.find_element(By.ID, "labels-upload-btn").click()
        wait(d, EC.alert_is_present())
        alert = d.switch_to.alert
        assert "exists already" in alert.text
        alert.dismiss()
        wait(d, text_in((By.ID, "labels-upload-status"), "not uploaded"))
    finally:
        _stop(server, thread)


def test_save_as_follows_the_task_name_and_asks_before_overwriting(browser, tmp_path):
    workdir = make_workdir(tmp_path / "work")
    base, server, thread = _studio(workdir)
    d = browser
    try:
        d.get(f"{base}/tasks")
        wait(d, text_in((By.ID, "valid-state"), "valid task"))
        name = d.find_element(By.ID, "t-name")
        name.clear()
        name.send_keys("ct findings")
        assert d.find_element(By.ID, "save-path").get_attribute("value") == "tasks/ct_findings.yaml"
        wait(d, text_in((By.ID, "valid-state"), "valid task"))
        d.find_element(By.ID, "save-btn").click()
        wait(d, text_in((By.ID, "save-status"), "saved tasks/ct_findings.yaml"))
        d.find_element(By.ID, "t-description").send_keys(" Second version.")
        d.find_element(By.ID, "save-btn").click()
        wait(d, EC.alert_is_present())
        alert = d.switch_to.alert
        assert "tasks/ct_findings.yaml exists already" in alert.text
        alert.dismiss()
        wait(d, text_in((By.ID, "save-status"), "not saved"))
        assert "Second version" not in (workdir / "tasks" / "ct_findings.yaml").read_text()
        d.find_element(By.ID, "save-btn").click()
        wait(d, EC.alert_is_present())
        d.switch_to.alert.accept()
        wait(d, text_in((By.ID, "save-status"), "saved tasks/ct_findings.yaml"))
        assert "Second version" in (workdir / "tasks" / "ct_findings.yaml").read_text()
    finally:
        _stop(server, thread)
