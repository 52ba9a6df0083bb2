"""Start-up order of the controller process: the probe listener first, the controller after.

The interpreter and the controller's dependencies (asyncio, botocore,
cryptography, prometheus_client, the Kubernetes client) take most of a
second to import, several on a busy node. So ``main`` binds the probe
address first, with a handful of standard library modules loaded, and a
thread (``earlyserver``) answers /healthz 200 (the process is alive) and
/readyz 503 ("starting") while the main thread imports the controller.
Then, inside the event loop, the thread stops and the asyncio server takes
the same listening socket over (connections arriving in between wait in its
backlog): the port is never closed and never bound twice. The manager adds
its readiness checks and /metrics to it. Nothing heavy may be imported at
the top of this module or of what it imports; a unit test checks that.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

from issuer.config import Config
from issuer.observability.earlyserver import EarlyServer, bind
from issuer.observability.server import HealthChecks, Servers, split_address

Controller = Callable[[Config, Servers, HealthChecks], Awaitable[int]]


def main(config: Config) -> int:
    """Open the probe listener, import the controller, run it until it stops."""
    checks = HealthChecks()
    checks.liveness["ping"] = lambda: None
    servers = Servers(config.metrics_bind_address, config.health_probe_bind_address, checks)
    early: EarlyServer | None = None
    addr = split_address(config.health_probe_bind_address)
    if addr is not None:
        servers.probe_socket = bind(*addr)
        early = EarlyServer(servers.probe_socket, servers.probe_routes)
        early.start()
    try:  # the heavy imports, while the probes are answered
        import asyncio

        from issuer import app
    except BaseException:
        _close(early, servers.probe_socket)
        raise
    return asyncio.run(_run(config, servers, checks, early, app.run))


async def _run(
    config: Config,
    servers: Servers,
    checks: HealthChecks,
    early: EarlyServer | None,
    controller: Controller,
) -> int:
    if early is not None:
        early.stop()  # the socket stays listening; start_probes serves it at once
    try:
        await servers.start_probes()
        return await controller(config, servers, checks)
    finally:
        await servers.stop()


def _close(early: EarlyServer | None, sock: socket.socket | None) -> None:
    if early is not None:
        early.stop()
    if sock is not None:
        sock.close()
