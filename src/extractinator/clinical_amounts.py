"""An amount about this examination written only in the clinical information. Reports open
with what the requester wrote ("Klinisch: verdachte laesie mamma rechts, 1,7 cm op echo"),
and a small model copies that size as "the largest diameter of the invasive tumour in the
specimen" of a biopsy that measured none; told so in a second look, it kept the size (3 of
3 on the held-out dev half). So when a field's description, a list's around it or the
task's ties it to this examination ("this scan", "this examination", "specimen",
"the current examination", "the follow-up the report advises now", "dit onderzoek", "het
preparaat") and its amount is written only in the clinical information, it is re-asked
with the reason, then null (an earlier report's advice, "Op de MRI van 2022 werd een
herhaling na 2 jaar geadviseerd", is not the advice of this one).

The clinical information is a section under a heading such as "Klinische gegevens",
"Klinisch", "Kl.", "Kliniek", "Indicatie", "Vraagstelling", "Anamnese", "Clinical
information" or "Indication", and so is the earlier examination the report is compared with
("Vergelijking: onderzoek 8 maanden geleden, toen 13 mm", "Comparison"): the rest of the
heading's line, or, for a heading alone on its line (with or without a colon), the lines up
to the next blank line or heading.

An earlier examination's amount in the findings themselves ("voorheen 3,2 cm", "Destijds
ongeveer een centimeter") is told by a word for earlier in its clause with no word for now
after it (``is_earlier``): the hints for missed and larger sizes skip it.
"""

from __future__ import annotations

import re

from .amounts import AmountError, ParsedAmount, places_of
from .task.spec import FieldSpec

__all__ = [
    "check_not_clinical_information",
    "clause_before",
    "clinical_sections",
    "is_about_this_examination",
    "is_earlier",
]

_HEADING = re.compile(
    r"^[ \t]*(?:klinische\s+(?:gegevens|informatie|vraagstelling)|kl\.?\s*gegevens|klinisch|kl\.?"
    r"|kliniek|indicatie|vraagstelling|anamnese|clinical\s+(?:information|details|history)"
    r"|indication|history|vergelijking|comparison)"
    r"[ \t]*(?::|(?=\r?\n))",  # a heading alone on its line needs no colon
    re.IGNORECASE | re.MULTILINE,
)
_ANY_HEADING = re.compile(r"^[ \t]*[^\W\d_][\w .()/-]{0,40}:", re.MULTILINE)
_THIS_EXAMINATION = re.compile(
    r"\bthis (?:scan|examination|exam|study|film)\b|\bspecimens?\b"
    r"|\bcurrent (?:scan|examination|exam|study|film)\b|\bthe examination described\b"
    r"|\b(?:advises|advised|recommends|recommended) now\b"
    r"|\bdit onderzoek\b|\bhet preparaat\b|\bhuidige onderzoek\b",
    re.IGNORECASE,
)


def is_about_this_examination(spec: FieldSpec, around: tuple[str | None, ...] = ()) -> bool:
    """Whether the field's description, or one of ``around`` (the descriptions of the lists
    around it and the task's), ties it to this examination."""
    return any(_THIS_EXAMINATION.search(d or "") for d in (spec.description, *around))


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


def check_not_clinical_information(
    spec: FieldSpec, read: ParsedAmount, text: str, shown: str, around: tuple[str | None, ...] = ()
) -> None:
    """Raise the re-ask when the amount ``read`` of a field about this examination stands
    in the report only in the clinical information."""
    if not text or not is_about_this_examination(spec, around):
        return
    places = places_of(read.numbers, spec.unit or "", text)
    sections = clinical_sections(text)
    inside = [next(((s, e) for s, e in sections if s <= a.span[0] < e), None) for a in places]
    if not places or any(section is None for section in inside):
        return
    quote = _sentence(text, places[0].span[0], inside[0])  # type: ignore[arg-type]
    raise AmountError(
        f'{shown!r} is written only in the clinical information ("{quote}"), before this '
        "examination: give what this report itself finds, as written, or null"
    )


def _sentence(text: str, at: int, section: tuple[int, int]) -> str:
    """The sentence of the section that holds position ``at``, on one line."""
    start, end = section
    before = max(text.rfind(". ", start, at), text.rfind("\n", start, at))
    after = [i for i in (text.find(". ", at, end), text.find("\n", at, end)) if i >= 0]
    begin = start if before < 0 else before + 1
    return " ".join(text[begin : min(after) + 1 if after else end].split())


_EARLIER = re.compile(
    r"\b(?:voorheen|eerder|destijds|toen|vorige?|previous(?:ly)?|prior)\b", re.IGNORECASE
)
# a word for now after the word for earlier ("Destijds een centimeter, thans anderhalve")
_NOW = re.compile(r"\b(?:thans|nu|momenteel|inmiddels|now|currently)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[.;\n]")


def is_earlier(text: str, begin: int) -> bool:
    """Whether the amount at ``begin`` is an earlier examination's: its clause before it
    has a word for earlier ("voorheen", "destijds") and no word for now after that one
    ("Destijds ongeveer een centimeter, thans anderhalve centimeter": the second is now)."""
    clause = clause_before(text, begin)
    earlier = [m.end() for m in _EARLIER.finditer(clause)]
    return bool(earlier) and not any(m.start() >= earlier[-1] for m in _NOW.finditer(clause))


def clause_before(text: str, begin: int, reach: int = 60) -> str:
    """The words before position ``begin`` in its clause (after the last full stop,
    semicolon or line end), at most ``reach`` characters, from a word's start."""
    start = max(0, begin - reach)
    cut = [m.end() for m in _CLAUSE.finditer(text, start, begin)]
    if cut:
        start = cut[-1]
    elif start > 0:
        space = text.find(" ", start, begin)
        start = space + 1 if space >= 0 else start
    return text[start:begin]
