"""``extractinator studio``: serve the studio on 127.0.0.1 (a token when bound elsewhere)."""

from __future__ import annotations

from pathlib import Path

import click

INSTALL_HINT = "the studio needs its extra: pip install 'extractinator[studio]'"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workdir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder the studio may read and write (tasks, data, runs).",
)
@click.option(
    "--token",
    default=None,
    envvar="EXTRACTINATOR_STUDIO_TOKEN",
    help="Access token (default: a new one when not bound to loopback).",
)
def studio(host: str, port: int, workdir: Path, token: str | None) -> None:
    """A local web app to build tasks, run them, and review and score the results."""
    try:
        import uvicorn

        from ..studio.app import create_app, loopback_hosts
        from ..studio.security import is_loopback, new_token
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    workdir.mkdir(parents=True, exist_ok=True)
    local = is_loopback(host)
    if not local and token is None:
        token = new_token()
    app = create_app(workdir, token, allowed_hosts=loopback_hosts() if local else None)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    click.echo(f"extractinator studio on {url}  (folder: {workdir.resolve()}; Ctrl-C stops)")
    if token and not local:
        click.echo("bound beyond this machine: the token above is required on every request")
    uvicorn.run(app, host=host, port=port, log_level="warning")


COMMANDS = (studio,)
