"""X.509 and key helpers: CA key generation, signing algorithms, CSR checks, names.

Pure functions over `cryptography` objects; no emulator state.
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from .errors import ApiError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

RSA_KEY_SIZES = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "EC_prime256v1": ec.SECP256R1,
    "EC_secp384r1": ec.SECP384R1,
    "EC_secp521r1": ec.SECP521R1,
}
KEY_ALGORITHMS = (*RSA_KEY_SIZES, *EC_CURVES)

Digest = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_HASHES: dict[str, type[Digest]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
RSA_SIGNING = (
    "SHA256WITHRSA",
    "SHA384WITHRSA",
    "SHA512WITHRSA",
    "SHA256WITHRSA_PSS",
    "SHA384WITHRSA_PSS",
    "SHA512WITHRSA_PSS",
)
EC_SIGNING = ("SHA256WITHECDSA", "SHA384WITHECDSA", "SHA512WITHECDSA")


def generate_key(key_algorithm: str) -> PrivateKey:
    if key_algorithm in RSA_KEY_SIZES:
        return rsa.generate_private_key(65537, RSA_KEY_SIZES[key_algorithm])
    if key_algorithm in EC_CURVES:
        return ec.generate_private_key(EC_CURVES[key_algorithm]())
    raise ApiError("InvalidArgsException", f"Unsupported KeyAlgorithm: {key_algorithm}")


def check_signing_algorithm(key_algorithm: str, signing_algorithm: str) -> None:
    """Raise InvalidArgsException unless the signing algorithm fits the CA key."""
    allowed = RSA_SIGNING if key_algorithm in RSA_KEY_SIZES else EC_SIGNING
    if signing_algorithm not in allowed:
        raise ApiError(
            "InvalidArgsException",
            f"The signing algorithm {signing_algorithm} is not compatible with the "
            f"certificate authority key algorithm {key_algorithm}.",
        )


def sign_params(
    signing_algorithm: str,
) -> tuple[Digest, padding.PSS | None]:
    """Hash and (for RSA-PSS) padding for a PCA signing algorithm name."""
    digest = _HASHES[signing_algorithm[:6]]()
    if signing_algorithm.endswith("_PSS"):
        return digest, padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH)
    return digest, None


def sign_certificate(
    builder: x509.CertificateBuilder, key: PrivateKey, signing_algorithm: str
) -> x509.Certificate:
    digest, pss = sign_params(signing_algorithm)
    if pss is not None:
        return builder.sign(key, digest, rsa_padding=pss)
    return builder.sign(key, digest)


def make_csr(
    key: PrivateKey, subject: x509.Name, signing_algorithm: str
) -> x509.CertificateSigningRequest:
    digest, pss = sign_params(signing_algorithm)
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if pss is not None:
        return builder.sign(key, digest, rsa_padding=pss)
    return builder.sign(key, digest)


_SUBJECT_FIELDS: tuple[tuple[str, x509.ObjectIdentifier], ...] = (
    ("Country", NameOID.COUNTRY_NAME),
    ("State", NameOID.STATE_OR_PROVINCE_NAME),
    ("Locality", NameOID.LOCALITY_NAME),
    ("Organization", NameOID.ORGANIZATION_NAME),
    ("OrganizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("DistinguishedNameQualifier", NameOID.DN_QUALIFIER),
    ("SerialNumber", NameOID.SERIAL_NUMBER),
    ("Title", NameOID.TITLE),
    ("Surname", NameOID.SURNAME),
    ("GivenName", NameOID.GIVEN_NAME),
    ("Initials", NameOID.INITIALS),
    ("Pseudonym", NameOID.PSEUDONYM),
    ("GenerationQualifier", NameOID.GENERATION_QUALIFIER),
    ("CommonName", NameOID.COMMON_NAME),
)


def name_from_subject(subject: dict[str, str]) -> x509.Name:
    """An X.509 name from the API's ASN1Subject structure."""
    attrs = [
        x509.NameAttribute(oid, str(subject[key]))
        for key, oid in _SUBJECT_FIELDS
        if subject.get(key)
    ]
    if not attrs:
        raise ApiError("InvalidArgsException", "The CA subject must contain at least one field.")
    return x509.Name(attrs)


def decode_blob_pem(data: bytes, what: str, error_code: str) -> bytes:
    """PEM bytes from a blob parameter (botocore already base64-decoded the wire form).

    Also accepts a base64 blob of the PEM, which some callers send twice-encoded.
    """
    text = data.strip()
    if not text.startswith(b"-----BEGIN"):
        try:
            text = base64.b64decode(text, validate=True).strip()
        except (binascii.Error, ValueError) as exc:
            raise ApiError(error_code, f"The {what} is not a PEM.") from exc
        if not text.startswith(b"-----BEGIN"):
            raise ApiError(error_code, f"The {what} is not a PEM.")
    return text


def parse_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Parse and check a CSR like the service: PEM, valid signature, supported key."""
    pem = decode_blob_pem(data, "certificate signing request", "MalformedCSRException")
    try:
        csr = x509.load_pem_x509_csr(pem)
        valid = csr.is_signature_valid
        key = csr.public_key()
    except (ValueError, TypeError) as exc:
        raise ApiError("MalformedCSRException", f"The CSR could not be parsed: {exc}") from exc
    if not valid:
        raise ApiError("MalformedCSRException", "The CSR signature is not valid.")
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ApiError("MalformedCSRException", "RSA keys must be at least 2048 bits.")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise ApiError("MalformedCSRException", f"Unsupported curve {key.curve.name}.")
    else:
        raise ApiError("MalformedCSRException", "The CSR public key algorithm is not supported.")
    return csr


def parse_certificates(data: bytes, what: str) -> list[x509.Certificate]:
    """All certificates of a PEM bundle; MalformedCertificateException if none or bad."""
    pem = decode_blob_pem(data, what, "MalformedCertificateException")
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise ApiError("MalformedCertificateException", f"The {what} is not valid: {exc}") from exc
    if not certs:
        raise ApiError("MalformedCertificateException", f"The {what} is empty.")
    return certs


def public_key_der(key: CertificatePublicKeyTypes | PrivateKey) -> bytes:
    pub = (
        key.public_key() if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) else key
    )
    return pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def is_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_to_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def key_from_pem(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("unsupported CA key type in state")
    return key


def cert_pem_csr(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(serialization.Encoding.PEM).decode()
