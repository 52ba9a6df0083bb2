"""A TLS 1.3 mutual-TLS handshake between two workloads on 127.0.0.1, as two sidecars do it.

Each side presents its certificate chain, requires the peer's, trusts only the
mesh root (``ca.crt``) and reads the peer's identity from its URI SAN (SPIFFE):
the hostname check is off, as in Istio. One message goes each way.
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT = 30.0


@dataclass(frozen=True)
class Workload:
    """A workload's credentials on disk, as its sidecar would hold them."""

    chain_file: Path  # leaf first
    key_file: Path


def write_workload(directory: Path, name: str, chain_pem: bytes, key_pem: bytes) -> Workload:
    directory.mkdir(parents=True, exist_ok=True)
    chain_file, key_file = directory / f"{name}.chain.pem", directory / f"{name}.key.pem"
    chain_file.write_bytes(chain_pem)
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    return Workload(chain_file, key_file)


def _context(side: int, me: Workload, root_pem: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(side)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # SPIFFE: the identity is the URI SAN, returned to the caller
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=root_pem)  # the root only: ca.crt
    ctx.load_cert_chain(me.chain_file, me.key_file)
    return ctx


def peer_uris(tls: ssl.SSLSocket) -> list[str]:
    cert: dict[str, Any] = dict(tls.getpeercert() or {})
    sans: tuple[tuple[str, str], ...] = cert.get("subjectAltName", ())
    return [value for kind, value in sans if kind == "URI"]


@dataclass
class Outcome:
    """One side's view of the handshake."""

    ok: bool = False
    error: str = ""
    version: str | None = None
    peer: list[str] | None = None  # the peer's URI SANs (its SPIFFE ID)
    data: bytes = b""  # what the peer sent


def handshake(server: Workload, client: Workload, root_pem: str) -> tuple[Outcome, Outcome]:
    """One mutual-TLS handshake on 127.0.0.1, then one message each way: (server, client)."""
    srv_out, cli_out = Outcome(), Outcome()
    srv_ctx = _context(ssl.PROTOCOL_TLS_SERVER, server, root_pem)
    cli_ctx = _context(ssl.PROTOCOL_TLS_CLIENT, client, root_pem)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            with srv_ctx.wrap_socket(conn, server_side=True) as tls:
                srv_out.version, srv_out.peer = tls.version(), peer_uris(tls)
                srv_out.data = tls.recv(100)
                tls.sendall(b"hello from the server")
                srv_out.ok = True
        except (ssl.SSLError, OSError) as e:
            srv_out.error = repr(e)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
            cli_ctx.wrap_socket(raw) as tls,
        ):
            cli_out.version, cli_out.peer = tls.version(), peer_uris(tls)
            tls.sendall(b"hello from the client")
            cli_out.data = tls.recv(100)
            cli_out.ok = cli_out.data != b""
            if not cli_out.ok:
                cli_out.error = "connection closed by the server"
    except (ssl.SSLError, OSError) as e:
        cli_out.error = repr(e)
    t.join(TIMEOUT + 10)
    listener.close()
    return srv_out, cli_out
