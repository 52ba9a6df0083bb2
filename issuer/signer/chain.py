"""Split GetCertificate output into CertificateRequest ``status.certificate`` and ``status.ca``.

``status.certificate`` is the leaf followed by the intermediates (closest to
the leaf first); ``status.ca`` is the root. The chain from PCA is normally
ordered issuer-first up to the root, but any order is accepted: the path is
rebuilt by matching each certificate's issuer to the next one's subject. The
root is the last self-signed certificate on that path; when the chain holds no
self-signed certificate (a CA chained to an external root that PCA does not
return) the top-most certificate is used as ``status.ca``, as the Go issuer
does. Output PEM is re-encoded, one certificate per block, each ending in a
newline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from issuer.errors import PermanentError, Reason

_BEGIN = b"-----BEGIN CERTIFICATE-----"
CHAINS_PARSED = 64  # distinct chains kept parsed (one per CA, and per CA certificate)


def _bad(what: str, detail: str) -> PermanentError:
    return PermanentError(
        f"AWS PCA returned an unusable {what}: {detail}", reason=Reason.INVALID_CHAIN
    )


def _load_all(pem: str, what: str) -> list[x509.Certificate]:
    data = pem.strip().encode("ascii", errors="replace")
    if _BEGIN not in data:
        raise _bad(what, "no PEM CERTIFICATE block")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as err:
        raise _bad(what, f"cannot parse it ({err})") from err
    if not certs:
        raise _bad(what, "no certificate")
    return certs


@dataclass(frozen=True, eq=False)
class _Cert:
    """A certificate with what ordering reads of it, computed once."""

    cert: x509.Certificate
    subject: x509.Name
    issuer: x509.Name
    pem: str

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer


def _parsed(cert: x509.Certificate) -> _Cert:
    pem = cert.public_bytes(Encoding.PEM).decode("ascii")
    return _Cert(cert, cert.subject, cert.issuer, pem)


def _order(leaf: _Cert, chain: tuple[_Cert, ...]) -> list[_Cert]:
    """Chain certificates ordered from the leaf's issuer upward; unlinked ones keep their order."""
    remaining = [c for c in chain if c.cert != leaf.cert]
    ordered: list[_Cert] = []
    current = leaf
    while remaining and not (current.self_signed and current is not leaf):
        nxt = next((c for c in remaining if c.subject == current.issuer), None)
        if nxt is None:
            break
        ordered.append(nxt)
        remaining.remove(nxt)
        current = nxt
    return ordered + remaining


@functools.lru_cache(maxsize=CHAINS_PARSED)
def _chain(chain_pem: str) -> tuple[_Cert, ...]:
    """The certificates of a CertificateChain, parsed once: every certificate of a CA
    comes with the same chain."""
    return tuple(_parsed(c) for c in _load_all(chain_pem, "certificate chain"))


def split_chain(certificate_pem: str, chain_pem: str) -> tuple[str, str]:
    """``(status_certificate_pem, status_ca_pem)`` from PCA's Certificate and CertificateChain."""
    leaf = _parsed(_load_all(certificate_pem, "certificate")[0])
    chain = _order(leaf, _chain(chain_pem))
    if not chain:
        raise _bad("certificate chain", "it holds only the certificate itself")
    roots = [i for i, c in enumerate(chain) if c.self_signed]
    root_index = roots[-1] if roots else len(chain) - 1
    intermediates = [c for i, c in enumerate(chain) if i != root_index]
    status_certificate = "".join(c.pem for c in [leaf, *intermediates])
    return status_certificate, chain[root_index].pem
