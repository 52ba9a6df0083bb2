"""Running the emulator: in a daemon thread with its own event loop
(`run_in_thread` -> `EmulatorHandle`, for synchronous tests and tools), or in
the foreground until SIGINT/SIGTERM (`serve`, for the CLI).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from .app import Emulator
from .bootstrap import bootstrap
from .client import AdminClient
from .config import EmulatorConfig, OidcIssuerConfig, RoleConfig

T = TypeVar("T")


async def _start(emu: Emulator) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(emu.make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, emu.config.host, emu.config.port, backlog=1024)
    await site.start()
    host, port = runner.addresses[0][:2]
    if ":" in host:
        host = f"[{host}]"
    return runner, f"http://{host}:{port}"


class EmulatorHandle:
    """A running emulator; `url` is its endpoint for boto3 and the admin API."""

    def __init__(
        self,
        emulator: Emulator,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        runner: web.AppRunner,
        url: str,
    ) -> None:
        self.emulator = emulator
        self.loop = loop
        self.thread = thread
        self.runner = runner
        self.url = url
        self.admin = AdminClient(url)
        self._stopped = False

    @property
    def config(self) -> EmulatorConfig:
        return self.emulator.config

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def bootstrap(
        self,
        key_algorithm: str = "RSA_2048",
        region: str = "us-east-1",
        subordinate_pathlen: int = 0,
    ) -> dict[str, Any]:
        """Root + subordinate CA (ACTIVE); dict with root_arn and subordinate_arn."""
        return self.call(
            bootstrap(
                self.emulator,
                key_algorithm=key_algorithm,
                region=region,
                subordinate_pathlen=subordinate_pathlen,
            )
        )

    def add_role(self, role: RoleConfig) -> str:
        """Add or replace a role (Python API); returns its ARN."""
        self.emulator.creds.add_role(role)
        return role.arn(self.emulator.config.account_id)

    def add_oidc_issuer(self, issuer: OidcIssuerConfig) -> None:
        """Trust another OIDC issuer (Python API)."""
        self.emulator.oidc.add(issuer)

    def add_access_key(self, access_key_id: str, secret_access_key: str) -> None:
        self.emulator.config.access_keys[access_key_id] = secret_access_key
        self.emulator.creds.add_access_key(access_key_id, secret_access_key)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self.call(self.runner.cleanup(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(config: EmulatorConfig | None = None) -> EmulatorHandle:
    """Start the emulator on its own loop in a daemon thread; return once it listens."""
    emu = Emulator(config or EmulatorConfig())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    result: dict[str, Any] = {}

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            result["started"] = loop.run_until_complete(_start(emu))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the starting thread
            result["error"] = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="aws-emulator", daemon=True)
    thread.start()
    ready.wait()
    if "error" in result:
        raise RuntimeError("the emulator failed to start") from result["error"]
    runner, url = result["started"]
    return EmulatorHandle(emu, loop, thread, runner, url)


async def serve(
    config: EmulatorConfig, bootstrap_kind: str | None = None, pathlen: int = 0
) -> None:
    """Serve in the foreground; print one JSON line (url, ARNs); stop on SIGINT/SIGTERM."""
    emu = Emulator(config)
    runner, url = await _start(emu)
    line: dict[str, Any] = {"url": url}
    if bootstrap_kind:
        out = await bootstrap(emu, key_algorithm=bootstrap_kind, subordinate_pathlen=pathlen)
        line.update({k: out[k] for k in ("root_arn", "subordinate_arn", "region", "key_algorithm")})
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
