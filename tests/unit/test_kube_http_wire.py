"""The HTTP/1.1 client's I/O shell against scripted loopback peers speaking raw bytes.

What a real API server never does on purpose, a broken or hostile peer may:
cut a body short, send an endless head or line, stay silent, close a kept-alive
connection under a request. Each must end in a prompt, typed error and a
connection that is never reused; the normal paths (keep-alive reuse, chunked
bodies split anywhere, ``Connection: close``) must reuse exactly when allowed.
These peers speak HTTP only; Kubernetes behaviour is tested against the real
API server in tests/integration.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from issuer.kube.http import (
    ConnectionClosed,
    ConnectionPool,
    Origin,
    ProtocolError,
    Response,
)

Script = Callable[["Peer", asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Peer:
    """A loopback TCP server running ``script`` on each accepted connection (numbered from 0)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.accepted = 0
        self.open = 0
        self.max_open = 0
        self.closed_by_client = 0
        self.requests: list[bytes] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.accepted
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            await self.script(self, reader, writer, index)
            with contextlib.suppress(OSError):
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":")[1]))
        self.requests.append(head)
        return head

    async def until_client_closes(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            await reader.read()  # EOF when the client aborts
        self.closed_by_client += 1


@contextlib.asynccontextmanager
async def serve(peer: Peer, *, limit: int = 4) -> AsyncIterator[ConnectionPool]:
    server = await asyncio.start_server(peer._handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = ConnectionPool(Origin("http", "127.0.0.1", port, ""), None, limit=limit)
    try:
        yield pool
    finally:
        pool.close()
        server.close()
        await server.wait_closed()


async def _send(pool: ConnectionPool, method: str = "GET", timeout: float = 5.0) -> Response:
    deadline = asyncio.get_running_loop().time() + timeout
    return await pool.send(method, "/x", [("Host", "t")], b"{}" if method != "GET" else None,
                           deadline=deadline)  # fmt: skip


async def _get_body(pool: ConnectionPool, limit: int = 1 << 20, timeout: float = 5.0) -> bytes:
    resp = await _send(pool, timeout=timeout)
    try:
        return await resp.read(limit)
    finally:
        resp.release()


def keep_alive_answers(body: bytes, *, extra: bytes = b"") -> Script:
    async def script(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        while True:
            await peer.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\n" + extra)
            writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()

    return script


async def test_keep_alive_connection_is_reused() -> None:
    peer = Peer(keep_alive_answers(b'{"a":1}'))
    async with serve(peer) as pool:
        for _ in range(5):
            assert await _get_body(pool) == b'{"a":1}'
    assert peer.accepted == 1
    assert len(peer.requests) == 5


async def test_connection_close_is_honoured() -> None:
    peer = Peer(keep_alive_answers(b"{}", extra=b"Connection: close\r\n"))
    async with serve(peer) as pool:
        for _ in range(3):
            assert await _get_body(pool) == b"{}"
    assert peer.accepted == 3


def chunked(*chunks: bytes, trailer: bytes = b"") -> bytes:
    out = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks)
    return out + b"0\r\n" + trailer + b"\r\n"


def answer_once(raw: bytes, *, then_close: bool = False, pace: float = 0.0) -> Script:
    """Answer each request with ``raw``, written a few bytes at a time when ``pace`` is set."""

    async def script(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        while True:
            await peer.read_request(reader)
            if pace:
                for i in range(0, len(raw), 3):
                    writer.write(raw[i : i + 3])
                    await writer.drain()
                    await asyncio.sleep(pace)
            else:
                writer.write(raw)
            await writer.drain()
            if then_close:
                return

    return script


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("pace", [0.0, 0.001])
async def test_chunked_body_whole_in_pieces_and_as_lines(pace: float) -> None:
    body = chunked(b'{"type":"ADDED"', b"}\n", b'{"type":"B"}\n{"ty', b'pe":"C"}\n', b"\n{}",
                   trailer=b"X-Trailer: 1\r\n")  # fmt: skip
    peer = Peer(answer_once(CHUNKED_HEAD + body, pace=pace))
    async with serve(peer) as pool:
        assert await _get_body(pool) == b'{"type":"ADDED"}\n{"type":"B"}\n{"type":"C"}\n\n{}'
        resp = await _send(pool)
        try:
            lines = [line async for line in resp.lines(100)]
        finally:
            resp.release()
        assert lines == [b'{"type":"ADDED"}', b'{"type":"B"}', b'{"type":"C"}', b"", b"{}"]
        resp = await _send(pool)
        try:
            pieces = [p async for p in resp.pieces(8)]
        finally:
            resp.release()
        assert [len(p) for p in pieces[:-1]] == [8] * (len(pieces) - 1)
        assert b"".join(pieces) == b'{"type":"ADDED"}\n{"type":"B"}\n{"type":"C"}\n\n{}'
    assert peer.accepted == 1  # every body was read to its end: one connection throughout


async def test_response_released_before_its_end_is_not_reused() -> None:
    peer = Peer(answer_once(CHUNKED_HEAD + chunked(b"a" * 100, b"b" * 100)))
    async with serve(peer) as pool:
        resp = await _send(pool)
        async for _ in resp.pieces(10):
            break
        resp.release()
        assert await _get_body(pool) == b"a" * 100 + b"b" * 100
    assert peer.accepted == 2


async def test_cancelled_request_closes_its_connection_and_frees_its_slot() -> None:
    async def script(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int
    ) -> None:
        await peer.read_request(reader)
        if i == 0:
            await peer.until_client_closes(reader)  # never answers the first request
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    peer = Peer(script)
    async with serve(peer, limit=1) as pool:
        task = asyncio.create_task(_get_body(pool))
        while not peer.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _get_body(pool) == b"ok"  # the only slot was given back
        while not peer.closed_by_client:
            await asyncio.sleep(0.01)
    assert peer.accepted == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        CHUNKED_HEAD + b"5\r\nab",
        CHUNKED_HEAD + b"20000\r\n" + b"a" * 1000,
        CHUNKED_HEAD + b"5\r\nabcde\r\n",
        CHUNKED_HEAD + b"5\r\nabcde\r\n0\r\n",  # no final CRLF after the last chunk
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"",
    ],
)
async def test_body_cut_short_is_connection_closed(raw: bytes) -> None:
    peer = Peer(answer_once(raw, then_close=True))
    async with serve(peer) as pool:
        with pytest.raises(ConnectionClosed):
            await _get_body(pool)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "status line"),
        (CHUNKED_HEAD + b"zz\r\n", "chunk size"),
        (CHUNKED_HEAD + b"3\r\nabcXY", "CRLF"),
        (CHUNKED_HEAD + b"20000\r\n" + b"a" * 0x20000 + b"XY", "CRLF"),  # a chunk read in pieces
        (CHUNKED_HEAD + b"3\r\nabc\r\n0\r\n" + b"T: 1\r\n" * 200 + b"\r\n", "trailer"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "protocol switch"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 20, "interim"),
    ],
)
async def test_malformed_answers_are_protocol_errors(raw: bytes, why: str) -> None:
    peer = Peer(answer_once(raw, then_close=False))
    async with serve(peer) as pool:
        with pytest.raises(ProtocolError, match=why):
            await _get_body(pool)


async def test_interim_answers_are_skipped() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
    peer = Peer(answer_once(raw + b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"))
    async with serve(peer) as pool:
        assert await _get_body(pool) == b"z"


def endless(prefix: bytes, filler: bytes) -> Script:
    async def script(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        await peer.read_request(reader)
        writer.write(prefix)
        sent = 0
        while sent < 64 << 20:  # bounded: 64 MiB at most, the client stops far earlier
            writer.write(filler)
            await writer.drain()
            sent += len(filler)

    return script


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Endless: ", "line longer"),  # a head that never ends
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1", "line longer"),  # its size
    ],
)
async def test_endless_head_or_chunk_size_line_is_refused(prefix: bytes, why: str) -> None:
    peer = Peer(endless(prefix, b"1" * 4096))
    async with serve(peer) as pool:
        with pytest.raises(ProtocolError, match=why):
            await _get_body(pool)


async def test_oversized_bodies_and_lines_are_refused() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n"
    peer = Peer(endless(big, b"x" * 65536))
    async with serve(peer) as pool:
        with pytest.raises(ProtocolError, match="exceeds"):
            await _get_body(pool, limit=1 << 20)
    peer = Peer(endless(CHUNKED_HEAD, b"10000\r\n" + b"x" * 65536 + b"\r\n"))
    async with serve(peer) as pool:
        with pytest.raises(ProtocolError, match="exceeds"):
            await _get_body(pool, limit=1 << 20)
    peer = Peer(endless(CHUNKED_HEAD, b"10000\r\n" + b"x" * 65536 + b"\r\n"))
    async with serve(peer) as pool:
        resp = await _send(pool)
        try:
            with pytest.raises(ProtocolError, match="line longer"):
                async for _ in resp.lines(1 << 20):
                    pass
        finally:
            resp.release()


async def test_silent_or_slow_server_times_out_at_the_deadline() -> None:
    async def silent(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        await peer.read_request(reader)
        await peer.until_client_closes(reader)

    peer = Peer(silent)
    async with serve(peer) as pool:
        start = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await _get_body(pool, timeout=0.3)
        assert asyncio.get_running_loop().time() - start < 5

    # a stream that keeps sending, slower than its deadline allows: stopped at the deadline,
    # by a TimeoutError from the stream, whatever the consumer awaits between lines
    peer = Peer(answer_once(CHUNKED_HEAD + chunked(*[b"line\n"] * 1000), pace=0.01))
    seen: list[bytes] = []

    async def consume(resp: Response) -> None:
        async for line in resp.lines(100):
            seen.append(line)
            await asyncio.sleep(0.05)  # the consumer's own work, outside the stream

    async with serve(peer) as pool:
        resp = await _send(pool, timeout=0.5)
        try:
            with pytest.raises(TimeoutError):
                await consume(resp)
        finally:
            resp.release()
    assert 0 < len(seen) < 1000


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
async def test_kept_alive_connection_closed_under_a_request(method: str, retried: bool) -> None:
    """The server drops an idle connection as the next request arrives: GET is sent again."""

    async def script(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int
    ) -> None:
        await peer.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        if i == 0:
            await peer.read_request(reader)  # the second request: closed without an answer

    peer = Peer(script)
    async with serve(peer) as pool:
        assert await _get_body(pool) == b"ok"
        resp = None
        if retried:
            resp = await _send(pool, method)
            assert await resp.read(10) == b"ok"
            resp.release()
        else:
            with pytest.raises(ConnectionClosed):
                await _send(pool, method)
    assert peer.accepted == (2 if retried else 1)


async def test_idle_connection_closed_by_the_server_is_not_reused() -> None:
    peer = Peer(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", then_close=True))
    async with serve(peer) as pool:
        assert await _get_body(pool) == b"ok"
        await asyncio.sleep(0.1)  # the close arrives while the connection is idle
        resp = await _send(pool, "POST")  # not retried: it must go out on a new connection
        try:
            assert await resp.read(10) == b"ok"
        finally:
            resp.release()
    assert peer.accepted == 2


async def test_connection_that_spoke_while_idle_is_not_reused() -> None:
    peer = Peer(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"))
    async with serve(peer) as pool:
        assert await _get_body(pool) == b"ok"
        await asyncio.sleep(0.1)  # the unsolicited bytes arrive while the connection is idle
        assert await _get_body(pool) == b"ok"
    assert peer.accepted == 2


async def test_the_pool_bounds_concurrent_connections() -> None:
    release = asyncio.Event()

    async def script(
        peer: Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        while True:
            await peer.read_request(reader)
            await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    peer = Peer(script)
    async with serve(peer, limit=2) as pool:
        tasks = [asyncio.create_task(_get_body(pool)) for _ in range(6)]
        while len(peer.requests) < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert len(peer.requests) == 2  # the other four wait for a connection
        release.set()
        assert await asyncio.gather(*tasks) == [b"ok"] * 6
    assert peer.max_open == 2
    assert peer.accepted == 2
