"""The HTTP endpoints every replica serves: /metrics, /healthz and /readyz.

Checks are plain callables; each returns None when fine or a short reason
when not. Both answer 200 "ok" or one line per failing check: /healthz with
500 (as controller-runtime's healthz does), /readyz with 503 Service
Unavailable, "not ready" rather than a server error. A new ``HealthChecks``
is not ready ("starting") until ``started()`` is called: the probe listener
runs from the first milliseconds of the process, long before the manager
has registered its own readiness checks.

``Servers.start_probes`` serves the probes on asyncio, on the socket the
start-up server (``earlyserver``) was answering on when one is given, so the
probe port is bound once and never closed; ``Servers.start`` adds /metrics,
on its own address or beside the probes when both are equal. This module
imports the asyncio server only when it starts: the start-up path needs
``HealthChecks`` long before asyncio is loaded.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from issuer.observability.httpwire import Handler, Response

if TYPE_CHECKING:
    from issuer.observability.httpserver import HTTPServer

log = logging.getLogger(__name__)

Check = Callable[[], str | None]
STARTING = "starting"


def split_address(addr: str, default_host: str = "0.0.0.0") -> tuple[str, int] | None:  # noqa: S104
    """``:8080`` / ``127.0.0.1:8080`` -> (host, port); ``0`` or empty disables."""
    if addr in ("", "0"):
        return None
    host, _, port = addr.rpartition(":")
    return (host.strip("[]") or default_host, int(port))


class HealthChecks:
    def __init__(self) -> None:
        self.liveness: dict[str, Check] = {}
        self.readiness: dict[str, Check] = {STARTING: lambda: "the controller is starting"}

    def started(self) -> None:
        """The manager's own readiness checks are in place: they alone decide from now on."""
        self.readiness.pop(STARTING, None)

    @staticmethod
    def _answer(checks: dict[str, Check], failing_status: int) -> Response:
        failures = []
        for name, check in list(checks.items()):
            try:
                problem = check()
            except Exception as e:  # noqa: BLE001 - a broken check is a failing check
                problem = repr(e)
            if problem:
                failures.append(f"[-]{name} failed: {problem}")
        if failures:
            return Response(failing_status, ("\n".join(failures) + "\n").encode())
        return Response()

    def healthz(self) -> Response:
        return self._answer(self.liveness, 500)

    def readyz(self) -> Response:
        return self._answer(self.readiness, 503)


def metrics_response() -> Response:
    """prometheus_client's exposition of the default registry."""
    # Imported here: the probe listener starts before prometheus_client is loaded.
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(200, generate_latest(), CONTENT_TYPE_LATEST)


class Servers:
    """The metrics and probe listeners (one port each, or one shared if equal)."""

    def __init__(
        self,
        metrics_addr: str,
        probe_addr: str,
        checks: HealthChecks,
        *,
        probe_socket: socket.socket | None = None,
    ) -> None:
        """``probe_socket``: already bound to ``probe_addr`` and listening (the start-up server's)."""
        self.metrics_addr = split_address(metrics_addr)
        self.probe_addr = split_address(probe_addr)
        self.checks = checks
        self.probe_socket = probe_socket
        self._servers: dict[tuple[str, int], HTTPServer] = {}

    @property
    def probe_routes(self) -> dict[str, Handler]:
        return {"/healthz": self.checks.healthz, "/readyz": self.checks.readyz}

    async def _listen(
        self, addr: tuple[str, int], routes: dict[str, Handler], sock: socket.socket | None = None
    ) -> None:
        from issuer.observability.httpserver import HTTPServer  # see the module docstring

        server = self._servers.get(addr)
        if server is not None:
            server.routes.update(routes)
            return
        server = HTTPServer(dict(routes))
        await server.start(*addr, sock=sock)
        self._servers[addr] = server
        log.info("serving", extra={"address": f"{addr[0]}:{server.port}", "paths": sorted(routes)})

    async def start_probes(self) -> None:
        """Answer /healthz and /readyz on ``probe_socket``, or bind the address (idempotent)."""
        if self.probe_addr:
            await self._listen(self.probe_addr, self.probe_routes, self.probe_socket)

    async def start(self) -> None:
        """The probes (if not yet up) and /metrics."""
        await self.start_probes()
        if self.metrics_addr:
            await self._listen(self.metrics_addr, {"/metrics": metrics_response})

    async def stop(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            await server.close()
