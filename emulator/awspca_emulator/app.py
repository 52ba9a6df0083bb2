"""The emulator core: one `Emulator` object wiring state, credentials, PCA, STS,
throttling, faults, the call log and the admin API into one aiohttp application.

Requests to ``POST /`` go to ACM PCA when they carry ``X-Amz-Target`` and to
STS when they are a form with ``Action=``; ``/_emulator/*`` is the admin API.
All state is mutated on the server's event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from . import admin, pca, sts
from .calllog import CallLog, CallRecord
from .config import EmulatorConfig
from .errors import ApiError
from .faults import FaultInjector
from .identity import CredentialStore
from .oidc import OidcRegistry
from .pca_ops import PcaService
from .sigv4 import Authenticated, AuthError, verify
from .state import Store
from .throttle import Throttler

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.2


class Emulator:
    def __init__(
        self, config: EmulatorConfig | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock
        self.store = Store(self.config.state_file)
        self.store.load()
        self.creds = CredentialStore(self.config)
        self.pca = PcaService(self.store, self.config, clock)
        self.throttler = Throttler(self.config)
        self.faults = FaultInjector(self.config)
        self.calls = CallLog(self.config.call_log_size)
        self.oidc = OidcRegistry(self.config.oidc_issuers)

    def authenticate(
        self,
        request: web.Request,
        body: bytes,
        *,
        service: str,
        codes: dict[str, tuple[str, int]],
    ) -> Authenticated:
        """Verify the request's SigV4 signature; refuse it with the service's own error code."""
        try:
            return verify(
                method=request.method,
                raw_path=request.raw_path.split("?", 1)[0],
                raw_query=request.query_string,
                headers=request.headers,
                body=body,
                store=self.creds,
                now=self.clock(),
                max_skew=self.config.max_clock_skew,
                check_signature=self.config.verify_signatures,
                service=service,
            )
        except AuthError as err:
            code, status = codes[err.kind]
            raise ApiError(code, err.message, status) from err

    async def recorded(
        self,
        rec: CallRecord,
        work: Awaitable[web.Response],
        error_response: Callable[[ApiError], web.Response],
    ) -> web.Response:
        """Run one API call, answer errors in the service's format, and log it."""
        started = time.monotonic()
        try:
            resp = await work
        except ApiError as err:
            rec.result, rec.status = err.code, err.status
            resp = error_response(err)
        except Exception as exc:  # a bug must still answer like AWS does
            log.exception("internal error in %s", rec.operation)
            internal = ApiError("InternalFailure", f"Internal error: {type(exc).__name__}: {exc}")
            rec.result, rec.status = internal.code, internal.status
            resp = error_response(internal)
        rec.duration = time.monotonic() - started
        self.calls.add(rec)
        return resp

    async def dispatch(self, request: web.Request) -> web.Response:
        body = await request.read()
        target = request.headers.get("X-Amz-Target")
        if target:
            return await pca.handle(self, request, body, target)
        if b"Action=" in body or "Action" in request.query:
            if not body and request.query:
                body = request.query_string.encode()
            return await sts.handle(self, request, body)
        return pca.error_response(
            ApiError("UnknownOperationException", "Request has neither X-Amz-Target nor Action.")
        )

    async def _persist(self, app: web.Application) -> AsyncIterator[None]:
        async def flush_loop() -> None:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL)
                if self.store.dirty:
                    self.store.save()

        task = asyncio.create_task(flush_loop()) if self.store.state_file else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.store.state_file is not None:
            self.store.save()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/", self.dispatch)
        admin.add_routes(app, self)
        app.cleanup_ctx.append(self._persist)
        return app
