"""The ``shoal`` command."""

from __future__ import annotations

import typer

from shoal.cli.keys import app as keys_app
from shoal.cli.say import say
from shoal.cli.serve import serve

app = typer.Typer(
    name="shoal",
    help="Shoal: a self-hosted, Fish Audio-compatible speech API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command()(say)
app.add_typer(keys_app, name="keys")


def main() -> None:
    app()
