"""cert-manager CertificateRequest: constants, a typed read-only view, the cache projection.

The view is parsed from the raw JSON dict the API server returns (never a
kubernetes-asyncio model). ``compact_projection`` is what the informer cache
keeps per request so memory stays flat as finished requests accumulate.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from issuer.api.conditions import find_condition, parse_time
from issuer.api.names import CERT_ARN_ANNOTATION, InvalidDuration, parse_go_duration
from issuer.errors import Reason

# Condition types and Ready reasons of cert-manager (apis/certmanager/v1).
CONDITION_READY = "Ready"
CONDITION_APPROVED = "Approved"
CONDITION_DENIED = "Denied"
CONDITION_INVALID_REQUEST = "InvalidRequest"
REASON_PENDING = Reason.PENDING
REASON_FAILED = Reason.FAILED
REASON_ISSUED = Reason.ISSUED
REASON_DENIED = Reason.DENIED

# Keys only found in a compact projection (never in an API object).
COMPACT_MARKER = "compact"
HAS_CERTIFICATE_MARKER = "hasCertificate"
COMPACT_MESSAGE_LIMIT = 256

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _decode_request(value: object) -> bytes:
    if not isinstance(value, str) or not value:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


@dataclass(frozen=True)
class CertificateRequestView:
    """The fields of a CertificateRequest the controller decides on."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    creation_timestamp: datetime
    issuer_group: str
    issuer_kind: str
    issuer_name: str
    csr_pem: bytes
    duration_seconds: float | None
    is_ca: bool
    usages: tuple[str, ...]
    conditions: tuple[dict[str, Any], ...]
    has_certificate: bool
    certificate_arn: str | None
    failure_time: datetime | None
    duration_error: str | None = None

    def requested_duration(self) -> float | None:
        """``spec.duration`` in seconds, None when not given; InvalidDuration when invalid."""
        if self.duration_error is not None:
            raise InvalidDuration(f"spec.duration: {self.duration_error}")
        return self.duration_seconds

    @property
    def key(self) -> str:
        """The workqueue key, ``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_obj(cls, obj: Mapping[str, Any]) -> CertificateRequestView:
        """Parse a raw CertificateRequest (or its compact projection).

        Missing fields get neutral values; ``spec.request`` that is not valid
        base64 gives an empty ``csr_pem``; an invalid ``spec.duration`` (not a
        Go duration, or beyond Go's limit) is kept as ``duration_error`` for
        ``requested_duration`` to refuse. A missing creationTimestamp
        (never the case for objects read from the API server) reads as the
        Unix epoch.
        """
        meta = _dict(obj.get("metadata"))
        spec = _dict(obj.get("spec"))
        status = _dict(obj.get("status"))
        ref = _dict(spec.get("issuerRef"))
        annotations = _dict(meta.get("annotations"))
        duration: float | None = None
        duration_error: str | None = None
        raw_duration = spec.get("duration")
        if raw_duration is not None and raw_duration != "":
            try:
                duration = parse_go_duration(raw_duration)
            except InvalidDuration as err:
                duration_error = err.message
        raw_usages = spec.get("usages")
        usages = (
            tuple(u for u in raw_usages if isinstance(u, str))
            if isinstance(raw_usages, list)
            else ()
        )
        raw_conds = status.get("conditions")
        conditions = (
            tuple(dict(c) for c in raw_conds if isinstance(c, Mapping))
            if isinstance(raw_conds, list)
            else ()
        )
        arn = annotations.get(CERT_ARN_ANNOTATION)
        return cls(
            namespace=_str(meta.get("namespace")),
            name=_str(meta.get("name")),
            uid=_str(meta.get("uid")),
            resource_version=_str(meta.get("resourceVersion")),
            creation_timestamp=parse_time(meta.get("creationTimestamp")) or _EPOCH,
            issuer_group=_str(ref.get("group")),
            issuer_kind=_str(ref.get("kind")),
            issuer_name=_str(ref.get("name")),
            csr_pem=_decode_request(spec.get("request")),
            duration_seconds=duration,
            is_ca=spec.get("isCA") is True,
            usages=usages,
            conditions=conditions,
            has_certificate=bool(status.get("certificate"))
            or status.get(HAS_CERTIFICATE_MARKER) is True,
            certificate_arn=arn if isinstance(arn, str) and arn else None,
            failure_time=parse_time(status.get("failureTime")),
            duration_error=duration_error,
        )


def is_finished(obj: Mapping[str, Any]) -> bool:
    """Whether a raw request is finished: Ready True, or Ready False with reason Failed/Denied."""
    conds = _dict(obj.get("status")).get("conditions")
    ready = find_condition(conds if isinstance(conds, list) else None, CONDITION_READY)
    if ready is None:
        return False
    if ready.get("status") == "True":
        return True
    return ready.get("reason") in (REASON_FAILED, REASON_DENIED)


def _capped(value: object) -> object:
    return value[:COMPACT_MESSAGE_LIMIT] if isinstance(value, str) else value


def _compact_condition(cond: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _capped(cond[k]) for k in ("type", "status", "reason") if k in cond}


def compact_projection(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the informer cache keeps of a CertificateRequest: what its gates decide on.

    Kept: metadata name and namespace; ``spec.issuerRef``; the type, status
    and reason of each of ``status.conditions`` (each capped at 256
    characters); ``status.hasCertificate`` (a boolean marker for a non-empty
    ``status.certificate``) and a top-level ``compact: true``.

    Dropped, for every request whether finished or not: the CSR, certificate
    and CA bodies, every other spec field, uid, resourceVersion, timestamps,
    annotations, condition messages and failureTime. The cache only drives the
    gates (``decide_gates``: issuerRef, conditions, certificate present) and
    the predicates (issuerRef and the other actors' conditions); the
    reconciler reads the full object (held from the watch, or a GET) before
    anything else. So every finished
    request of one issuer projects to the same value apart from its name,
    which the informer stores once.
    """
    meta = _dict(obj.get("metadata"))
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    new_meta: dict[str, Any] = {k: meta[k] for k in ("name", "namespace") if k in meta}
    new_status: dict[str, Any] = {
        HAS_CERTIFICATE_MARKER: bool(status.get("certificate"))
        or status.get(HAS_CERTIFICATE_MARKER) is True
    }
    conds = status.get("conditions")
    if isinstance(conds, list):
        new_status["conditions"] = [_compact_condition(c) for c in conds if isinstance(c, Mapping)]
    result: dict[str, Any] = {COMPACT_MARKER: True, "metadata": new_meta, "status": new_status}
    if "issuerRef" in spec:
        result["spec"] = {"issuerRef": dict(_dict(spec.get("issuerRef")))}
    return result
