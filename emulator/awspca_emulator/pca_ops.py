"""ACM Private CA operations on the emulator's state, independent of the wire protocol.

Each public method takes the operation's request parameters as botocore sends
them (blobs already base64-decoded) plus the caller's account and region, and
returns the response structure (timestamps as epoch seconds) or raises
`ApiError` with the code the service uses.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from . import certs
from .config import EmulatorConfig
from .errors import ApiError
from .state import CaRecord, CertRecord, Store
from .templates import check_path_length, parse_template_arn, template_extensions
from .validity import validity_window

CA_ARN_RE = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):acm-pca:([a-z0-9-]+):(\d{12}):certificate-authority/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
CERT_ARN_RE = re.compile(r"^(?P<ca>arn:[^/]+/[0-9a-f-]{36})/certificate/[0-9a-f]{32}$")
MAX_TOKEN_LENGTH = 36
#: PermanentDeletionTimeInDays: bounds and default (the restore window of a deleted CA).
DELETION_DAYS = (7, 30)
DAY = 86400.0
REVOCATION_REASONS = {
    "UNSPECIFIED",
    "KEY_COMPROMISE",
    "CERTIFICATE_AUTHORITY_COMPROMISE",
    "AFFILIATION_CHANGED",
    "SUPERSEDED",
    "CESSATION_OF_OPERATION",
    "PRIVILEGE_WITHDRAWN",
    "A_A_COMPROMISE",
}


@dataclass(frozen=True)
class CallContext:
    """Who is calling, as far as the CA service cares: account and region."""

    account: str
    region: str


def serial_hex(serial: int) -> str:
    """The service's serial format: lowercase hex bytes separated by colons."""
    raw = serial.to_bytes((serial.bit_length() + 7) // 8 or 1, "big").hex()
    return ":".join(raw[i : i + 2] for i in range(0, len(raw), 2))


def _require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError("ValidationException", f"Missing required parameter {name}.")
    return value


def check_idempotency_token(token: Any) -> str | None:
    if token is None:
        return None
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_LENGTH:
        raise ApiError(
            "ValidationException",
            "1 validation error detected: Value at 'idempotencyToken' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_TOKEN_LENGTH}",
        )
    return token


class PcaService:
    """The CA service: operations over a `Store`, configured by an `EmulatorConfig`."""

    def __init__(
        self,
        store: Store,
        config: EmulatorConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self._create_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    # -- lookups -------------------------------------------------------------

    def get_ca(self, arn: Any) -> CaRecord:
        if not isinstance(arn, str) or not CA_ARN_RE.match(arn):
            raise ApiError("InvalidArnException", f"The ARN is not valid: {arn}")
        ca = self.store.cas.get(arn)
        expired = ca is not None and ca.restorable_until is not None
        if expired and ca is not None and self.clock() >= (ca.restorable_until or 0):
            del self.store.cas[arn]  # the restore window is over: the CA is gone
            self.store.mark_dirty()
            ca = None
        if ca is None:
            raise ApiError(
                "ResourceNotFoundException", f"Could not find certificate authority {arn}."
            )
        return ca

    def owner_of(self, arn: str) -> str | None:
        """The account owning a CA (for RAM), or None if there is no such CA."""
        ca = self.store.cas.get(arn)
        return ca.account if ca is not None and ca.status != "DELETED" else None

    def _issuance_delay(self) -> float:
        d = self.config.issuance_delay
        if isinstance(d, tuple):
            return random.uniform(d[0], d[1])
        return float(d)

    # -- operations ----------------------------------------------------------

    def create_certificate_authority(
        self, params: dict[str, Any], ctx: CallContext, key: certs.PrivateKey | None = None
    ) -> dict[str, Any]:
        conf = _require(params, "CertificateAuthorityConfiguration")
        ca_type = _require(params, "CertificateAuthorityType")
        if ca_type not in ("ROOT", "SUBORDINATE"):
            raise ApiError("InvalidArgsException", f"CertificateAuthorityType not valid: {ca_type}")
        key_alg = _require(conf, "KeyAlgorithm")
        sign_alg = _require(conf, "SigningAlgorithm")
        subject = _require(conf, "Subject")
        if key_alg not in certs.KEY_ALGORITHMS:
            raise ApiError("InvalidArgsException", f"KeyAlgorithm not supported: {key_alg}")
        certs.check_signing_algorithm(key_alg, sign_alg)
        name = certs.name_from_subject(subject)
        token = check_idempotency_token(params.get("IdempotencyToken"))
        now = self.clock()
        if token is not None:
            seen = self._create_tokens.get((ctx.account, ctx.region, token))
            if seen and now - seen[1] < self.config.idempotency_window:
                return {"CertificateAuthorityArn": seen[0]}
        if key is None:
            key = certs.generate_key(key_alg)
        csr = certs.make_csr(key, name, sign_alg)
        arn = f"arn:aws:acm-pca:{ctx.region}:{ctx.account}:certificate-authority/{uuid.uuid4()}"
        ca = CaRecord(
            arn=arn,
            account=ctx.account,
            region=ctx.region,
            ca_type=ca_type,
            key_algorithm=key_alg,
            signing_algorithm=sign_alg,
            subject=dict(subject),
            created_at=now,
            last_state_change_at=now,
            status="PENDING_CERTIFICATE",
            key=key,
            csr_pem=certs.cert_pem_csr(csr),
            usage_mode=params.get("UsageMode") or "GENERAL_PURPOSE",
        )
        self.store.cas[arn] = ca
        self.store.mark_dirty()
        if token is not None:
            self._create_tokens[(ctx.account, ctx.region, token)] = (arn, now)
        return {"CertificateAuthorityArn": arn}

    def _describe(self, ca: CaRecord) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Arn": ca.arn,
            "OwnerAccount": ca.account,
            "CreatedAt": ca.created_at,
            "LastStateChangeAt": ca.last_state_change_at,
            "Type": ca.ca_type,
            "Status": ca.status,
            "CertificateAuthorityConfiguration": {
                "KeyAlgorithm": ca.key_algorithm,
                "SigningAlgorithm": ca.signing_algorithm,
                "Subject": dict(ca.subject),
            },
            "RevocationConfiguration": {
                "CrlConfiguration": {"Enabled": False},
                "OcspConfiguration": {"Enabled": False},
            },
            "KeyStorageSecurityStandard": "FIPS_140_2_LEVEL_3_OR_HIGHER",
            "UsageMode": ca.usage_mode,
        }
        if ca.restorable_until is not None:
            out["RestorableUntil"] = ca.restorable_until
        if ca.cert is not None:
            out["Serial"] = serial_hex(ca.cert.serial_number)
            out["NotBefore"] = ca.cert.not_valid_before_utc.timestamp()
            out["NotAfter"] = ca.cert.not_valid_after_utc.timestamp()
        return out

    def describe_certificate_authority(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        return {"CertificateAuthority": self._describe(ca)}

    def list_certificate_authorities(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        mine = [
            ca
            for ca in self.store.cas.values()
            if ca.account == ctx.account and ca.region == ctx.region
        ]
        mine.sort(key=lambda c: (c.created_at, c.arn))
        start = 0
        token = params.get("NextToken")
        if token is not None:
            if not isinstance(token, str) or not token.isdigit():
                raise ApiError("InvalidNextTokenException", "The token specified is not valid.")
            start = int(token)
        size = min(int(params.get("MaxResults") or 100), 100)
        page = mine[start : start + size]
        out: dict[str, Any] = {"CertificateAuthorities": [self._describe(c) for c in page]}
        if start + size < len(mine):
            out["NextToken"] = str(start + size)
        return out

    def get_certificate_authority_csr(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        if ca.status in ("DELETED", "FAILED", "CREATING"):
            raise ApiError("InvalidStateException", f"The CA is in state {ca.status}.")
        return {"Csr": ca.csr_pem}

    def get_certificate_authority_certificate(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        if ca.cert_pem is None:
            raise ApiError(
                "InvalidStateException",
                f"The certificate authority {ca.arn} is in state {ca.status} and has no certificate.",
            )
        out: dict[str, Any] = {"Certificate": ca.cert_pem}
        if ca.chain_pem:
            out["CertificateChain"] = ca.chain_pem
        return out

    def import_certificate_authority_certificate(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        if ca.status in ("DELETED", "FAILED", "CREATING"):
            raise ApiError("InvalidStateException", f"The CA is in state {ca.status}.")
        cert = certs.parse_certificates(_require(params, "Certificate"), "certificate")[0]
        if certs.public_key_der(cert.public_key()) != certs.public_key_der(ca.key):
            raise ApiError(
                "CertificateMismatchException",
                "The certificate does not match the certificate authority's key.",
            )
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            bc = None
        if bc is None or not bc.ca:
            raise ApiError("InvalidRequestException", "The certificate is not a CA certificate.")
        chain: list[x509.Certificate] = []
        if ca.ca_type == "ROOT":
            if not certs.is_issued_by(cert, cert):
                raise ApiError(
                    "InvalidRequestException", "A root CA certificate must be self-signed."
                )
        else:
            raw_chain = params.get("CertificateChain")
            if not raw_chain:
                raise ApiError(
                    "InvalidRequestException",
                    "A subordinate CA certificate must be imported with its CertificateChain.",
                )
            chain = _order_chain(cert, certs.parse_certificates(raw_chain, "certificate chain"))
        now = self.clock()
        ca.set_certificate(cert, chain)
        if ca.status != "DISABLED":
            ca.status = "ACTIVE"
        ca.last_state_change_at = now
        self.store.mark_dirty()
        return {}

    def update_certificate_authority(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        status = params.get("Status")
        if status is None:
            return {}
        if status not in ("ACTIVE", "DISABLED"):
            raise ApiError("InvalidArgsException", f"Status not valid: {status}")
        if ca.cert is None or ca.status not in ("ACTIVE", "DISABLED"):
            raise ApiError(
                "InvalidStateException",
                f"The certificate authority is in state {ca.status}; it can only be "
                "updated to ACTIVE or DISABLED once its certificate is imported.",
            )
        if ca.status != status:
            ca.status = status
            ca.last_state_change_at = self.clock()
            self.store.mark_dirty()
        return {}

    def delete_certificate_authority(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        """ACTIVE CAs must be disabled first; the CA stays restorable for 7..30 days."""
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        days = params.get("PermanentDeletionTimeInDays", DELETION_DAYS[1])
        if not isinstance(days, int) or not DELETION_DAYS[0] <= days <= DELETION_DAYS[1]:
            raise ApiError(
                "ValidationException",
                "1 validation error detected: Value at 'permanentDeletionTimeInDays' failed to "
                f"satisfy constraint: Member must be between {DELETION_DAYS[0]} and "
                f"{DELETION_DAYS[1]}",
            )
        if ca.status == "DELETED":
            raise ApiError("InvalidStateException", f"The CA {ca.arn} is already deleted.")
        if ca.status == "ACTIVE":
            raise ApiError(
                "InvalidStateException",
                f"The certificate authority {ca.arn} is ACTIVE; disable it before deleting it.",
            )
        now = self.clock()
        ca.status_before_deletion = "DISABLED" if ca.cert is not None else "PENDING_CERTIFICATE"
        ca.status = "DELETED"
        ca.restorable_until = now + days * DAY
        ca.last_state_change_at = now
        self.store.mark_dirty()
        return {}

    def restore_certificate_authority(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        """A DELETED CA inside its restore window comes back DISABLED (or PENDING_CERTIFICATE)."""
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        if ca.status != "DELETED":
            raise ApiError("InvalidStateException", f"The CA {ca.arn} is not deleted.")
        ca.status = ca.status_before_deletion or "DISABLED"
        ca.restorable_until = None
        ca.status_before_deletion = None
        ca.last_state_change_at = self.clock()
        self.store.mark_dirty()
        return {}

    def issue_certificate(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        token = check_idempotency_token(params.get("IdempotencyToken"))
        csr_blob = _require(params, "Csr")
        sign_alg = _require(params, "SigningAlgorithm")
        validity = _require(params, "Validity")
        template = parse_template_arn(params.get("TemplateArn"))
        if template.is_root:
            if ca.ca_type != "ROOT":
                raise ApiError(
                    "InvalidArgsException",
                    "The RootCACertificate/V1 template can only be used by a root CA.",
                )
            if ca.status not in ("PENDING_CERTIFICATE", "ACTIVE"):
                raise ApiError("InvalidStateException", f"The CA is in state {ca.status}.")
        elif ca.status != "ACTIVE":
            raise ApiError(
                "InvalidStateException",
                f"The certificate authority {ca.arn} is in state {ca.status}; it must be "
                "ACTIVE to issue certificates.",
            )
        certs.check_signing_algorithm(ca.key_algorithm, sign_alg)
        now = self.clock()
        if token is not None:
            seen = ca.idempotency.get(token)
            if seen is not None and now - seen[1] < self.config.idempotency_window:
                return {"CertificateArn": seen[0]}
        csr = certs.parse_csr(csr_blob if isinstance(csr_blob, bytes) else str(csr_blob).encode())
        if template.is_root and certs.public_key_der(csr.public_key()) != certs.public_key_der(
            ca.key
        ):
            raise ApiError(
                "InvalidArgsException",
                "The RootCACertificate/V1 template signs the CA's own CSR only.",
            )
        is_ca, issuer_pathlen = ca.path_length()
        check_path_length(template, issuer_pathlen, is_ca)
        ca_not_after = (
            ca.cert.not_valid_after_utc if ca.cert is not None and not template.is_root else None
        )
        not_before, not_after = validity_window(
            validity,
            datetime.fromtimestamp(now, UTC),
            ca_not_after,
            params.get("ValidityNotBefore"),
        )
        cert = self._build(ca, csr, template, not_before, not_after, sign_alg)
        arn = f"{ca.arn}/certificate/{uuid.uuid4().hex}"
        self.store.add_cert(
            CertRecord(
                arn=arn,
                ca_arn=ca.arn,
                serial=cert.serial_number,
                pem=certs.cert_pem(cert),
                issued_at=now,
                ready_at=now + self._issuance_delay(),
                idempotency_token=token,
            )
        )
        if token is not None:
            ca.idempotency[token] = (arn, now)
            self._prune_tokens(ca, now)
        return {"CertificateArn": arn}

    def _prune_tokens(self, ca: CaRecord, now: float) -> None:
        if len(ca.idempotency) > 10_000:
            window = self.config.idempotency_window
            ca.idempotency = {k: v for k, v in ca.idempotency.items() if now - v[1] < window}

    def _build(
        self,
        ca: CaRecord,
        csr: x509.CertificateSigningRequest,
        template: Any,
        not_before: datetime,
        not_after: datetime,
        sign_alg: str,
    ) -> x509.Certificate:
        pub = csr.public_key()
        issuer_name = (
            ca.cert.subject if ca.cert is not None else certs.name_from_subject(ca.subject)
        )
        if template.is_root:
            issuer_name = csr.subject
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(issuer_name)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        for ext, critical in template_extensions(template, csr):
            builder = builder.add_extension(ext, critical)
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(pub),
            critical=False,
        )
        if not template.is_root:
            builder = builder.add_extension(_authority_key_id(ca), critical=False)
        return certs.sign_certificate(builder, ca.key, sign_alg)

    def get_certificate(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        cert_arn = _require(params, "CertificateArn")
        if not isinstance(cert_arn, str) or not CERT_ARN_RE.match(cert_arn):
            raise ApiError("InvalidArnException", f"The certificate ARN is not valid: {cert_arn}")
        rec = self.store.certs.get(cert_arn)
        if rec is None or rec.ca_arn != ca.arn:
            raise ApiError("ResourceNotFoundException", f"Could not find certificate {cert_arn}.")
        if self.clock() < rec.ready_at:
            raise ApiError(
                "RequestInProgressException",
                "The request to issue the certificate is still in progress.",
            )
        out: dict[str, Any] = {"Certificate": rec.pem}
        chain = ca.issued_chain_pem()
        if chain:
            out["CertificateChain"] = chain
        return out

    def revoke_certificate(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        ca = self.get_ca(_require(params, "CertificateAuthorityArn"))
        serial_text = str(_require(params, "CertificateSerial")).replace(":", "")
        reason = _require(params, "RevocationReason")
        if reason not in REVOCATION_REASONS:
            raise ApiError("InvalidArgsException", f"RevocationReason not valid: {reason}")
        try:
            serial = int(serial_text, 16)
        except ValueError as exc:
            raise ApiError("InvalidRequestException", "The certificate serial is not hex.") from exc
        if ca.status not in ("ACTIVE", "DISABLED"):
            raise ApiError("InvalidStateException", f"The CA is in state {ca.status}.")
        arn = self.store.by_serial.get((ca.arn, serial))
        if arn is None:
            raise ApiError(
                "ResourceNotFoundException", f"Could not find certificate {serial_text}."
            )
        rec = self.store.certs[arn]
        if rec.revoked_at is not None:
            raise ApiError(
                "RequestAlreadyProcessedException", "The certificate is already revoked."
            )
        rec.revoked_at = self.clock()
        rec.revocation_reason = reason
        self.store.mark_dirty()
        return {}


def _authority_key_id(ca: CaRecord) -> x509.AuthorityKeyIdentifier:
    if ca.cert is not None:
        try:
            ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            pass
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())


def _order_chain(cert: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The chain above `cert` from the given certificates, issuer first, ending at a root."""
    chain: list[x509.Certificate] = []
    current = cert
    remaining = list(pool)
    while True:
        parent = next((c for c in remaining if certs.is_issued_by(current, c)), None)
        if parent is None:
            raise ApiError(
                "InvalidRequestException",
                "The certificate chain does not lead from the certificate to a root CA.",
            )
        chain.append(parent)
        remaining.remove(parent)
        if certs.is_issued_by(parent, parent):
            return chain
        current = parent


OPERATIONS: dict[str, Callable[[PcaService, dict[str, Any], CallContext], dict[str, Any]]] = {
    "CreateCertificateAuthority": PcaService.create_certificate_authority,
    "DescribeCertificateAuthority": PcaService.describe_certificate_authority,
    "ListCertificateAuthorities": PcaService.list_certificate_authorities,
    "GetCertificateAuthorityCsr": PcaService.get_certificate_authority_csr,
    "GetCertificateAuthorityCertificate": PcaService.get_certificate_authority_certificate,
    "ImportCertificateAuthorityCertificate": PcaService.import_certificate_authority_certificate,
    "UpdateCertificateAuthority": PcaService.update_certificate_authority,
    "IssueCertificate": PcaService.issue_certificate,
    "GetCertificate": PcaService.get_certificate,
    "RevokeCertificate": PcaService.revoke_certificate,
    "DeleteCertificateAuthority": PcaService.delete_certificate_authority,
    "RestoreCertificateAuthority": PcaService.restore_certificate_authority,
}
