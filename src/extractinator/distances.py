"""A distance is not a size. Reports place a finding by its distance to a landmark ("Links
op 1 uur, 4 cm van de tepel, een laesie van 0,8 cm"; "op 6 mm van het snijvlak"), and a
small model copies that distance as the finding's size. An amount copied for a size field
(its description says "diameter", "size", "grootte" or "afmeting", and not "distance",
"afstand", "margin" or "marge") that the report writes only as a distance (followed by "van
de", "van het", "vanaf", "from the") is re-asked with the reason, then null."""

from __future__ import annotations

import re

from .amounts import AmountError, ParsedAmount, places_of
from .task.spec import FieldSpec

__all__ = ["check_not_a_distance", "is_distance", "is_size_field"]

_SIZE = re.compile(r"\b(?:diameter|size|grootte|afmeting|dimension)", re.IGNORECASE)
_DISTANCE = re.compile(r"\b(?:distance|afstand|margin|marge)", re.IGNORECASE)
_TO_LANDMARK = re.compile(r"\s*(?:van|vanaf|from)\s+(?:de|het|der|the)\b", re.IGNORECASE)


def is_size_field(spec: FieldSpec) -> bool:
    """Whether the field asks for a size (see the module docstring)."""
    description = spec.description or ""
    return bool(_SIZE.search(description)) and not _DISTANCE.search(description)


def is_distance(text: str, amount: ParsedAmount) -> bool:
    """Whether the report writes ``amount`` (found in ``text``) as a distance to a
    landmark ("4 cm van de tepel")."""
    return bool(_TO_LANDMARK.match(text, amount.span[1]))


def check_not_a_distance(spec: FieldSpec, read: ParsedAmount, text: str, shown: str) -> None:
    """Raise the re-ask when the size field's amount ``read`` (its numbers) stands in the
    report only as distances to a landmark."""
    if not text or not is_size_field(spec):
        return
    places = places_of(read.numbers, spec.unit or "", text)
    distances = [a for a in places if is_distance(text, a)]
    if places and len(distances) == len(places):
        start, end = distances[0].span
        quote = text[start : _TO_LANDMARK.match(text, end).end()]  # type: ignore[union-attr]
        raise AmountError(
            f'{shown!r} is a distance in the report ("{quote} ..."), not a size: give the '
            "size this field asks for as the report writes it, or null"
        )
