"""``shoal webhooks secret``: show or rotate an account's callback signing secret."""

from __future__ import annotations

from typing import Annotated

import typer

from shoal.billing.accounts import find_account
from shoal.cli.options import ConfigFile, DataDir, run_with_db, settings_from
from shoal.storage.db.database import Database
from shoal.tasks.secrets import WebhookSecret, account_secret, rotate

app = typer.Typer(help="Callback (webhook) signing secrets.", no_args_is_help=True)


@app.command("secret")
def secret(
    account: Annotated[str, typer.Option("--account", help="Account id or name")],
    rotate_: Annotated[
        bool, typer.Option("--rotate", help="Replace it; the old one signs on for the grace period")
    ] = False,
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            min=0,
            help="Seconds the old secret keeps signing [default: tasks.secret_rotation_grace_seconds]",
        ),
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Print an account's webhook secret (created on first use); prints the secret last."""
    settings = settings_from(config, data_dir)
    seconds = settings.tasks.secret_rotation_grace_seconds if grace is None else grace

    async def work(db: Database) -> WebhookSecret:
        found = await find_account(db, account)
        if found is None:
            raise ValueError(f"account {account!r} not found; see `shoal accounts list`")
        return await rotate(db, found.id, seconds) if rotate_ else await account_secret(db, found.id)

    current = run_with_db(settings, work)
    until = current.previous_expires_at
    also = f"The previous secret also signs until {until:%Y-%m-%d %H:%M:%S} UTC." if until else None
    if rotate_:
        typer.echo(f"Rotated. {also}" if also else "Rotated. The previous secret no longer signs.")
    elif also:
        typer.echo(also)
    typer.echo(current.secret)
