"""ACM PCA calls for the controller: one client per issuer credentials, in a bounded pool.

boto3/botocore is synchronous, so every call runs in a thread pool sized for
the concurrency we want; the event loop never blocks. Each call waits for the
client-side token bucket of its CA and operation first, is timed and counted,
and any failure is returned as one of the error classes of ``issuer.errors``
(via ``classify``), never as a botocore exception.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import botocore.config
import botocore.credentials

from issuer.errors import IssuerControllerError, Reason, RetryableError
from issuer.observability import metrics
from issuer.signer import credentials as creds_mod
from issuer.signer.classify import classify_exception
from issuer.signer.ratelimit import RateLimiterRegistry

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CAInfo:
    arn: str
    status: str
    key_algorithm: str
    signing_algorithm: str
    not_after: datetime | None
    ca_type: str


class PCAClient:
    """One botocore acm-pca client bound to one set of credentials and region."""

    def __init__(self, client: Any, pool: ThreadPoolExecutor, limits: RateLimiterRegistry) -> None:
        self._client = client
        self._pool = pool
        self._limits = limits

    async def _call(self, operation: str, ca_arn: str, fn: Callable[[], T]) -> T:
        waited = await self._limits.acquire(ca_arn, operation)
        metrics.PCA_RATE_LIMIT_WAIT.labels(operation).observe(waited)
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        try:
            result = await loop.run_in_executor(self._pool, fn)
        except Exception as e:
            err = classify_exception(e, operation=operation)
            throttled = err.reason == Reason.THROTTLED
            metrics.pca_call(operation, _code(e), time.monotonic() - start, throttled=throttled)
            if isinstance(err, RetryableError):
                metrics.pca_retry(operation, err.reason)
            raise err from e
        metrics.pca_call(operation, "OK", time.monotonic() - start)
        return result

    async def describe_ca(self, ca_arn: str) -> CAInfo:
        resp = await self._call(
            "DescribeCertificateAuthority",
            ca_arn,
            lambda: self._client.describe_certificate_authority(CertificateAuthorityArn=ca_arn),
        )
        ca = resp["CertificateAuthority"]
        cfg = ca.get("CertificateAuthorityConfiguration", {})
        return CAInfo(
            arn=ca_arn,
            status=str(ca.get("Status", "")),
            key_algorithm=str(cfg.get("KeyAlgorithm", "")),
            signing_algorithm=str(cfg.get("SigningAlgorithm", "")),
            not_after=ca.get("NotAfter"),
            ca_type=str(ca.get("Type", "")),
        )

    async def issue_certificate(
        self,
        *,
        ca_arn: str,
        csr_pem: bytes,
        signing_algorithm: str,
        template_arn: str,
        validity: dict[str, Any],
        idempotency_token: str,
        validity_not_before: dict[str, Any] | None = None,
    ) -> str:
        extra = {} if validity_not_before is None else {"ValidityNotBefore": validity_not_before}
        resp = await self._call(
            "IssueCertificate",
            ca_arn,
            lambda: self._client.issue_certificate(
                CertificateAuthorityArn=ca_arn,
                Csr=csr_pem,
                SigningAlgorithm=signing_algorithm,
                TemplateArn=template_arn,
                Validity=validity,
                IdempotencyToken=idempotency_token,
                **extra,
            ),
        )
        return str(resp["CertificateArn"])

    async def get_certificate(self, *, ca_arn: str, certificate_arn: str) -> tuple[str, str]:
        resp = await self._call(
            "GetCertificate",
            ca_arn,
            lambda: self._client.get_certificate(
                CertificateAuthorityArn=ca_arn, CertificateArn=certificate_arn
            ),
        )
        return str(resp["Certificate"]), str(resp.get("CertificateChain", ""))


def _code(exc: BaseException) -> str:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code") or "Unknown")
    return type(exc).__name__


class PCAClients:
    """Clients keyed by issuer, rebuilt when the issuer's credentials or region change."""

    def __init__(self, *, threads: int, limits: RateLimiterRegistry) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="aws")
        self.limits = limits
        self._config = botocore.config.Config(
            max_pool_connections=threads,
            retries={"total_max_attempts": 1},  # the workqueue retries, visibly
            connect_timeout=5,
            read_timeout=30,
        )
        self._clients: dict[str, tuple[str, PCAClient]] = {}
        self._lock = asyncio.Lock()

    async def for_issuer(self, issuer_key: str, spec: creds_mod.CredentialSpec) -> PCAClient:
        fp = spec.fingerprint()
        cached = self._clients.get(issuer_key)
        if cached is not None and cached[0] == fp:
            return cached[1]
        async with self._lock:
            cached = self._clients.get(issuer_key)
            if cached is not None and cached[0] == fp:
                return cached[1]
            loop = asyncio.get_running_loop()
            try:
                client = await loop.run_in_executor(self.pool, self._build, spec)
            except IssuerControllerError:
                raise
            except Exception as e:
                raise classify_exception(e) from e
            pca = PCAClient(client, self.pool, self.limits)
            self._clients[issuer_key] = (fp, pca)
            log.info("built AWS client", extra={"issuer": issuer_key, "region": spec.region})
            return pca

    def _build(self, spec: creds_mod.CredentialSpec) -> Any:
        credentials = creds_mod.resolve(spec)
        session = creds_mod.shared_session()
        # Placeholder keys keep botocore from resolving the default chain for this
        # client; the issuer's own provider is then installed as its signer's
        # credentials, so clients share the session (and its model loader).
        client = session.create_client(
            "acm-pca",
            region_name=spec.region,
            config=self._config,
            aws_access_key_id="placeholder",
            aws_secret_access_key="placeholder",  # noqa: S106
        )
        client._request_signer._credentials = credentials  # type: ignore[attr-defined]
        return client

    def forget(self, issuer_key: str) -> None:
        self._clients.pop(issuer_key, None)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
