"""A small synchronous Kubernetes REST client over raw JSON, for tests and fixtures.

Tests need to create, read, patch and watch objects with exact control of the
wire (status subresource, field managers, resourceVersions), so this speaks
HTTP directly instead of hiding the API behind model classes. Authenticates
with a client certificate (admin) or a bearer token (a ServiceAccount).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON = dict[str, Any]


class KubeError(RuntimeError):
    """A non-2xx answer from the API server, with its HTTP code and Status body."""

    def __init__(self, code: int, body: str, method: str, path: str) -> None:
        self.code = code
        self.body = body
        try:
            self.status: JSON = json.loads(body)
        except ValueError:
            self.status = {}
        reason = self.status.get("message", body[:300])
        super().__init__(f"{method} {path} -> {code}: {reason}")


@dataclass(frozen=True)
class Credentials:
    ca_file: Path
    client_cert: Path | None = None
    client_key: Path | None = None
    token: str | None = None


class KubeClient:
    """Raw JSON access to one API server."""

    def __init__(self, server: str, creds: Credentials, timeout: float = 60.0) -> None:
        self.server = server.rstrip("/")
        self.creds = creds
        self.timeout = timeout
        ctx = ssl.create_default_context(cafile=str(creds.ca_file))
        if creds.client_cert and creds.client_key:
            ctx.load_cert_chain(str(creds.client_cert), str(creds.client_key))
        self._ssl = ctx

    def _open(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        timeout: float | None = None,
        accept: str = "application/json",
    ) -> Any:
        url = self.server + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        data = None
        headers = {"Accept": accept}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self.creds.token:
            headers["Authorization"] = f"Bearer {self.creds.token}"
        for attempt in range(10):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
            try:
                return urllib.request.urlopen(  # noqa: S310
                    req, context=self._ssl, timeout=timeout or self.timeout
                )
            except urllib.error.HTTPError as e:
                body = e.read().decode(errors="replace")
                # 429 is the API server asking to come back (e.g. "storage is
                # (re)initializing" right after it starts): do as told.
                if e.code == 429 and attempt < 9:
                    time.sleep(float(e.headers.get("Retry-After") or 1))
                    continue
                raise KubeError(e.code, body, method, path) from None
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> JSON:
        with self._open(method, path, body, **kw) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else {}

    def raw(self, path: str) -> bytes:
        """GET a non-JSON (or JSON-as-bytes) document, e.g. /openid/v1/jwks."""
        with self._open("GET", path, accept="*/*") as resp:
            data: bytes = resp.read()
            return data

    # --- verbs ---------------------------------------------------------------
    def get(self, path: str) -> JSON:
        return self.request("GET", path)

    def create(self, path: str, obj: JSON) -> JSON:
        return self.request("POST", path, obj)

    def delete(self, path: str) -> JSON:
        return self.request("DELETE", path)

    def merge_patch(self, path: str, patch: JSON) -> JSON:
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def apply(self, path: str, obj: JSON, field_manager: str = "tests") -> JSON:
        return self.request(
            "PATCH",
            path,
            obj,
            content_type="application/apply-patch+yaml",
            params={"fieldManager": field_manager, "force": "true"},
        )

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except KubeError as e:
            if e.code == 404:
                return False
            raise
        return True

    def watch(
        self, path: str, *, resource_version: str | None = None, timeout: float = 30.0
    ) -> Iterator[JSON]:
        """Yield watch events ({type, object}) until the server closes or ``timeout``."""
        params = {"watch": "true", "timeoutSeconds": str(max(1, int(timeout)))}
        if resource_version:
            params["resourceVersion"] = resource_version
        params["allowWatchBookmarks"] = "true"
        with self._open("GET", path, params=params, timeout=timeout + 10) as resp:
            for line in resp:
                if line.strip():
                    yield json.loads(line)

    def wait_for(
        self,
        path: str,
        predicate: Callable[[JSON], bool],
        *,
        timeout: float = 60.0,
        interval: float = 0.2,
        what: str = "",
    ) -> JSON:
        """Poll ``path`` until ``predicate(obj)`` holds; fail with the last object seen."""
        deadline = time.monotonic() + timeout
        last: JSON | None = None
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            try:
                last = self.get(path)
                if predicate(last):
                    return last
            except KubeError as e:
                last_err = e
            time.sleep(interval)
        detail = json.dumps(last, indent=1)[-3000:] if last else repr(last_err)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what or path}: {detail}")


def condition(obj: JSON, ctype: str) -> JSON | None:
    """The condition of type ``ctype`` in ``obj.status.conditions``, if any."""
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def has_condition(obj: JSON, ctype: str, status: str = "True") -> bool:
    c = condition(obj, ctype)
    return c is not None and c.get("status") == status
