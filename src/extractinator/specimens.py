"""The specimen is not the finding. Pathology reports give the size of what was removed
before the tumour in it ("Lumpectomie rechts, 62 g, 7,0 x 5,5 x 3,5 cm", "ablatiopreparaat
20 x 16 x 4,5 cm", "materiaal in vijf fragmenten, samen 6 x 5 x 3 cm"), and a small model
copies the specimen's size as the tumour's. An amount copied for a size field about a
finding (its description names a tumour, lesion, nodule, focus or mass) that the report
writes only as a specimen's size (the words from the start of its sentence or line to it
name a specimen and no finding) is re-asked with the reason, then null."""

from __future__ import annotations

import re

from .amounts import AmountError, ParsedAmount, places_of
from .distances import is_size_field
from .task.spec import FieldSpec

__all__ = ["check_not_the_specimen", "is_specimen_size"]

_SPECIMEN = re.compile(
    r"\w*(?:preparaat|ectomie|ectomy|resectaat|resectie|resection|excisie|excision|specimen"
    r"|ablatio|materiaal|fragment)\w*",
    re.IGNORECASE,
)
_FINDING = re.compile(
    r"\b(?:tumou?r\w*|laesie\w*|lesion\w*|haard\w*|focus|foci|carcino\w*|massa|mass|nod\w*"
    r"|knobbel\w*|verharding\w*|gezwel\w*|infiltra\w*|poliep\w*|polyp\w*|ulcus|afwijking\w*)",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"(?:[.;:]\s|\n)(?!.*(?:[.;:]\s|\n))", re.DOTALL)


def is_specimen_size(text: str, amount: ParsedAmount) -> bool:
    """Whether ``amount`` (found in ``text``) is the size of the specimen: the words before
    it in its sentence name a specimen and no finding."""
    before = text[: amount.span[0]]
    m = _SENTENCE_START.search(before)
    words = before[m.start() : amount.span[0]] if m else before
    return bool(_SPECIMEN.search(words)) and not _FINDING.search(words)


def check_not_the_specimen(spec: FieldSpec, read: ParsedAmount, text: str, shown: str) -> None:
    """Raise the re-ask when the size of a finding, read as ``read`` (its numbers), stands in
    the report only as a specimen's size."""
    if not text or not is_size_field(spec) or not _FINDING.search(spec.description or ""):
        return
    places = places_of(read.numbers, spec.unit or "", text)
    if places and all(is_specimen_size(text, a) for a in places):
        start, end = places[0].span
        raise AmountError(
            f"{shown!r} is the size of the specimen in the report "
            f'("{_sentence_to(text, end)}"), not of the finding this field asks for: give '
            "that size as the report writes it, or null"
        )


def _sentence_to(text: str, end: int) -> str:
    before = text[:end]
    m = _SENTENCE_START.search(before)
    return " ".join((before[m.end() :] if m else before).split())
