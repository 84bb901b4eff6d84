"""Exceptions. Every message is one line that names the file, record and field involved."""

from __future__ import annotations


class ExtractinatorError(Exception):
    """Base class: an error the user can act on; the CLI prints it as one line and exits 2."""


class TaskError(ExtractinatorError):
    """A task file or task definition is invalid."""


class DataError(ExtractinatorError):
    """A data file cannot be read, or lacks a required column."""


class ModelError(ExtractinatorError):
    """A model file is missing, unreadable or fails its checksum."""


class RunDirError(ExtractinatorError):
    """An output directory holds a run that does not match the requested one."""


class EngineError(ExtractinatorError):
    """An engine could not produce a completion for one request (after its own retries)."""


class EngineUnreachable(EngineError):
    """A server engine cannot be reached at all; the run cannot proceed."""


class EngineConnectionLost(EngineError):
    """A server accepted the connection but it broke before an answer came (the server died
    or restarted); another endpoint serving the same model may answer the request."""


class ContextOverflow(EngineError):
    """The prompt plus the output budget does not fit in the model's context window."""

    def __init__(self, prompt_tokens: int, max_tokens: int, context_size: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.context_size = context_size
        super().__init__(
            f"prompt of {prompt_tokens} tokens + output budget of {max_tokens} tokens exceeds "
            f"the model context of {context_size} tokens"
        )


class ConfigError(ExtractinatorError):
    """Options that do not fit together (e.g. --base-url with the embedded engine)."""


class DataWarning(UserWarning):
    """A data file was read, but not exactly as given (e.g. an encoding fallback)."""
