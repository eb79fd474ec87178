"""``shoal worker``: run queued tasks and deliver their callbacks, without serving HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from shoal.cli.options import ConfigFile, DataDir, settings_from


def worker(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Tasks run at once [default tasks.workers, or 2]")
    ] = None,
) -> None:
    """Run queued tasks (and deliver their callbacks) until stopped; as many as you like, anywhere."""
    from shoal.services import Services

    settings = settings_from(config, data_dir)
    tasks = settings.tasks.model_copy(update={"workers": concurrency or settings.tasks.workers or 2})
    settings = settings.model_copy(update={"tasks": tasks})

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        services = await Services.start(settings)
        typer.echo(
            f"Shoal worker running {tasks.workers} tasks at a time (data dir {settings.data_dir.resolve()})"
        )
        try:
            await stop.wait()
        finally:
            await services.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
