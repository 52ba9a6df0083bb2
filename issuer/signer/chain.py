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

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from issuer.errors import PermanentError, Reason

_BEGIN = b"-----BEGIN CERTIFICATE-----"


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


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer


def _order(leaf: x509.Certificate, chain: list[x509.Certificate]) -> list[x509.Certificate]:
    """Chain certificates ordered from the leaf's issuer upward; unlinked ones keep their order."""
    remaining = [c for c in chain if c != leaf]
    ordered: list[x509.Certificate] = []
    current = leaf
    while remaining and not (_self_signed(current) and current is not leaf):
        nxt = next((c for c in remaining if c.subject == current.issuer), None)
        if nxt is None:
            break
        ordered.append(nxt)
        remaining.remove(nxt)
        current = nxt
    return ordered + remaining


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def split_chain(certificate_pem: str, chain_pem: str) -> tuple[str, str]:
    """``(status_certificate_pem, status_ca_pem)`` from PCA's Certificate and CertificateChain."""
    leaf = _load_all(certificate_pem, "certificate")[0]
    chain = _order(leaf, _load_all(chain_pem, "certificate chain"))
    if not chain:
        raise _bad("certificate chain", "it holds only the certificate itself")
    roots = [i for i, c in enumerate(chain) if _self_signed(c)]
    root_index = roots[-1] if roots else len(chain) - 1
    root = chain[root_index]
    intermediates = [c for i, c in enumerate(chain) if i != root_index]
    status_certificate = "".join(_pem(c) for c in [leaf, *intermediates])
    return status_certificate, _pem(root)
