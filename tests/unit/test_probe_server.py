"""The probe endpoints answer as kubelet and controller-runtime expect.

/readyz says 503 Service Unavailable while a readiness check fails (the API
server unreachable, not leader-ready): "not ready", not a server error.
/healthz keeps 500 for a failing liveness check, as controller-runtime's
healthz does. Both list each failing check on its own line. A new set of
checks is not ready ("starting") until the manager says it has started.
"""

from __future__ import annotations

import asyncio
import socket

from awspca_devstack.procs import free_port, local_get
from prometheus_client import CONTENT_TYPE_LATEST

from issuer.observability.earlyserver import EarlyServer, bind
from issuer.observability.server import HealthChecks, Servers

STARTING_BODY = "[-]starting failed: the controller is starting\n"


async def _get(port: int, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(local_get, port, path)


async def test_readyz_503_healthz_500_while_checks_fail() -> None:
    problems: dict[str, str | None] = {"apiserver": None, "loop": None}
    checks = HealthChecks()
    checks.readiness["apiserver"] = lambda: problems["apiserver"]
    checks.liveness["loop"] = lambda: problems["loop"]
    checks.started()
    port, metrics_port = free_port(), free_port()
    servers = Servers(f"127.0.0.1:{metrics_port}", f"127.0.0.1:{port}", checks)
    await servers.start()
    try:
        assert await _get(port, "/readyz") == (200, "ok")
        assert await _get(port, "/healthz") == (200, "ok")

        problems["apiserver"] = "unreachable"
        assert await _get(port, "/readyz") == (503, "[-]apiserver failed: unreachable\n")
        assert (await _get(port, "/healthz"))[0] == 200

        problems["loop"] = "stuck"
        assert await _get(port, "/healthz") == (500, "[-]loop failed: stuck\n")

        def broken() -> str | None:
            raise RuntimeError("boom")

        problems["apiserver"] = None
        checks.readiness["broken"] = broken
        status, body = await _get(port, "/readyz")
        assert status == 503
        assert "[-]broken failed: RuntimeError('boom')" in body
        assert (await _get(metrics_port, "/metrics"))[0] == 200
        assert (await _get(metrics_port, "/healthz"))[0] == 404
        assert (await _get(port, "/metrics"))[0] == 404
    finally:
        await servers.stop()


async def test_probes_answer_before_the_manager_and_metrics_join_the_same_listener() -> None:
    """start_probes, then start: one listener, never closed in between, /metrics added to it."""
    checks = HealthChecks()
    checks.liveness["ping"] = lambda: None
    port = free_port()
    servers = Servers(f"127.0.0.1:{port}", f"127.0.0.1:{port}", checks)
    await servers.start_probes()
    try:
        assert await _get(port, "/healthz") == (200, "ok")
        assert await _get(port, "/readyz") == (
            503,
            "[-]starting failed: the controller is starting\n",
        )
        assert (await _get(port, "/metrics"))[0] == 404  # not yet: prometheus_client not loaded
        (listener,) = servers._servers.values()

        await servers.start()
        checks.readiness["informers"] = lambda: None
        checks.started()
        assert list(servers._servers.values()) == [listener]
        assert await _get(port, "/readyz") == (200, "ok")
        status, body = await _get(port, "/metrics")
        assert status == 200
        assert "# TYPE" in body
    finally:
        await servers.stop()


async def test_metrics_content_type_is_prometheus_exposition() -> None:
    port = free_port()
    servers = Servers(f"127.0.0.1:{port}", "0", HealthChecks())
    await servers.start()
    try:

        def head() -> str:
            import urllib.request

            req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", method="HEAD")
            with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - loopback
                assert r.read() == b""
                return str(r.headers["Content-Type"])

        assert await asyncio.to_thread(head) == CONTENT_TYPE_LATEST
    finally:
        await servers.stop()


def _recv_all(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    out = b""
    while chunk := sock.recv(4096):
        out += chunk
    return out


async def test_the_asyncio_server_takes_over_the_early_listener_with_no_closed_moment() -> None:
    """The start-up thread answers first; then asyncio serves the very same socket.

    A client that connects after the thread stopped and before asyncio serves is
    neither refused nor dropped: it waits in the socket's backlog and is answered.
    """
    checks = HealthChecks()
    checks.liveness["ping"] = lambda: None
    port = free_port()
    sock = bind("127.0.0.1", port)
    servers = Servers("0", f"127.0.0.1:{port}", checks, probe_socket=sock)
    early = EarlyServer(sock, servers.probe_routes)
    early.start()
    try:
        assert await _get(port, "/healthz") == (200, "ok")
        assert await _get(port, "/readyz") == (503, STARTING_BODY)
        early.stop()
        between = socket.create_connection(("127.0.0.1", port), timeout=30)
        between.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        await servers.start_probes()
        answer = await asyncio.to_thread(_recv_all, between)
        between.close()
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(b"\r\n\r\nok")
        (listener,) = servers._servers.values()
        assert listener._server is not None
        assert listener._server.sockets[0].fileno() == sock.fileno()  # not bound again
        assert await _get(port, "/readyz") == (503, STARTING_BODY)
    finally:
        await servers.stop()
