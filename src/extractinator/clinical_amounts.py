"""An amount copied from the clinical information where the field asks about this
examination. Reports open with what the requester wrote ("Klinisch: verdachte laesie
mamma rechts, 1,7 cm op echo"), and a small model copies that size for "the largest
diameter of the invasive tumour in the specimen" of a biopsy that measured none. When a
field's description ties it to this examination ("this scan", "this examination", "the
specimen", "dit onderzoek", "het preparaat") and its amount was copied from the clinical
information, the model is told so once, and its second answer stands.

The clinical information is a section under a heading such as "Klinische gegevens",
"Klinisch", "Kl.", "Indicatie", "Vraagstelling", "Anamnese", "Clinical information" or
"Indication": the rest of the heading's line, or, for a heading alone on its line, the
lines up to the next blank line or heading.
"""

from __future__ import annotations

import re
from typing import Any

from .records import AmountReading
from .task.spec import Task

__all__ = ["clinical_amount_doubts", "clinical_sections"]

_HEADING = re.compile(
    r"^[ \t]*(?:klinische\s+(?:gegevens|informatie|vraagstelling)|kl\.?\s*gegevens|klinisch|kl\.?"
    r"|indicatie|vraagstelling|anamnese|clinical\s+(?:information|details|history)"
    r"|indication|history)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_ANY_HEADING = re.compile(r"^[ \t]*[^\W\d_][\w .()/-]{0,40}:", re.MULTILINE)
_THIS_EXAMINATION = re.compile(
    r"\bthis (?:scan|examination|exam|study|specimen)\b|\bthe specimen\b"
    r"|\bcurrent (?:scan|examination|exam|study)\b|\bdit onderzoek\b|\bhet preparaat\b"
    r"|\bhuidige onderzoek\b",
    re.IGNORECASE,
)


def clinical_sections(text: str) -> list[tuple[int, int]]:
    """Where the clinical information is in ``text`` (see the module docstring)."""
    sections = []
    for m in _HEADING.finditer(text):
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        if text[m.end() : line_end].strip():
            sections.append((m.end(), line_end))
            continue
        end = len(text)
        blank = re.search(r"\n[ \t]*\n", text[line_end:])
        if blank:
            end = line_end + blank.start()
        heading = _ANY_HEADING.search(text, line_end + 1)
        if heading and heading.start() < end:
            end = heading.start()
        sections.append((m.end(), end))
    return sections


def clinical_amount_doubts(
    task: Task, output: dict[str, Any], text: str, readings: dict[str, AmountReading]
) -> list[str]:
    """One line per top-level amount field about this examination whose amount was copied
    from the clinical information (see the module docstring)."""
    doubts = []
    sections = None
    for name, spec in task.answer_fields().items():
        reading = readings.get(name)
        if (
            not spec.is_amount
            or output.get(name) is None
            or reading is None
            or reading.start is None
            or not _THIS_EXAMINATION.search(spec.description or "")
        ):
            continue
        sections = clinical_sections(text) if sections is None else sections
        inside = next(((s, e) for s, e in sections if s <= reading.start < e), None)
        if inside is None:
            continue
        quote = _sentence(text, reading.start, inside)
        doubts.append(
            f'"{name}" is "{reading.text}", copied from the clinical information ("{quote}"), '
            "which was written before this examination. If the report's own findings give "
            f'what "{name}" asks for, give that as written; if they give none, answer null.'
        )
    return doubts


def _sentence(text: str, at: int, section: tuple[int, int]) -> str:
    """The sentence of the section that holds position ``at``, on one line."""
    start, end = section
    before = max(text.rfind(". ", start, at), text.rfind("\n", start, at))
    after = [i for i in (text.find(". ", at, end), text.find("\n", at, end)) if i >= 0]
    begin = start if before < 0 else before + 1
    return " ".join(text[begin : min(after) + 1 if after else end].split())
