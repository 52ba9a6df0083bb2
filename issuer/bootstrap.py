"""Start-up order of the controller process: the probe listener first, the controller after.

The interpreter and the controller's dependencies (botocore, cryptography,
prometheus_client, the Kubernetes client) take most of a second to import,
several on a busy node. So the probe address is bound first, with only the
standard library loaded: /healthz answers 200 (the process is alive) and
/readyz 503 ("starting") while a worker thread imports the controller and
the event loop goes on answering probes. The controller then runs on the
same listener (the manager adds its readiness checks and /metrics): the
port is never closed and never bound twice. Nothing heavy may be imported
at the top of this module or of what it imports; a unit test checks that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from issuer.config import Config
from issuer.observability.server import HealthChecks, Servers

Controller = Callable[[Config, Servers, HealthChecks], Awaitable[int]]


def _import_controller() -> Controller:
    from issuer.app import run  # the heavy imports, off the event loop's thread

    return run


async def run(config: Config) -> int:
    """Open the probe listener, load the controller, run it until it stops."""
    checks = HealthChecks()
    checks.liveness["ping"] = lambda: None
    servers = Servers(config.metrics_bind_address, config.health_probe_bind_address, checks)
    try:
        await servers.start_probes()
        controller = await asyncio.to_thread(_import_controller)
        return await controller(config, servers, checks)
    finally:
        await servers.stop()
