"""Test PKI: keys, CSRs and small CA hierarchies generated with ``cryptography``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_csr(
    key: PrivateKey,
    *,
    cn: str = "example.com",
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    uris: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(cn))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    names += [x509.RFC822Name(e) for e in emails]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(Encoding.PEM)


def _cert(
    subject: str,
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class Hierarchy:
    """root -> int1 -> int2 -> leaf, and leaf_of_root signed by the root directly."""

    root: x509.Certificate
    int1: x509.Certificate
    int2: x509.Certificate
    leaf: x509.Certificate
    leaf_of_root: x509.Certificate
    leaf_of_int1: x509.Certificate


def hierarchy() -> Hierarchy:
    root_key, int1_key, int2_key, leaf_key = (ec_key() for _ in range(4))
    root = _cert("Root CA", root_key, "Root CA", root_key, ca=True)
    int1 = _cert("Intermediate 1", int1_key, "Root CA", root_key, ca=True)
    int2 = _cert("Intermediate 2", int2_key, "Intermediate 1", int1_key, ca=True)
    leaf = _cert("leaf.example.com", leaf_key, "Intermediate 2", int2_key, ca=False)
    leaf_of_root = _cert("direct.example.com", leaf_key, "Root CA", root_key, ca=False)
    leaf_of_int1 = _cert("istio-ca", leaf_key, "Intermediate 1", int1_key, ca=True)
    return Hierarchy(root, int1, int2, leaf, leaf_of_root, leaf_of_int1)
