"""A task compiled once for a whole run: its JSON schema, its output validator, its
fingerprint and the allowed values of its option fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .engines.options import option_literals
from .task.spec import Task

__all__ = ["CompiledTask"]


@dataclass
class CompiledTask:
    """A task with its schema and validator built once for the whole run."""

    task: Task
    schema: dict[str, Any] = field(init=False)
    model: type[BaseModel] = field(init=False)
    fingerprint: str = field(init=False)

    option_fields: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.schema = self.task.json_schema()
        self.model = self.task.output_model()
        self.fingerprint = self.task.fingerprint()
        self.option_fields = {
            name: option_literals(spec.values, spec.type == "boolean", spec.nullable)
            for name, spec in self.task.answer_fields().items()
            if spec.type in ("boolean", "enum")
        }
