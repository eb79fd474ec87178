"""Which deployment serves a request: weighted order among healthy ones, retries with backoff,
failover to the next on connection errors, 429, 5xx and timeouts."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from shoal.errors import UpstreamUnavailable
from shoal.gateway.breaker import CircuitBreaker
from shoal.settings import Deployment, Settings, Upstream

log = logging.getLogger("shoal.gateway")

Surface = Literal["chat", "tts", "stt"]
T = TypeVar("T")

_MAX_RETRY_AFTER = 5.0
"""An upstream's Retry-After longer than this is not waited for: the next deployment is tried."""


class UpstreamFailure(Exception):
    """This deployment could not serve the request now; another may (counts against its breaker)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(eq=False)
class Target:
    """One deployment of one model, with its client and its breaker."""

    model: str
    """Shoal's name for the model."""
    upstream_name: str
    upstream: Upstream
    upstream_model: str
    weight: float
    client: httpx.AsyncClient
    breaker: CircuitBreaker

    def headers(self) -> dict[str, str]:
        key = self.upstream.key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def health(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "upstream": self.upstream_name,
            "kind": self.upstream.kind,
            "base_url": self.upstream.base_url,
            "upstream_model": self.upstream_model,
            "weight": self.weight,
            "state": self.breaker.state,
            "consecutive_failures": self.breaker.failures,
            "last_error": self.breaker.last_error,
        }


def _client(upstream: Upstream) -> httpx.AsyncClient:
    timeout = httpx.Timeout(upstream.timeout_seconds, connect=upstream.connect_timeout_seconds)
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30)
    # Redirects are not followed: a provider that redirects is misconfigured, not to be chased.
    return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False, trust_env=False)


class Router:
    """The routing table: deployments of every upstream-served model, one HTTP pool per upstream."""

    def __init__(self, settings: Settings, local_engines: dict[str, str] | None = None) -> None:
        """``local_engines``: engine name → base URL of its OpenAI-compatible server on loopback."""
        self._upstreams = dict(settings.upstreams)
        for engine, base_url in (local_engines or {}).items():
            # Generous timeouts (a CPU model is slow to its first token), no retries: nowhere else to go.
            self._upstreams[f"local:{engine}"] = Upstream(
                kind="openai", base_url=base_url, timeout_seconds=300, max_retries=0, cooldown_seconds=5
            )
        self._clients = {name: _client(upstream) for name, upstream in self._upstreams.items()}
        self._table: dict[tuple[Surface, str], list[Target]] = {}
        for name, route in settings.tts.models.items():
            if route.deployments:
                self._table["tts", name] = self._targets(name, route.deployments)
        for name, stt in settings.stt.models.items():
            if stt.deployments:
                self._table["stt", name] = self._targets(name, stt.deployments)
        for name, chat in settings.chat.models.items():
            self._table["chat", name] = self._targets(name, chat.deployments)

    def _targets(self, model: str, deployments: list[Deployment]) -> list[Target]:
        targets = []
        for deployment in deployments:
            name = deployment.upstream or f"local:{deployment.engine}"
            if name not in self._upstreams:
                raise ValueError(f"model {model!r}: the local engine {deployment.engine!r} is not running")
            upstream = self._upstreams[name]
            targets.append(
                Target(
                    model, name, upstream, deployment.model or (model if deployment.upstream else "local"),
                    deployment.weight, self._clients[name],
                    CircuitBreaker(upstream.failure_threshold, upstream.cooldown_seconds),
                )
            )  # fmt: skip
        return targets

    def routes(self, surface: Surface, model: str) -> bool:
        return (surface, model) in self._table

    def health(self) -> list[dict[str, Any]]:
        return [
            {"surface": surface, **target.health()}
            for (surface, _), targets in sorted(self._table.items())
            for target in targets
        ]

    async def close(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))

    def order(self, surface: Surface, model: str) -> list[Target]:
        """Deployments to try, in order: weighted random among those whose breaker is closed, then
        those due a trial. Resting ones are left out."""
        targets = self._table[surface, model]
        if len(targets) == 1:
            return targets
        # Efraimidis–Spirakis: sorting by u^(1/w) draws a weighted order in one pass.
        ranked = sorted(targets, key=lambda t: random.random() ** (1 / t.weight), reverse=True)
        return [t for t in ranked if t.breaker.state == "closed"] + [
            t for t in ranked if t.breaker.state == "half_open"
        ]

    async def call(self, surface: Surface, model: str, attempt: Callable[[Target], Awaitable[T]]) -> T:
        """Run ``attempt`` on deployments in turn until one succeeds.

        ``attempt`` raises ``UpstreamFailure`` for what another try may fix; anything else
        (the upstream refusing the request itself, a cancelled client) ends the call at once.
        """
        failures: list[str] = []
        for target in self.order(surface, model):
            for retry in range(target.upstream.max_retries + 1):
                if not target.breaker.allows():
                    break
                try:
                    result = await attempt(target)
                except UpstreamFailure as failure:
                    target.breaker.failed(str(failure))
                    failures.append(f"{target.upstream_name}: {failure}")
                    log.warning(
                        "%s model %s via %s failed: %s", surface, model, target.upstream_name, failure
                    )
                    if retry == target.upstream.max_retries:
                        break
                    delay = target.upstream.retry_backoff_seconds * 2**retry * random.uniform(0.5, 1.5)
                    if failure.retry_after is not None:
                        if failure.retry_after > _MAX_RETRY_AFTER:
                            break
                        delay = max(delay, failure.retry_after)
                    await asyncio.sleep(delay)
                    continue
                except asyncio.CancelledError:
                    target.breaker.abandoned()
                    raise
                except BaseException:
                    target.breaker.succeeded()  # it answered: the request itself was refused
                    raise
                target.breaker.succeeded()
                return result
        resting = [t.breaker.rests_for() for t in self._table[surface, model] if t.breaker.state == "open"]
        reason = "; ".join(failures) if failures else "every deployment is resting after repeated failures"
        raise UpstreamUnavailable(
            f"model {model!r} is unavailable upstream ({reason}); retry later",
            retry_after=min(resting) if resting and not failures else 1.0,
        )
