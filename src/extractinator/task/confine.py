"""Paths named inside a task file stay inside the task's folder.

A task file is often shared: one that names ``/home/you/notes.txt`` as its examples file
would put that file in the prompt. So every path a task file names (``examples_file``,
llm_extractinator's ``Example_Path``, ``Data_Path`` and ``Parser_Format``) must resolve,
symlinks followed, inside the folders it may use; the user lifts that for a task file
they trust with ``--allow-task-code`` (the CLI), and a data file given on the command line
replaces ``Data_Path`` altogether.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import TaskError

TRUST_HINT = "move the file next to the task file, or pass --allow-task-code to trust this task"


def inside(path: Path, roots: list[Path]) -> bool:
    """Whether ``path`` (symlinks followed) lies in one of ``roots``."""
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)


def confine(path: Path, roots: list[Path], where: str, hint: str = TRUST_HINT) -> Path:
    """``path`` when it lies inside ``roots``, else a TaskError naming the key and folders."""
    if inside(path, roots):
        return path
    folders = " or ".join(str(r) for r in roots)
    raise TaskError(f"{where}: {path} is outside the task's folder ({folders}); {hint}")
