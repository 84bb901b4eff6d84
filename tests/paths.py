"""Where the tests' files are: everything inside the repository (a fresh clone runs every
test with nothing beside it)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLES = REPO / "src" / "extractinator" / "examples"
# a small subset of the public DRAGON synthetic tasks (see its README)
DRAGON_SYNTHETIC = FIXTURES / "dragon-synthetic"
