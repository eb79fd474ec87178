"""``shoal say``: synthesize locally, no server needed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from shoal.audio.types import AudioFormat
from shoal.cli.options import ConfigFile, DataDir, settings_from
from shoal.errors import ShoalError
from shoal.settings import Settings

if TYPE_CHECKING:
    from shoal.pipeline.synthesize import SpeechParams

_FORMATS = ("wav", "pcm", "mp3", "opus", "flac", "aac")


def _read_text(text: str | None, input_file: Path | None) -> str:
    if input_file is not None:
        return sys.stdin.read() if str(input_file) == "-" else input_file.read_text(encoding="utf-8")
    if text is None or text == "-":
        if sys.stdin.isatty():
            typer.echo("error: give TEXT, --input FILE, or pipe text on stdin", err=True)
            raise typer.Exit(2)
        return sys.stdin.read()
    return text


def say(
    text: Annotated[str | None, typer.Argument(help="Text to speak; '-' or omitted reads stdin")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the audio")] = Path(
        "out.mp3"
    ),
    audio_format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="wav, pcm, mp3, opus, flac or aac [default: -o's extension]"),
    ] = None,
    voice: Annotated[
        str | None, typer.Option("--voice", "-v", help="Voice id, e.g. joe or espeak-fr")
    ] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="Read the text from a file")
    ] = None,
    sample_rate: Annotated[int | None, typer.Option(help="Output sample rate")] = None,
    speed: Annotated[float, typer.Option(min=0.5, max=2.0, help="Tempo factor")] = 1.0,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Speak TEXT into an audio file, on this machine's engines."""
    chosen = audio_format or output.suffix.lstrip(".").lower().replace("ogg", "opus") or "mp3"
    if chosen not in _FORMATS:
        typer.echo(f"error: unknown format {chosen!r}; use one of {', '.join(_FORMATS)}", err=True)
        raise typer.Exit(2)
    from shoal.pipeline.synthesize import SpeechParams  # loads the audio stack: only when speaking

    settings = settings_from(config, data_dir)
    params = SpeechParams(
        text=_read_text(text, input_file),
        voices=(voice,) if voice else (),
        format=cast(AudioFormat, chosen),
        sample_rate=sample_rate,
        speed=speed,
        latency="normal",
    )
    try:
        asyncio.run(_say(settings, params, output))
    except ShoalError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Wrote {output}")


async def _say(settings: Settings, params: SpeechParams, output: Path) -> None:
    from shoal.engines.registry import EngineRegistry
    from shoal.pipeline.synthesize import Synthesizer

    engines = EngineRegistry.from_settings(settings)
    await engines.start()
    try:
        synthesizer = Synthesizer(engines, settings.tts)
        plan = synthesizer.plan(params)
        with (
            Progress(
                TextColumn("speaking"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                transient=True, disable=len(plan.jobs) < 4,
            ) as progress,
            output.open("wb") as sink,
        ):  # fmt: skip
            task = progress.add_task("speaking", total=len(plan.jobs))
            async for data in synthesizer.stream(
                plan, lambda done, _total: progress.update(task, completed=done)
            ):
                sink.write(data)
    finally:
        await engines.close()
