"""Exceptions and the exit codes they end a command with. Every message is one line that
names the file, record and field involved, and what to do."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a command ended (documented in the README's "Exit codes")."""

    OK = 0
    INTERNAL = 1  # a bug: Python's own exit code for an uncaught exception
    USAGE = 2  # the command line itself: unknown option, missing argument (click)
    INPUT = 3  # a task file, data file, model file, option value or run directory
    ENGINE = 4  # the model server or engine: unreachable, refused, broken answers
    RUN_FAILED = 5  # the run stopped early: every case failed on the engine, --max-failures
    SYSTEM = 6  # this machine: output not writable, disk full, run in use, package missing
    INTERRUPTED = 130  # Ctrl-C (finished cases are saved)


class ExtractinatorError(Exception):
    """Base class: an error the user can act on; the CLI prints it as one line and exits
    with ``exit_code``."""

    exit_code: ExitCode = ExitCode.INPUT


class TaskError(ExtractinatorError):
    """A task file or task definition is invalid."""


class DataError(ExtractinatorError):
    """A data file cannot be read, or lacks a required column."""


class ModelError(ExtractinatorError):
    """A model file is missing, unreadable or fails its checksum."""


class RunDirError(ExtractinatorError):
    """An output directory holds a run that does not match the requested one, or is damaged."""


class RunDirLocked(RunDirError):
    """Another process is writing into the same output directory."""

    exit_code = ExitCode.SYSTEM


class OutputError(ExtractinatorError):
    """Output cannot be written: a folder that cannot be created, a full disk, no permission."""

    exit_code = ExitCode.SYSTEM


class MissingExtra(ExtractinatorError):
    """A command needs an optional extra that is not installed."""

    exit_code = ExitCode.SYSTEM


class RunStopped(ExtractinatorError):
    """A run stopped early because its cases kept failing (see RunConfig.max_failures)."""

    exit_code = ExitCode.RUN_FAILED


class EngineError(ExtractinatorError):
    """An engine could not produce a completion for one request (after its own retries)."""

    exit_code = ExitCode.ENGINE


class EngineUnreachable(EngineError):
    """A server engine cannot be reached at all; the run cannot proceed."""


class EngineConnectionLost(EngineError):
    """A server accepted the connection but it broke before an answer came (the server died
    or restarted); another endpoint serving the same model may answer the request."""


class ContextOverflow(EngineError):
    """The prompt plus the output budget does not fit in the model's context window."""

    def __init__(
        self, prompt_tokens: int, max_tokens: int, context_size: int, message: str | None = None
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.context_size = context_size
        super().__init__(
            message
            or f"prompt of {prompt_tokens} tokens + output budget of {max_tokens} tokens "
            f"exceeds the model context of {context_size} tokens"
        )


class ConfigError(ExtractinatorError):
    """Options that do not fit together (e.g. --base-url with the embedded engine)."""


class DataWarning(UserWarning):
    """A data file was read, but not exactly as given (e.g. an encoding fallback)."""
