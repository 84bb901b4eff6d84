"""The command line: one-line errors with the documented exit codes (no model needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from extractinator.cli import main
from extractinator.errors import ExitCode


def cli(*args, cwd=None):
    """Run the real CLI in a subprocess (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "extractinator", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture
def task_file(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text(
        "name: t\ndescription: d\ninput: report\nfields:\n  n: {type: integer}\n",
        encoding="utf-8",
    )
    return path


def assert_one_line_error(proc, *needles, code=ExitCode.INPUT):
    assert proc.returncode == code, proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in err[0], err[0]


def test_missing_input_column_names_file_and_column(tmp_path, task_file):
    data = tmp_path / "d.csv"
    data.write_text("id,text\n1,hallo\n", encoding="utf-8")
    proc = cli("run", task_file, data, "--out", tmp_path / "o")
    assert_one_line_error(proc, str(data), "report")


def test_bad_task_file_names_file_and_field(tmp_path):
    task = tmp_path / "bad.yaml"
    task.write_text("name: t\ndescription: d\nfields:\n  side: {type: enum}\n")
    data = tmp_path / "d.csv"
    data.write_text("text\nx\n")
    proc = cli("run", task, data, "--out", tmp_path / "o")
    assert_one_line_error(proc, str(task), "field 'side'", "values")


def test_empty_data_file(tmp_path, task_file):
    data = tmp_path / "empty.csv"
    data.write_text("")
    proc = cli("run", task_file, data, "--out", tmp_path / "o")
    assert_one_line_error(proc, str(data))


def test_unreachable_server_names_the_url(tmp_path, task_file):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"report": "Twee noduli."}) + "\n")
    url = "http://127.0.0.1:9/v1"
    proc = cli(
        "run",
        task_file,
        data,
        "--out",
        tmp_path / "o",
        "--engine",
        "openai",
        "--model",
        "m",
        "--base-url",
        url,
        "--no-progress",
    )
    assert_one_line_error(proc, "127.0.0.1:9", code=ExitCode.ENGINE)


def test_model_file_that_is_not_gguf(tmp_path, task_file):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"report": "x"}) + "\n")
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model")
    proc = cli("run", task_file, data, "--out", tmp_path / "o", "--model", fake)
    assert_one_line_error(proc, str(fake), "not a GGUF")


def test_base_url_with_the_embedded_engine_is_refused_not_ignored(tmp_path, task_file):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"report": "x"}) + "\n")
    proc = cli("run", task_file, data, "--out", tmp_path / "o", "--base-url", "http://x")
    assert_one_line_error(proc, "--base-url")


def test_help_lists_the_commands():
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "demo", "models"):
        assert command in result.output


@pytest.mark.filterwarnings("default::extractinator.errors.DataWarning")  # it is the subject
def test_a_warning_is_one_line_without_python_source(tmp_path):
    from click.testing import CliRunner

    from servers import Reply, StubServer

    task = tmp_path / "t.yaml"
    task.write_text("name: t\ndescription: d\nfields:\n  n: {type: integer}\n")
    data = tmp_path / "latin1.csv"
    data.write_bytes("text\ncaf\xe9 met 2 noduli\n".encode("latin-1"))
    choice = {"index": 0, "message": {"role": "assistant", "content": '{"n": 2}'}}
    reply = Reply(200, {"choices": [choice | {"finish_reason": "stop"}]})
    with StubServer([reply]) as stub:
        args = ["run", task, data, "--out", tmp_path / "o", "--no-progress", "--engine"]
        args += ["openai", "--model", "m", "--base-url", f"{stub.url}/v1"]
        result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"WARNING: {data}: not valid UTF-8 (byte 0xE9 at offset 8); read as cp1252 instead "
        "(pass --encoding / encoding= to choose another)"
    ]


def test_os_errors_and_missing_packages_read_as_one_line():
    from extractinator.cli.main import missing_package_message, os_error_message

    gone = FileNotFoundError(2, "No such file or directory", "/data/x.md")
    assert os_error_message(gone) == (
        "/data/x.md: no such file or directory (check the path, permissions and free space)"
    )
    extra = ModuleNotFoundError("No module named 'seqeval'", name="seqeval")
    assert missing_package_message(extra, "dragon") == (
        "`extractinator dragon` needs the dragon extra (module 'seqeval' is not installed): "
        "pip install 'extractinator[dragon]'"
    )
    other = ModuleNotFoundError("No module named 'frob.x'", name="frob.x")
    assert "package 'frob'" in missing_package_message(other, None)


def test_an_os_error_in_a_command_is_one_line_and_exit_6(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import extractinator.reports.evaluate as evaluate

    def fail(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "evaluation"))

    monkeypatch.setattr(evaluate, "evaluate_run", fail)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,n\n1,2\n")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path), str(labels)])
    assert result.exit_code == ExitCode.SYSTEM
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'evaluation'}: permission denied (check the path, permissions "
        "and free space)"
    ]


BIG_OUTPUT = """
import click
from extractinator.cli import main

@main.command("spill")
def spill():
    for i in range(200_000):
        click.echo(f"line {i}")

main()
"""


def test_output_piped_into_a_reader_that_stops_ends_quietly_with_exit_0():
    """`extractinator ... | head -1`: the broken pipe is neither a traceback nor an
    "Exception ignored" message when Python flushes stdout at exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", BIG_OUTPUT, "spill"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()  # the reader goes away, like `head -1`
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == ExitCode.OK
    assert stderr == ""
