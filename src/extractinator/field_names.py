"""Where a report names a field: the words a report may name a field's amount by, whether
the words right before an amount in the report name it, and the re-ask for an amount the
report names as another field's.

A field's words are those of its name ("circumferential_margin_mm" -> circumferential,
margin) and of short brackets in its description ("Hemoglobin (Hb)" -> hb), less units.
Its *naming* words leave out the words for the measurement itself ("size", "distance",
"largest"), which name no particular thing. A report word names a field word when one is
the other's start and the shorter has at least four letters ("kreat", "kreatinine"), or
when both share their first six letters ("circumferentiële", "circumferential"; "prostaat",
"prostate"); a shorter field word must match exactly ("crm", "hb", "k").

A line's heading ("Circumferentieel resectievlak: vrij; ... 11 mm") names the amounts on
its line for the missed-amount hint (``heading_names``). The words before an amount are
those of its clause: the same sentence, after any number
before it, at most ``NAMED_REACH`` characters back ("kreat" in "CRP 212, kreat 165
umol/l"; "circumferentiële snijvlak" in "Kleinste afstand tot het circumferentiële
snijvlak 1,2 cm").
"""

from __future__ import annotations

import re

from .amounts import AmountError, amounts_in, normalise_unit
from .task.spec import FieldSpec, Task

__all__ = [
    "asks_most_recent",
    "MEASURE_WORDS",
    "check_not_named_for_another",
    "NAMED_REACH",
    "clause_before",
    "field_labels",
    "heading_names",
    "naming_words",
    "names",
    "same_word",
    "WORD",
    "words_of",
]

NAMED_REACH = 40  # characters before an amount in which its name is looked for
MEASURE_WORDS = {
    "size", "sizes", "diameter", "distance", "length", "width", "depth", "volume", "value",
    "level", "count", "number", "total", "amount", "largest", "smallest", "maximum",
    "minimum", "max", "min", "mean", "most", "recent", "latest", "first", "last",
}  # fmt: skip
WORD = re.compile(r"[^\W\d_]+")  # a word: letters only


def field_labels(path: str, spec: FieldSpec) -> set[str]:
    """The words a report may name a field's amount by: the words of its name
    ("er_percent" -> er) and those in short brackets in its description ("Hemoglobin (Hb)"
    -> hb), less units and the unit's own parts (mmol, l)."""
    name = re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1]
    words = re.split(r"[^\w]+", name.lower().replace("_", " "))
    for inside in re.findall(r"\(([^)]*)\)", spec.description or ""):
        names_ = re.split(r"[^\w]+", inside.lower())
        if len([w for w in names_ if w]) <= 3:  # "(Hb)", "(kalium, K)"; not a sentence
            words += names_
    unit_parts = set(re.split(r"[^\w]+", (spec.unit or "").lower()))
    return {w for w in words if w and w not in unit_parts and not normalise_unit(w)}


def naming_words(path: str, spec: FieldSpec) -> set[str]:
    """The field's words that name a thing (``field_labels`` less ``MEASURE_WORDS``)."""
    return {w for w in field_labels(path, spec) if w not in MEASURE_WORDS}


def same_word(word: str, label: str) -> bool:
    """Whether report word ``word`` names field word ``label`` (see the module docstring)."""
    word, label = word.lower(), label.lower()
    if len(label) < 4 or len(word) < 4:
        return word == label
    short, long = sorted((word, label), key=len)
    return long.startswith(short) or (len(short) >= 6 and word[:6] == label[:6])


def clause_before(text: str, start: int) -> tuple[int, str]:
    """Where the clause before the amount at ``start`` begins, and its text."""
    previous = max(
        (a.span[1] for a in amounts_in(text, bare=True) if a.span[1] <= start), default=0
    )
    begin = max(0, start - NAMED_REACH, previous)
    clause = re.split(r"[.;]\s|\n", text[begin:start])[-1]
    return start - len(clause), clause


def names(text: str, start: int, labels: set[str]) -> int | None:
    """Where the first word of the clause before the amount at ``start`` that names one of
    ``labels`` begins, or None."""
    offset, clause = clause_before(text, start)
    for word in WORD.finditer(clause):
        if any(same_word(word.group(), label) for label in labels):
            return offset + word.start()
    return None


_LINE_HEADING = re.compile(r"[ \t]*(?:[-*•]\s*)?([^\W\d_][^:\n]{0,40}):")


def heading_names(text: str, start: int, labels: set[str]) -> int | None:
    """Where the heading of the line of the amount at ``start`` ("Circumferentieel
    resectievlak: vrij; de kleinste afstand bedraagt 11 mm") begins, where a word of it
    names one of ``labels`` and the amount is in the heading's first sentence; None
    otherwise."""
    line_start = text.rfind("\n", 0, start) + 1
    m = _LINE_HEADING.match(text, line_start)
    if m is None or m.end() > start or re.search(r"\.\s", text[m.end() : start]):
        return None
    for word in WORD.finditer(m.group(1)):
        if any(same_word(word.group(), label) for label in labels):
            return m.start(1)
    return None


def words_of(text: str) -> list[str]:
    """The words of ``text``, lower case."""
    return [w.lower() for w in WORD.findall(text)]


def check_not_named_for_another(
    fields: dict[str, FieldSpec],
    name: str,
    start: int | None,
    end: int | None,
    text: str,
    shown: str,
) -> None:
    """Raise the re-ask when the amount the model copied for top-level field ``name`` (at
    ``start:end`` of ``text``) is named in the report as another amount field's and not as
    this one's: "4,8" for ``index_lesion_size_mm`` from "Afmetingen prostaat 4,8 x 3,9 x
    4,2 cm", named by ``prostate_volume_ml``. The other field's words that this field's
    name or description also has ("lesion" in both) do not count."""
    if start is None or end is None:
        return
    own = naming_words(name, fields[name])
    if names(text, start, own) is not None:
        return
    described = own | set(words_of(fields[name].description or ""))
    for other, spec in fields.items():
        if other == name or not spec.is_amount:
            continue
        theirs = {
            w for w in naming_words(other, spec) if not any(same_word(d, w) for d in described)
        }
        at = names(text, start, theirs)
        if at is not None:
            raise AmountError(
                f'{shown!r} is written as "{text[at:end]}", which is "{other}", not "{name}": '
                f'give the amount "{name}" asks for as the report writes it, or null'
            )


_MOST_RECENT = re.compile(
    r"most recent|latest|last (?:value|result|measurement)|meest recente?|recentste"
    r"|laatste (?:waarde|uitslag|meting)",
    re.IGNORECASE,
)


def asks_most_recent(task: Task, name: str) -> bool:
    """Whether the task's or field ``name``'s description asks for the most recent value."""
    return bool(
        _MOST_RECENT.search(task.description or "")
        or _MOST_RECENT.search(task.fields[name].description or "")
    )
