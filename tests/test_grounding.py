"""Spans grounded in the text, and cut to what was asked (``trim: amounts``)."""

from __future__ import annotations

import pytest

from extractinator.grounding import check_spans_copied, ground_spans, trim_span
from extractinator.task import Task
from extractinator.validate import InvalidOutput


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("metoprolol 50 mg 1dd1", "metoprolol"),
        ("Paracetamol 1.000 mg max. 4dd", "Paracetamol"),
        ("Bisoprolol 2,5 mg 1dd1", "Bisoprolol"),
        ("metformine 500mg", "metformine"),
        ("50 mg 1dd1", "50 mg 1dd1"),  # an amount first: the mention is the amount
        ("diabetes mellitus type 2", "diabetes mellitus type 2"),  # no unit: no amount
        ("COVID-19", "COVID-19"),
        ("ascal 80", "ascal 80"),
        # the amount is the mention's complement, joined by a word: kept whole
        ("nodus van 8 mm", "nodus van 8 mm"),
        ("cyste met een diameter van 2,1 cm", "cyste met een diameter van 2,1 cm"),
        ("lesion measuring 12 mm", "lesion measuring 12 mm"),
        ("nodus 8 mm", "nodus"),
    ],
)
def test_trim_cuts_a_mention_before_its_first_amount(written, kept):
    assert trim_span(written) == kept


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("hypertensie (sinds 2012)", "hypertensie"),
        ("penicilline (exantheem)", "penicilline"),
        ("morfine retard (MS Contin) 10 mg", "morfine retard"),
        ("(2019)", "(2019)"),  # nothing would be left
        ("ziekte van Parkinson", "ziekte van Parkinson"),
    ],
)
def test_qualifiers_also_drops_a_parenthesis_at_the_end(written, kept):
    assert trim_span(written, "qualifiers") == kept
    assert trim_span("hypertensie (sinds 2012)", "amounts") == "hypertensie (sinds 2012)"
    assert trim_span("metoprolol 50 mg", "none") == "metoprolol 50 mg"


def task(trim=None):
    spec = {"type": "spans", "labels": ["MEDICATION"], "layout": "list"}
    if trim:
        spec["trim"] = trim
    return Task.model_validate({"name": "m", "description": "d", "fields": {"meds": spec}})


TEXT = "Medicatie: metoprolol 50 mg 1dd1, ascal 80 mg."


def test_trimmed_spans_are_grounded_on_what_is_kept_and_keep_what_was_written():
    out = ground_spans(
        task("amounts"), {"meds": [{"text": "metoprolol 50 mg 1dd1", "label": "MEDICATION"}]}, TEXT
    )
    (span,) = out["meds"]
    assert (span["text"], TEXT[span["start"] : span["end"]], span["alignment"]) == (
        "metoprolol",
        "metoprolol",
        "exact",
    )
    assert span["written"] == "metoprolol 50 mg 1dd1"


def test_by_default_mentions_are_cut_to_their_names_and_none_keeps_them_whole():
    written = {"meds": [{"text": "ascal 80 mg", "label": "MEDICATION"}]}
    out = ground_spans(task(), written, TEXT)
    assert out["meds"][0]["text"] == "ascal" and out["meds"][0]["written"] == "ascal 80 mg"
    written = {"meds": [{"text": "ascal 80 mg", "label": "MEDICATION"}]}
    out = ground_spans(task("none"), written, TEXT)
    assert out["meds"][0]["text"] == "ascal 80 mg" and "written" not in out["meds"][0]


def test_trim_is_for_spans_only():
    with pytest.raises(ValueError, match="`trim` only applies to spans"):
        Task.model_validate(
            {
                "name": "m",
                "description": "d",
                "fields": {"x": {"type": "string", "trim": "amounts"}},
            }
        )


BY_LABEL = Task.model_validate(
    {
        "name": "letter",
        "description": "d",
        "fields": {
            "findings": {
                "type": "spans",
                "labels": ["DIAGNOSIS", "ALLERGY"],
                "layout": "by_label",
            }
        },
    }
)


def test_a_span_nowhere_in_the_report_raises_the_reask_naming_it():
    text = "VG: hypertensie, atriumfibrilleren. Allergieën: geen bekend."
    output = {"findings": {"DIAGNOSIS": ["Hypertension", "atriumfibrilleren"], "ALLERGY": ["none"]}}
    with pytest.raises(InvalidOutput) as e:
        check_spans_copied(BY_LABEL, output, text)
    assert e.value.kind == "ungrounded_span"
    assert "'Hypertension' (DIAGNOSIS), 'none' (ALLERGY)" in str(e.value)
    assert "atriumfibrilleren" not in str(e.value)


def test_spans_copied_from_the_report_pass_the_check():
    text = "VG: hypertensie. Allergie: penicilline."
    output = {"findings": {"DIAGNOSIS": ["Hypertensie"], "ALLERGY": ["penicilline"]}}
    check_spans_copied(BY_LABEL, output, text)  # case aside: copied
