"""Trusted OIDC issuers and their signing keys (JWKS) for AssumeRoleWithWebIdentity.

Keys come from a JWKS dict, a JWKS file, a JWKS URL, or OIDC discovery
(``<issuer>/.well-known/openid-configuration`` -> ``jwks_uri``), fetched over
HTTPS with a custom CA bundle and an optional client certificate or bearer
token (as a kube-apiserver needs). Fetched key sets are cached and re-fetched
when a token names an unknown ``kid``.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from .config import OidcIssuerConfig
from .jwt_verify import TokenError, check_claims, decode_unverified, select_key, verify_signature

MIN_REFETCH_INTERVAL = 2.0


class OidcProvider:
    """One trusted issuer: its configuration and cached key set."""

    def __init__(self, config: OidcIssuerConfig) -> None:
        self.config = config
        self._jwks: dict[str, Any] | None = None
        self._fetched_at = 0.0

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.config.ca_file)
        if self.config.client_cert:
            ctx.load_cert_chain(self.config.client_cert, self.config.client_key)
        return ctx

    def _headers(self) -> dict[str, str]:
        token = self.config.bearer_token
        if self.config.bearer_token_file:
            token = Path(self.config.bearer_token_file).read_text().strip()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _get_json(self, session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        ssl_arg: ssl.SSLContext | bool = self._ssl_context() if url.startswith("https:") else False
        async with session.get(url, ssl=ssl_arg, headers=self._headers()) as resp:
            if resp.status != 200:
                raise TokenError("fetch", f"GET {url}: HTTP {resp.status}")
            data = json.loads(await resp.read())
        if not isinstance(data, dict):
            raise TokenError("fetch", f"GET {url}: not a JSON object")
        return data

    async def _fetch(self) -> dict[str, Any]:
        c = self.config
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            if c.jwks_url:
                return await self._get_json(session, c.jwks_url)
            discovery_url = (
                c.discovery_url or c.issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            doc = await self._get_json(session, discovery_url)
            jwks_uri = doc.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise TokenError("fetch", "discovery document has no jwks_uri")
            try:
                return await self._get_json(session, jwks_uri)
            except (aiohttp.ClientError, OSError, TokenError):
                # The advertised jwks_uri may name a host only reachable in-cluster:
                # retry on the host the discovery document came from.
                d, j = urlsplit(discovery_url), urlsplit(jwks_uri)
                if (d.scheme, d.netloc) == (j.scheme, j.netloc):
                    raise
                return await self._get_json(
                    session, urlunsplit((d.scheme, d.netloc, j.path, j.query, ""))
                )

    async def key_set(self, force: bool = False) -> dict[str, Any]:
        c = self.config
        if c.jwks is not None:
            return c.jwks
        if c.jwks_file:
            data = json.loads(Path(c.jwks_file).read_text())
            return data if isinstance(data, dict) else {}
        now = time.monotonic()
        stale = now - self._fetched_at > c.jwks_cache_seconds
        recent = now - self._fetched_at < MIN_REFETCH_INTERVAL
        if self._jwks is None or stale or (force and not recent):
            try:
                self._jwks = await self._fetch()
            except (aiohttp.ClientError, OSError, ValueError, ssl.SSLError) as exc:
                raise TokenError("fetch", f"could not fetch the issuer's JWKS: {exc}") from exc
            self._fetched_at = now
        return self._jwks

    async def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        """Verified claims of a token from this issuer."""
        header, claims, signing_input, sig = decode_unverified(token)
        jwk = select_key(header, await self.key_set())
        if jwk is None:
            jwk = select_key(header, await self.key_set(force=True))
        if jwk is None:
            raise TokenError("invalid", "no key in the issuer's JWKS matches the token's kid")
        verify_signature(header, jwk, signing_input, sig)
        check_claims(claims, issuer=self.config.issuer, audience=self.config.audience, now=now)
        return claims


class OidcRegistry:
    """All trusted issuers, by issuer URL."""

    def __init__(self, configs: list[OidcIssuerConfig]) -> None:
        self.providers: dict[str, OidcProvider] = {}
        for c in configs:
            self.add(c)

    def add(self, config: OidcIssuerConfig) -> None:
        self.providers[config.issuer] = OidcProvider(config)

    async def verify(
        self, token: str, now: float | None = None
    ) -> tuple[OidcProvider, dict[str, Any]]:
        _, claims, _, _ = decode_unverified(token)
        iss = claims.get("iss")
        provider = self.providers.get(iss) if isinstance(iss, str) else None
        if provider is None:
            raise TokenError(
                "unknown_issuer", f"No OpenIDConnect provider found in your account for {iss}"
            )
        return provider, await provider.verify(token, now)
