"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shoal.settings import Settings, load_settings

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
