"""CSR checks with keys generated on the spot."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from issuer.errors import PermanentError
from issuer.signer.csr import MAX_CSR_BYTES, check_csr
from tests.unit.pki_helpers import ec_key, make_csr, rsa_key


@pytest.mark.parametrize(
    ("curve", "size", "name"),
    [
        (ec.SECP256R1(), 256, "P-256"),
        (ec.SECP384R1(), 384, "P-384"),
        (ec.SECP521R1(), 521, "P-521"),
    ],
)
def test_ec_curves_accepted(curve: ec.EllipticCurve, size: int, name: str) -> None:
    info = check_csr(make_csr(ec_key(curve), cn="istio-ca"))
    assert (info.key_type, info.key_size, info.curve) == ("EC", size, name)
    assert info.subject == "CN=istio-ca"


def test_rsa_2048_accepted_and_sans_read() -> None:
    pem = make_csr(
        rsa_key(2048),
        cn="svc",
        dns=("a.example.com", "b.example.com"),
        ips=("10.0.0.1", "::1"),
        uris=("spiffe://cluster.local/ns/x/sa/y",),
        emails=("ops@example.com",),
    )
    info = check_csr(pem)
    assert (info.key_type, info.key_size, info.curve) == ("RSA", 2048, None)
    assert info.dns_names == ("a.example.com", "b.example.com")
    assert info.ip_addresses == ("10.0.0.1", "::1")
    assert info.uris == ("spiffe://cluster.local/ns/x/sa/y",)
    assert info.emails == ("ops@example.com",)


def test_no_sans() -> None:
    info = check_csr(make_csr(ec_key()))
    assert (info.dns_names, info.ip_addresses, info.uris, info.emails) == ((), (), (), ())


def _tampered() -> bytes:
    pem = make_csr(ec_key(), cn="example.com")
    body = b"".join(pem.strip().splitlines()[1:-1])
    der = base64.b64decode(body).replace(b"example.com", b"exbmple.com")
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + b"\n".join(lines)
        + b"\n-----END CERTIFICATE REQUEST-----\n"
    )


REFUSED: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty", lambda: b"", "MalformedCSR"),
    ("not pem", lambda: b"hello", "MalformedCSR"),
    (
        "pem garbage",
        lambda: b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        "MalformedCSR",
    ),
    ("certificate not csr", lambda: b"-----BEGIN CERTIFICATE-----\nAA==\n", "MalformedCSR"),
    ("bad signature", _tampered, "MalformedCSR"),
    ("rsa 1024", lambda: make_csr(rsa_key(1024)), "UnsupportedKey"),
    ("secp256k1", lambda: make_csr(ec_key(ec.SECP256K1())), "UnsupportedKey"),
    ("ed25519", lambda: make_csr(ed25519.Ed25519PrivateKey.generate()), "UnsupportedKey"),
]


@pytest.mark.parametrize(("case", "build", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(case: str, build: Callable[[], bytes], reason: str) -> None:
    pem = build()
    with pytest.raises(PermanentError) as info:
        check_csr(pem)
    assert info.value.reason == reason, case
    assert "CSR" in info.value.message


def _csr_with_sans(count: int) -> bytes:
    return make_csr(ec_key(), dns=tuple(f"host-{i:05d}.example.com" for i in range(count)))


def test_csr_over_pca_limit_refused_before_parsing() -> None:
    """A well-formed, correctly signed CSR over PCA's 32,768 bytes fails at once, clearly."""
    pem = _csr_with_sans(1500)
    assert len(pem) > MAX_CSR_BYTES
    with pytest.raises(PermanentError) as info:
        check_csr(pem)
    assert info.value.reason == "CSRTooLarge"
    assert f"{len(pem)} bytes" in info.value.message
    assert "32768" in info.value.message


def test_csr_just_under_pca_limit_accepted() -> None:
    pem = _csr_with_sans(800)
    assert 20_000 < len(pem) <= MAX_CSR_BYTES
    assert len(check_csr(pem).dns_names) == 800
