"""The command line, on top of every other layer: ``extractinator run | demo | models |
evaluate | report | dragon | sweep | leaderboard | compare | studio``."""

from .main import main

__all__ = ["main"]
