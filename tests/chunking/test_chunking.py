"""Long documents: splitting into chunks that fit, merging the chunks' answers."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from extractinator.asking import request_for
from extractinator.chunking import (
    Chunk,
    merge_records,
    merge_values,
    plan_chunks,
    split_text,
)
from extractinator.config import GenerationConfig
from extractinator.errors import EngineError, TaskError
from extractinator.pipeline import CompiledTask, extract_case
from extractinator.records import Evidence, Record
from extractinator.task import Task
from extractinator.task.load import task_from_mapping
from extractinator.task.spec import FieldSpec

from fakes import FakeEngine

TASK = Task.model_validate(
    {
        "name": "t",
        "description": "d",
        "fields": {
            "tumor": {"type": "boolean"},
            "all_signed": {"type": "boolean", "merge": "all"},
            "largest_mm": {"type": "number", "nullable": True},
            "first_mm": {"type": "number", "nullable": True, "merge": "first"},
            "sections": {"type": "list", "items": {"type": "string"}},
            "drugs": {"type": "spans", "labels": ["DRUG"], "layout": "pairs"},
        },
    }
)
MAX_TOKENS = 40


def paragraph(i: int) -> str:
    extra = " A tumor is seen." if i == 9 else ""
    signed = " Unsigned addendum." if i == 4 else ""
    return (
        f"Section S{i % 3}. The patient takes drug{i} daily. "
        f"A nodule of {10 + i} mm is noted.{extra}{signed} Continue aspirin{i} for {i + 1} weeks."
    )


LONG = "\n\n".join(paragraph(i) for i in range(12))


def reply(request) -> str:
    """A model that reads its chunk: drugs, sizes, sections and flags found in it."""
    text = request.messages[-1].content
    sizes = [int(m) for m in re.findall(r"(\d+) mm", text)]
    drugs = re.findall(r"\b(?:drug|aspirin)\d+\b", text)
    return json.dumps(
        {
            "tumor": "tumor" in text,
            "all_signed": "Unsigned" not in text,
            "largest_mm": max(sizes) if sizes else None,
            "first_mm": sizes[0] if sizes else None,
            "sections": sorted(set(re.findall(r"Section (S\d)", text))),
            "drugs": [[d, "DRUG"] for d in drugs],
        }
    )


def context_for(text_words: int, task: Task = TASK) -> int:
    """A context that holds the instructions, ``text_words`` words of text and the budget."""
    messages = request_for(CompiledTask(task), GEN, "", None).messages
    return sum(len(m.content.split()) for m in messages) + text_words + MAX_TOKENS


GEN = GenerationConfig(max_tokens=MAX_TOKENS)


def run(engine: FakeEngine, text: str = LONG, task: Task = TASK):
    return asyncio.run(extract_case(CompiledTask(task), engine, GEN, "c1", 0, text))


def words(s: str) -> int:
    return len(s.split())


# --- splitting ---------------------------------------------------------------------------


def assert_covering(text: str, chunks: list[Chunk]) -> None:
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for c in chunks:
        assert text[c.start : c.end] == c.text
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert prev.start < nxt.start <= prev.end


def test_split_text_makes_overlapping_chunks_that_fit_and_cover_the_text():
    chunks = split_text(LONG, lambda s: words(s) <= 60, overlap_chars=80)
    assert len(chunks) >= 4
    assert all(words(c.text) <= 60 for c in chunks)
    assert_covering(LONG, chunks)
    assert all(
        nxt.start < prev.end for prev, nxt in zip(chunks, chunks[1:], strict=False)
    )  # overlap
    # chunks end on sentence boundaries at least (here every paragraph is ~30 words)
    assert all(re.search(r"[.]\s*$", c.text) for c in chunks)
    # and are as large as fits: adding the next word would not fit... within a sentence
    assert all(words(c.text) > 30 for c in chunks[:-1])


def test_split_text_prefers_paragraph_boundaries():
    text = "\n\n".join(" ".join(f"w{p}x{i}." for i in range(10)) for p in range(6))
    chunks = split_text(text, lambda s: words(s) <= 25, overlap_chars=0)
    assert [c.text.rstrip() for c in chunks] == [
        "\n\n".join(" ".join(f"w{p}x{i}." for i in range(10)) for p in pair)
        for pair in ((0, 1), (2, 3), (4, 5))
    ]


def test_split_text_falls_back_to_words_then_characters():
    sentence = " ".join(f"word{i}" for i in range(100))  # no sentence boundary at all
    chunks = split_text(sentence, lambda s: len(s) <= 100, overlap_chars=20)
    assert_covering(sentence, chunks)
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith(" ") for c in chunks[:-1])  # cut between words
    blob = "x" * 1000
    chunks = split_text(blob, lambda s: len(s) <= 300, overlap_chars=50)
    assert_covering(blob, chunks)
    assert [len(c.text) for c in chunks[:-1]] == [300] * (len(chunks) - 1)
    with pytest.raises(ValueError, match="not even one character"):
        split_text(blob, lambda s: False)


# --- the pipeline ------------------------------------------------------------------------


def test_a_long_document_is_run_in_chunks_that_fit_and_merged():
    ctx = context_for(70)
    engine = FakeEngine(reply, context_size=ctx)
    rec = run(engine)
    assert rec.status == "ok", rec.error
    n = len(engine.requests)
    assert n >= 4 and rec.chunks == n
    assert rec.extra["chunking"]["chunks"] == n
    assert rec.extra["chunking"]["merge"]["tumor"] == "any"
    assert "chunk_errors" not in rec.extra
    for request in engine.requests:
        assert asyncio.run(engine.count_tokens(request)) + MAX_TOKENS <= ctx
    texts = [r.messages[-1].content for r in engine.requests]
    assert texts[0].startswith("Section S0.") and LONG.endswith(texts[-1])
    assert rec.attempts == n and rec.prompt_tokens > 0

    out = rec.output
    # spans: offsets in the full text, every mention once although overlaps repeat some
    spans = out["drugs"]
    assert all(LONG[s["start"] : s["end"]] == s["text"] for s in spans)
    assert all(s["alignment"] == "exact" for s in spans)
    expected = [(m.start(), m.end()) for m in re.finditer(r"\b(?:drug|aspirin)\d+\b", LONG)]
    assert sorted((s["start"], s["end"]) for s in spans) == expected
    # booleans: OR ("any") finds the tumor in one chunk; AND ("all") is false for one
    assert out["tumor"] is True and out["all_signed"] is False
    # numbers: the document's largest; the first one given in text order
    assert out["largest_mm"] == 21 and out["first_mm"] == 10
    # lists: concatenated, duplicates dropped, order kept
    assert out["sections"] == ["S0", "S1", "S2"]


def test_overlap_duplicates_are_removed():
    # the overlap mention "aspirin1" is found by two chunks at the same full-text offsets
    ctx = context_for(70)
    engine = FakeEngine(reply, context_size=ctx)
    rec = run(engine)
    texts = [r.messages[-1].content for r in engine.requests]
    found_twice = {
        d
        for a, b in zip(texts, texts[1:], strict=False)
        for d in set(re.findall(r"\b(?:drug|aspirin)\d+\b", a))
        & set(re.findall(r"\b(?:drug|aspirin)\d+\b", b))
    }
    assert found_twice, "chunks should overlap on at least one mention"
    spans = [(s["label"], s["start"], s["end"]) for s in rec.output["drugs"]]
    assert len(spans) == len(set(spans))
    for d in found_twice:
        assert sum(s["text"] == d for s in rec.output["drugs"]) == LONG.count(d + " ")


def test_chunks_are_split_again_where_the_text_is_denser_in_tokens():
    # long words first, then one-letter words: the average tokens per character misjudges
    # the second half, whose chunks are measured and split again
    text = " ".join(["pneumonoultramicroscopic."] * 60 + ["a."] * 300)
    ctx = context_for(60)
    engine = FakeEngine(reply, context_size=ctx)
    rec = run(engine, text)
    assert rec.status == "ok" and rec.chunks == len(engine.requests) > 5
    for request in engine.requests:
        assert asyncio.run(engine.count_tokens(request)) + MAX_TOKENS <= ctx
    chunks = [Chunk(a, text[a:b]) for a, b in rec.extra["chunking"]["ranges"]]
    assert_covering(text, chunks)


def test_a_failing_chunk_is_reported_and_the_others_kept():
    def flaky(request):
        if "drug5 " in request.messages[-1].content:
            raise EngineError("boom in the middle")
        return reply(request)

    engine = FakeEngine(flaky, context_size=context_for(70))
    rec = run(engine)
    assert rec.status == "ok"
    errors = rec.extra["chunk_errors"]
    assert errors and all(e["type"] == "engine_error" for e in errors)
    for e in errors:
        assert "drug5 " in LONG[e["start"] : e["end"]] and e["chunk"] >= 1
    assert rec.chunks == len(engine.requests)
    assert "drug0" in {s["text"] for s in rec.output["drugs"]}


def test_the_case_fails_only_when_every_chunk_fails():
    def broken(request):
        raise EngineError("down")

    rec = run(FakeEngine(broken, context_size=context_for(70)))
    assert rec.status == "failed" and rec.output is None
    assert rec.error.type == "engine_error"
    assert rec.error.message.startswith(f"all {rec.chunks} chunks failed; chunk 1: down")
    assert len(rec.extra["chunk_errors"]) == rec.chunks > 1


def test_a_short_document_is_not_chunked():
    engine = FakeEngine(reply, context_size=context_for(500))
    rec = run(engine)
    assert len(engine.requests) == 1 and engine.requests[0].messages[-1].content == LONG
    assert rec.status == "ok" and rec.chunks is None and "chunking" not in rec.extra
    assert run(FakeEngine(reply)).chunks is None  # no known context: not chunked either


def test_no_chunks_when_the_instructions_alone_do_not_fit():
    compiled = CompiledTask(TASK)
    engine = FakeEngine(reply, context_size=context_for(0) - 5)
    chunks = asyncio.run(plan_chunks(engine, LONG, lambda t: request_for(compiled, GEN, t, None)))
    assert chunks is None


# --- merging -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "values", "merged"),
    [
        ({"type": "boolean"}, [False, True, False], True),
        ({"type": "boolean"}, [False, False], False),
        ({"type": "boolean", "nullable": True}, [None, None], None),
        ({"type": "boolean", "merge": "all"}, [True, False, True], False),
        ({"type": "boolean", "merge": "all"}, [True, None], True),
        ({"type": "number", "nullable": True}, [3.5, None, 7, 2], 7),
        ({"type": "integer", "merge": "min"}, [3, 1, 2], 1),
        ({"type": "integer", "nullable": True, "merge": "first"}, [None, 4, 9], 4),
        ({"type": "enum", "values": ["a", "b"], "nullable": True}, [None, "b", "a"], "b"),
        ({"type": "string", "nullable": True}, ["", "x", "y"], "x"),
        ({"type": "string", "merge": "concat"}, ["x", "y", "x"], "x\ny"),
        (
            {"type": "list", "items": {"type": "string"}},
            [["a", "b"], [], ["b", "c"]],
            ["a", "b", "c"],
        ),
        (
            {"type": "list", "items": {"type": "string"}, "merge": "first"},
            [[], ["b"], ["c"]],
            ["b"],
        ),
        (
            {"type": "object", "nullable": True, "fields": {"x": {"type": "integer"}}},
            [None, {"x": 1}, {"x": 2}],
            {"x": 1},
        ),
    ],
)
def test_merge_values_per_type_and_rule(spec, values, merged):
    assert merge_values(FieldSpec.model_validate(spec), values) == merged


def test_merge_records_keeps_the_deciding_chunks_evidence_and_probabilities():
    task = Task.model_validate(
        {
            "name": "t",
            "description": "d",
            "fields": {
                "tumor": {"type": "boolean", "evidence": True},
                "side": {"type": "enum", "values": ["left", "right"]},
            },
        }
    )
    chunks = [Chunk(0, "No tumor here. "), Chunk(10, "here. Tumor on the left.")]

    def part(tumor: bool, p_true: float, quote: tuple[int, int]) -> Record:
        ev = Evidence(
            quote="Tumor", start=quote[0], end=quote[1], alignment="exact", supported=True
        )
        return Record(
            id="c",
            row=0,
            status="ok",
            attempts=1,
            prompt_tokens=10,
            output={"tumor": tumor, "side": "left"},
            evidence={"tumor": ev},
            probabilities={"tumor": {"true": p_true, "false": 1 - p_true}, "side": {"left": 1.0}},
            probability_method="option_scoring",
        )

    record = Record(id="c", row=0, status="failed")
    merge_records(record, task, chunks, [part(False, 0.1, (3, 8)), part(True, 0.8, (6, 11))])
    assert record.ok and record.output == {"tumor": True, "side": "left"}
    assert record.chunks == 2 and record.attempts == 2 and record.prompt_tokens == 20
    assert (record.evidence["tumor"].start, record.evidence["tumor"].end) == (16, 21)
    assert record.probabilities == {"tumor": {"true": 0.8, "false": pytest.approx(0.2)}}
    assert record.probability_method == "chunked"


# --- the task file ------------------------------------------------------------------------


def test_a_merge_rule_that_does_not_fit_the_type_is_a_one_line_error():
    data = {"name": "t", "description": "d", "fields": {"n": {"type": "number", "merge": "any"}}}
    with pytest.raises(TaskError) as err:
        task_from_mapping(data, "task.yaml")
    assert str(err.value) == (
        "task.yaml: field 'n': `merge: any` does not fit type number "
        "(use one of: max, min, first, last)"
    )
    nested = {"type": "object", "fields": {"x": {"type": "integer", "merge": "min"}}}
    with pytest.raises(TaskError, match=r"field 'o.x': `merge` applies to top-level fields only"):
        task_from_mapping({**data, "fields": {"o": nested}}, "task.yaml")


def test_an_unset_merge_rule_leaves_the_task_fingerprint_alone():
    plain = {"name": "t", "description": "d", "fields": {"b": {"type": "boolean"}}}
    task = Task.model_validate(plain)
    assert "merge" not in task.model_dump()["fields"]["b"]
    ruled = Task.model_validate({**plain, "fields": {"b": {"type": "boolean", "merge": "all"}}})
    assert ruled.fingerprint() != task.fingerprint()
    assert ruled.fields["b"].merge_rule == "all" and task.fields["b"].merge_rule == "any"


@pytest.mark.model
def test_a_real_llama_cpp_engine_chunks_a_document_longer_than_its_context():
    """The embedded engine (tiny Gemma, 768-token context) sizes chunks with its own
    tokenizer: every chunk's request fits, and the record spans the whole document."""
    from extractinator import extract
    from extractinator.config import GenerationConfig, LlamaCppConfig, RunConfig
    from extractinator.engines import create_engine
    from extractinator.task import Task

    from servers import gemma_model

    task = Task.model_validate(
        {
            "name": "long",
            "description": "Does the report mention a nodule? List the sizes.",
            "fields": {
                "nodule": {"type": "boolean"},
                "sizes": {"type": "spans", "labels": ["SIZE"], "layout": "pairs"},
            },
        }
    )
    text = "\n".join(
        f"Regel {i}: geen bijzonderheden in segment {i}, controle over {i % 7 + 1} maanden."
        for i in range(120)
    )
    engine = create_engine(LlamaCppConfig(model=str(gemma_model()), n_ctx=768, n_threads=1))
    config = RunConfig(progress=False, generation=GenerationConfig(max_tokens=48, max_reasks=0))
    try:
        (record,) = extract(task, [text], engine=engine, config=config)
    finally:
        import asyncio

        asyncio.run(engine.aclose())
    assert record.chunks and record.chunks >= 3
    info = record.extra["chunking"]
    assert info["chunks"] == record.chunks
    errors = [e["type"] for e in record.extra.get("chunk_errors", [])]
    assert "context_overflow" not in errors  # every chunk fitted the context
    for span in (record.output or {}).get("sizes") or []:
        if span["start"] is not None:
            assert text[span["start"] : span["end"]] == span["text"]


def test_truncation_side_left_merges_by_the_last_value_and_truncate_keeps_the_end():
    from extractinator.chunking import Chunk, merge_outputs, truncate

    plain = {
        "name": "t",
        "description": "d",
        "fields": {
            "grade": {"type": "enum", "values": ["low", "high"]},
            "size": {"type": "number", "nullable": True},
            "first_size": {"type": "number", "nullable": True, "merge": "first"},
            "n": {"type": "integer", "merge": "last"},
        },
    }
    outputs = [
        (0, {"grade": "low", "size": 3, "first_size": 3, "n": 1}),
        (50, {"grade": "high", "size": 9, "first_size": 9, "n": 2}),
        (90, {"grade": None, "size": None, "first_size": None, "n": None}),
    ]
    task = Task.model_validate(plain)
    assert merge_outputs(task, outputs) == {"grade": "low", "size": 9, "first_size": 3, "n": 2}
    left = Task.model_validate({**plain, "truncation_side": "left"})
    # the default "first" of an enum becomes "last"; set rules and max are kept
    assert merge_outputs(left, outputs) == {"grade": "high", "size": 9, "first_size": 3, "n": 2}
    assert left.fingerprint() != task.fingerprint()
    assert "truncation_side" not in json.dumps(task.model_dump(exclude_none=True))
    chunks = [Chunk(0, "a" * 60), Chunk(50, "b" * 50), Chunk(90, "c" * 50)]
    assert truncate(chunks, "left") == [chunks[-1]]
    assert truncate(chunks, "right") == truncate(chunks, None) == [chunks[0]]


def test_long_text_truncate_runs_only_the_kept_chunk():
    """``long_text: truncate`` with ``truncation_side: left``: one chunk, the text's end."""
    task = TASK.model_copy(update={"long_text": "truncate", "truncation_side": "left"})
    engine = FakeEngine(reply, context_size=context_for(70, task))
    rec = run(engine, task=task)
    assert rec.status == "ok", rec.error
    assert len(engine.requests) == 1 and rec.chunks == 1
    info = rec.extra["chunking"]
    assert info["truncated"] == {"side": "left", "of_chars": len(LONG)}
    ((start, end),) = info["ranges"]
    assert end == len(LONG) and start > 0
    assert LONG.endswith(engine.requests[0].messages[-1].content)
    # spans of the kept end, offsets in the full text
    assert all(LONG[s["start"] : s["end"]] == s["text"] for s in rec.output["drugs"])
    assert min(s["start"] for s in rec.output["drugs"]) >= start
