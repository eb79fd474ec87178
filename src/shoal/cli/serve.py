"""``shoal serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from shoal.cli.options import ConfigFile, DataDir, settings_from


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default 8080]")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Run the API server."""
    import uvicorn

    from shoal.app import create_app

    settings = settings_from(config, data_dir)
    server = settings.server.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    settings = settings.model_copy(update={"server": server})
    typer.echo(
        f"Shoal serving on http://{server.host}:{server.port} (data dir {settings.data_dir.resolve()})"
    )
    uvicorn.run(
        create_app(settings),
        host=server.host,
        port=server.port,
        log_level=server.log_level,
        timeout_graceful_shutdown=int(server.graceful_shutdown_seconds),
        proxy_headers=False,
        # wsproto completes a refused WebSocket handshake (401 before accept) cleanly.
        ws="wsproto",
    )
