"""Tasks: the typed definition of what to extract."""

from .load import load_task, task_from_mapping
from .spec import Example, FieldSpec, Task

__all__ = ["Example", "FieldSpec", "Task", "load_task", "task_from_mapping"]
