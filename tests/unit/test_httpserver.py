"""The probe/metrics HTTP servers: request heads parsed strictly, hostile clients bounded.

Parsing is a pure function (``parse_head``); the server tests talk to a real
listener on loopback through raw sockets, so that malformed, huge and
trickling requests can be sent as they would arrive.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from issuer.observability.earlyserver import EarlyServer, bind
from issuer.observability.httpserver import HTTPServer
from issuer.observability.httpwire import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    BadRequest,
    Response,
    parse_head,
)


@pytest.mark.parametrize(
    ("head", "method", "path", "keep_alive"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/healthz", True),
        (b"HEAD /readyz HTTP/1.1\r\n\r\n", "HEAD", "/readyz", True),
        (b"GET /metrics?x=1 HTTP/1.1\r\nConnection: close\r\n\r\n", "GET", "/metrics", False),
        (b"GET / HTTP/1.1\r\nconnection: Keep-Alive, Close\r\n\r\n", "GET", "/", False),
        (b"GET / HTTP/1.0\r\n\r\n", "GET", "/", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", True),
        (b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "POST", "/healthz", True),
        (b"POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "POST", "/healthz", False),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/", False),
    ],
)
def test_parse_head_accepts(head: bytes, method: str, path: str, keep_alive: bool) -> None:
    req = parse_head(head)
    assert (req.method, req.path, req.keep_alive) == (method, path, keep_alive)


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\n", 400),  # not terminated
        (b"GET /healthz\r\n\r\n", 400),  # HTTP/0.9 style
        (b"GET  /healthz HTTP/1.1\r\n\r\n", 400),  # two spaces
        (b"G(T / HTTP/1.1\r\n\r\n", 400),  # method not a token
        (b"GET healthz HTTP/1.1\r\n\r\n", 400),  # not a path
        (b"GET http://x/healthz HTTP/1.1\r\n\r\n", 400),
        (b"GET /\xff HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / FTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n", 431),
    ],
)
def test_parse_head_refuses(head: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as e:
        parse_head(head)
    assert e.value.status == status


@pytest.fixture
async def server() -> AsyncIterator[HTTPServer]:
    calls = {"n": 0}

    def count() -> Response:
        calls["n"] += 1
        return Response(200, f"call {calls['n']}".encode())

    def boom() -> Response:
        raise RuntimeError("handler bug")

    srv = HTTPServer({"/count": count, "/boom": boom}, read_timeout=0.5)
    await srv.start("127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.close()


async def _exchange(port: int, data: bytes, *, wait: float = 30.0) -> bytes:
    """Send ``data``, then read until the server closes the connection (bounded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), wait)
    except ConnectionResetError:
        return b""  # closed with our bytes unread: a reset, as good as a close here
    finally:
        writer.close()


async def test_keep_alive_serves_several_requests_on_one_connection(server: HTTPServer) -> None:
    out = await _exchange(
        server.port,
        b"GET /count HTTP/1.1\r\n\r\n"
        b"HEAD /count HTTP/1.1\r\n\r\n"
        b"GET /count HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    answers = out.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == 3
    assert answers[0].startswith(b"200 OK\r\n")
    assert answers[0].endswith(b"\r\n\r\ncall 1")
    assert b"Content-Length: 6\r\n" in answers[1]
    assert answers[1].endswith(b"\r\n\r\n")
    assert b"Connection: close" in answers[2]
    assert answers[2].endswith(b"call 3")


@pytest.mark.parametrize(
    ("request_bytes", "status_line"),
    [
        (b"GET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n", b"HTTP/1.1 404 Not Found"),
        (b"DELETE /count HTTP/1.1\r\nConnection: close\r\n\r\n", b"HTTP/1.1 405 Method"),
        (b"GET /boom HTTP/1.1\r\nConnection: close\r\n\r\n", b"HTTP/1.1 500 Internal"),
        (b"garbage\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (4 * MAX_HEAD_BYTES), b"HTTP/1.1 431 "),
    ],
)
async def test_errors_are_answered_then_the_connection_closes(
    server: HTTPServer, request_bytes: bytes, status_line: bytes
) -> None:
    out = await _exchange(server.port, request_bytes)
    assert out.startswith(status_line), out[:80]
    if b"405" in status_line:
        assert b"Allow: GET, HEAD\r\n" in out


async def test_a_request_with_a_body_is_answered_and_the_connection_closed(
    server: HTTPServer,
) -> None:
    out = await _exchange(server.port, b"GET /count HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    assert out.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in out


async def test_slowloris_partial_head_is_dropped_after_the_read_timeout(
    server: HTTPServer,
) -> None:
    """A head that never completes is closed by the server; the test waits, it does not time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /count HTTP/1.1\r\nX-Slow: ")
        await writer.drain()
        for _ in range(3):  # trickle a byte now and then, never the end of the head
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(0.1)
        assert await asyncio.wait_for(reader.read(), 30) == b""
    finally:
        writer.close()


async def test_idle_connection_without_a_request_is_closed(server: HTTPServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        assert await asyncio.wait_for(reader.read(), 30) == b""
    finally:
        writer.close()


async def test_connections_beyond_the_bound_are_closed_at_once() -> None:
    srv = HTTPServer({"/": Response}, read_timeout=30, max_connections=2)
    await srv.start("127.0.0.1", 0)
    held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
    try:
        while len(srv._writers) < 2:
            await asyncio.sleep(0.01)
        out = await _exchange(srv.port, b"GET / HTTP/1.1\r\n\r\n")
        assert out == b""
        held[0].close()
        while len(srv._writers) > 1:
            await asyncio.sleep(0.01)
        out = await _exchange(srv.port, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200 OK")
    finally:
        for s in held:
            s.close()
        await srv.close()


# --- the start-up server (one thread, blocking sockets) ---------------------------------


@pytest.fixture
def early() -> Iterator[EarlyServer]:
    srv = EarlyServer(bind("127.0.0.1", 0), {"/healthz": Response}, read_timeout=0.3)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        srv.sock.close()


def _early_exchange(srv: EarlyServer, data: bytes) -> bytes:
    with socket.create_connection(srv.sock.getsockname()[:2], timeout=30) as s:
        try:
            s.sendall(data)
            out = b""
            while chunk := s.recv(4096):
                out += chunk
            return out
        except ConnectionResetError:
            return b""


@pytest.mark.parametrize(
    ("request_bytes", "status_line"),
    [
        (b"GET /healthz HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK"),
        (b"GET /nothing HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 "),
        (b"PUT /healthz HTTP/1.1\r\n\r\n", b"HTTP/1.1 405 "),
        (b"nonsense\r\n\r\n", b"HTTP/1.1 400 "),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (2 * MAX_HEAD_BYTES), b"HTTP/1.1 431 "),
    ],
)
def test_early_server_answers_once_and_closes(
    early: EarlyServer, request_bytes: bytes, status_line: bytes
) -> None:
    out = _early_exchange(early, request_bytes)
    assert out.startswith(status_line), out[:80]
    assert b"Connection: close\r\n" in out


def test_early_server_head_has_no_body(early: EarlyServer) -> None:
    out = _early_exchange(early, b"HEAD /healthz HTTP/1.1\r\n\r\n")
    assert out.endswith(b"Content-Length: 2\r\nConnection: close\r\n\r\n")


def test_early_server_drops_a_slowloris_and_goes_on_answering(early: EarlyServer) -> None:
    """A head that never completes is closed unanswered; the next client is served."""
    with socket.create_connection(early.sock.getsockname()[:2], timeout=30) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: a")
        assert slow.recv(4096) == b""  # closed by the server once its read timeout passed
    assert _early_exchange(early, b"GET /healthz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 200")
