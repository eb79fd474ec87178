"""Text to speech through upstream deployments: a Fish-compatible server (Fish Audio's cloud, a
fish-speech server, another Shoal) or an OpenAI-compatible one (``/audio/speech``).

The upstream's audio is passed through as it arrives. A format the upstream lacks (Fish has
no FLAC or AAC) is asked for as PCM and encoded here. Billing happens at Shoal: the whole text
once the upstream has started answering (it is charging for all of it), nothing when no
deployment produced audio.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx
import msgpack
import numpy as np

from shoal.audio import dsp
from shoal.audio.output import AudioOutput
from shoal.audio.types import AudioFormat
from shoal.billing.usage import Outcome, UsageEvent, UsageRecorder
from shoal.gateway.routing import Router, Target
from shoal.gateway.upstream import send
from shoal.pipeline.synthesize import SpeechParams

log = logging.getLogger("shoal.gateway")

FISH_FORMATS = frozenset({"wav", "pcm", "mp3", "opus"})
OPENAI_FORMATS = frozenset({"wav", "pcm", "mp3", "opus", "flac", "aac"})
OPENAI_PCM_RATE = 24_000


@dataclass(eq=False)
class UpstreamSpeechPlan:
    """A synthesis an upstream has accepted: its response is open and streams audio."""

    params: SpeechParams
    model: str
    target: Target
    response: httpx.Response
    pcm_rate: int | None
    """Set when the upstream sends PCM at this rate that Shoal encodes into ``params.format``."""
    meter: UsageRecorder | None = None

    def release(self) -> None:
        """Nothing to release before streaming (the plan protocol's engine tickets)."""

    async def close(self) -> None:
        await self.response.aclose()


def fish_body(params: SpeechParams, upstream_format: AudioFormat) -> dict[str, Any]:
    """The Fish request for ``params``: the caller's own Fish body when it came as one (references,
    sampling parameters and tags pass through untouched), else one built from ``params``."""
    if params.fish_body is not None:
        body = dict(params.fish_body)
        if upstream_format != params.format:
            body.update(format=upstream_format, sample_rate=params.output_rate)
        return body
    body = {
        "text": params.text,
        "format": upstream_format,
        "sample_rate": params.output_rate,
        "mp3_bitrate": params.mp3_bitrate_kbps,
        "latency": params.latency,
        "normalize": params.normalize,
        "chunk_length": params.chunk_length,
        "prosody": {"speed": params.speed, "volume": params.volume_db},
    }
    if params.voices:
        body["reference_id"] = params.voices[0] if len(params.voices) == 1 else list(params.voices)
    return body


def _openai_body(params: SpeechParams, model: str, upstream_format: str) -> dict[str, Any]:
    return {
        "model": model,
        "input": params.text,
        "voice": params.voices[0] if params.voices else "alloy",
        "response_format": upstream_format,
        "speed": params.speed,
    }


class UpstreamSpeech:
    def __init__(self, router: Router) -> None:
        self._router = router

    def serves(self, model: str) -> bool:
        return self._router.routes("tts", model)

    async def open(self, model: str, params: SpeechParams, request_id: str) -> UpstreamSpeechPlan:
        """Find a deployment that accepts the request (failing over), with its audio about to flow."""

        async def attempt(target: Target) -> UpstreamSpeechPlan:
            headers = {"x-request-id": request_id}
            if target.upstream.kind == "fish":
                passthrough = params.format in FISH_FORMATS
                upstream_format: AudioFormat = params.format if passthrough else "pcm"
                headers.update({"content-type": "application/msgpack", "model": target.upstream_model})
                body = msgpack.packb(fish_body(params, upstream_format), use_bin_type=True)
                response = await send(target, "/v1/tts", content=body, headers=headers, stream=True)
                pcm_rate = None if passthrough else params.output_rate
                return UpstreamSpeechPlan(params, model, target, response, pcm_rate)
            passthrough = params.format in OPENAI_FORMATS and params.output_rate == OPENAI_PCM_RATE
            request = _openai_body(params, target.upstream_model, params.format if passthrough else "pcm")
            response = await send(target, "/audio/speech", json_body=request, headers=headers, stream=True)
            pcm_rate = None if passthrough else OPENAI_PCM_RATE
            return UpstreamSpeechPlan(params, model, target, response, pcm_rate)

        return await self._router.call("tts", model, attempt)

    async def stream(
        self, plan: UpstreamSpeechPlan, meter: UsageRecorder | None
    ) -> AsyncGenerator[bytes, None]:
        """The upstream's audio as it arrives (encoded here when it sends PCM)."""
        params = plan.params
        encoder = _PcmEncoder(params, plan.pcm_rate) if plan.pcm_rate is not None else None
        outcome: Outcome = "cancelled"
        received = 0
        try:
            async for data in plan.response.aiter_raw():
                received += len(data)
                yield encoder.write(data) if encoder is not None else data
            if encoder is not None:
                yield encoder.finish()
            outcome = "completed"
        except httpx.HTTPError as error:
            # The status line has gone out: all that can be done is to end the stream early.
            log.warning(
                "upstream %s broke off speech after %d bytes: %s", plan.target.upstream_name, received, error
            )
            outcome = "failed"
        finally:
            await plan.close()
            if meter is not None:
                spoken = len(params.text.encode()) if outcome != "failed" else 0
                meter.record(UsageEvent("tts", plan.model, spoken, "utf8_bytes", outcome))


class _PcmEncoder:
    """16-bit mono PCM from an upstream, resampled and encoded into the format the caller asked for."""

    def __init__(self, params: SpeechParams, in_rate: int) -> None:
        self._output = AudioOutput(
            params.format, sample_rate=params.output_rate, mp3_bitrate_kbps=params.mp3_bitrate_kbps,
            opus_bitrate_bps=params.opus_bitrate_bps, volume_db=0.0,
        )  # fmt: skip
        self._resampler = (
            dsp.Resampler(in_rate, params.output_rate) if in_rate != params.output_rate else None
        )
        self._odd = b""

    def _samples(self, data: bytes, last: bool = False) -> dsp.Float:
        data = self._odd + data
        cut = len(data) - len(data) % 2
        self._odd = data[cut:]
        samples = dsp.to_float(np.frombuffer(data[:cut], dtype="<i2"))
        return self._resampler.process(samples, last=last) if self._resampler is not None else samples

    def write(self, data: bytes) -> bytes:
        return self._output.write(self._samples(data))

    def finish(self) -> bytes:
        return self._output.write(self._samples(b"", last=True)) + self._output.finish()
