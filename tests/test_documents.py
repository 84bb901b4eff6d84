"""Folders of documents as data (PDF text layer, DOCX, HTML, text, scanned PDFs and images
through Tesseract): one case per file, id from the file name, pages with their offsets, and
span offsets that point into the extracted text. Every document is made by the test."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

pytest.importorskip("pypdf", reason="needs the documents extra (pip install -e '.[dev]')")
pytest.importorskip("docx", reason="needs the documents extra (pip install -e '.[dev]')")

from click.testing import CliRunner

from extractinator import documents
from extractinator.cli import main
from extractinator.data import DOCUMENT, count_rows, data_columns, read_cases, read_rows
from extractinator.errors import DataError
from extractinator.runner import run_task
from extractinator.task import Task

from document_fixtures import write_docx, write_scan_png, write_scanned_pdf, write_text_pdf
from fakes import FakeEngine

OCR = (
    shutil.which("tesseract") is not None
    and shutil.which("pdftoppm") is not None
    and all(importlib.util.find_spec(m) for m in ("pytesseract", "pdf2image", "PIL"))
)
needs_ocr = pytest.mark.skipif(
    not OCR,
    reason="needs tesseract-ocr (+ nld, eng) and poppler-utils "
    "(scripts/install_system_packages.sh)",
)
PAGE1 = ["CT thorax van 12-03-2024.", "Solide nodus van 8 mm in de rechter bovenkwab."]
PAGE2 = ["Conclusie: nodus rechts, controle over 6 maanden.", "Patiënt gebruikt metoprolol."]


@pytest.fixture
def folder(tmp_path):
    """A folder with one document of each kind that needs no OCR."""
    root = tmp_path / "reports"
    root.mkdir()
    write_text_pdf(root / "a_pdf.pdf", [PAGE1, PAGE2])
    write_docx(
        root / "b_docx.docx",
        ["Echo abdomen.", "Lever normaal van grootte."],
        table=[["orgaan", "grootte"], ["milt", "11 cm"]],
    )
    (root / "c_html.html").write_text(
        "<html><head><title>x</title><style>p{color:red}</style></head><body>"
        "<h1>Brief</h1><p>Geachte collega,</p><script>alert('x')</script>"
        "<p>patiënt  gebruikt\n aspirine&nbsp;80 mg.</p>"
        "<ul><li>een</li><li>twee</li></ul></body></html>",
        encoding="utf-8",
    )
    (root / "d_text.txt").write_text("Regel een.\nRegel twee.\n", encoding="utf-8")
    (root / ".hidden.txt").write_text("not read", encoding="utf-8")
    (root / "notes.xyz").write_text("not a document", encoding="utf-8")
    return root


def test_a_folder_reads_as_rows_of_id_and_text(folder):
    assert data_columns(folder) == ["id", "text", "file"]
    assert count_rows(folder) == 4 and count_rows(folder, limit=2) == 2
    cases = list(read_cases(folder, input="text", id="id"))
    assert [c.id for c in cases] == ["a_pdf", "b_docx", "c_html", "d_text"]
    assert [c.row for c in cases] == [0, 1, 2, 3]
    pdf, docx_case, html, text = cases
    assert "Solide nodus van 8 mm in de rechter bovenkwab." in pdf.text
    assert "Patiënt gebruikt metoprolol." in pdf.text  # cp1252 text in the PDF
    assert docx_case.text.splitlines() == [
        "Echo abdomen.",
        "Lever normaal van grootte.",
        "orgaan | grootte",
        "milt | 11 cm",
    ]
    assert html.text == (
        "Brief\n\nGeachte collega,\n\npatiënt gebruikt aspirine 80 mg.\n\neen\n\ntwee"
    )  # title, style and script left out; whitespace collapsed as a browser shows it
    assert "alert" not in html.text and "color:red" not in html.text
    assert text.text == "Regel een.\nRegel twee."
    rows = list(read_rows(folder, ["id", "file"]))
    values = rows[0][2]
    assert {k: values[k] for k in data_columns(folder)} == {
        "id": "a_pdf",
        "text": pdf.text,
        "file": "a_pdf.pdf",
    }
    assert values[DOCUMENT]["pages"] == pdf.extra["document"]["pages"]  # not a column


def test_pages_keep_their_offsets_in_the_text(folder):
    (pdf,) = read_cases(folder, input="text", id=None, limit=1)
    doc = pdf.extra["document"]
    assert doc["file"] == "a_pdf.pdf" and doc["reader"] == "pypdf"
    first, second = doc["pages"]
    assert (first["page"], second["page"]) == (1, 2)
    assert first["start"] == 0 and not first["ocr"]
    assert pdf.text[first["start"] : first["end"]].startswith("CT thorax")
    assert pdf.text[second["start"] : second["end"]].startswith("Conclusie")
    assert pdf.text[first["end"] : second["start"]] == documents.PAGE_SEPARATOR


def test_document_errors_are_one_line(folder, tmp_path):
    with pytest.raises(DataError, match="no column 'report'.*columns id, text, file"):
        read_cases(folder, input="report", id="id")
    (folder / "a_pdf.txt").write_text("same id", encoding="utf-8")
    with pytest.raises(DataError, match="a_pdf.pdf and a_pdf.txt have the same id 'a_pdf'"):
        list(read_cases(folder, input="text"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no documents in the folder"):
        read_cases(empty, input="text")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    with pytest.raises(DataError, match=r"broken.pdf: not a readable PDF") as err:
        list(read_cases(bad, input="text"))
    assert "\n" not in str(err.value)
    (bad / "broken.pdf").unlink()
    (bad / "broken.docx").write_bytes(b"PK not a zip")
    with pytest.raises(DataError, match=r"broken.docx: not a readable DOCX file"):
        list(read_cases(bad, input="text"))


def test_html_text_leaves_out_scripts_and_keeps_blocks():
    html = "<div>a<br>b</div><pre>  x\n  y</pre><table><tr><td>k</td><td>v</td></tr></table>"
    assert documents.html_text(html).splitlines() == ["a", "b", "", "  x", "  y", "", "k | v"]


def test_missing_tesseract_is_one_clear_line(tmp_path, monkeypatch):
    pytesseract = pytest.importorskip("pytesseract")
    pytest.importorskip("PIL")
    folder = tmp_path / "scans"
    folder.mkdir()
    write_scan_png(folder / "scan.png", ["Nodus 8 mm"])
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    documents._read_cached.cache_clear()
    with pytest.raises(DataError) as err:
        list(read_cases(folder, input="text"))
    message = str(err.value)
    assert "scan.png: OCR needs the tesseract program" in message
    assert "tesseract-ocr-nld" in message and "\n" not in message
    documents._read_cached.cache_clear()


@needs_ocr
def test_missing_language_data_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "scans"
    folder.mkdir()
    write_scan_png(folder / "scan.png", ["Nodus 8 mm"])
    monkeypatch.setenv(documents.OCR_LANG_ENV, "nld+xyz")
    with pytest.raises(DataError, match="no language data for xyz.*tesseract-ocr-xyz"):
        list(read_cases(folder, input="text"))


@needs_ocr
def test_scanned_pdf_and_image_are_read_by_ocr(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    write_scan_png(folder / "page.png", ["Solide nodus van 8 mm rechts.", "Geen pleuravocht."])
    write_scanned_pdf(folder / "scan.pdf", ["Conclusie: longnodus links."])
    write_text_pdf(folder / "typed.pdf", [PAGE1])
    cases = {c.id: c for c in read_cases(folder, input="text", id="id")}
    assert "nodus van 8 mm" in cases["page"].text.lower()
    assert "pleuravocht" in cases["page"].text.lower()
    assert cases["page"].extra["document"]["reader"] == "tesseract"
    assert "longnodus links" in cases["scan"].text.lower()
    scan = cases["scan"].extra["document"]
    assert scan["reader"] == "pypdf+tesseract" and scan["pages"][0]["ocr"] is True
    assert cases["typed"].extra["document"]["pages"][0]["ocr"] is False


SPANS_TASK = {
    "name": "findings",
    "description": "Mark the findings.",
    "input": "text",
    "id": "id",
    "fields": {
        "findings": {"type": "spans", "labels": ["FINDING"], "layout": "list"},
        "size_mm": {"type": "number", "nullable": True, "unit": "mm"},
    },
}


def _reply(request) -> str:
    text = request.messages[-1].content
    spans = [
        {"text": t, "label": "FINDING"}
        for t in ("nodus van 8 mm", "longnodus links", "milt")
        if t in text.lower()
    ]
    return json.dumps({"findings": spans, "size_mm": 8 if "8 mm" in text else None})


def _folder_with_scan(tmp_path, folder):
    if OCR:
        write_scanned_pdf(folder / "e_scan.pdf", ["Conclusie: longnodus links."])
    return folder


def test_run_on_a_folder_grounds_spans_in_the_extracted_text(folder, tmp_path):
    _folder_with_scan(tmp_path, folder)
    task = Task.model_validate(SPANS_TASK)
    out = tmp_path / "run"
    totals = run_task(task, folder, out, engine=FakeEngine(_reply))
    assert totals.failed == 0
    texts = {c.id: c.text for c in read_cases(folder, input="text", id="id")}
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert {r["id"] for r in records} == set(texts)
    grounded = 0
    for rec in records:
        assert rec["extra"]["document"]["file"].startswith(rec["id"] + ".")
        for span in rec["output"]["findings"]:
            assert span["alignment"] == "exact"
            assert texts[rec["id"]][span["start"] : span["end"]].lower() == span["text"].lower()
            grounded += 1
    assert grounded >= (3 if OCR else 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["rows"] == len(texts)


def test_cli_run_takes_a_folder(folder, tmp_path, monkeypatch):
    import extractinator.runner as runner

    monkeypatch.setattr(runner, "create_engine", lambda config: FakeEngine(_reply))
    task_file = tmp_path / "task.yaml"
    task_file.write_text(json.dumps(SPANS_TASK), encoding="utf-8")
    out = tmp_path / "cli_run"
    result = CliRunner().invoke(
        main, ["run", str(task_file), str(folder), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    lines = (out / "records.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["a_pdf", "b_docx", "c_html", "d_text"]
