"""What the two reconcilers share about issuers: readiness, AWS clients, waiting requests.

The issuer reconciler writes here after each health check; the request
reconciler reads from here and never checks an issuer itself. Requests that
find their issuer missing or not Ready register as waiters and are re-queued
the moment it turns Ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from issuer.api.certificaterequest import KINDS
from issuer.api.issuer import CLUSTER_ISSUER_KIND, IssuerView
from issuer.errors import IssuerError, RetryableError
from issuer.signer.pca import CAInfo, PCAClient


def issuer_key(kind: str, namespace: str, name: str) -> str:
    """``AWSPCAIssuer/ns/name`` or ``AWSPCAClusterIssuer/name``: one key space for both kinds."""
    if kind == CLUSTER_ISSUER_KIND:
        return f"{kind}/{name}"
    return f"{kind}/{namespace}/{name}"


def split_issuer_key(key: str) -> tuple[str, str, str]:
    kind, _, rest = key.partition("/")
    if kind == CLUSTER_ISSUER_KIND:
        return kind, "", rest
    ns, _, name = rest.partition("/")
    return kind, ns, name


@dataclass(frozen=True)
class ReadyIssuer:
    view: IssuerView
    client: PCAClient
    ca: CAInfo


@dataclass(frozen=True)
class NotReady:
    reason: str
    message: str


class IssuerRegistry:
    def __init__(self, requeue_request: Callable[[str], None]) -> None:
        self._ready: dict[str, ReadyIssuer] = {}
        self._not_ready: dict[str, NotReady] = {}
        self._known: set[str] = set()
        self._waiters: dict[str, set[str]] = {}
        self._requeue_request = requeue_request
        self.recheck_issuer: Callable[[str], None] = lambda key: None

    # -- written by the issuer reconciler ------------------------------------
    def set_ready(self, key: str, ready: ReadyIssuer) -> None:
        self._known.add(key)
        self._not_ready.pop(key, None)
        self._ready[key] = ready
        for request in self._waiters.pop(key, set()):
            self._requeue_request(request)

    def set_not_ready(self, key: str, reason: str, message: str) -> None:
        self._known.add(key)
        self._ready.pop(key, None)
        self._not_ready[key] = NotReady(reason, message)

    def set_seen(self, key: str) -> None:
        self._known.add(key)

    def remove(self, key: str) -> None:
        self._known.discard(key)
        self._ready.pop(key, None)
        self._not_ready.pop(key, None)

    # -- read by the request reconciler ---------------------------------------
    def ready_for(self, kind: str, namespace: str, name: str, request_key: str) -> ReadyIssuer:
        """The Ready issuer a request names, or the classified reason it must wait."""
        if kind not in KINDS:
            raise RetryableError(f"unknown issuer kind {kind!r}", reason="IssuerNotFound")
        key = issuer_key(kind, namespace, name)
        found = self._ready.get(key)
        if found is not None:
            self._waiters.get(key, set()).discard(request_key)
            return found
        self._waiters.setdefault(key, set()).add(request_key)
        where = f"{namespace}/{name}" if namespace else name
        if key not in self._known:
            raise RetryableError(f"{kind} {where} not found", reason="IssuerNotFound")
        nr = self._not_ready.get(key)
        detail = f"{nr.reason}: {nr.message}" if nr else "not checked yet"
        raise IssuerError(f"{kind} {where} is not Ready ({detail})", reason="IssuerNotReady")

    def waiting(self, key: str) -> int:
        return len(self._waiters.get(key, ()))

    def forget_request(self, request_key: str) -> None:
        for waiters in self._waiters.values():
            waiters.discard(request_key)
