"""`AdminClient`: a small synchronous client of the admin API (stdlib urllib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode


class AdminError(RuntimeError):
    pass


class AdminClient:
    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.base = url.rstrip("/") + "/_emulator"
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - http(s) URL given by the caller
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AdminError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode()}") from exc

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "/health"))

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        q = "?" + urlencode({"operation": operation}) if operation else ""
        return list(self._request("GET", "/calls" + q))

    def reset_calls(self) -> None:
        self._request("POST", "/reset-calls", {})

    def counters(self) -> dict[str, dict[str, int]]:
        return dict(self._request("GET", "/counters"))

    def cas(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/cas"))

    def get_config(self) -> dict[str, Any]:
        return dict(self._request("GET", "/config"))

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change run-time settings: issuance_delay (alias delay; seconds or [min, max]),
        throttling_enabled (alias throttling), throttle_rates={op: per second},
        faults={op: FaultConfig fields or None}, clear_faults, credential_lifetime,
        verify_signatures, idempotency_window, reset_throttle."""
        return dict(self._request("POST", "/config", settings))

    def set_fault(self, operation: str, **fault: Any) -> dict[str, Any]:
        return self.configure(faults={operation: fault})

    def clear_faults(self) -> dict[str, Any]:
        return self.configure(clear_faults=True)

    def add_access_key(self, access_key_id: str, secret_access_key: str) -> None:
        self._request(
            "POST",
            "/access-keys",
            {"access_key_id": access_key_id, "secret_access_key": secret_access_key},
        )

    def add_role(
        self,
        name: str,
        trusted_subjects: list[str] | None = None,
        allowed_principals: list[str] | None = None,
        allowed_cas: list[str] | None = None,
        trusted_issuers: list[str] | None = None,
    ) -> str:
        """Add or replace a role; returns its ARN."""
        out = self._request(
            "POST",
            "/roles",
            {
                "name": name,
                "trusted_subjects": trusted_subjects or [],
                "allowed_principals": allowed_principals or [],
                "allowed_cas": ["*"] if allowed_cas is None else allowed_cas,
                "trusted_issuers": trusted_issuers or [],
            },
        )
        return str(out["arn"])

    def add_oidc_issuer(
        self, issuer: str, audience: str = "sts.amazonaws.com", **settings: Any
    ) -> None:
        """settings: jwks, jwks_file, jwks_url, discovery_url, ca_file, client_cert,
        client_key, bearer_token, bearer_token_file, jwks_cache_seconds."""
        self._request("POST", "/oidc-issuers", {"issuer": issuer, "audience": audience, **settings})

    def bootstrap(
        self,
        key_algorithm: str = "RSA_2048",
        region: str = "us-east-1",
        subordinate_pathlen: int = 0,
    ) -> dict[str, Any]:
        return dict(
            self._request(
                "POST",
                "/bootstrap",
                {
                    "key_algorithm": key_algorithm,
                    "region": region,
                    "subordinate_pathlen": subordinate_pathlen,
                },
            )
        )
