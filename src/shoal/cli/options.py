"""Options shared by several commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from shoal.errors import ShoalError
from shoal.settings import Settings, load_settings
from shoal.storage.db.database import Database, open_database

T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory [env SHOAL_DATA_DIR; default ./shoal-data]", show_default=False
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML configuration file", exists=True, dir_okay=False, show_default=False),
]


def settings_from(config: Path | None, data_dir: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, **overrides)
    except Exception as error:  # pydantic's ValidationError or a bad TOML file: show it plainly
        typer.echo(f"error: invalid configuration: {error}", err=True)
        raise typer.Exit(2) from None


def run_with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database (migrating it), run ``work`` on it, close it. Domain errors exit 1 plainly."""

    async def main() -> T:
        db = await open_database(settings.db_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except ShoalError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
