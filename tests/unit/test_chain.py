"""Splitting GetCertificate output into status.certificate and status.ca."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509

from issuer.errors import PermanentError
from issuer.signer.chain import split_chain
from tests.unit.pki_helpers import Hierarchy, hierarchy, pem

LeafOf = Callable[[Hierarchy], x509.Certificate]
PemOf = Callable[[Hierarchy], str]

H = hierarchy()


def _join(*certs: x509.Certificate, sep: str = "") -> str:
    return sep.join(pem(c) for c in certs)


def _names(bundle: str) -> list[str]:
    return [c.subject.rfc4514_string() for c in x509.load_pem_x509_certificates(bundle.encode())]


CASES = [
    # (name, leaf, chain, expected status.certificate subjects, expected status.ca subject)
    (
        "pca order",
        lambda h: h.leaf,
        lambda h: _join(h.int2, h.int1, h.root),
        ["CN=leaf.example.com", "CN=Intermediate 2", "CN=Intermediate 1"],
        "CN=Root CA",
    ),
    (
        "root first",
        lambda h: h.leaf,
        lambda h: _join(h.root, h.int1, h.int2),
        ["CN=leaf.example.com", "CN=Intermediate 2", "CN=Intermediate 1"],
        "CN=Root CA",
    ),
    (
        "shuffled",
        lambda h: h.leaf,
        lambda h: _join(h.int1, h.root, h.int2),
        ["CN=leaf.example.com", "CN=Intermediate 2", "CN=Intermediate 1"],
        "CN=Root CA",
    ),
    (
        "subordinate CA (istio cacerts)",
        lambda h: h.leaf_of_int1,
        lambda h: _join(h.int1, h.root),
        ["CN=istio-ca", "CN=Intermediate 1"],
        "CN=Root CA",
    ),
    (
        "chain is only the root",
        lambda h: h.leaf_of_root,
        lambda h: _join(h.root),
        ["CN=direct.example.com"],
        "CN=Root CA",
    ),
    (
        "whitespace and CRLF",
        lambda h: h.leaf_of_int1,
        lambda h: "\n\n" + _join(h.int1, h.root, sep="\r\n  \n").replace("\n", "\r\n") + "\n\n ",
        ["CN=istio-ca", "CN=Intermediate 1"],
        "CN=Root CA",
    ),
    (
        "chain repeats the leaf",
        lambda h: h.leaf_of_int1,
        lambda h: _join(h.leaf_of_int1, h.int1, h.root),
        ["CN=istio-ca", "CN=Intermediate 1"],
        "CN=Root CA",
    ),
    (
        "no root returned: top-most is status.ca, like the Go issuer",
        lambda h: h.leaf,
        lambda h: _join(h.int2, h.int1),
        ["CN=leaf.example.com", "CN=Intermediate 2"],
        "CN=Intermediate 1",
    ),
]


@pytest.mark.parametrize(
    ("case", "leaf", "chain", "cert_subjects", "ca_subject"), CASES, ids=[c[0] for c in CASES]
)
def test_split_chain(
    case: str, leaf: LeafOf, chain: PemOf, cert_subjects: list[str], ca_subject: str
) -> None:
    leaf_cert = leaf(H)
    leaf_pem = pem(leaf_cert).strip()  # PCA returns the certificate without a final newline
    status_certificate, status_ca = split_chain(leaf_pem, chain(H))
    assert _names(status_certificate) == cert_subjects, case
    assert _names(status_ca) == [ca_subject], case
    assert status_certificate.startswith("-----BEGIN CERTIFICATE-----\n")
    assert status_certificate.endswith("-----END CERTIFICATE-----\n")
    assert status_ca.endswith("-----END CERTIFICATE-----\n")
    assert "\r" not in status_certificate + status_ca


def test_output_is_exact_pem_blocks() -> None:
    cert, ca = split_chain(pem(H.leaf_of_int1), _join(H.int1, H.root))
    assert cert == pem(H.leaf_of_int1) + pem(H.int1)
    assert ca == pem(H.root)


BAD = [
    ("garbage chain", lambda h: pem(h.leaf), lambda h: "garbage"),
    ("empty chain", lambda h: pem(h.leaf), lambda h: ""),
    ("garbage leaf", lambda h: "garbage", lambda h: _join(h.root)),
    (
        "broken pem body",
        lambda h: pem(h.leaf),
        lambda h: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ),
    ("chain is only the leaf", lambda h: pem(h.leaf_of_root), lambda h: pem(h.leaf_of_root)),
]


@pytest.mark.parametrize(("case", "leaf", "chain"), BAD, ids=[b[0] for b in BAD])
def test_split_chain_rejects(case: str, leaf: PemOf, chain: PemOf) -> None:
    with pytest.raises(PermanentError) as info:
        split_chain(leaf(H), chain(H))
    assert info.value.reason == "InvalidCertificateChain", case
