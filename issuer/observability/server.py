"""The HTTP endpoints every replica serves: /metrics, /healthz and /readyz.

Checks are plain callables registered by the manager; each returns None when
fine or a short reason when not. Both answer 200 "ok" or one line per failing
check: /healthz with 500 (as controller-runtime's healthz does), /readyz with
503 Service Unavailable, "not ready" rather than a server error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

Check = Callable[[], str | None]


def _split(addr: str, default_host: str = "0.0.0.0") -> tuple[str, int] | None:  # noqa: S104
    """``:8080`` / ``127.0.0.1:8080`` -> (host, port); ``0`` or empty disables."""
    if addr in ("", "0"):
        return None
    host, _, port = addr.rpartition(":")
    return (host.strip("[]") or default_host, int(port))


class HealthChecks:
    def __init__(self) -> None:
        self.liveness: dict[str, Check] = {}
        self.readiness: dict[str, Check] = {}

    @staticmethod
    def _answer(checks: dict[str, Check], failing_status: int) -> web.Response:
        failures = []
        for name, check in checks.items():
            try:
                problem = check()
            except Exception as e:  # noqa: BLE001 - a broken check is a failing check
                problem = repr(e)
            if problem:
                failures.append(f"[-]{name} failed: {problem}")
        if failures:
            return web.Response(status=failing_status, text="\n".join(failures) + "\n")
        return web.Response(text="ok")

    async def healthz(self, _: web.Request) -> web.Response:
        return self._answer(self.liveness, 500)

    async def readyz(self, _: web.Request) -> web.Response:
        return self._answer(self.readiness, 503)


async def _metrics(_: web.Request) -> web.Response:
    body = generate_latest()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class Servers:
    """Starts the metrics and probe listeners (one port each, or shared if equal)."""

    def __init__(self, metrics_addr: str, probe_addr: str, checks: HealthChecks) -> None:
        self.metrics_addr = _split(metrics_addr)
        self.probe_addr = _split(probe_addr)
        self.checks = checks
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        targets: dict[tuple[str, int], web.Application] = {}
        if self.metrics_addr:
            app = targets.setdefault(self.metrics_addr, web.Application())
            app.router.add_get("/metrics", _metrics)
        if self.probe_addr:
            app = targets.setdefault(self.probe_addr, web.Application())
            app.router.add_get("/healthz", self.checks.healthz)
            app.router.add_get("/readyz", self.checks.readyz)
        for (host, port), app in targets.items():
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            self._runners.append(runner)
            log.info("serving", extra={"address": f"{host}:{port}"})

    async def stop(self) -> None:
        for r in self._runners:
            await r.cleanup()
