"""The controller process proper: a Config in, the manager run until it stops.

Builds the Kubernetes client, the controllers and their informers, the
optional leader elector and the manager, on the health/metrics servers the
start-up path (``issuer.bootstrap``) already opened. This module is the one
that pulls in the heavy dependencies; the start-up path imports it in a
worker thread while the probe listener answers.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from issuer import __version__
from issuer.config import Config
from issuer.controllers import setup
from issuer.kube import config as kube_config
from issuer.kube.client import KubeClient
from issuer.kube.leaderelection import LeaderElector
from issuer.observability import metrics
from issuer.observability.server import HealthChecks, Servers
from issuer.runtime.manager import Manager

log = logging.getLogger("issuer")


async def run(config: Config, servers: Servers, checks: HealthChecks) -> int:
    """Run the controller until SIGTERM/SIGINT (or, with leader election, lost leadership)."""
    try:
        access = await kube_config.load(config.kubeconfig)
    except kube_config.KubeConfigError as e:
        log.error("cannot reach Kubernetes", extra={"error": str(e)})
        return 1
    client = KubeClient(
        access,
        qps=None if config.disable_client_side_rate_limiting else config.kube_api_qps,
        burst=config.kube_api_burst,
        user_agent=f"awspca-issuer/{__version__}",
    )
    parts, clients = setup.build(config, client)
    elector = None
    if config.leader_elect:
        elector = LeaderElector(
            client,
            config.leader_election_namespace or access.namespace,
            config.leader_election_id,
        )
    manager = Manager(client, parts, servers, checks, elector)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, manager.stop.set)
    metrics.BUILD_INFO.info({"version": __version__})
    log.info("starting", extra={"version": __version__, "leader_elect": config.leader_elect})
    try:
        return await manager.run()
    finally:
        clients.close()
        await client.close()
        log.info("stopped")
