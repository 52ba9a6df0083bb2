"""Async raw-JSON access to the Kubernetes API over one keep-alive connection pool.

Objects stay plain dicts (no model classes). The HTTP/1.1 wire is
``issuer.kube.http`` (standard library streams and ssl); this module adds the
API server's address and credentials, JSON, the error classes and the
optional client-side QPS/burst limiting (off unless ``--kube-api-qps`` is
given, like controller-runtime's, which upstream v1.12 runs with: the API
server's priority and fairness does the limiting). Transport failures reach callers as
``OSError`` (``issuer.kube.http.HttpError`` for malformed or cut answers) or
``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from issuer.kube import http
from issuer.kube.config import ClusterAccess, KubeConfigError
from issuer.ratelimit import TokenBucket

JSON = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
STREAM_CHUNK = 1 << 16
# One object is at most ~3 MiB (the API server's request size limit); a watch
# event wraps one. Bodies read whole and watch lines beyond this are refused.
MAX_BODY_BYTES = 16 << 20
MAX_EVENT_BYTES = 16 << 20


class ApiError(Exception):
    """A non-2xx answer. ``status`` is the HTTP code; ``body`` the decoded Status if any.

    ``api_error`` returns the subclass that says what to do: NotFound,
    Conflict (re-read and try again), Gone (relist), TooManyRequests (wait
    ``retry_after``), Refused (the same write will be refused again: 400,
    403, 413, 422).
    """

    def __init__(self, status: int, body: JSON | None, method: str, path: str) -> None:
        self.status = status
        self.body = body or {}
        self.reason = str(self.body.get("reason", ""))
        message = str(self.body.get("message", "")) or f"HTTP {status}"
        super().__init__(f"{method} {path}: {status} {message}")
        self.message = message


class NotFound(ApiError):
    """404: the object does not exist (any more)."""


class Conflict(ApiError):
    """409: the object changed since it was read (or already exists)."""


class Gone(ApiError):
    """410: the resourceVersion is too old; list again."""


class Refused(ApiError):
    """400, 403, 413, 422: the server will refuse the same request again."""


class TooManyRequests(ApiError):
    """429: the server asks us to come back after ``retry_after`` seconds."""

    def __init__(
        self, status: int, body: JSON | None, method: str, path: str, retry_after: float
    ) -> None:
        super().__init__(status, body, method, path)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[ApiError]] = {
    400: Refused,
    403: Refused,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: Refused,
    422: Refused,
}
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 60.0


def retry_after_seconds(value: str | None) -> float:
    """Seconds from a Retry-After header (delta seconds), bounded; the default when absent."""
    try:
        seconds = float(value) if value else DEFAULT_RETRY_AFTER
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER
    if seconds != seconds:  # NaN
        seconds = DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def api_error(
    status: int,
    body: JSON | None,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """The ApiError subclass for an answer with ``status``."""
    if status == 429:
        retry = retry_after_seconds((headers or {}).get("Retry-After"))
        return TooManyRequests(status, body, method, path, retry)
    return _BY_STATUS.get(status, ApiError)(status, body, method, path)


#: Connections to the API server at most (the watches hold one each). An open
#: TLS connection costs ~0.3 MiB of RSS (asyncio's 256 KiB read buffer and
#: OpenSSL's state), and the memory of the most ever open stays with the
#: process; with 64, a burst opened ~30 (8-9 MiB). Calls last milliseconds and
#: the workers spend their time on AWS, so a few connections serve them all.
POOL_SIZE = 12


class KubeClient:
    """One connection pool to one API server; safe to share between tasks."""

    def __init__(
        self,
        access: ClusterAccess,
        *,
        qps: float | None = None,
        burst: int = 200,
        user_agent: str = "awspca-issuer",
        pool_size: int = POOL_SIZE,
    ) -> None:
        self.access = access
        self._limiter = TokenBucket(qps, burst) if qps else None
        try:
            origin = http.Origin.parse(access.server)
        except ValueError as e:
            raise KubeConfigError(str(e)) from e
        self._prefix = origin.prefix
        self._pool = http.ConnectionPool(origin, access.ssl_context, limit=pool_size)
        self._fixed_headers = (
            ("Host", origin.host_header),
            ("User-Agent", user_agent),
            ("Accept", "application/json"),
        )

    @property
    def namespace(self) -> str:
        return self.access.namespace

    async def close(self) -> None:
        self._pool.close()

    async def _headers(self, content_type: str | None) -> list[tuple[str, str]]:
        headers = list(self._fixed_headers)
        if content_type:
            headers.append(("Content-Type", content_type))
        token = await self.access.token()
        if token:
            headers.append(("Authorization", f"Bearer {token}"))
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
        timeout: float,
    ) -> http.Response:
        target = http.request_target(self._prefix + path, params)
        deadline = asyncio.get_running_loop().time() + timeout
        headers = await self._headers(content_type)
        return await self._pool.send(method, target, headers, body, deadline=deadline)

    async def _raise_for_status(self, resp: http.Response, method: str, path: str) -> None:
        if resp.status >= 300:
            raw = await resp.read(MAX_BODY_BYTES)
            raise api_error(resp.status, _decode(raw), method, path, resp.headers)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float = 30.0,
    ) -> JSON:
        if self._limiter is not None:
            await self._limiter.acquire()
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            content_type = content_type or "application/json"
        resp = await self._send(method, path, params, data, content_type, timeout)
        try:
            raw = await resp.read(MAX_BODY_BYTES)
        finally:
            resp.release()
        if resp.status >= 300:
            raise api_error(resp.status, _decode(raw), method, path, resp.headers)
        return _decode(raw) or {}

    async def get(self, path: str, params: dict[str, str] | None = None) -> JSON:
        return await self.request("GET", path, params=params)

    async def create(self, path: str, obj: JSON) -> JSON:
        return await self.request("POST", path, body=obj)

    async def update(self, path: str, obj: JSON) -> JSON:
        return await self.request("PUT", path, body=obj)

    async def merge_patch(self, path: str, patch: JSON) -> JSON:
        return await self.request("PATCH", path, body=patch, content_type=MERGE_PATCH)

    async def stream(
        self, path: str, params: dict[str, str], *, timeout: float = 60.0
    ) -> AsyncIterator[bytes]:
        """GET ``path`` and yield the body in chunks, never holding it whole."""
        if self._limiter is not None:
            await self._limiter.acquire()
        resp = await self._send("GET", path, params, None, None, timeout)
        try:
            await self._raise_for_status(resp, "GET", path)
            async for chunk in resp.pieces(STREAM_CHUNK):
                yield chunk
        finally:
            resp.release()

    async def watch(
        self, path: str, params: dict[str, str], *, timeout: float
    ) -> AsyncIterator[JSON]:
        """Yield watch events until the server ends the stream (or ``timeout`` + slack)."""
        if self._limiter is not None:
            await self._limiter.acquire()
        q = {**params, "watch": "true", "allowWatchBookmarks": "true"}
        resp = await self._send("GET", path, q, None, None, timeout + 30)
        try:
            await self._raise_for_status(resp, "WATCH", path)
            async for line in resp.lines(MAX_EVENT_BYTES):
                if line.strip():
                    yield json.loads(line)
        finally:
            resp.release()


def _decode(raw: bytes) -> JSON | None:
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return {"message": raw[:500].decode(errors="replace")}
    return doc if isinstance(doc, dict) else {"items": doc}
