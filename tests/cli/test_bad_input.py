"""The bad-input corpus: every kind of bad input a user can give, through the real CLI.

Each row is one mistake. It must end in exactly one line on stderr that names the thing
(a file, an option, a field, a URL) and in the documented exit code (errors.ExitCode):
never a traceback, never a silent exit 0. Runs in-process with click's CliRunner against
a scripted OpenAI-compatible server, so the whole table takes seconds.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractinator.cli import main
from extractinator.errors import ExitCode
from extractinator.runlock import RunLock

from paths import DRAGON_SYNTHETIC
from servers import Reply, StubServer, free_port

USAGE, INPUT, ENGINE, FAILED, SYSTEM = (
    ExitCode.USAGE,
    ExitCode.INPUT,
    ExitCode.ENGINE,
    ExitCode.RUN_FAILED,
    ExitCode.SYSTEM,
)

TASK = (
    "name: t\ndescription: Tel de noduli.\ninput: report\nid: id\nfields:\n  n: {type: integer}\n"
)
LEGACY = {"Description": "Tel.", "Input_Field": "report", "Parser_Format": {"n": {"type": "int"}}}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def rows(*reports: str, key: str = "report") -> str:
    return "".join(json.dumps({"id": f"c{i}", key: r}) + "\n" for i, r in enumerate(reports))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Every file the table names, good and bad."""
    d = tmp_path_factory.mktemp("corpus")
    write(d / "task.yaml", TASK)
    write(d / "data.jsonl", rows("Twee noduli.", "Geen.", "Een nodus."))
    # task files
    write(d / "not_yaml.yaml", "name: t\nfields: [unclosed\n")
    write(d / "list.yaml", "- name: t\n")
    write(d / "empty.yaml", "")
    write(d / "no_fields.yaml", "name: t\ndescription: d\n")
    write(d / "bad_type.yaml", TASK.replace("integer", "integr"))
    write(d / "enum_no_values.yaml", TASK.replace("{type: integer}", "{type: enum}"))
    write(d / "latin1.yaml", TASK.replace("Tel", "Tél").encode("latin-1"))
    write(d / "unknown_key.yaml", TASK + "colour: red\n")
    write(d / "bad_compute.yaml", TASK + "  big: {type: boolean, compute: 'n >>> 3'}\n")
    write(d / "bad.json", '{"name": "t",')
    write(d / "example_maybe.yaml", TASK + "examples:\n  - {input: x, output: {n: maybe}}\n")
    write(d / "example_missing.yaml", TASK + "examples:\n  - {input: x, output: {}}\n")
    write(d / "example_unknown.yaml", TASK + "examples:\n  - {input: x, output: {n: 1, m: 2}}\n")
    write(d / "example_no_output.yaml", TASK + "examples:\n  - {input: x}\n")
    write(d / "ex_missing_file.yaml", TASK + "examples_file: nope.jsonl\n")
    write(d / "outside" / "ex.jsonl", json.dumps({"input": "x", "output": {"n": 1}}) + "\n")
    write(d / "tasks" / "ex_outside.yaml", TASK + "examples_file: ../outside/ex.jsonl\n")
    write(d / "ex_bad_line.yaml", TASK + "examples_file: bad_line.jsonl\n")
    write(d / "bad_line.jsonl", '{"input": "x", "output": {"n": 1}}\n{"input": \n')
    write(d / "ex_string.yaml", TASK + "examples_file: string.yaml\n")
    write(d / "string.yaml", "just a string\n")
    write(
        d / "legacy" / "tasks" / "Task001_code.json",
        json.dumps({**LEGACY, "Parser_Format": "p.py"}),
    )
    write(d / "legacy" / "tasks" / "p.py", "raise SystemExit('never run')\n")
    write(d / "legacy" / "tasks" / "Task002_key.json", json.dumps({**LEGACY, "Input_Feld": "x"}))
    write(
        d / "legacy" / "tasks" / "Task003_data.json",
        json.dumps({**LEGACY, "Data_Path": "/etc/passwd"}),
    )
    write(d / "legacy" / "tasks" / "Task004_nodata.json", json.dumps(LEGACY))
    write(d / "legacy" / "tasks" / "Task005_text.json", json.dumps({**LEGACY, "Description": ""}))
    # data files
    write(d / "empty.csv", "")
    write(d / "header_only.jsonl", "\n")
    write(d / "reports.txt", "Twee noduli.\n")
    write(d / "object.json", json.dumps({"report": "x"}))
    write(d / "not_object.jsonl", '{"id": "c0", "report": "a"}\n[1, 2]\n')
    write(d / "bad_line3.jsonl", rows("a", "b") + '{"id": "c2", "report": \n')
    write(d / "binary.csv", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4)
    write(d / "no_column.jsonl", rows("a", "b", key="text"))
    write(d / "dup_ids.jsonl", rows("a", "b") + json.dumps({"id": "c0", "report": "c"}) + "\n")
    write(d / "empty_id.jsonl", json.dumps({"id": " ", "report": "a"}) + "\n")
    write(d / "latin1.csv", "id,report\nc0,caf\xe9\n".encode("latin-1"))
    write(d / "parquet.parquet", b"PAR1 this is not parquet PAR1")
    write(d / "sheet.xlsx", b"PK\x03\x04 not a workbook")
    write(d / "ragged.csv", 'id,report\nc0,"a"\nc1,"b",extra,"\n')
    write(d / "bad.json.json", '[{"id": "c0", "report": "a"},')
    write(d / "empty_dir" / ".keep", "")
    # options, models, runs
    write(d / "endpoints_bad.txt", "http://127.0.0.1:1/v1\nnot-a-url\n")
    write(d / "endpoints_empty.txt", "# nothing here\n")
    write(d / "fake.gguf", b"not a model at all")
    write(d / "a_file", "x")
    write(d / "corrupt_manifest" / "manifest.json", "{not json")
    dragon = DRAGON_SYNTHETIC / "test-input"
    write(
        d / "sweep_bad.yaml", f"benchmark: {{dragon: {dragon}}}\nmodels: [default]\ncolour: red\n"
    )
    cell = {
        "name": "m__fewshot0__translate-off",
        "settings": {"model": {"gguf": "m.gguf"}, "few_shot": 0, "translate": False},
        "benchmark": {"dragon": str(dragon)},
        "status": "finished",
    }
    for name in ("cell_a", "cell_b"):  # DRAGON cells not scored yet: scoring needs the extra
        write(d / "runs_dragon" / name / "cell.json", json.dumps(cell))
    write(d / "labels_bad.csv", "no_id_here\n1\n")
    write(d / "runs_empty" / ".keep", "")
    return d


def _respond(seen) -> Reply:
    """A scripted OpenAI-compatible server: model 'm' answers {"n": 1}; 'liar' answers no
    JSON; 'missing' does not exist; key 'bad' is refused; other paths are 404."""
    if seen.path != "/v1/chat/completions":
        return Reply(404, {"error": {"message": f"no route {seen.path}"}})
    if seen.headers.get("Authorization") == "Bearer bad":
        return Reply(401, {"error": {"message": "invalid api key"}})
    model = seen.body.get("model")
    if model == "missing":
        return Reply(404, {"error": {"message": "The model `missing` does not exist."}})
    content = "ik weet het niet" if model == "liar" else '{"n": 1}'
    choice = {"index": 0, "message": {"role": "assistant", "content": content}}
    body = {"choices": [choice | {"finish_reason": "stop"}], "usage": {"prompt_tokens": 9}}
    return Reply(200, body)


@pytest.fixture(scope="module")
def stub():
    with StubServer(responder=_respond) as server:
        yield server


# the modules that import the dragon extra when they load (dropped with it, so they load anew)
DRAGON_METRICS = (
    "extractinator.dragon.metrics",
    "extractinator.dragon.evaluate",
    "extractinator.dragon.calibration",
)


@dataclass
class Bad:
    """One mistake: the command line, the exit code, what the one line must name."""

    name: str
    args: list[str]
    code: int
    needles: list[str] = field(default_factory=list)
    setup: str | None = None  # a special circumstance the test arranges


def openai(model: str = "m", url: str | None = "{stub}/v1") -> list[str]:
    return ["--engine", "openai", "--model", model, *(["--base-url", url] if url else [])]


RUN = ["run", "{d}/task.yaml", "{d}/data.jsonl", "--out", "{out}", "--no-progress"]
SERVED = [*RUN, *openai()]


def task(name: str, data: bool = True) -> list[str]:
    """``run`` with the task file ``name`` (and the good data unless ``data`` is False)."""
    given = ["{d}/data.jsonl"] if data else []
    return ["run", f"{{d}}/{name}", *given, "--out", "{out}", "--no-progress"]


def data(name: str, served: bool = False) -> list[str]:
    """``run`` of the good task over the data file ``name`` (against the stub when the
    mistake shows only once cases run)."""
    args = ["run", "{d}/task.yaml", f"{{d}}/{name}", "--out", "{out}", "--no-progress"]
    return [*args, *openai()] if served else args


def out(folder: str) -> list[str]:
    return [*SERVED[:4], folder, *SERVED[5:]]


# fmt: off
CORPUS = [
    # -- the command line itself (click) ---------------------------------------------------
    Bad("no arguments to run", ["run"], USAGE, ["TASK_FILE"]),
    Bad("unknown option", [*SERVED, "--bogus"], USAGE, ["--bogus"]),
    Bad("unknown engine", [*RUN, "--engine", "gpt"], USAGE, ["--engine", "gpt"]),
    Bad("limit zero", [*SERVED, "--limit", "0"], USAGE, ["--limit"]),
    Bad("temperature too high", [*SERVED, "--temperature", "5"], USAGE, ["--temperature"]),
    Bad("concurrency zero", [*SERVED, "--concurrency", "0"], USAGE, ["--concurrency"]),
    Bad("timeout zero", [*SERVED, "--timeout", "0"], USAGE, ["--timeout"]),
    Bad("samples zero", [*SERVED, "--samples", "0"], USAGE, ["--samples"]),
    Bad("max-failures zero", [*SERVED, "--max-failures", "0"], USAGE, ["--max-failures"]),
    Bad("run without --out", ["run", "{d}/task.yaml", "{d}/data.jsonl"], USAGE, ["--out"]),
    Bad("unknown command", ["frobnicate"], USAGE, ["frobnicate"]),
    Bad("report of a missing run", ["report", "{d}/no_such_run"], USAGE, ["no_such_run"]),
    # -- task files -------------------------------------------------------------------------
    Bad("task file missing", task("nope.yaml"), INPUT, ["nope.yaml", "not found"]),
    Bad("task file is a folder", task("empty_dir"), INPUT, ["empty_dir"]),
    Bad("task not YAML", task("not_yaml.yaml"), INPUT, ["not_yaml.yaml", "not valid YAML"]),
    Bad("task not JSON", task("bad.json"), INPUT, ["bad.json", "not valid JSON"]),
    Bad("task is a list", task("list.yaml"), INPUT, ["list.yaml", "mapping"]),
    Bad("task file empty", task("empty.yaml"), INPUT, ["empty.yaml", "mapping"]),
    Bad("task without fields", task("no_fields.yaml"), INPUT, ["no_fields.yaml", "fields"]),
    Bad("unknown field type", task("bad_type.yaml"), INPUT, ["field 'n'", "'integr'"]),
    Bad("enum without values", task("enum_no_values.yaml"), INPUT, ["field 'n'", "values"]),
    Bad("task not UTF-8", task("latin1.yaml"), INPUT, ["latin1.yaml", "UTF-8"]),
    Bad("unknown task key", task("unknown_key.yaml"), INPUT, ["unknown_key.yaml", "colour"]),
    Bad("bad computed field", task("bad_compute.yaml"), INPUT, ["bad_compute.yaml", "big"]),
    Bad("example value not allowed", task("example_maybe.yaml"), INPUT,
        ["example_maybe.yaml: example 0", "field 'n'", "'maybe'"]),
    Bad("example misses a field", task("example_missing.yaml"), INPUT,
        ["example 0", "field 'n' is missing"]),
    Bad("example with an unknown field", task("example_unknown.yaml"), INPUT,
        ["example 0", "'m' is not a field"]),
    Bad("example without output", task("example_no_output.yaml"), INPUT,
        ["example_no_output.yaml", "output"]),
    Bad("examples file missing", task("ex_missing_file.yaml"), INPUT, ["nope.jsonl"]),
    Bad("examples file outside the task folder", task("tasks/ex_outside.yaml"), INPUT,
        ["examples_file", "outside the task's folder", "--allow-task-code"]),
    Bad("examples file with a bad line", task("ex_bad_line.yaml"), INPUT,
        ["bad_line.jsonl", "line 2"]),
    Bad("examples file of one string", task("ex_string.yaml"), INPUT,
        ["ex_string.yaml", "string.yaml", "list"]),
    Bad("legacy parser code without the flag", task("legacy/tasks/Task001_code.json"), INPUT,
        ["Task001_code.json", "p.py", "--allow-task-code"]),
    Bad("legacy unknown key", task("legacy/tasks/Task002_key.json"), INPUT,
        ["Task002_key.json", "Input_Feld"]),
    Bad("legacy Data_Path outside", task("legacy/tasks/Task003_data.json", data=False), INPUT,
        ["Data_Path", "/etc/passwd", "outside", "DATA"]),
    Bad("legacy task without data", task("legacy/tasks/Task004_nodata.json", data=False), USAGE,
        ["DATA", "Data_Path"]),
    Bad("legacy empty description", task("legacy/tasks/Task005_text.json"), INPUT,
        ["Task005_text.json", "Description"]),
    # -- data files ---------------------------------------------------------------------------
    Bad("data file missing", data("nope.csv"), INPUT, ["nope.csv", "not found"]),
    Bad("data file empty", data("empty.csv"), INPUT, ["empty.csv", "empty"]),
    Bad("data without records", data("header_only.jsonl"), INPUT, ["header_only.jsonl"]),
    Bad("unsupported data format", data("reports.txt"), INPUT, ["reports.txt", "unsupported"]),
    Bad("JSON data not a list", data("object.json"), INPUT, ["object.json", "list"]),
    Bad("JSON data cut off", data("bad.json.json"), INPUT, ["bad.json.json", "not valid JSON"]),
    Bad("JSONL record not an object", data("not_object.jsonl", served=True), INPUT,
        ["not_object.jsonl", "line 2"]),
    Bad("JSONL bad line mid-run", data("bad_line3.jsonl", served=True), INPUT,
        ["bad_line3.jsonl", "line 3", "not valid JSON"]),
    Bad("binary file named .csv", data("binary.csv"), INPUT, ["binary.csv", "binary"]),
    Bad("input column missing", data("no_column.jsonl"), INPUT, ["no_column.jsonl", "'report'"]),
    Bad("duplicate ids", data("dup_ids.jsonl", served=True), INPUT,
        ["dup_ids.jsonl", "duplicate id 'c0'"]),
    Bad("empty id", data("empty_id.jsonl"), INPUT, ["empty_id.jsonl", "empty id"]),
    Bad("unknown encoding", [*data("latin1.csv"), "--encoding", "klingon"], INPUT,
        ["latin1.csv", "klingon"]),
    Bad("wrong encoding", [*data("latin1.csv"), "--encoding", "utf-8"], INPUT,
        ["latin1.csv", "0xE9", "utf-8"]),
    Bad("corrupt parquet", data("parquet.parquet"), INPUT, ["parquet.parquet", "Parquet"]),
    Bad("corrupt workbook", data("sheet.xlsx"), INPUT, ["sheet.xlsx", "Excel"]),
    Bad("ragged CSV", data("ragged.csv", served=True), INPUT, ["ragged.csv", "CSV"]),
    Bad("empty documents folder", data("empty_dir"), INPUT, ["empty_dir"]),
    # -- options that do not fit ------------------------------------------------------------
    Bad("base URL for the embedded engine", [*RUN, "--base-url", "http://x"], INPUT,
        ["--base-url"]),
    Bad("samples without temperature", [*SERVED, "--samples", "3"], INPUT,
        ["--samples 3", "--temperature"]),
    Bad("endpoints file missing", [*RUN, *openai(url=None), "--endpoints", "{d}/nope.txt"],
        INPUT, ["nope.txt", "endpoints"]),
    Bad("endpoints file with a non-URL",
        [*RUN, *openai(url=None), "--endpoints", "{d}/endpoints_bad.txt"], INPUT,
        ["endpoints_bad.txt", "line 2", "not-a-url"]),
    Bad("endpoints file without URLs",
        [*RUN, *openai(url=None), "--endpoints", "{d}/endpoints_empty.txt"], INPUT,
        ["endpoints_empty.txt", "no endpoint"]),
    Bad("the same endpoint twice", [*SERVED, "--base-url", "{stub}/v1/"], INPUT, ["given twice"]),
    Bad("server engine without a model", [*RUN, "--engine", "openai", "--base-url", "{stub}/v1"],
        INPUT, ["--model"]),
    Bad("base URL without http", [*RUN, *openai(url="ftp://host/v1")], INPUT,
        ["ftp://host/v1", "http"]),
    Bad("think for the openai engine", [*SERVED, "--think"], INPUT, ["--think", "openai"]),
    Bad("threads for the openai engine", [*SERVED, "--threads", "2"], INPUT,
        ["--threads", "openai"]),
    Bad("fail-fast with max-failures 3", [*SERVED, "--fail-fast", "--max-failures", "3"], INPUT,
        ["--fail-fast", "--max-failures"]),
    Bad("model file not GGUF", [*RUN, "--model", "{d}/fake.gguf"], INPUT, ["fake.gguf", "GGUF"]),
    Bad("model file missing", [*RUN, "--model", "{d}/gone.gguf"], INPUT, ["gone.gguf"]),
    # -- the output folder ------------------------------------------------------------------
    Bad("--out is a file", out("{d}/a_file"), INPUT, ["a_file", "not a directory"]),
    Bad("--out under a file", out("{d}/a_file/out"), INPUT, ["a_file/out", "cannot create"]),
    Bad("--out holds another task's run", SERVED, INPUT,
        ["holds another run", "task fingerprint", "another --out"], setup="other_run"),
    Bad("--out in use by another run", SERVED, SYSTEM, ["another run is writing", "pid"],
        setup="locked"),
    Bad("--out with a damaged manifest", out("{d}/corrupt_manifest"), INPUT,
        ["manifest.json", "unreadable"]),
    # -- the server -------------------------------------------------------------------------
    Bad("server unreachable", [*RUN, *openai(url="http://127.0.0.1:{free}/v1")], ENGINE,
        ["127.0.0.1:{free}", "unreachable"]),
    Bad("ollama unreachable",
        [*RUN, "--engine", "ollama", "--model", "q", "--base-url", "http://127.0.0.1:{free}"],
        ENGINE, ["ollama", "127.0.0.1:{free}", "unreachable"]),
    Bad("wrong server path", [*RUN, *openai(url="{stub}/wrong")], FAILED,
        ["every case failed (3)", "HTTP 404", "/wrong/chat/completions"]),
    Bad("model the server lacks", [*RUN, *openai("missing")], FAILED,
        ["every case failed", "does not exist"]),
    Bad("bad API key", [*SERVED, "--api-key", "bad"], FAILED, ["HTTP 401", "invalid api key"]),
    Bad("answers that are not JSON, fail-fast",
        [*RUN, *openai("liar"), "--fail-fast", "--max-reasks", "0"], FAILED,
        ["--max-failures 1", "'c0'"]),
    Bad("too many failed cases",
        [*RUN, *openai("liar"), "--max-failures", "2", "--max-reasks", "0"], FAILED,
        ["after 2 failed cases", "'c1'"]),
    # -- other commands -----------------------------------------------------------------------
    Bad("dragon run without the dragon extra",
        ["dragon", "run", "{dragon}", "{out}", "--tasks", "101", "--few-shot", "2", *openai()],
        SYSTEM, ["extractinator dragon", "pip install 'extractinator[dragon]'"],
        setup="no_sklearn"),
    Bad("dragon evaluate without the dragon extra", ["dragon", "evaluate", "{d}", "{d}"], SYSTEM,
        ["extractinator[dragon]"], setup="no_sklearn"),
    Bad("leaderboard without the dragon extra", ["leaderboard", "{d}/runs_dragon"], SYSTEM,
        ["extractinator leaderboard", "extractinator[dragon]"], setup="no_sklearn"),
    Bad("compare without the dragon extra",
        ["compare", "{d}/runs_dragon/cell_a", "{d}/runs_dragon/cell_b"], SYSTEM,
        ["extractinator[dragon]"], setup="no_sklearn"),
    Bad("dragon run of a folder without jobs", ["dragon", "run", "{d}/runs_empty", "{out}"],
        INPUT, ["runs_empty"]),
    Bad("leaderboard of a folder without cells", ["leaderboard", "{d}/runs_empty"], INPUT,
        ["runs_empty", "no sweep cells"]),
    Bad("compare of missing cells", ["compare", "{d}/cell_a", "{d}/cell_b"], INPUT,
        ["cell_a", "not a sweep cell"]),
    Bad("sweep file missing", ["sweep", "{d}/nope_sweep.yaml", "--dry-run"], INPUT,
        ["nope_sweep.yaml"]),
    Bad("sweep file with an unknown key", ["sweep", "{d}/sweep_bad.yaml", "--dry-run"], INPUT,
        ["sweep_bad.yaml", "colour"]),
    Bad("evaluate a missing run", ["evaluate", "{d}/no_run", "{d}/labels_bad.csv"], INPUT,
        ["no_run"]),
    Bad("evaluate with labels without the id", ["evaluate", "{out}", "{d}/labels_bad.csv"],
        INPUT, ["labels_bad.csv", "id"], setup="finished_run"),
]
# fmt: on


def test_the_corpus_is_big_and_names_are_unique():
    assert len(CORPUS) >= 60
    assert len({b.name for b in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("bad", CORPUS, ids=[b.name for b in CORPUS])
def test_bad_input_ends_in_one_line_and_its_exit_code(bad, files, stub, tmp_path, monkeypatch):
    out = tmp_path / "out"
    fill = {
        "d": str(files),
        "out": str(out),
        "stub": stub.url,
        "free": str(free_port()),
        "dragon": str(DRAGON_SYNTHETIC / "test-input"),
    }
    args = [a.format(**fill) for a in bad.args]
    lock = None
    if bad.setup == "no_sklearn":  # as if the dragon extra were not installed
        for name in list(sys.modules):
            if name.split(".")[0] in ("sklearn", "seqeval") or name in DRAGON_METRICS:
                monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, "sklearn", None)
        monkeypatch.setitem(sys.modules, "seqeval", None)
    elif bad.setup == "locked":
        out.mkdir()
        lock = RunLock(out)
        lock.acquire()
    elif bad.setup == "other_run":
        other = write(tmp_path / "other.yaml", TASK.replace("Tel de", "Zoek de"))
        done = invoke([*SERVED, "--limit", "1"], fill, task=str(other))
        assert done.exit_code == 0, done.stderr
    elif bad.setup == "finished_run":
        done = invoke(SERVED, fill)
        assert done.exit_code == 0, done.stderr
    try:
        result = CliRunner().invoke(main, args)
    finally:
        if lock is not None:
            lock.release()
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    if os.environ.get("SHOW_CORPUS"):
        print(f"\n[{result.exit_code}] {bad.name}: {line}")
    assert "Traceback" not in result.output
    assert result.exit_code == bad.code, line
    for needle in bad.needles:
        assert needle.format(**fill) in line, line


def invoke(args: list[str], fill: dict[str, str], task: str | None = None):
    filled = [a.format(**fill) for a in args]
    if task is not None:
        filled[1] = task
    return CliRunner().invoke(main, filled)
