"""The probe listener of the first second: one thread, blocking sockets, no asyncio.

From the moment the process has parsed its flags until the controller is
imported (most of a second, several on a busy node), this answers /healthz
and /readyz on the probe address with ``httpwire``'s parsing and routing.
It is deliberately small: one connection at a time, each answered and
closed (``Connection: close``), its head read within ``read_timeout`` (1 s,
kubelet's default probe timeout) and bounded like any other. ``bind``
creates the listening socket; ``stop`` ends the thread and leaves the socket
open and listening, so the asyncio server takes it over with no moment
where the port is closed (connections arriving meanwhile wait in its
backlog). Standard library modules only: asyncio alone costs more to import
than everything else on this path.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time

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

READ_TIMEOUT = 1.0
BACKLOG = 128


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (address reuse on, as asyncio would)."""
    family, _, _, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return socket.create_server(addr, family=family, backlog=BACKLOG)


class EarlyServer:
    def __init__(
        self, sock: socket.socket, routes: dict[str, Handler], *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        self.sock = sock
        self.routes = routes
        self.read_timeout = read_timeout
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="early-probes", daemon=True)

    def start(self) -> None:
        # Non-blocking: a client that vanishes between select() and accept() must not
        # leave the thread blocked in accept(), unable to stop.
        self.sock.setblocking(False)
        self._thread.start()

    def stop(self) -> None:
        """End the thread (after the answer in progress, if any); the socket stays listening."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _loop(self) -> None:
        while not self._stopping:
            readable, _, _ = select.select([self.sock.fileno(), self._wake_r], [], [])
            if self._stopping or self.sock.fileno() not in readable:
                continue
            try:
                conn, _ = self.sock.accept()
            except OSError:  # BlockingIOError included
                continue  # the client gave up before we accepted it
            try:
                self._answer(conn)
            except OSError:
                pass  # the client went away or stalled: nothing to answer
            except Exception:
                log.exception("early probe connection failed")
            finally:
                conn.close()

    def _read_head(self, conn: socket.socket) -> bytes | Response | None:
        """The head, an error to answer, or None (closed or too slow: no answer)."""
        deadline = time.monotonic() + self.read_timeout
        buf = b""
        while (end := buf.find(b"\r\n\r\n")) < 0:
            if len(buf) > MAX_HEAD_BYTES:
                return Response(431, b"request head too large\n")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            conn.settimeout(remaining)
            chunk = conn.recv(4096)
            if not chunk:
                return Response(400, b"incomplete request\n") if buf else None
            buf += chunk
        return buf[: end + 4]

    def _answer(self, conn: socket.socket) -> None:
        head = self._read_head(conn)
        if head is None:
            return
        head_only = False
        if isinstance(head, Response):
            response = head
        else:
            try:
                request = parse_head(head)
                head_only = request.method == "HEAD"
                response = route(self.routes, request)
            except BadRequest as e:
                response = Response(e.status, f"{e}\n".encode())
            except Exception:
                log.exception("handler failed")
                response = Response(500, b"internal error\n")
        conn.settimeout(self.read_timeout)
        conn.sendall(encode(response, head_only=head_only, keep_alive=False))
        conn.shutdown(socket.SHUT_WR)
