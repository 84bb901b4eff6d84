"""Ground what the model copied in the input text: spans fields and evidence quotes (see
``task/evidence.py``) get character offsets and an alignment (``align.py``)."""

from __future__ import annotations

import re
from typing import Any

from .align import AlignedSpan, align_spans
from .amounts import first_amount
from .records import Evidence
from .task.spans import spans_as_list
from .task.spec import FieldSpec, Task
from .validate import InvalidOutput


def _stated_nothing(value: Any) -> bool:
    """Values the prompt's rules give when the report does not state anything: null, false
    for a yes/no question, an empty list. A missing quote fits them."""
    return value is None or value is False or value == []


def ground_evidence(
    text: str, quotes: dict[str, str | None], output: dict[str, Any]
) -> dict[str, Evidence]:
    """field -> the quote with its offsets in ``text``. A quote that cannot be found
    (alignment ``none``), or a missing quote for a stated value, is unsupported."""
    grounded: dict[str, Evidence] = {}
    for name, quote in quotes.items():
        if quote is None or not quote.strip():
            grounded[name] = Evidence(quote=None, supported=_stated_nothing(output.get(name)))
            continue
        span = align_spans(text, [(quote, name)])[0]
        grounded[name] = Evidence(
            quote=quote,
            start=span.start,
            end=span.end,
            alignment=span.alignment,
            supported=span.alignment != "none",
        )
    return grounded


def ground_spans(task: Task, output: dict[str, Any], text: str) -> dict[str, Any]:
    """Replace each spans field's [{text, label}] with aligned spans carrying offsets."""
    for name in task.span_fields():
        spans = spans_as_list(task.fields[name], output.get(name))
        if not spans:
            output[name] = [] if output.get(name) is not None else None
            continue
        written = [s["text"] for s in spans]
        aligned = _aligned(task.fields[name], spans, text)
        output[name] = [
            {**a.model_dump(), **({"written": w} if w != a.text else {})}
            for a, w in zip(aligned, written, strict=True)
        ]
    return output


def check_spans_copied(task: Task, output: dict[str, Any], text: str) -> None:
    """Raise the re-ask (InvalidOutput) when a span's text is nowhere in the report, not
    even nearly (alignment ``none``): translated ("Hypertension" for "hypertensie"),
    paraphrased, or a word for nothing ("none"). After the re-asks such spans are kept,
    without offsets (``alignment: none``)."""
    missing = []
    for name in task.span_fields():
        spans = spans_as_list(task.fields[name], output.get(name))
        if spans:
            aligned = _aligned(task.fields[name], spans, text)
            missing += [f"{a.text!r} ({a.label})" for a in aligned if a.alignment == "none"]
    if missing:
        raise InvalidOutput(
            "ungrounded_span",
            f"not in the report as written: {', '.join(missing)}. Copy each mention exactly "
            "as the report writes it (same language and spelling), and leave out what the "
            "report does not mention",
        )


def _aligned(spec: FieldSpec, spans: list[dict[str, Any]], text: str) -> list[AlignedSpan]:
    kept = [trim_span(s["text"], spec.span_trim) for s in spans]
    return align_spans(text, list(zip(kept, [s["label"] for s in spans], strict=True)))


_TRAILING_PARENS = re.compile(r"\s*\([^()]*\)\s*$")
# a mention whose amount is joined by one of these words holds the amount as its
# complement ("nodus van 8 mm", "cyste met een diameter van 2 cm"), not as a modifier
_JOINED_BY = re.compile(
    r"\b(van|met|tot|op|bij|meet|metend|of|with|from|to|at|by|measuring)$",
    re.IGNORECASE,
)


def trim_span(text: str, mode: str = "amounts") -> str:
    """A mention cut to what was asked: before the first amount in it (a number with a unit:
    "metoprolol 50 mg 1dd1" -> "metoprolol") unless a joining word leads to it ("nodus
    van 8 mm" stays whole), and with ``qualifiers`` also without a parenthesis at its end
    ("penicilline (exantheem)" -> "penicilline"); kept whole when nothing but spaces and
    punctuation would be left. ``none`` keeps it as written."""
    if mode == "none":
        return text
    cut = text
    found = first_amount(cut)
    if found is not None and not _JOINED_BY.search(cut[:found].rstrip()):
        cut = cut[:found].rstrip(" \t,;:(-/")
    if mode == "qualifiers":
        while _TRAILING_PARENS.search(cut):
            cut = _TRAILING_PARENS.sub("", cut)
    return cut if any(c.isalnum() for c in cut) else text
