"""The emulator's PCA state (CAs, their keys and certificates, issued certificates)
and its optional persistence to a JSON state file (PEMs inside, written atomically).

Parsed keys and certificates are kept in memory next to their PEMs so issuing
never re-parses or re-serializes them.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from .certs import PrivateKey, cert_pem, key_from_pem, key_to_pem

STATE_VERSION = 1


@dataclass
class CertRecord:
    """An issued certificate."""

    arn: str
    ca_arn: str
    serial: int
    pem: str
    issued_at: float
    ready_at: float
    idempotency_token: str | None = None
    revoked_at: float | None = None
    revocation_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CertRecord:
        return cls(**d)


@dataclass
class CaRecord:
    """A certificate authority: configuration, key, state and (once imported) certificate."""

    arn: str
    account: str
    region: str
    ca_type: str
    key_algorithm: str
    signing_algorithm: str
    subject: dict[str, str]
    created_at: float
    last_state_change_at: float
    status: str
    key: PrivateKey
    csr_pem: str
    usage_mode: str = "GENERAL_PURPOSE"
    #: Set while DELETED: end of the restore window, and the status a restore brings back.
    restorable_until: float | None = None
    status_before_deletion: str | None = None
    cert: x509.Certificate | None = None
    #: Certificates above this CA, issuing CA first, root last (empty for a root).
    chain: list[x509.Certificate] = field(default_factory=list)
    #: idempotency token -> (certificate ARN, time issued)
    idempotency: dict[str, tuple[str, float]] = field(default_factory=dict)
    # caches
    cert_pem: str | None = None
    chain_pem: str | None = None
    key_pem: str | None = None

    def set_certificate(self, cert: x509.Certificate, chain: list[x509.Certificate]) -> None:
        self.cert = cert
        self.chain = chain
        self.cert_pem = cert_pem(cert)
        self.chain_pem = "\n".join(cert_pem(c).strip() for c in chain) + "\n" if chain else None

    def issued_chain_pem(self) -> str | None:
        """Chain returned with a certificate this CA issued: this CA up to the root."""
        if self.cert_pem is None:
            return None
        if self.chain_pem is None:
            return self.cert_pem
        return self.cert_pem.strip() + "\n" + self.chain_pem

    def path_length(self) -> tuple[bool, int | None]:
        """(is a CA, path length constraint) of this CA's own certificate."""
        if self.cert is None:
            return True, None
        try:
            bc = self.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return False, None
        return bc.ca, bc.path_length

    def to_json(self) -> dict[str, Any]:
        if self.key_pem is None:
            self.key_pem = key_to_pem(self.key)
        return {
            "arn": self.arn,
            "account": self.account,
            "region": self.region,
            "ca_type": self.ca_type,
            "key_algorithm": self.key_algorithm,
            "signing_algorithm": self.signing_algorithm,
            "subject": self.subject,
            "created_at": self.created_at,
            "last_state_change_at": self.last_state_change_at,
            "status": self.status,
            "usage_mode": self.usage_mode,
            "restorable_until": self.restorable_until,
            "status_before_deletion": self.status_before_deletion,
            "key_pem": self.key_pem,
            "csr_pem": self.csr_pem,
            "cert_pem": self.cert_pem,
            "chain_pem": self.chain_pem,
            "idempotency": {k: list(v) for k, v in self.idempotency.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaRecord:
        ca = cls(
            arn=d["arn"],
            account=d["account"],
            region=d["region"],
            ca_type=d["ca_type"],
            key_algorithm=d["key_algorithm"],
            signing_algorithm=d["signing_algorithm"],
            subject=d["subject"],
            created_at=d["created_at"],
            last_state_change_at=d["last_state_change_at"],
            status=d["status"],
            usage_mode=d.get("usage_mode", "GENERAL_PURPOSE"),
            restorable_until=d.get("restorable_until"),
            status_before_deletion=d.get("status_before_deletion"),
            key=key_from_pem(d["key_pem"]),
            key_pem=d["key_pem"],
            csr_pem=d["csr_pem"],
            idempotency={k: (v[0], float(v[1])) for k, v in d.get("idempotency", {}).items()},
        )
        if d.get("cert_pem"):
            cert = x509.load_pem_x509_certificate(d["cert_pem"].encode())
            chain = (
                x509.load_pem_x509_certificates(d["chain_pem"].encode())
                if d.get("chain_pem")
                else []
            )
            ca.set_certificate(cert, chain)
        return ca


class Store:
    """All CAs and certificates, with an optional state file.

    Mutations call `mark_dirty()`; the server flushes dirty state shortly after
    (and on shutdown) with `save()`, so a burst of issuances costs one write.
    """

    def __init__(self, state_file: str | Path | None = None) -> None:
        self.cas: dict[str, CaRecord] = {}
        self.certs: dict[str, CertRecord] = {}
        #: (CA ARN, serial) -> certificate ARN
        self.by_serial: dict[tuple[str, int], str] = {}
        self.state_file = Path(state_file) if state_file else None
        self.dirty = False
        self._lock = threading.Lock()

    def add_cert(self, rec: CertRecord) -> None:
        self.certs[rec.arn] = rec
        self.by_serial[(rec.ca_arn, rec.serial)] = rec.arn
        self.mark_dirty()

    def mark_dirty(self) -> None:
        if self.state_file is not None:
            self.dirty = True

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "cas": [ca.to_json() for ca in self.cas.values()],
            "certificates": [c.to_json() for c in self.certs.values()],
        }

    def save(self) -> None:
        """Write the state file atomically (temp file in the same dir + rename)."""
        if self.state_file is None:
            return
        with self._lock:
            self.dirty = False
            data = json.dumps(self.to_json())
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".emulator-state-")
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.state_file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def load(self) -> None:
        """Load the state file if it exists."""
        if self.state_file is None or not self.state_file.exists():
            return
        data = json.loads(self.state_file.read_text())
        for d in data.get("cas", []):
            ca = CaRecord.from_json(d)
            self.cas[ca.arn] = ca
        for d in data.get("certificates", []):
            rec = CertRecord.from_json(d)
            self.certs[rec.arn] = rec
            self.by_serial[(rec.ca_arn, rec.serial)] = rec.arn
