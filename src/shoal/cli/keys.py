"""``shoal keys``: create, list and revoke API keys. Works with or without a running server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shoal.auth.keys import create_key, list_keys, revoke_key
from shoal.cli.options import ConfigFile, DataDir, settings_from
from shoal.storage.db.database import open_database

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A label for the key, e.g. who uses it")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create a key. The secret is printed once, as the last line."""
    settings = settings_from(config, data_dir)
    key, secret = create_key(db=open_database(settings.database_url), name=name)
    typer.echo(f"Created key {key.id} ({key.name}). Keep the secret below; it is not shown again.")
    typer.echo(secret)


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List keys by prefix; secrets are never shown."""
    settings = settings_from(config, data_dir)
    table = Table("id", "name", "prefix", "created", "last used", "status")
    for key in list_keys(db=open_database(settings.database_url)):
        table.add_row(
            key.id,
            key.name,
            key.prefix + "…",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            "revoked" if key.revoked_at else "active",
        )
    Console(width=160).print(table)


@app.command("revoke")
def revoke(
    key_id: Annotated[
        str, typer.Argument(help="The key's id (or a unique prefix of it), from `shoal keys list`")
    ],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Revoke a key; requests with it are refused from then on."""
    settings = settings_from(config, data_dir)
    if not revoke_key(db=open_database(settings.database_url), key_id=key_id):
        typer.echo(f"error: no single active key matches id {key_id!r}; see `shoal keys list`", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked key {key_id}.")
