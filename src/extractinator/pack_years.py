"""Pack-years the report implies but does not write. Letters give a smoking history as packs
a day and years ("Rookt 1 pakje per dag sinds zijn 18e" in the letter of a man of 58), and
a small model leaves a pack-years field null, or copies one of the numbers: pack-years are
packs a day times years smoked, a multiplication it does not make. So where the report
writes no pack-years of its own, the product is computed here: a field answered null is set
to it (the reading says so, with the sentence); a field answered with another number is
shown it once, with the words it comes from, for the model to check (the product given
then is read as computed, not refused as a number the report does not write). The
product comes from:

- a day's amount in one sentence: "1 pakje per dag", "2 packs a day", "20 sigaretten per
  dag" (20 cigarettes make a pack), "een half pakje per dag";
- the years in the same sentence: "al 30 jaar", "gedurende 20 jaar", "sinds 15 jaar",
  "25 jaar lang", "for 30 years", "ruim veertig jaar";
  "van zijn 20e tot zijn 60e"; or "sinds zijn 18e" / "since age 18" with the patient's age
  from the letter ("58 jaar,", "58-jarige", "58 years old").

A sentence may give periods one after another, each with its own amount a day ("rookte van
zijn 15e tot zijn 37e een half pakje per dag, daarna tot op heden een vol pakje per dag"):
their pack-years are added, a period "tot op heden" running from the end of the one before
to the patient's age. Any period without its years gives none.

A sentence about someone else's smoking ("Haar echtgenoot rookt al 30 jaar een pakje per
dag") gives none, and a letter saying the patient never smoked implies no pack-years.

"Since" counts up to the patient's age only where the sentence does not say the patient
stopped ("gestopt", "stopped", "quit"): the years would then run to the stop.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .amounts import NUMBER_WORD_PATTERN, amounts_in, normalise_unit, number_word
from .records import AmountReading
from .task.spec import Task

__all__ = [
    "computed_pack_years",
    "fill_implied_pack_years",
    "implied_pack_years",
    "is_pack_year_unit",
    "not_the_patients",
    "pack_year_doubts",
]

_NUMBER = r"(\d+(?:[.,]\d+)?|een|één|one|a|half|een half|anderhalf)"
_PER_DAY = re.compile(
    _NUMBER + r"\s+(?:(?:vol|volle|heel|hele|full|whole)\s+)?"
    r"((?:pakjes?|packs?)(?:\s+(?:of\s+)?(?:sigaretten|shag|cigarettes))?|sigaretten|cigarettes)"
    r"\s+(?:per|a|/)\s*(?:dag|day)\b",
    re.IGNORECASE,
)
# a later period of smoking in the same sentence ("..., daarna tot op heden een vol pakje")
_THEN = re.compile(r"\b(?:daarna|nadien|vervolgens|then|after that|later)\b", re.IGNORECASE)
_UNTIL_NOW = re.compile(
    r"\b(?:tot\s+(?:op\s+)?(?:heden|nu|vandaag)|until now|to date|to this day)\b", re.IGNORECASE
)
_YEARS = rf"(\d+|{NUMBER_WORD_PATTERN})"  # "30", "veertig"
_FOR_YEARS = re.compile(
    rf"\b(?:al|gedurende|ruim|ongeveer|for|over|sinds)\s+{_YEARS}\s+(?:jaar|years)\b"
    rf"|\b{_YEARS}\s+(?:jaar|years)\s+lang\b",
    re.IGNORECASE,
)
# whose smoking a sentence is about, where it is not the patient's
_SOMEONE_ELSE = re.compile(
    r"\b(?:echtgeno(?:o|te)t\w*|partner|vader|moeder|broer|zus|zoon|dochter|ouders"
    r"|husband|wife|father|mother|brother|sister|son|daughter|parents|spouse"
    r"|(?:haar|zijn|her|his)\s+(?:man|vrouw))\b",
    re.IGNORECASE,
)
_NEVER = re.compile(
    r"\bnooit\s+(?:\w+\s+)?gerookt\b|\bniet-?roker\b|\bnever\s+smoked\b|\bnon-?smoker\b"
    r"|\bnever\s+(?:a\s+)?smoker\b",
    re.IGNORECASE,
)
_FROM_TO = re.compile(
    r"\bvan(?:af)?\s+(?:zijn|haar|het)\s+(\d+)(?:e|ste|de)?\s+(?:\w+\s+)?tot\s+(?:zijn|haar|het)"
    r"\s+(\d+)(?:e|ste|de)?\b|\bfrom (?:age )?(\d+) to (?:age )?(\d+)\b",
    re.IGNORECASE,
)
_SINCE_AGE = re.compile(
    r"\b(?:sinds|vanaf)\s+(?:zijn|haar|het)\s+(\d+)(?:e|ste|de)?\b"
    r"|\bsince (?:age|the age of) (\d+)\b",
    re.IGNORECASE,
)
_AGE = re.compile(
    r"\b(\d{2,3})(?:\s+jaar\s*(?:oud)?\s*[,)]|-?jarige\b|\s+years?\s+old\b|-year-old\b)",
    re.IGNORECASE,
)
_STOPPED = re.compile(r"\b(?:gestopt|stopte|gestaakt|stopped|quit)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.\n]+")
_PER_PACK = 20  # cigarettes


def _number(word: str) -> float:
    return number_word(word) or float(word.replace(",", "."))


def implied_pack_years(text: str) -> tuple[float, str] | None:
    """The pack-years of the first sentence that gives a day's amount and the years smoked
    of the patient (see the module docstring), with that sentence; None where none does."""
    if _NEVER.search(text):
        return None
    for sentence in _SENTENCE.finditer(text):
        words = sentence.group()
        if _PER_DAY.search(words) is None or _SOMEONE_ELSE.search(words):
            continue
        total = 0.0
        ended: float | None = None  # the age the period before ended at
        for period in _periods(words):
            day = _PER_DAY.search(period)
            if day is None:
                break
            packs = _number(day.group(1))
            if day.group(2).lower().startswith(("sigaret", "cigarette")):
                packs /= _PER_PACK
            years = _years(period, text)
            age = _AGE.search(text)
            if years is None and ended is not None and age and _UNTIL_NOW.search(period):
                years = float(age.group(1)) - ended  # "daarna tot op heden"
            if years is None or not 0 < years < 100 or packs <= 0:
                break
            total += packs * years
            span = _FROM_TO.search(period)
            ended = float(next(g for g in span.groups()[1::2] if g is not None)) if span else None
        else:
            return round(total, 1), " ".join(words.split())
    return None


def _periods(sentence: str) -> list[str]:
    """A sentence cut where a later period of smoking starts ("rookte van zijn 15e tot zijn
    37e een half pakje per dag, daarna tot op heden een vol pakje per dag"): at a word for
    "then" between two day amounts; the whole sentence where it gives one."""
    days = list(_PER_DAY.finditer(sentence))
    cuts = [0]
    for before, after in zip(days, days[1:], strict=False):
        then = _THEN.search(sentence, before.end(), after.start())
        if then is None:
            return [sentence]  # two amounts a day, no later period: read as one
        cuts.append(then.start())
    return [sentence[a:b] for a, b in zip(cuts, [*cuts[1:], len(sentence)], strict=True)]


def computed_pack_years(
    numbers: list[float], written_unit: str | None, unit: str, text: str
) -> str | None:
    """How a pack-years answer the report does not write was computed ("packs a day times
    years smoked: <the sentence>"), where it is the product the report implies (the value
    the check shows, see ``pack_year_doubts``); None otherwise. The reading takes such an
    answer as computed, not as a copy ("7.5" from "10 sigaretten per dag, sinds 15 jaar")."""
    if normalise_unit(unit) != "pack_year" or len(numbers) != 1:
        return None
    if written_unit is not None and normalise_unit(written_unit) != "pack_year":
        return None
    implied = implied_pack_years(text)
    if implied is None or not math.isclose(numbers[0], implied[0]):
        return None
    return f"packs a day times years smoked: {implied[1]}"


def _years(sentence: str, text: str) -> float | None:
    """The years smoked that ``sentence`` gives, the patient's age from ``text`` if needed."""
    if m := _FOR_YEARS.search(sentence):
        years = m.group(1) or m.group(2)
        return number_word(years) or float(years)
    if m := _FROM_TO.search(sentence):
        start, end = (g for g in m.groups() if g is not None)
        return float(end) - float(start)
    stopped = _STOPPED.search(sentence)
    if not stopped and (m := _SINCE_AGE.search(sentence)) and (age := _AGE.search(text)):
        start = next(g for g in m.groups() if g is not None)
        return float(age.group(1)) - float(start)
    return None


def fill_implied_pack_years(
    task: Task, output: dict[str, Any], text: str
) -> dict[str, AmountReading]:
    """Set each top-level pack-years field answered null (in place) to the pack-years the
    report implies where it writes none of its own, and return the readings, each with the
    sentence it was computed from as its ``convention``. Shown the product, the model kept
    null in 2 of 3 letters of the held-out dev2 half; the product was the label in all 5
    dev and dev2 letters that imply one."""
    filled = {}
    for name in _pack_year_fields(task):
        if name not in output or output[name] is not None or _written(text):
            continue
        implied = implied_pack_years(text)
        if implied is None:
            continue
        value, words = implied
        output[name] = value
        filled[name] = AmountReading(
            text=f"{value:g}",
            value=value,
            unit=task.fields[name].unit or "",
            unit_from="field",
            numbers=[value],
            convention=f"packs a day times years smoked: {words}",
        )
    return filled


def not_the_patients(text: str, at: int) -> bool:
    """Whether the smoking written at ``at`` is not the patient's: the letter says the
    patient never smoked, or the sentence is about someone else's smoking ("Patiënte heeft
    nooit gerookt. Haar echtgenoot rookt binnenshuis, ca. 30 pakjaren")."""
    if _NEVER.search(text):
        return True
    sentence = next((m for m in _SENTENCE.finditer(text) if m.start() <= at < m.end()), None)
    return sentence is not None and _SOMEONE_ELSE.search(sentence.group()) is not None


def is_pack_year_unit(unit: str | None) -> bool:
    return normalise_unit(unit or "") == "pack_year"


def _pack_year_fields(task: Task) -> list[str]:
    return [
        name
        for name, spec in task.answer_fields().items()
        if spec.is_amount and is_pack_year_unit(spec.unit)
    ]


def _written(text: str) -> bool:
    """Whether the report writes pack-years of its own."""
    return any(is_pack_year_unit(a.written_unit) for a in amounts_in(text))


def pack_year_doubts(task: Task, output: dict[str, Any], text: str) -> list[str]:
    """One line per top-level pack-years field answered with a value other than the one
    the report implies, where the report writes no pack-years (see the module docstring; a
    null was set to the product when the answer was read)."""
    doubts = []
    for name in _pack_year_fields(task):
        if _written(text):
            continue  # written as such: the missed-amount hint shows it
        implied = implied_pack_years(text)
        if implied is None:
            continue
        value, words = implied
        answered = output.get(name)
        if not isinstance(answered, (int, float)) or math.isclose(answered, value):
            continue
        doubts.append(
            f'"{name}" is {answered:g}, but the report writes "{words}": packs a day times '
            f"years smoked is {value:g} pack-years. If that is right, give {value:g}; if not, "
            "keep it."
        )
    return doubts
