"""A small HTTP/1.1 server on asyncio streams for /healthz, /readyz and /metrics.

Owns reading and checking one request head (``parse_head``: pure), routing
GET/HEAD by exact path, and writing the answer with a Content-Length. The
head (request line and headers) is bounded in size and in header count and
must arrive whole within ``read_timeout`` seconds, so neither a huge nor a
trickling (slowloris) client holds memory or a connection for long; the
number of open connections is bounded too. Connections are kept alive, as
kubelet and Prometheus expect of HTTP/1.1, until the client asks to close,
speaks HTTP/1.0, announces a body (never read: these endpoints take none)
or sends something refused (400 and close). Unknown paths answer 404,
methods other than GET/HEAD on a known path 405.

Standard library only: this module is imported before the controller's
heavy dependencies so that the probe listener is up within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192
MAX_HEADERS = 64
READ_TIMEOUT = 15.0
WRITE_TIMEOUT = 15.0
MAX_CONNECTIONS = 64
LINGER_TIMEOUT = 2.0
LINGER_BYTES = 1 << 20

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b"ok"
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[], Response]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    keep_alive: bool
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class BadRequest(Exception):
    """The head cannot be answered normally: reply ``status`` and close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _token(value: bytes) -> bool:
    return bool(value) and all(c in _TOKEN for c in value)


def parse_head(head: bytes) -> Request:
    """One request head (request line + headers, ending in an empty line) -> Request."""
    if len(head) > MAX_HEAD_BYTES:
        raise BadRequest(431, "request head too large")
    lines = head.split(b"\r\n")
    if len(lines) < 3 or lines[-2:] != [b"", b""]:
        raise BadRequest(400, "request head not terminated by an empty line")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _token(parts[0]) or not parts[1]:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        if version.startswith(b"HTTP/"):
            raise BadRequest(505, "only HTTP/1.0 and HTTP/1.1")
        raise BadRequest(400, "malformed request line")
    header_lines = lines[1:-2]
    if len(header_lines) > MAX_HEADERS:
        raise BadRequest(431, "too many headers")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(b":")
        if not sep or not _token(name):
            raise BadRequest(400, "malformed header line")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    try:
        path = target.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest(400, "request target is not ASCII") from None
    if not path.startswith("/"):
        raise BadRequest(400, "request target must be a path")
    connection = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep_alive = "close" not in connection if version == b"HTTP/1.1" else "keep-alive" in connection
    length = headers.get("content-length", "0").strip()
    if not length.isdigit():
        raise BadRequest(400, "bad Content-Length")
    has_body = int(length) > 0 or "transfer-encoding" in headers
    return Request(
        method=method.decode("ascii"),
        path=path.partition("?")[0],
        keep_alive=keep_alive and not has_body,
        has_body=has_body,
        headers=headers,
    )


def route(routes: dict[str, Handler], request: Request) -> Response:
    """The answer to one parsed request (pure apart from the handler it calls)."""
    handler = routes.get(request.path)
    if handler is None:
        return Response(404, b"404 page not found\n")
    if request.method not in _METHODS:
        return Response(405, b"method not allowed\n")
    return handler()


def encode(response: Response, *, head_only: bool, keep_alive: bool) -> bytes:
    """Status line, headers and (unless ``head_only``) the body of one answer."""
    lines = [
        f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
    ]
    if response.status == 405:
        lines.append("Allow: GET, HEAD")
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


class HTTPServer:
    """One listening socket; ``routes`` may gain paths while it serves."""

    def __init__(
        self,
        routes: dict[str, Handler],
        *,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.routes = routes
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(
            self._serve, host, port, limit=MAX_HEAD_BYTES, reuse_address=True
        )

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:  # closed transports end their handlers at the next read
            await asyncio.wait(set(self._tasks), timeout=self.write_timeout)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._writers) >= self.max_connections:
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._writers.add(writer)
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
            await self._linger(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or stalled: nothing to answer
        except Exception:
            log.exception("probe/metrics connection failed")
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then discard what the client still sends (bounded in bytes and time).

        Closing a socket with unread input resets the connection, which can destroy
        the answer before the client has read it (a 400/431, or a request with a body).
        """
        if not writer.can_write_eof():
            return
        writer.write_eof()
        discarded = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_TIMEOUT):
                while discarded < LINGER_BYTES and (chunk := await reader.read(65536)):
                    discarded += len(chunk)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; True to keep reading on this connection."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.read_timeout)
        except asyncio.LimitOverrunError:
            await self._send(writer, Response(431, b"request head too large\n"), False, False)
            return False
        except asyncio.IncompleteReadError as e:
            if e.partial:
                await self._send(writer, Response(400, b"incomplete request\n"), False, False)
            return False
        try:
            request = parse_head(head)
        except BadRequest as e:
            await self._send(writer, Response(e.status, f"{e}\n".encode()), False, False)
            return False
        try:
            response = route(self.routes, request)
        except Exception:
            log.exception("handler failed", extra={"path": request.path})
            response = Response(500, b"internal error\n")
        await self._send(writer, response, request.method == "HEAD", request.keep_alive)
        return request.keep_alive

    async def _send(
        self, writer: asyncio.StreamWriter, response: Response, head_only: bool, keep_alive: bool
    ) -> None:
        writer.write(encode(response, head_only=head_only, keep_alive=keep_alive))
        await asyncio.wait_for(writer.drain(), self.write_timeout)
