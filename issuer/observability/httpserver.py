"""A small HTTP/1.1 server on asyncio streams for /healthz, /readyz and /metrics.

Owns the connections; what is parsed and answered is ``httpwire``'s (pure).
The head (request line and headers) is bounded in size and in header count
and must arrive whole within ``read_timeout`` seconds, so neither a huge nor a
trickling (slowloris) client holds memory or a connection for long; the
number of open connections is bounded too. Connections are kept alive, as
kubelet and Prometheus expect of HTTP/1.1, until the client asks to close,
speaks HTTP/1.0, announces a body (never read: these endpoints take none)
or sends something refused (400 and close). Unknown paths answer 404,
methods other than GET/HEAD on a known path 405.

It takes over the listening socket the start-up server (``earlyserver``)
answered on, or binds its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from issuer.observability.httpwire import (
    MAX_HEAD_BYTES,
    BadRequest,
    Handler,
    Response,
    encode,
    parse_head,
    route,
)

log = logging.getLogger(__name__)

READ_TIMEOUT = 15.0
WRITE_TIMEOUT = 15.0
MAX_CONNECTIONS = 64
LINGER_TIMEOUT = 2.0
LINGER_BYTES = 1 << 20


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

    async def start(self, host: str, port: int, *, sock: socket.socket | None = None) -> None:
        """Listen on ``host:port``, or serve ``sock``, already listening there."""
        if sock is not None:
            self._server = await asyncio.start_server(self._serve, sock=sock, limit=MAX_HEAD_BYTES)
        else:
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
