"""The probe endpoints answer as kubelet and controller-runtime expect.

/readyz says 503 Service Unavailable while a readiness check fails (the API
server unreachable, not leader-ready): "not ready", not a server error.
/healthz keeps 500 for a failing liveness check, as controller-runtime's
healthz does. Both list each failing check on its own line.
"""

from __future__ import annotations

import socket

import aiohttp

from issuer.observability.server import HealthChecks, Servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        return resp.status, await resp.text()


async def test_readyz_503_healthz_500_while_checks_fail() -> None:
    problems: dict[str, str | None] = {"apiserver": None, "loop": None}
    checks = HealthChecks()
    checks.readiness["apiserver"] = lambda: problems["apiserver"]
    checks.liveness["loop"] = lambda: problems["loop"]
    port, metrics_port = _free_port(), _free_port()
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
    finally:
        await servers.stop()
