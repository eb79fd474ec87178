"""Sending one request to one deployment, and sorting its failures: the caller's fault
(``UpstreamRejected``, passed on) or the deployment's (``UpstreamFailure``, failed over)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shoal.errors import UpstreamRejected
from shoal.gateway.routing import Target, UpstreamFailure

_CALLER_FAULTS = frozenset({400, 413, 415, 422})
"""Statuses that say the request is wrong wherever it goes. Others (401/403: Shoal's credentials
there; 404: a misrouted model; 408, 429, 5xx) are this deployment's problem."""


def error_fields(body: bytes) -> tuple[str, str | None, str | None]:
    """(message, code, param) from an OpenAI envelope, a Fish ``{status, message}`` or plain text."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300] or "no details", None, None
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail") or json.dumps(error)[:300]
            code, param = error.get("code"), error.get("param")
            return (
                str(message),
                code if isinstance(code, str) else None,
                param if isinstance(param, str) else None,
            )
        if isinstance(error, str):
            return error, None, None
    return json.dumps(data)[:300], None, None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


async def send(
    target: Target,
    path: str,
    *,
    json_body: Any = None,
    content: bytes | None = None,
    files: dict[str, tuple[str, bytes]] | None = None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
) -> httpx.Response:
    """POST to ``target`` and return a successful response (its body unread when ``stream``)."""
    url = target.upstream.base_url.rstrip("/") + path
    request = target.client.build_request(
        "POST", url, json=json_body, content=content, files=files, data=data,
        headers={**(headers or {}), **target.headers()},
    )  # fmt: skip
    try:
        response = await target.client.send(request, stream=stream)
    except httpx.TimeoutException as error:
        raise UpstreamFailure(f"timed out ({type(error).__name__})") from error
    except httpx.TransportError as error:
        raise UpstreamFailure(f"unreachable ({type(error).__name__}: {error})") from error
    if response.status_code < 400:
        return response
    try:
        body = await response.aread()
    except httpx.HTTPError:
        body = b""
    finally:
        await response.aclose()
    message, code, param = error_fields(body)
    if response.status_code in _CALLER_FAULTS:
        raise UpstreamRejected(
            f"the upstream provider refused the request: {message}", code=code, param=param
        )
    raise UpstreamFailure(f"HTTP {response.status_code}: {message}", retry_after=_retry_after(response))
