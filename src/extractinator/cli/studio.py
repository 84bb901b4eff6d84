"""``extractinator studio``: serve the studio on 127.0.0.1 (a token when bound elsewhere)."""

from __future__ import annotations

import socket
from pathlib import Path

import click

INSTALL_HINT = "the studio needs its extra: pip install 'extractinator[studio]'"
WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})


def shown_hosts(host: str) -> list[str]:
    """Names under which others can reach a studio bound to ``host``: for a wildcard
    address (0.0.0.0, ::), this machine's name and its outgoing address; else ``host``."""
    if host not in WILDCARDS:
        return [host]
    names: list[str] = []
    name = socket.gethostname()
    if name:
        names.append(name)
    try:  # the address of the interface that reaches other machines (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        try:
            address = socket.gethostbyname(name)
        except OSError:
            address = ""
    if address and not address.startswith("127.") and address not in names:
        names.append(address)
    return names or ["127.0.0.1"]


def studio_url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


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
    help="Access token, at least 22 random characters (default: a new one when not bound "
    "to loopback).",
)
def studio(host: str, port: int, workdir: Path, token: str | None) -> None:
    """A local web app to build tasks, run them, and review and score the results."""
    try:
        import uvicorn

        from ..studio.app import create_app, loopback_hosts
        from ..studio.security import is_loopback, new_token, token_problem
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    problem = token_problem(token)
    if problem is not None:
        raise click.ClickException(problem)
    workdir.mkdir(parents=True, exist_ok=True)
    local = is_loopback(host)
    if not local and token is None:
        token = new_token()
    app = create_app(workdir, token, allowed_hosts=loopback_hosts() if local else None)
    urls = [studio_url(h, port, token) for h in shown_hosts(host)]
    click.echo(f"extractinator studio on {urls[0]}  (folder: {workdir.resolve()}; Ctrl-C stops)")
    for other in urls[1:]:
        click.echo(f"  also: {other}")
    if token and not local:
        click.echo("bound beyond this machine: the token above is required on every request")
    uvicorn.run(app, host=host, port=port, log_level="warning")


COMMANDS = (studio,)
