"""The emulator core: one `Emulator` object wiring state, credentials, PCA, STS,
IAM, RAM, authorization, throttling, faults, the call log and the admin API
into one aiohttp application.

A signed request goes to the service its SigV4 credential scope names
(``acm-pca``, ``sts``, ``iam``, ``ram``), so one endpoint serves them all, as
``AWS_ENDPOINT_URL`` expects; an unsigned form with ``Action=`` is STS
(AssumeRoleWithWebIdentity). ``/_emulator/*`` is the admin API. All state is
mutated on the server's event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from . import admin, iam, pca, ram, sts
from .authz import Authorizer
from .calllog import CallLog, CallRecord
from .config import EmulatorConfig
from .errors import ApiError
from .faults import FaultInjector
from .iam_ops import IamDirectory
from .identity import CredentialStore
from .oidc import OidcRegistry
from .pca_ops import PcaService
from .ram_ops import RamService
from .sigv4 import Authenticated, AuthError, verify
from .state import Store
from .throttle import Throttler

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.2
_SCOPE_SERVICE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def scope_service(authorization: str | None) -> str | None:
    """The service a SigV4 Authorization header is scoped to."""
    m = _SCOPE_SERVICE.search(authorization or "")
    return m.group(1) if m else None


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
        self.iam = IamDirectory(self.creds, clock)
        self.ram = RamService(self.pca.owner_of, clock)
        self.authz = Authorizer(self.iam, self.ram)
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
        service = scope_service(request.headers.get("Authorization"))
        if service == "iam":
            return await iam.handle(self, request, body)
        if service == "ram" or request.path in ram.PATHS:
            return await ram.handle(self, request, body)
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
        for path in ram.PATHS:
            app.router.add_route("*", path, self.dispatch)
        admin.add_routes(app, self)
        app.cleanup_ctx.append(self._persist)
        return app
