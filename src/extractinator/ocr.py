"""OCR of scanned pages for :mod:`extractinator.documents`: Tesseract through pytesseract
(images, and PDF pages rendered by poppler's pdftoppm through pdf2image), Dutch and English
by default (``$EXTRACTINATOR_OCR_LANG``). A missing program, package or language is a
one-line DataError saying what to install."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from .errors import DataError

OCR_LANG_ENV = "EXTRACTINATOR_OCR_LANG"
DEFAULT_OCR_LANG = "nld+eng"
OCR_DPI = 300
EXTRA_HINT = 'pip install "extractinator[documents]"'
OCR_HINT = (
    "install Tesseract with Dutch and English data (Debian/Ubuntu: apt-get install "
    "tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng poppler-utils) and " + EXTRA_HINT
)


def ocr_languages() -> str:
    """Tesseract's language(s): $EXTRACTINATOR_OCR_LANG, default Dutch + English."""
    return os.environ.get(OCR_LANG_ENV, "").strip() or DEFAULT_OCR_LANG


def _pytesseract(path: Path) -> Any:
    try:
        import pytesseract
    except ImportError:
        raise DataError(f"{path}: OCR needs pytesseract: {OCR_HINT}") from None
    return pytesseract


def _ocr(pytesseract: Any, image: Any, lang: str, path: Path) -> str:
    _check_tesseract(pytesseract, lang, path)
    try:
        text: str = pytesseract.image_to_string(image, lang=lang)
    except pytesseract.TesseractError as e:
        lines = str(e).strip().splitlines() or [type(e).__name__]
        raise DataError(f"{path}: OCR failed ({lines[-1]})") from None
    return re.sub(r"[ \t]+\n", "\n", text).strip()


@functools.lru_cache(maxsize=8)
def _tesseract_languages(cmd: str) -> frozenset[str] | None:
    import pytesseract

    try:
        return frozenset(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError:
        return None


def _check_tesseract(pytesseract: Any, lang: str, path: Path) -> None:
    available = _tesseract_languages(str(pytesseract.pytesseract.tesseract_cmd))
    if available is None:
        raise DataError(
            f"{path}: OCR needs the tesseract program, which is not installed: {OCR_HINT}"
        )
    missing = [code for code in lang.split("+") if code not in available]
    if missing:
        raise DataError(
            f"{path}: Tesseract has no language data for {', '.join(missing)} "
            f"(installed: {', '.join(sorted(available)) or 'none'}): "
            f"apt-get install {' '.join('tesseract-ocr-' + m for m in missing)}, "
            f"or set {OCR_LANG_ENV}"
        )


def image_pages(path: Path, lang: str) -> list[tuple[str, bool]]:
    pytesseract = _pytesseract(path)
    try:
        from PIL import Image, ImageSequence, UnidentifiedImageError
    except ImportError:
        raise DataError(f"{path}: OCR needs Pillow: {EXTRA_HINT}") from None
    try:
        with Image.open(path) as image:
            frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable image ({type(e).__name__}: {e})") from None
    return [(_ocr(pytesseract, frame, lang, path), True) for frame in frames]


def ocr_pdf_page(path: Path, number: int, lang: str) -> str:
    pytesseract = _pytesseract(path)
    try:
        from pdf2image import convert_from_path
        from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError
    except ImportError:
        raise DataError(
            f"{path}: page {number} is scanned; OCR needs pdf2image: {OCR_HINT}"
        ) from None
    try:
        images = convert_from_path(path, dpi=OCR_DPI, first_page=number, last_page=number)
    except PDFInfoNotInstalledError:
        raise DataError(
            f"{path}: page {number} is scanned; rendering it needs poppler's pdftoppm: {OCR_HINT}"
        ) from None
    except PDFPageCountError as e:
        raise DataError(f"{path}: page {number} cannot be rendered for OCR ({e})") from None
    return "\n".join(_ocr(pytesseract, image, lang, path) for image in images)
