"""The AWS query protocol's answers (STS, IAM): XML results and XML errors.

Requests are forms (``Action=...&Version=...``); answers are
``<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata/>`` or an
``<ErrorResponse>`` whose ``<Code>`` botocore and the Go SDK turn into the
error's code. Each service passes its own XML namespace.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aiohttp import web

from .calllog import CallRecord
from .errors import ApiError

if TYPE_CHECKING:
    from .app import Emulator

#: One service's operations: (emulator, request, body, form, action, call record) -> answer.
QueryHandler = Callable[
    ["Emulator", web.Request, bytes, dict[str, str], str, CallRecord], Awaitable[web.Response]
]

#: SigV4 failures as the query-protocol services (STS, IAM) name them.
AUTH_CODES: dict[str, tuple[str, int]] = {
    "missing": ("MissingAuthenticationToken", 403),
    "malformed": ("IncompleteSignature", 403),
    "unknown_key": ("InvalidClientTokenId", 403),
    "invalid_token": ("InvalidClientTokenId", 403),
    "expired": ("ExpiredToken", 403),
    "bad_signature": ("SignatureDoesNotMatch", 403),
    "skew": ("SignatureDoesNotMatch", 403),
}


def iso8601(ts: float) -> str:
    """A timestamp as the query protocol's XML carries it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_form(body: bytes) -> dict[str, str]:
    """The form's parameters, the last value winning for a repeated name."""
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def xml_response(namespace: str, action: str, result: str) -> web.Response:
    body = (
        f'<{action}Response xmlns="{namespace}">\n'
        f"  <{action}Result>{result}</{action}Result>\n"
        f"  <ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>\n"
        f"</{action}Response>\n"
    )
    return web.Response(body=body.encode(), content_type="text/xml")


def xml_error(namespace: str, err: ApiError) -> web.Response:
    kind = "Receiver" if err.status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{namespace}">\n'
        f"  <Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>"
        f"<Message>{escape(err.message)}</Message></Error>\n"
        f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
        "</ErrorResponse>\n"
    )
    return web.Response(body=body.encode(), status=err.status, content_type="text/xml")


async def serve(
    emu: Emulator,
    request: web.Request,
    body: bytes,
    *,
    service: str,
    namespace: str,
    handler: QueryHandler,
) -> web.Response:
    """One query-protocol call: read its form, run ``handler``, log it, answer errors as XML."""
    form = parse_form(body)
    action = form.get("Action", "")
    rec = CallRecord(time=time.time(), service=service, operation=action, result="OK", status=200)

    def error(err: ApiError) -> web.Response:
        return xml_error(namespace, err)

    return await emu.recorded(rec, handler(emu, request, body, form, action, rec), error)
