"""Fish Audio wire schemas. ``null`` and a missing key mean the same: unset."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shoal.audio.types import SAMPLE_RATES


def audio_bytes(value: Any) -> Any:
    """msgpack carries raw bytes; JSON clients may send base64 (fish-speech accepts that too)."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("audio must be bytes (msgpack) or a base64 string (JSON)") from None
    return value


class ReferenceAudio(BaseModel):
    audio: Annotated[bytes, BeforeValidator(audio_bytes)]
    text: str


class Prosody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    speed: float | None = Field(None, ge=0.5, le=2.0, description="Tempo factor; pitch is kept.")
    volume: float | None = Field(None, ge=-20.0, le=20.0, description="Gain in dB.")
    normalize_loudness: bool | None = Field(
        None, description="Level speech to the configured loudness target."
    )


OPUS_BITRATES = (-1000, 24, 32, 48, 64, 24000, 32000, 48000, 64000)


class TTSRequest(BaseModel):
    """Body of ``POST /v1/tts`` (JSON or msgpack)."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1)
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    references: list[ReferenceAudio] | list[list[ReferenceAudio]] | None = None
    reference_id: str | list[str] | None = None
    prosody: Prosody | None = None
    chunk_length: int | None = Field(None, ge=100, le=1000)
    min_chunk_length: int | None = Field(None, ge=0, le=100)
    normalize: bool | None = None
    format: Literal["wav", "pcm", "mp3", "opus"] | None = None
    sample_rate: int | None = None
    mp3_bitrate: Literal[64, 128, 192] | None = None
    opus_bitrate: Literal[-1000, 24, 32, 48, 64, 24000, 32000, 48000, 64000] | None = Field(
        None,
        description="-1000 = automatic; kbps (24…64) as the SDK sends, or bps (24000…64000) as the docs say.",
    )
    latency: Literal["normal", "balanced", "low"] | None = None
    max_new_tokens: int | None = Field(None, ge=1)
    repetition_penalty: float | None = Field(None, gt=0.0)
    condition_on_previous_chunks: bool | None = None
    early_stop_threshold: float | None = Field(None, ge=0.0, le=1.0)
    features: list[str] | None = None

    @model_validator(mode="after")
    def _sample_rate_fits_format(self) -> TTSRequest:
        if self.sample_rate is not None:
            audio_format = self.format or "mp3"
            allowed = SAMPLE_RATES[audio_format]
            if self.sample_rate not in allowed:
                raise ValueError(
                    f"sample_rate {self.sample_rate} is not available for {audio_format}; "
                    f"use one of {sorted(allowed)}"
                )
        return self

    @property
    def opus_bitrate_bps(self) -> int | None:
        if self.opus_bitrate is None or self.opus_bitrate == -1000:
            return None
        return self.opus_bitrate * 1000 if self.opus_bitrate < 1000 else self.opus_bitrate
