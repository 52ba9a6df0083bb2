"""The Sign/Check seam: everything AWS about one request or one issuer, nothing Kubernetes.

``sign(request, issuer)`` issues the request's certificate (or resumes the
certificate ARN it was already given) and polls it once:
``Issued(arn, chain, ca)`` or ``Pending(arn, ...)``. A fresh certificate is
polled at once only while its CA is learned to issue at once
(``signer/readiness.py``); otherwise it is ``Pending`` until it is likely ready. ``check(issuer)`` describes
the issuer's CA. The controllers own only Kubernetes: they decide what to
write from these outcomes and the errors of ``issuer.errors``.

Exactly-once is kept here: the idempotency token comes from the request's UID
and CSR; a freshly issued ARN is handed to ``on_issued`` before the first poll
so the caller can keep it until it is persisted; a resumed ARN is polled on the
CA that its own ARN names (the issuer may have moved to another CA since); and
a certificate whose public key is not the CSR's is never returned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from issuer.errors import PendingError, PermanentError, Reason
from issuer.signer.chain import split_chain
from issuer.signer.csr import check_csr
from issuer.signer.pca import CAInfo, PCAClient
from issuer.signer.readiness import Readiness
from issuer.signer.templates import select_template
from issuer.signer.token import idempotency_token
from issuer.signer.validity import not_before_for, validity_for

log = logging.getLogger(__name__)

READINESS = Readiness()  # the process's per-CA ready-time estimates

# PCA's ARN limit is 200 characters; a certificate ARN is its CA's ARN + /certificate/<32 hex>.
MAX_ARN_LENGTH = 200
_CERT_ARN = re.compile(
    r"(?P<ca>arn:aws[a-z-]{0,20}:acm-pca:[a-z0-9-]{1,32}:[0-9]{12}:"
    r"certificate-authority/[0-9a-f-]{36})/certificate/[0-9a-f]{32}"
)


def certificate_authority_of(certificate_arn: str) -> str:
    """The CA ARN a certificate ARN names; PermanentError(InvalidArn) when it is not one.

    The message never repeats the value: it is user-controlled and may be huge.
    """
    if len(certificate_arn) > MAX_ARN_LENGTH:
        raise PermanentError(
            f"the certificate ARN annotation is {len(certificate_arn)} characters long, "
            f"more than an ARN can be ({MAX_ARN_LENGTH}); remove the annotation",
            reason=Reason.INVALID_ARN,
        )
    match = _CERT_ARN.fullmatch(certificate_arn)
    if match is None:
        raise PermanentError(
            "the certificate ARN annotation is not an AWS Private CA certificate ARN "
            "(arn:<partition>:acm-pca:<region>:<account>:certificate-authority/<id>"
            "/certificate/<id>); remove the annotation",
            reason=Reason.INVALID_ARN,
        )
    return match.group("ca")


@dataclass(frozen=True)
class SignRequest:
    """What AWS needs to know of a CertificateRequest."""

    uid: str
    csr_pem: bytes
    is_ca: bool
    usages: tuple[str, ...]
    duration_seconds: float | None
    certificate_arn: str | None  # an ARN already issued for this request (UID + CSR), if any

    @property
    def token(self) -> str:
        return idempotency_token(self.uid, self.csr_pem)


@dataclass(frozen=True)
class SigningIssuer:
    """A Ready issuer, as the signer needs it."""

    client: PCAClient
    ca: CAInfo
    default_template_name: str | None
    not_before_offset_seconds: float  # spec.notBeforeOffset: NotBefore lies this far back


@dataclass(frozen=True)
class Issued:
    certificate_arn: str
    chain_pem: str  # leaf followed by intermediates: status.certificate
    ca_pem: str  # the root: status.ca
    reissued_from: str | None = None  # a previous ARN the issuer's new CA replaced


@dataclass(frozen=True)
class Pending:
    certificate_arn: str
    message: str
    retry_after: float
    reissued_from: str | None = None


Outcome = Issued | Pending


def _public_key(der_or_obj: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return der_or_obj.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def check_public_key(chain_pem: str, csr_pem: bytes) -> None:
    """PermanentError(CertificateMismatch) unless the leaf's public key is the CSR's."""
    leaf = x509.load_pem_x509_certificates(chain_pem.encode("ascii"))[0]
    try:
        csr_key = _public_key(x509.load_pem_x509_csr(csr_pem))
    except ValueError as err:
        raise PermanentError(
            f"the CSR in spec.request cannot be read: {err}", reason=Reason.MALFORMED_CSR
        ) from err
    if _public_key(leaf) != csr_key:
        raise PermanentError(
            "the certificate AWS PCA returned for this request does not carry the CSR's "
            "public key; it was not issued for this request",
            reason=Reason.CERTIFICATE_MISMATCH,
        )


async def _fetch(
    issuer: SigningIssuer,
    ca_arn: str,
    certificate_arn: str,
    req: SignRequest,
    readiness: Readiness,
) -> Outcome:
    polled_at = readiness.now()
    try:
        cert_pem, chain_pem = await issuer.client.get_certificate(
            ca_arn=ca_arn, certificate_arn=certificate_arn
        )
    except PendingError as err:
        retry = readiness.not_ready(certificate_arn, polled_at, err.retry_after)
        return Pending(certificate_arn, err.message, retry)
    readiness.ready(certificate_arn, polled_at)
    leaf_and_intermediates, root = split_chain(cert_pem, chain_pem)
    check_public_key(leaf_and_intermediates, req.csr_pem)
    return Issued(certificate_arn, leaf_and_intermediates, root)


async def _issue(
    req: SignRequest, issuer: SigningIssuer, *, now: datetime, on_issued: Callable[[str], None]
) -> str:
    info = check_csr(req.csr_pem)
    template = select_template(
        default_template_name=issuer.default_template_name,
        is_ca=req.is_ca,
        usages=req.usages,
        ca_arn=issuer.ca.arn,
    )
    log.debug("issuing certificate", extra={"template": template, "ca_arn": issuer.ca.arn})
    arn = await issuer.client.issue_certificate(
        ca_arn=issuer.ca.arn,
        csr_pem=req.csr_pem,
        signing_algorithm=issuer.ca.signing_algorithm,
        template_arn=template,
        validity=validity_for(req.duration_seconds, now=now),
        idempotency_token=req.token,
        validity_not_before=not_before_for(issuer.not_before_offset_seconds, now=now),
    )
    on_issued(arn)
    log.info(
        "certificate requested",
        extra={
            "certificate_arn": arn,
            "template": template,
            "key_type": info.key_type,
            "key_size": info.key_size,
        },
    )
    return arn


async def sign(
    req: SignRequest,
    issuer: SigningIssuer,
    *,
    now: datetime,
    on_issued: Callable[[str], None],
    readiness: Readiness = READINESS,
) -> Outcome:
    """Issue (or resume) the request's certificate and poll it once.

    Raises the classified errors of ``issuer.errors``. A resumed ARN that its
    own CA does not know, while the issuer now names another CA, is issued
    again under the issuer's CA (``reissued_from`` says so); unknown to the
    issuer's current CA, it is a PermanentError.
    """
    resumed = req.certificate_arn
    if resumed is not None:
        owner = certificate_authority_of(resumed)
        try:
            return await _fetch(issuer, owner, resumed, req, readiness)
        except PermanentError as err:
            if err.reason != Reason.CERTIFICATE_NOT_FOUND or owner == issuer.ca.arn:
                raise
            log.info(
                "certificate unknown to its former CA: issuing under the issuer's CA",
                extra={"certificate_arn": resumed, "ca_arn": issuer.ca.arn},
            )
    arn = await _issue(req, issuer, now=now, on_issued=on_issued)
    wait = readiness.issued(issuer.ca.arn, arn)
    outcome: Outcome
    if wait > 0:
        outcome = Pending(arn, f"AWS PCA is issuing the certificate; polling in {wait:.2f}s", wait)
    else:
        outcome = await _fetch(issuer, issuer.ca.arn, arn, req, readiness)
    if resumed is None:
        return outcome
    if isinstance(outcome, Issued):
        return Issued(arn, outcome.chain_pem, outcome.ca_pem, reissued_from=resumed)
    return Pending(arn, outcome.message, outcome.retry_after, reissued_from=resumed)


async def check(client: PCAClient, ca_arn: str) -> CAInfo:
    """What the issuer's CA is: status, algorithms, validity (DescribeCertificateAuthority)."""
    return await client.describe_ca(ca_arn)
