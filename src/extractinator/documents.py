"""Folders of documents as data: one document a case (PDF, DOCX, HTML, plain text, images).

A folder given as DATA reads as a table with the columns ``id`` (the file name without its
extension), ``text`` and ``file`` (the file name), one row per document in name order, so a
task with ``input: text`` runs on a folder as on a table. Pages are joined with a blank line;
each case's ``extra["document"]`` keeps the file, the reader and, per page, its number and
character offsets in the text (``start``/``end``) and whether it was read by OCR, so spans
and evidence offsets point into the text shown.

Readers: pypdf (PDF text layer), python-docx (DOCX paragraphs and tables, in body order),
the standard library's HTML parser, and Tesseract through pytesseract for images and PDF
pages without a text layer (rendered by poppler's pdftoppm through pdf2image). They come
with ``pip install "extractinator[documents]"``; Tesseract and poppler are system packages
(Debian: tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng poppler-utils).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from .errors import DataError, DataWarning
from .ocr import EXTRA_HINT, OCR_LANG_ENV, image_pages, ocr_languages, ocr_pdf_page

__all__ = ["COLUMNS", "DOCUMENT_SUFFIXES", "OCR_LANG_ENV", "Document", "Page", "read_folder"]

TEXT_SUFFIXES = (".txt", ".text", ".md")
HTML_SUFFIXES = (".html", ".htm")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
DOCUMENT_SUFFIXES = (".pdf", ".docx", *HTML_SUFFIXES, *TEXT_SUFFIXES, *IMAGE_SUFFIXES)
COLUMNS = ("id", "text", "file")
DOCUMENT_KEY = "__document__"  # data.DOCUMENT: the pages of a document row
PAGE_SEPARATOR = "\n\n"
MIN_TEXT_CHARS = 10  # a PDF page with fewer non-space characters is read by OCR


@dataclass
class Page:
    """One page of a document: its number (1-based) and its span of the document's text."""

    page: int
    start: int
    end: int
    ocr: bool = False


@dataclass
class Document:
    id: str
    file: str
    text: str
    reader: str  # pypdf, python-docx, html, text, tesseract (and pypdf+tesseract)
    pages: list[Page] = field(default_factory=list)

    def extra(self) -> dict[str, Any]:
        """What a case (and its record's ``extra["document"]``) keeps of the document."""
        return {"file": self.file, "reader": self.reader, "pages": [asdict(p) for p in self.pages]}


def is_document(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in DOCUMENT_SUFFIXES


def document_files(folder: Path) -> list[Path]:
    """The documents directly in ``folder`` (hidden files skipped), in name order."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as e:
        raise DataError(f"{folder}: cannot list the folder ({e.strerror or e})") from None
    return [p for p in entries if not p.name.startswith(".") and is_document(p)]


def read_folder(folder: str | Path) -> Iterator[Document]:
    """The folder's documents, read one by one; a folder without any, or two files with
    the same id (``a.pdf`` and ``a.docx``), is an error naming them."""
    folder = Path(folder)
    files = document_files(folder)
    if not files:
        raise DataError(
            f"{folder}: no documents in the folder (supported: {', '.join(DOCUMENT_SUFFIXES)})"
        )
    seen: dict[str, str] = {}
    for path in files:
        if path.stem in seen:
            raise DataError(
                f"{folder}: {seen[path.stem]} and {path.name} have the same id {path.stem!r}"
            )
        seen[path.stem] = path.name
    return (read_document(path) for path in files)


def read_document(path: str | Path) -> Document:
    """One document's text and pages (a one-line DataError naming the file when it cannot
    be read). Results are cached per file version: the studio reads texts back often."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read the document ({e.strerror or e})") from None
    return _read_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size, ocr_languages())


@functools.lru_cache(maxsize=256)
def _read_cached(path_s: str, mtime_ns: int, size: int, lang: str) -> Document:
    path = Path(path_s)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        pages, reader = _pdf_pages(path, lang)
    elif suffix == ".docx":
        pages, reader = [_docx_text(path)], "python-docx"
    elif suffix in HTML_SUFFIXES:
        pages, reader = [html_text(_read_text(path))], "html"
    elif suffix in TEXT_SUFFIXES:
        pages, reader = [_read_text(path)], "text"
    elif suffix in IMAGE_SUFFIXES:
        pages, reader = image_pages(path, lang), "tesseract"
    else:
        raise DataError(f"{path}: not a supported document ({', '.join(DOCUMENT_SUFFIXES)})")
    return _assemble(path, pages, reader)


def _assemble(path: Path, pages: list[Any], reader: str) -> Document:
    """Join page texts (str, or (str, ocr) pairs) with blank lines, keeping offsets."""
    parts: list[str] = []
    spans: list[Page] = []
    cursor = 0
    for number, item in enumerate(pages, 1):
        text, ocr = item if isinstance(item, tuple) else (item, reader == "tesseract")
        text = text.strip("\n")
        if parts:
            parts.append(PAGE_SEPARATOR)
            cursor += len(PAGE_SEPARATOR)
        parts.append(text)
        spans.append(Page(number, cursor, cursor + len(text), ocr))
        cursor += len(text)
    return Document(id=path.stem, file=path.name, text="".join(parts), reader=reader, pages=spans)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        warnings.warn(
            f"{path}: not valid UTF-8 (byte 0x{raw[e.start]:02X} at offset {e.start}); "
            "read as cp1252 instead",
            DataWarning,
            stacklevel=2,
        )
        return raw.decode("cp1252", errors="replace")


def count_documents(folder: str | Path, limit: int | None = None) -> int:
    n = len(document_files(Path(folder)))
    return n if limit is None else min(n, limit)


def _check_columns(folder: Path, wanted: list[str]) -> None:
    for col in wanted:
        if col not in COLUMNS:
            raise DataError(
                f"{folder}: no column {col!r}: a folder of documents has the columns "
                f"{', '.join(COLUMNS)} (id: the file name without its extension)"
            )


def folder_rows(folder: str | Path, needed: list[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Rows as :func:`extractinator.data.read_rows` yields them: (row, where, values),
    one per document in name order; the values also carry the document's pages under
    ``DOCUMENT_KEY`` (the case keeps them when its input is the text)."""
    folder = Path(folder)
    _check_columns(folder, needed)
    for row, doc in enumerate(read_folder(folder)):
        values = {"id": doc.id, "text": doc.text, "file": doc.file, DOCUMENT_KEY: doc.extra()}
        yield row, f"file {doc.file}", values


# -- PDF -------------------------------------------------------------------------------


def _pdf_pages(path: Path, lang: str) -> tuple[list[tuple[str, bool]], str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        raise DataError(f"{path}: reading PDF needs pypdf: {EXTRA_HINT}") from None
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DataError(f"{path}: the PDF is password-protected")
        texts = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as e:
        raise DataError(f"{path}: not a readable PDF ({type(e).__name__}: {e})") from None
    pages: list[tuple[str, bool]] = []
    used_ocr = False
    for number, text in enumerate(texts, 1):
        if len("".join(text.split())) >= MIN_TEXT_CHARS:
            pages.append((text, False))
            continue
        pages.append((ocr_pdf_page(path, number, lang), True))  # a scanned page
        used_ocr = True
    return pages, "pypdf+tesseract" if used_ocr else "pypdf"


# -- DOCX and HTML ---------------------------------------------------------------------


def _docx_text(path: Path) -> str:
    try:
        import docx
        from docx.table import Table
    except ImportError:
        raise DataError(f"{path}: reading DOCX needs python-docx: {EXTRA_HINT}") from None
    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises zipfile/lxml/KeyError types for bad files
        raise DataError(f"{path}: not a readable DOCX file ({type(e).__name__}: {e})") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells))  # merged cells
                lines.append(" | ".join(c for c in cells if c))
        else:
            lines.append(block.text)
    return "\n".join(lines).strip()


_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_SKIPPED = frozenset({"script", "style", "head", "template", "noscript"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCKS:
            self.parts.append("\n")
        self._pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(self._skip - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "pre":
            self._pre = max(self._pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


def html_text(html: str) -> str:
    """The visible text of an HTML page: blocks on their own lines, scripts left out."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = []
    for line in "".join(parser.parts).split("\n"):
        line = line.rstrip()
        if line.startswith(" | ") or line.endswith(" |"):  # table cells
            line = line.strip(" |")
        elif line.startswith(" ") and not line.startswith("  "):  # collapsed whitespace
            line = line[1:]
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
