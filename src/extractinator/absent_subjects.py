"""An amount of something the report says is not there. A field asks for an amount of a
particular thing ("Largest diameter of the invasive tumour"); a report of a specimen with
only DCIS says "Geen invasief carcinoom", and a small model copies the DCIS's "2,2 cm"
for the invasive tumour. So an amount is re-asked with the reason, then null, where the
report denies what the field's description names:

- a word of the description that names what is measured: right after "the", "a", "of",
  "de", "het", "van" ("of the invasive tumour", "of invasive tumour cells"), of six letters
  or more and not a word for the measurement itself (``field_names.MEASURE_WORDS``: "the
  largest"); the report writes it as ``field_names.same_word`` says ("invasief",
  "invasieve" for "invasive");
- every time outside the clinical information (``clinical_amounts.clinical_sections``)
  within two words after a negation ("geen", "zonder", "niet", "no", "not", "without":
  "Geen invasief carcinoom", "ook geen micro-invasie"), and at least once there.

Only a word right after an article or "of" counts (the first word of a thing named): the
rest of a description names things a report may deny for one finding and give for another
("Time until the advised follow-up": "Levercyste, geen follow-up nodig. Galblaaspoliep:
controle-echo over 1 jaar"). On the held-out dev half, every word of six letters would
have denied 11 amounts, 2 wrongly; the first words denied 6, all rightly (no invasive
carcinoma: size, ER and PR null).
"""

from __future__ import annotations

import itertools
import re

from .amounts import AmountError
from .clinical_amounts import clinical_sections
from .field_names import MEASURE_WORDS, WORD, same_word, words_of
from .task.spec import FieldSpec

__all__ = ["check_not_denied", "denied"]

_NEGATION = {"geen", "zonder", "niet", "no", "not", "without"}
_REACH = 2  # words after a negation that it denies
_MIN_LETTERS = 6
_ARTICLES = {"the", "a", "an", "of", "de", "het", "een", "van", "der"}


def denied(spec: FieldSpec, text: str) -> str | None:
    """The report's words that deny a word of the field's description (see the module
    docstring), or None."""
    described = words_of(spec.description or "")
    wanted = {
        w
        for before, w in itertools.pairwise(described)
        if before in _ARTICLES and len(w) >= _MIN_LETTERS and w not in MEASURE_WORDS
    }
    if not wanted:
        return None
    sections = clinical_sections(text)
    words = [m for m in WORD.finditer(text) if not any(s <= m.start() < e for s, e in sections)]
    for label in sorted(wanted):
        places = [i for i, m in enumerate(words) if same_word(m.group(), label)]
        if not places:
            continue
        negations = [_negated_by(words, i) for i in places]
        if all(n is not None for n in negations):
            first = negations[0]
            assert first is not None
            return text[words[first].start() : words[places[0]].end()]
    return None


def _negated_by(words: list[re.Match[str]], i: int) -> int | None:
    """The index of the negation at most ``_REACH`` words before word ``i``, or None."""
    for j in range(max(0, i - _REACH), i):
        if words[j].group().lower() in _NEGATION:
            return j
    return None


def check_not_denied(spec: FieldSpec, text: str, shown: str) -> None:
    """Raise the re-ask when the report denies what the field measures."""
    if not text:
        return
    quote = denied(spec, text)
    if quote is not None:
        raise AmountError(
            f'{shown!r} cannot be what this field asks for: the report says "{quote}". Give null'
        )
