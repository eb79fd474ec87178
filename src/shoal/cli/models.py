"""``shoal models``: the routing table — every model name, what serves it, and whether it answers."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from shoal.cli.options import ConfigFile, DataDir, settings_from
from shoal.settings import Settings, Upstream

PROBE_PATHS = {"openai": "/models", "fish": "/v1/tts"}
"""Cheap GETs that any server of the kind answers (a 404 or 405 still proves it is there)."""


async def _probe(upstream: Upstream, wait_seconds: float) -> str:
    url = upstream.base_url.rstrip("/") + PROBE_PATHS[upstream.kind]
    key = upstream.key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=wait_seconds, trust_env=False) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as error:
        return f"[red]down[/red] ({type(error).__name__})"
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 500:
        return f"[red]failing[/red] (HTTP {response.status_code}, {elapsed:.0f} ms)"
    if response.status_code in (401, 403):
        return f"[yellow]refuses the key[/yellow] (HTTP {response.status_code}, {elapsed:.0f} ms)"
    return f"[green]up[/green] ({elapsed:.0f} ms)"


def routing_table(settings: Settings, health: dict[str, str]) -> Table:
    table = Table("model", "kind", "served by", "upstream model", "weight", "health")
    tts = settings.tts
    for name, route in sorted(tts.models.items()):
        if not route.deployments:
            table.add_row(name, "tts", f"local engine {route.engine}", "", "", "local")
        for deployment in route.deployments:
            upstream = deployment.upstream or ""
            table.add_row(
                name, "tts", f"{upstream} ({settings.upstreams[upstream].kind})",
                deployment.model or name, f"{deployment.weight:g}", health.get(upstream, ""),
            )  # fmt: skip
    for name, stt_model in sorted(settings.stt.models.items()):
        table.add_row(name, "asr", f"local whisper ({stt_model.source})", "", "", "local")
    for name, chat_model in sorted(settings.chat.models.items()):
        for deployment in chat_model.deployments:
            where = deployment.upstream or f"local engine {deployment.engine}"
            kind = settings.upstreams[deployment.upstream].kind if deployment.upstream else "local"
            table.add_row(
                name, "chat", f"{where} ({kind})", deployment.model or name, f"{deployment.weight:g}",
                health.get(deployment.upstream or "", "local"),
            )  # fmt: skip
    aliases = {**tts.aliases, **settings.stt.aliases, **settings.chat.aliases}
    for alias, target in sorted(aliases.items()):
        table.add_row(alias, "alias", f"→ {target}", "", "", "")
    return table


def models(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    probe: Annotated[bool, typer.Option(help="Check that each upstream answers")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each upstream")] = 3.0,
) -> None:
    """List the models, where each is routed, and the health of every upstream."""
    settings = settings_from(config, data_dir)
    health: dict[str, str] = {}
    if probe and settings.upstreams:

        async def probe_all() -> list[str]:
            return await asyncio.gather(*(_probe(up, timeout) for up in settings.upstreams.values()))

        health = dict(zip(settings.upstreams, asyncio.run(probe_all()), strict=True))
    Console().print(routing_table(settings, health))
