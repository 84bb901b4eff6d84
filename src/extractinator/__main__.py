"""``python -m extractinator`` is the CLI."""

from .cli import main

main()
