"""ACM PCA calls for the controller: one client per region, each issuer's own credentials.

boto3/botocore is synchronous, so every call runs in a thread pool sized for
the concurrency we want; the event loop never blocks. Each call waits for the
client-side token bucket of its CA and operation first, is timed and counted,
and any failure is returned as one of the error classes of ``issuer.errors``
(via ``classify``), never as a botocore exception.

A botocore client costs ~140 KiB (its event hooks and generated class), so
issuers do not get one each: all issuers of a region share one client, and
each call is signed with its issuer's credentials, bound to the worker thread
for the duration of the call (``CallCredentials``). Per issuer there is only a
credentials object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
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


class CallCredentials:
    """The credentials botocore signs with: those of the issuer whose call runs on this thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def bound(self, credentials: botocore.credentials.Credentials) -> Iterator[None]:
        self._local.credentials = credentials
        try:
            yield
        finally:
            self._local.credentials = None

    def get_frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials:
        credentials = getattr(self._local, "credentials", None)
        if credentials is None:
            raise RuntimeError("an AWS call outside an issuer's credentials")
        frozen: botocore.credentials.ReadOnlyCredentials = credentials.get_frozen_credentials()
        return frozen


class PCAClient:
    """One issuer's view of its region's shared client: its own credentials, the shared pool."""

    def __init__(
        self,
        client: Any,
        pool: ThreadPoolExecutor,
        limits: RateLimiterRegistry,
        credentials: botocore.credentials.Credentials | None = None,
        call_credentials: CallCredentials | None = None,
    ) -> None:
        self._client = client
        self._pool = pool
        self._limits = limits
        self._credentials = credentials
        self._call_credentials = call_credentials

    def _bound(self, fn: Callable[[], T]) -> Callable[[], T]:
        if self._credentials is None or self._call_credentials is None:
            return fn
        credentials, call_credentials = self._credentials, self._call_credentials

        def call() -> T:
            with call_credentials.bound(credentials):
                return fn()

        return call

    async def _call(self, operation: str, ca_arn: str, fn: Callable[[], T]) -> T:
        waited = await self._limits.acquire(ca_arn, operation)
        metrics.PCA_RATE_LIMIT_WAIT.labels(operation).observe(waited)
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        try:
            result = await loop.run_in_executor(self._pool, self._bound(fn))
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
        self._regional: dict[str, Any] = {}
        self._call_credentials = CallCredentials()
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
                client, credentials = await loop.run_in_executor(self.pool, self._build, spec)
            except IssuerControllerError:
                raise
            except Exception as e:
                raise classify_exception(e) from e
            pca = PCAClient(client, self.pool, self.limits, credentials, self._call_credentials)
            self._clients[issuer_key] = (fp, pca)
            log.info("built AWS client", extra={"issuer": issuer_key, "region": spec.region})
            return pca

    def _build(
        self, spec: creds_mod.CredentialSpec
    ) -> tuple[Any, botocore.credentials.Credentials]:
        credentials = creds_mod.resolve(spec)
        client = self._regional.get(spec.region)
        if client is None:
            # Placeholder keys keep botocore from resolving the default chain; the
            # signer's credentials are the per-call ones of the issuer calling.
            client = creds_mod.shared_session().create_client(
                "acm-pca",
                region_name=spec.region,
                config=self._config,
                aws_access_key_id="placeholder",
                aws_secret_access_key="placeholder",  # noqa: S106
            )
            client._request_signer._credentials = self._call_credentials  # type: ignore[attr-defined]
            self._regional[spec.region] = client
        return client, credentials

    def forget(self, issuer_key: str) -> None:
        self._clients.pop(issuer_key, None)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
