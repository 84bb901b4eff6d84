"""extractinator: validated, grounded structured data from clinical reports with local LLMs."""

from .api import extract
from .config import EngineConfig, GenerationConfig, RunConfig
from .records import Record
from .task import FieldSpec, Task, load_task

__version__ = "0.1.0"

__all__ = [
    "EngineConfig",
    "FieldSpec",
    "GenerationConfig",
    "Record",
    "RunConfig",
    "Task",
    "extract",
    "load_task",
]
