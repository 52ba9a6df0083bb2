"""What the two reconcilers share about issuers: readiness, AWS clients, waiting requests.

The issuer reconciler writes here after each health check, and the issuer
informers mark every issuer that exists as soon as the cache holds it, so that
at start-up or after a leader change an existing issuer is "not checked yet",
never "not found". The request reconciler reads from here and never checks an
issuer itself. Waiting for an issuer is a gate, not an error: requests that
find their issuer missing or not Ready get a ``Waiting`` answer, register as
waiters and are re-queued the moment it turns Ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from issuer.api.issuer import IssuerView, not_before_offset_seconds
from issuer.api.names import IssuerKey
from issuer.signer.pca import CAInfo, PCAClient
from issuer.signer.signing import SigningIssuer


def issuer_key(kind: str, namespace: str, name: str) -> str:
    """The registry's (and issuer queue's) key of an issuer: ``str(IssuerKey)``."""
    return str(IssuerKey(kind, namespace, name))


@dataclass(frozen=True)
class ReadyIssuer:
    view: IssuerView
    client: PCAClient
    ca: CAInfo

    @property
    def signing(self) -> SigningIssuer:
        """The issuer as the signer needs it; PermanentError for an invalid notBeforeOffset."""
        return SigningIssuer(
            self.client,
            self.ca,
            self.view.default_template_name,
            not_before_offset_seconds(self.view),
        )


@dataclass(frozen=True)
class NotReady:
    reason: str
    message: str


@dataclass(frozen=True)
class Waiting:
    """The issuer a request names is missing or not Ready: wait, without spending retry budget."""

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
    def ready_for(
        self, kind: str, namespace: str, name: str, request_key: str
    ) -> ReadyIssuer | Waiting:
        """The Ready issuer a request names, or why the request must wait for it."""
        ikey = IssuerKey(kind, namespace, name)
        key = str(ikey)
        found = self._ready.get(key)
        if found is not None:
            self._waiters.get(key, set()).discard(request_key)
            return found
        self._waiters.setdefault(key, set()).add(request_key)
        where = ikey.where  # clipped: a request's issuerRef.name can be huge
        if key not in self._known:
            return Waiting(f"{kind} {where} not found")
        nr = self._not_ready.get(key)
        detail = f"{nr.reason}: {nr.message}" if nr else "not checked yet"
        return Waiting(f"{kind} {where} is not Ready ({detail})")

    def forget_request(self, request_key: str) -> None:
        for waiters in self._waiters.values():
            waiters.discard(request_key)
