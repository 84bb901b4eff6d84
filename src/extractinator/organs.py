"""Another organ's finding. A report of one examination measures findings in several organs
("Milt: bekende cyste van 2,5 cm"; "Axillair rechts meerdere vergrote klieren, grootste
2,1 cm"; "Linker ureter: concrement van 5 mm"), and a small model copies such a size for
a field about the liver's lesions. So a size copied for a field about one organ is
re-asked with the reason, then null, where the report writes it about another organ than
the field's, and never about the field's:

- the field's organs are those its description names, else those of the nearest list or
  object around it that names one, else the task's description ("Only lesions in the
  liver count"), less those in sentences that deny or exclude ("Lymph nodes are not
  pulmonary nodules"); a field about no organ, or about more than two (a RECIST task's
  examples: "axillair", "mediastinaal"), is not checked;
- organs are named in Dutch or English, by a word's start ("lever", "leversegment",
  "liver", "hepatic"; "milt", "spleen"; "klieren", "lymph node"); a lymph node or the
  axilla counts as an organ here (a breast lesion's field is not about an axillary node);
- an amount is about the organ named last before it in its sentence (between full stops,
  semicolons or line ends), else the first named after it in its clause ("een cyste van
  2,5 cm in de milt"); a name within three words after a negation ("geen vergrote
  klieren") does not count; with none named in its sentence, the organ a heading at the
  start of its line, or of the last heading line before it, names ("Colon sigmoideum:
  ... Pericolisch een abces van 4,2 cm"; "Lever:" on a line of its own);
- an amount written more than once (findings and conclusion) is about another organ
  where one place is and no place is about the field's organ ("Aorta: AAA max 4,3 cm"
  ... "Concl: AAA 4,3 cm"); an amount with no organ named near it is left alone.

When the re-asks are used up, a list entry holding such a size is left out (it is that
organ's finding: ``reading.drop_unreadable_entries``); a top-level field becomes null.

Only size fields (``distances.is_size_field``) are checked: a distance or a volume may be
named after a landmark or another organ.

An organ's own measurement is no finding's size either ("Lever: vergroot (craniocaudaal 19
cm)", "hepatomegalie, 21 cm"): the hints for missed and larger sizes skip an amount whose
clause before it has a word for an organ's dimension and names no finding
(``is_organ_dimension``); a copy of the dimension of an organ the report calls enlarged
("Lever: vergroot, craniocaudaal 18 cm") is re-asked (``check_not_an_enlarged_organ``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .amounts import OtherFindingsAmount, places_of
from .distances import is_size_field
from .task.spec import FieldSpec

__all__ = [
    "ORGANS",
    "about_another_organ",
    "check_not_an_enlarged_organ",
    "check_not_another_organ",
    "organ_of",
    "organs_in",
    "sentence_around",
    "subject",
]

# Each organ's words by their start (case is ignored); English and Dutch, with the Latin or
# Greek stems reports use. A pattern that would also start common words says which not.
ORGANS: dict[str, str] = {
    "liver": r"liver|hepat|lever(?!en\b|t\b|de\b|baar)",
    "spleen": r"milt|spleen|splen",
    "kidney": r"nier|kidney|renal|renaal|renale",
    "adrenal gland": r"bijnier|adrenal",
    "ureter": r"ureter",
    "bladder": r"blaas|bladder",
    "gallbladder": r"galblaas|gallbladder|cholecyst|galweg|choledoch",
    "pancreas": r"pancrea|alvleesklier",
    "lung": (
        r"lung|pulmo|longen\b|long(?:kwab|top|veld|nod|meta|haard|parench|embol|carc|tum)"
        r"|long\b(?!\W+(?:axis|as)\b)|(?:boven|onder|midden)kwab|lingula"
    ),
    "mediastinum": r"mediastin",
    "breast": r"mamma|borst|breast",
    "axilla": r"axill|oksel",
    "lymph node": r"lymf|lymph|klier|adenopath",
    "prostate": r"prosta",
    "thyroid": r"schildklier|thyr",
    "bone": r"skelet|bone|ossa|wervel|vertebra|bot\b|bot(?:meta|laes|scan)",
    "heart": r"hart\b|hartschaduw|cardi|heart|pericard",
    "aorta": r"aort|AAA\b",
    "stomach": r"maag|gastr|stomach",
    "bowel": r"colon|sigm|rect|darm|bowel|caec|coecum|append",
    "uterus": r"uter",
    "ovary": r"ovari|eierstok|adnex",
    "brain": r"hersen|brain|cerebr",
    "oesophagus": r"oesofag|oesophag|esophag|slokdarm",
}
_PATTERNS = {name: re.compile(rf"\b(?:{words})", re.IGNORECASE) for name, words in ORGANS.items()}
_SENTENCE_END = re.compile(r"[.;]\s|\n")
_DENIES = re.compile(
    r"\b(?:not|no|geen|niet|except|excluding|behalve|zonder|without)\b", re.IGNORECASE
)
_MAX_SUBJECT = 2  # a description naming more organs gives examples, not a subject
_CLAUSE_END = re.compile(r"[,.;]\s|\n")
# a short heading at the start of a line: "Lever:", "- Colon sigmoideum:", "Nieren/blaas:"
_HEADING = re.compile(r"^[ \t]*(?:[-*•][ \t]*)?([^\W\d_][^\n:.;]{0,40}):", re.MULTILINE)
# a negation and up to two words after it in the same clause, right before an organ's name
_NEGATION = re.compile(
    r"\b(?:geen|zonder|niet|no|not|without)\s+(?:[^\W\d_]+\s+){0,2}$", re.IGNORECASE
)


# the words for an organ's own dimension, and for a finding, in the clause before an amount
_DIMENSION = re.compile(
    r"\b(?:cranio-?caudaa?l\w*|lengte\w*|length|vergroot|hepatomegal\w*|splenomegal\w*"
    r"|normaal van grootte|normal in size)\b",
    re.IGNORECASE,
)
_FINDING = re.compile(
    r"\b(?:laesie|lesion|cyste?|nodu|nodule|tumo|massa|mass\b|metasta|haard|afwijking"
    r"|focus|foci|abces|abscess|hemangio|adenoo?m|concrement|steen|stone)",
    re.IGNORECASE,
)
_ENLARGED = re.compile(r"\b(?:vergroot|hepatomegal\w*|splenomegal\w*|enlarged)\b", re.IGNORECASE)
_DIMENSION_REACH = 60


def is_organ_dimension(text: str, start: int, words: re.Pattern[str] = _DIMENSION) -> bool:
    """Whether the amount at ``start`` measures an organ itself (see the module docstring):
    the words before it in its sentence (at most 60 characters) have a dimension word
    (one of ``words``) and no finding."""
    before = text[max(0, start - _DIMENSION_REACH) : start]
    cut = [m.end() for m in _SENTENCE_END.finditer(before)]
    clause = before[cut[-1] :] if cut else before
    return bool(words.search(clause)) and not _FINDING.search(clause)


def check_not_an_enlarged_organ(
    spec: FieldSpec, numbers: list[float], text: str, shown: str
) -> None:
    """Raise the re-ask when the size read as ``numbers`` is written only as the dimension
    of an organ the report calls enlarged ("Lever: vergroot, craniocaudaal 18 cm"): the
    organ's own size, no finding's. A dimension word alone is not enough here: a finding is
    measured craniocaudally too ("op de sagittale reeks craniocaudaal 2,3 cm")."""
    if not text or not numbers or not is_size_field(spec):
        return
    places = places_of(numbers, spec.unit or "", text)
    if not places or not all(is_organ_dimension(text, p.span[0], _ENLARGED) for p in places):
        return
    quote = " ".join(sentence_around(text, *places[0].span).split())
    raise OtherFindingsAmount(
        f'{shown!r} measures an enlarged organ itself ("{quote}"), not a finding: give the '
        "size this field asks for as the report writes it, or null"
    )


def organs_in(text: str) -> set[str]:
    """The organs ``text`` names."""
    return {name for name, pattern in _PATTERNS.items() if pattern.search(text)}


def subject(descriptions: Iterable[str | None]) -> frozenset[str]:
    """The organs of the first description (innermost first: the field's, its list's, the
    task's) that names one or two, left out its sentences that deny or exclude ("Lymph
    nodes are not pulmonary nodules"; "calcified granulomas do not count"); empty when none
    does, or when it names more (examples of where a finding may be, not what the field is
    about)."""
    for description in descriptions:
        sentences = _SENTENCE_END.split(" ".join((description or "").split()))
        named = set().union(*(organs_in(s) for s in sentences if not _DENIES.search(s)))
        if named:
            return frozenset(named) if len(named) <= _MAX_SUBJECT else frozenset()
    return frozenset()


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that holds ``start:end`` (see the module docstring)."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    after = _SENTENCE_END.search(text, end)
    return text[before[-1] if before else 0 : after.start() if after else len(text)]


def organ_of(text: str, start: int, end: int) -> str | None:
    """The organ the amount at ``start:end`` is about: the one named last before it in its
    sentence, else the first named after it in its clause (a name within three words after
    a negation, "geen vergrote klieren", does not count), else the first the heading it
    stands under names. None where none is named."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    begin = before[-1] if before else 0
    clause_end = _CLAUSE_END.search(text, end)
    stop = clause_end.start() if clause_end else len(text)
    named = [
        (m.start(), name)
        for name, pattern in _PATTERNS.items()
        for m in pattern.finditer(text, begin, stop)
        if not (start <= m.start() < end) and not _NEGATION.search(text[begin : m.start()])
    ]
    earlier = [found for found in named if found[0] < start]
    if earlier:
        return max(earlier)[1]
    return min(named)[1] if named else _heading_organ(text, start)


def _heading_organ(text: str, start: int) -> str | None:
    """The first organ named by the last heading ("Lever:", "- Colon sigmoideum:") at the
    start of a line before ``start``, or None."""
    headings = list(_HEADING.finditer(text, 0, start))
    if not headings:
        return None
    heading = headings[-1].group(1)
    named = [(m.start(), name) for name, p in _PATTERNS.items() for m in p.finditer(heading)]
    return min(named)[1] if named else None


def about_another_organ(text: str, start: int, end: int, own: frozenset[str]) -> bool:
    """Whether the amount at ``start:end`` is about an organ other than ``own`` (False
    where ``own`` is empty or no organ is named near it)."""
    organ = organ_of(text, start, end)
    return bool(own) and organ is not None and organ not in own


def check_not_another_organ(
    own: frozenset[str], spec: FieldSpec, numbers: list[float], text: str, shown: str
) -> None:
    """Raise the re-ask when the size read as ``numbers`` for a field about the organs
    ``own`` stands in the report in a sentence about another organ and in none about
    its own (places that name no organ aside)."""
    if not own or not text or not numbers or not is_size_field(spec):
        return
    places = places_of(numbers, spec.unit or "", text)
    about = [organ_of(text, *place.span) for place in places]
    other = [(o, p) for o, p in zip(about, places, strict=True) if o is not None]
    if not other or any(organ in own for organ, _ in other):
        return
    organ, place = other[0]
    quote = " ".join(sentence_around(text, *place.span).split())
    raise OtherFindingsAmount(
        f'{shown!r} is written about the {organ} ("{quote}"), not the '
        f"{' / '.join(sorted(own))} this field is about: give the size this field asks for "
        "as the report writes it, or null"
    )
