"""The ``extractinator`` command: one group, each layer's commands in its own module.

Every failure a user can cause or meet ends here in one line on stderr and an exit code
that says what kind of failure it was (``errors.ExitCode``, documented in the README);
a traceback means a bug.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import warnings
from typing import Any

import click

from ..errors import ExitCode, ExtractinatorError
from . import dragon, experiments, reports, run, studio

# import name (first part) -> the extra that installs it
EXTRAS = {
    "sklearn": "dragon",
    "seqeval": "dragon",
    "matplotlib": "report",
    "fastapi": "studio",
    "uvicorn": "studio",
    "starlette": "studio",
    "multipart": "studio",
    "python_multipart": "studio",
    "pyarrow": "parquet",
    "pypdf": "documents",
    "docx": "documents",
    "pytesseract": "documents",
    "pdf2image": "documents",
    "PIL": "documents",
}


def missing_package_message(e: ModuleNotFoundError, command: str | None) -> str:
    """One line saying which extra to install for a module that is not there."""
    module = (e.name or "").split(".")[0]
    what = f"`extractinator {command}`" if command else "this command"
    extra = EXTRAS.get(module)
    if extra:
        return (
            f"{what} needs the {extra} extra (module {module!r} is not installed): "
            f"pip install 'extractinator[{extra}]'"
        )
    return f"{what} needs the Python package {module!r}, which is not installed: pip install it"


def os_error_message(e: OSError) -> str:
    """An OSError that reached the top as one line: the path, the reason."""
    where = f"{e.filename}: " if e.filename else ""
    reason = e.strerror or str(e) or type(e).__name__
    return f"{where}{reason[0].lower()}{reason[1:]} (check the path, permissions and free space)"


class _OneLineErrors(click.Group):
    """Print errors as one line and exit with their ExitCode; Ctrl-C says how to resume."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """click's own, with its usage errors as one line too (not usage + hint + error)."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx is not None else "extractinator"
            _fail(f"{e.format_message()} (see '{where} --help')", ExitCode.USAGE)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code)
        except click.Abort:
            _fail("aborted", ExitCode.INTERRUPTED)
        sys.exit(result if isinstance(result, int) else ExitCode.OK)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExtractinatorError as e:
            _fail(str(e), e.exit_code)
        except ModuleNotFoundError as e:
            _fail(missing_package_message(e, ctx.invoked_subcommand), ExitCode.SYSTEM)
        except OSError as e:
            if e.errno == errno.EPIPE:  # output piped into `head`: the reader stopped, quietly
                _silence_stdout()
                sys.exit(ExitCode.OK)
            _fail(os_error_message(e), ExitCode.SYSTEM)
        except KeyboardInterrupt:
            click.echo("interrupted: finished cases are saved; rerun to resume", err=True)
            sys.exit(ExitCode.INTERRUPTED)


def _silence_stdout() -> None:
    """Point stdout's file descriptor at /dev/null, so flushing it at exit raises no second
    broken pipe (Python's documented recipe for SIGPIPE); a stdout without a descriptor
    (captured output in tests) has nothing to flush to a closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _fail(message: str, code: int) -> None:
    flat = " ".join(message.split())  # one line, whatever a message held
    click.echo(f"error: {flat}", err=True)
    sys.exit(code)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to whatever sys.stderr is at the time (click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """A warning as one log line: its message, never the Python source line."""
    logging.getLogger("extractinator").warning("%s", message)


def _setup_logging(verbose: bool) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    warnings.showwarning = _show_warning


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="extractinator")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
def main(verbose: bool) -> None:
    """Validated, grounded structured data from clinical reports with local LLMs."""
    _setup_logging(verbose)


for _module in (run, reports, dragon, experiments, studio):
    for _command in _module.COMMANDS:
        main.add_command(_command)
