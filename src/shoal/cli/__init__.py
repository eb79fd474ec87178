"""The ``shoal`` command."""

from __future__ import annotations

import typer

from shoal.cli.accounts import app as accounts_app
from shoal.cli.accounts import plans, usage
from shoal.cli.keys import app as keys_app
from shoal.cli.models import models
from shoal.cli.say import say
from shoal.cli.serve import serve
from shoal.cli.webhooks import app as webhooks_app
from shoal.cli.worker import worker

app = typer.Typer(
    name="shoal",
    help="Shoal: a self-hosted, Fish Audio-compatible speech API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command()(worker)
app.command()(say)
app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
app.add_typer(webhooks_app, name="webhooks")
app.command()(plans)
app.command()(usage)
app.command()(models)


def main() -> None:
    app()
