"""Checks of a PEM CSR before it is sent to AWS PCA: size, parse, signature, key type and size.

A CSR that fails here would be refused by PCA anyway (MalformedCSRException);
catching it locally fails the request at once with a clear message and spends
no PCA quota. The signing algorithm is not derived from the CSR: it comes from
the CA.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from issuer.errors import PermanentError, Reason

#: The largest CSR ``IssueCertificate`` accepts (``CsrBlob`` in the ACM PCA service model).
MAX_CSR_BYTES = 32768
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096
SUPPORTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True)
class CSRInfo:
    """What the CSR asks for, for logs and events."""

    key_type: str  # "RSA" or "EC"
    key_size: int  # bits
    curve: str | None  # "P-256", "P-384", "P-521" for EC keys
    subject: str  # RFC 4514
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    uris: tuple[str, ...]
    emails: tuple[str, ...]


def _malformed(detail: str) -> PermanentError:
    return PermanentError(
        f"the CSR in spec.request is malformed: {detail}", reason=Reason.MALFORMED_CSR
    )


def _unsupported(detail: str) -> PermanentError:
    return PermanentError(
        f"the CSR's key is not supported by AWS Private CA: {detail} "
        "(use RSA 2048-4096 bits or ECDSA P-256, P-384 or P-521)",
        reason=Reason.UNSUPPORTED_KEY,
    )


def check_size(pem: bytes) -> None:
    """Refuse a CSR larger than AWS Private CA accepts, before parsing it or calling AWS."""
    if len(pem) > MAX_CSR_BYTES:
        raise PermanentError(
            f"the CSR in spec.request is {len(pem)} bytes; AWS Private CA accepts at most "
            f"{MAX_CSR_BYTES} bytes",
            reason=Reason.CSR_TOO_LARGE,
        )


def _load(pem: bytes) -> x509.CertificateSigningRequest:
    if not pem or b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise _malformed("not a PEM 'CERTIFICATE REQUEST' block")
    try:
        return x509.load_pem_x509_csr(pem)
    except ValueError as err:
        raise _malformed(f"cannot parse it ({err})") from err


def _sans(csr: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName | None:
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    except ValueError as err:
        raise _malformed(f"invalid extensions ({err})") from err
    return ext.value


def check_csr(pem: bytes) -> CSRInfo:
    """Check ``pem``; raise PermanentError (CSRTooLarge / MalformedCSR / UnsupportedKey) if unusable."""
    check_size(pem)
    csr = _load(pem)
    try:
        key = csr.public_key()
    except (UnsupportedAlgorithm, ValueError) as err:
        raise _unsupported(f"unknown public key algorithm ({err})") from err
    if isinstance(key, rsa.RSAPublicKey):
        key_type, size, curve = "RSA", key.key_size, None
        if not MIN_RSA_BITS <= size <= MAX_RSA_BITS:
            raise _unsupported(f"RSA key of {size} bits")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, size = "EC", key.curve.key_size
        curve = SUPPORTED_CURVES.get(key.curve.name)
        if curve is None:
            raise _unsupported(f"elliptic curve {key.curve.name}")
    else:
        raise _unsupported(f"{type(key).__name__.removeprefix('_')} keys")
    try:
        signature_ok = csr.is_signature_valid
    except (UnsupportedAlgorithm, ValueError) as err:
        raise _malformed(f"cannot verify its signature ({err})") from err
    if not signature_ok:
        raise _malformed("its signature does not verify against its public key")
    try:
        subject = csr.subject.rfc4514_string()
    except ValueError as err:
        raise _malformed(f"invalid subject ({err})") from err
    sans = _sans(csr)
    return CSRInfo(
        key_type=key_type,
        key_size=size,
        curve=curve,
        subject=subject,
        dns_names=tuple(sans.get_values_for_type(x509.DNSName)) if sans else (),
        ip_addresses=tuple(str(ip) for ip in sans.get_values_for_type(x509.IPAddress))
        if sans
        else (),
        uris=tuple(sans.get_values_for_type(x509.UniformResourceIdentifier)) if sans else (),
        emails=tuple(sans.get_values_for_type(x509.RFC822Name)) if sans else (),
    )
