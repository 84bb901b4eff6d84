"""A finding the task says does not count. Task descriptions name what to leave out
("Only count nodules in the lungs; calcified granulomas do not count"), and a small model
still copies "Meerdere verkalkte granulomen in beide bovenkwabben (tot 7 mm)" as the
largest nodule. So an amount is re-asked with the reason, then null, where the report
writes it only right after such a finding:

- what does not count is the word right before "do not count" / "does not count" / "are
  not counted" in the field's description, its lists' or the task's ("granulomas"), of six
  letters or more, and not a word of the field's name or description (a task whose
  "non-target lesions do not count" still asks for the target lesions' sizes); a bracket
  or a quote before the words ("(lymph nodes, cysts) do not count") is left alone;
- the report names it as ``field_names.same_word`` says ("granulomen" for "granulomas")
  in the clause before the amount: from the last comma, semicolon, full stop, line end or
  "en"/"and" ("Verkalkt granuloom RBK en een solide nodus van 6 mm" is the nodule's).

When the re-asks are used up, a list entry holding such an amount is left out (it is that
finding: ``reading.drop_unreadable_entries``); a top-level field becomes null.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .amounts import OtherFindingsAmount, places_of
from .field_names import WORD, field_labels, same_word, words_of
from .task.spec import FieldSpec

__all__ = ["check_not_excluded", "not_counted"]

_DOES_NOT_COUNT = re.compile(
    r"([^\W\d_]+)\s+(?:(?:do|does|did)\s+not\s+count|(?:are|is)\s+not\s+counted)\b",
    re.IGNORECASE,
)
_CLAUSE_START = re.compile(r"[,;]\s|\.\s|\n|\s(?:en|and|maar|but)\s", re.IGNORECASE)
_MIN_LETTERS = 6


def not_counted(path: str, spec: FieldSpec, descriptions: Iterable[str | None]) -> set[str]:
    """The words for what does not count, from ``descriptions`` (the field's, its lists',
    the task's), less the field's own words (see the module docstring)."""
    own = field_labels(path, spec) | set(words_of(spec.description or ""))
    found = set()
    for description in descriptions:
        for m in _DOES_NOT_COUNT.finditer(description or ""):
            word = m.group(1).lower()
            if len(word) >= _MIN_LETTERS and not any(same_word(word, w) for w in own):
                found.add(word)
    return found


def _named_before(text: str, start: int, words: set[str]) -> str | None:
    """The word of ``words`` the clause before position ``start`` names, as the report
    writes it; None where it names none."""
    cuts = [m.end() for m in _CLAUSE_START.finditer(text, 0, start)]
    clause = text[cuts[-1] if cuts else 0 : start]
    for m in WORD.finditer(clause):
        if any(same_word(m.group(), w) for w in words):
            return m.group()
    return None


def check_not_excluded(
    words: set[str], spec: FieldSpec, numbers: list[float], text: str, shown: str
) -> None:
    """Raise the re-ask when the amount read as ``numbers`` stands in the report only right
    after a finding of ``words``, which the task says does not count."""
    if not words or not text or not numbers:
        return
    places = places_of(numbers, spec.unit or "", text)
    named = [_named_before(text, place.span[0], words) for place in places]
    if not places or any(word is None for word in named):
        return
    raise OtherFindingsAmount(
        f'{shown!r} is written about "{named[0]}", which the task says does not count: '
        "give the amount this field asks for as the report writes it, or null"
    )
