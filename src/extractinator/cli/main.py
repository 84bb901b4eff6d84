"""The ``extractinator`` command: one group, each layer's commands in its own module."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ..errors import ExtractinatorError
from . import dragon, experiments, reports, run, studio


class _OneLineErrors(click.Group):
    """Print ExtractinatorErrors as one line and exit 2; Ctrl-C says how to resume."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExtractinatorError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished cases are saved; rerun to resume", err=True)
            sys.exit(130)


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="extractinator")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
def main(verbose: bool) -> None:
    """Validated, grounded structured data from clinical reports with local LLMs."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    logging.captureWarnings(True)


for _module in (run, reports, dragon, experiments, studio):
    for _command in _module.COMMANDS:
        main.add_command(_command)
