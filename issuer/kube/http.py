"""HTTP/1.1 on asyncio streams: the bytes between the Kubernetes client and one API server.

Owns the wire: encoding a request head, parsing a response head (status line,
header fields, body framing), Content-Length and chunked bodies, and a
bounded keep-alive pool of plain or TLS connections to one server. It knows
nothing of Kubernetes (``issuer.kube.client`` builds on it). The parsing is
pure functions; ``Response`` and ``ConnectionPool`` are the thin I/O shell.

A hostile or broken server can neither hang a caller nor exhaust memory:

* a response head is at most ``MAX_HEAD_BYTES`` with ``MAX_HEADERS`` fields,
  a chunk-size or trailer line at most ``MAX_HEAD_BYTES``;
* a body read whole is refused beyond the caller's limit (from its
  Content-Length before reading anything); a streamed body is handed out in
  pieces, and a line of a line-delimited stream is bounded by the caller;
* every exchange has a deadline: when it passes, the connection is aborted
  and the pending read raises ``TimeoutError`` (a timer, not a task
  cancellation, so it is safe across the yields of a streaming consumer).

Malformed answers raise ``ProtocolError``, early ends ``ConnectionClosed``;
both are ``OSError``s, as a network failure is to the callers. A connection
goes back to the pool only when its response was read to the end, the server
did not ask to close it (``Connection: close``, HTTP/1.0, body delimited by
the close) and the exchange was neither cancelled nor failed; otherwise it is
aborted. An idle connection the server has closed, has sent anything on, or
that was idle longer than ``IDLE_SECONDS`` is never reused; a GET that finds its reused connection
closed before any byte of the answer is retried once on a new one.
No content coding is asked for (no ``Accept-Encoding``) and none is accepted.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_TRAILERS = 100
MAX_INTERIM = 10  # 1xx answers skipped before the real one
IDLE_SECONDS = 60.0  # below the API server's 90 s keep-alive timeout

# Body framing kinds.
NO_BODY, LENGTH, CHUNKED, UNTIL_CLOSE = "none", "length", "chunked", "until-close"

_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STR_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[\t ]*(?:;.*)?")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_REPLAYABLE = frozenset({"GET", "HEAD"})


class HttpError(OSError):
    """The exchange with the server failed at the HTTP layer (transient, like a network error)."""


class ConnectionClosed(HttpError):
    """The server closed the connection before its answer was complete."""


class ProtocolError(HttpError):
    """The server's bytes are not a valid HTTP/1.1 answer, or exceed a bound."""


class Headers(Mapping[str, str]):
    """Response header fields, looked up by any case; a repeated field's values joined by ", "."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields  # lower-case name -> value

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A parsed status line and header block."""

    minor_version: int  # 1 for HTTP/1.1, 0 for HTTP/1.0
    status: int
    reason: str
    headers: Headers


@dataclass(frozen=True, slots=True)
class Framing:
    """How the body of a response is delimited, and whether the connection can be reused."""

    kind: str  # NO_BODY, LENGTH, CHUNKED or UNTIL_CLOSE
    length: int = 0  # for LENGTH
    keep_alive: bool = True


def parse_head(block: bytes) -> ResponseHead:
    """Parse a response head: status line and header fields, with or without the final CRLFs."""
    if len(block) > MAX_HEAD_BYTES:
        raise ProtocolError(f"response head larger than {MAX_HEAD_BYTES} bytes")
    lines = block.split(b"\r\n")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ProtocolError("empty response head")
    m = _STATUS_LINE.fullmatch(lines[0])
    if m is None:
        raise ProtocolError(f"malformed status line {_shown(lines[0])}")
    if len(lines) - 1 > MAX_HEADERS:
        raise ProtocolError(f"more than {MAX_HEADERS} header fields")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or _TOKEN.fullmatch(name) is None:
            # also refuses obsolete line folding (a line starting with white space)
            raise ProtocolError(f"malformed header field {_shown(line)}")
        value = value.strip(b" \t")
        if _FIELD_VALUE.fullmatch(value) is None:
            raise ProtocolError(f"forbidden character in header field {_shown(name)}")
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        fields[key] = f"{fields[key]}, {text}" if key in fields else text
    reason = (m.group(3) or b"").decode("latin-1")
    return ResponseHead(int(m.group(1)), int(m.group(2)), reason, Headers(fields))


def _tokens(value: str | None) -> list[str]:
    return [t.strip().lower() for t in value.split(",")] if value else []


def body_framing(head: ResponseHead, method: str) -> Framing:
    """How the body of ``head`` (the answer to ``method``) is delimited (RFC 9112 section 6.3)."""
    h = head.headers
    keep_alive = head.minor_version == 1 and "close" not in _tokens(h.get("connection"))
    coding = h.get("content-encoding")
    if coding and coding.strip().lower() != "identity":
        raise ProtocolError(f"unrequested content coding {_shown(coding.encode('latin-1'))}")
    if method == "HEAD" or head.status < 200 or head.status in (204, 304):
        return Framing(NO_BODY, keep_alive=keep_alive)
    te = h.get("transfer-encoding")
    cl = h.get("content-length")
    if te is not None:
        if cl is not None:
            raise ProtocolError("both Transfer-Encoding and Content-Length")
        if _tokens(te) != ["chunked"] or head.minor_version == 0:
            raise ProtocolError(f"unsupported transfer coding {_shown(te.encode('latin-1'))}")
        return Framing(CHUNKED, keep_alive=keep_alive)
    if cl is not None:
        values = {v.strip() for v in cl.split(",")}
        value = values.pop()
        if values or not value.isdigit() or not value.isascii() or len(value) > 15:
            raise ProtocolError(f"invalid Content-Length {_shown(cl.encode('latin-1'))}")
        return Framing(LENGTH, int(value), keep_alive)
    return Framing(UNTIL_CLOSE, keep_alive=False)


def parse_chunk_size(line: bytes) -> int:
    """The size in a chunk-size line (without its CRLF); chunk extensions are ignored."""
    m = _CHUNK_SIZE.fullmatch(line)
    if m is None:
        raise ProtocolError(f"malformed chunk size {_shown(line)}")
    return int(m.group(1), 16)


def request_target(path: str, params: Mapping[str, str] | None = None) -> str:
    """``path`` (already percent-encoded segments kept as they are) and its query string."""
    target = quote(path, safe=_PATH_SAFE) or "/"
    if params:
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
        target = f"{target}?{query}"
    return target


def encode_request(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes | None
) -> bytes:
    """The request head (and body); ``ValueError`` for a field a server could be fooled by."""
    if _STR_TOKEN.fullmatch(method) is None:
        raise ValueError(f"invalid HTTP method {method!r}")
    if not target.isascii() or not target.isprintable() or " " in target or not target:
        raise ValueError("request target must be printable ASCII without spaces")
    parts = [f"{method} {target} HTTP/1.1\r\n"]
    for name, value in headers:
        if _STR_TOKEN.fullmatch(name) is None:
            raise ValueError(f"invalid header field name {name!r}")
        if _FORBIDDEN_IN_VALUE.search(value):
            raise ValueError(f"header field {name} has a CR, LF or NUL in its value")
        parts.append(f"{name}: {value}\r\n")
    if body is not None:
        parts.append(f"Content-Length: {len(body)}\r\n")
    parts.append("\r\n")
    head = "".join(parts).encode("latin-1")
    return head + body if body else head


def _shown(raw: bytes, limit: int = 80) -> str:
    """A clipped, printable rendering of bytes from the server, for an error message."""
    return repr(raw[:limit].decode("latin-1")) + ("..." if len(raw) > limit else "")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the server is: scheme, host, port, and a path prefix for every request."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Origin:
        """``ValueError`` unless ``url`` is an http(s) URL with a host (no query, no user info)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"server {url!r} is not an http(s) URL with a host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"server {url!r} must not carry a query, fragment or user info")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise ValueError(f"server {url!r}: {e}") from e
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


class Connection:
    """One open stream to the server, with the deadline of its current exchange."""

    __slots__ = ("_timer", "generation", "idle_since", "reader", "timed_out", "uses", "writer")

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, generation: int = 0
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.generation = generation  # of the pool, to drop connections opened before a close
        self.uses = 0
        self.idle_since = 0.0
        self.timed_out = False
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, deadline: float) -> None:
        """Abort the connection at ``deadline`` (loop time) unless disarmed first."""
        self.disarm()
        self._timer = asyncio.get_running_loop().call_at(deadline, self._expire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self.timed_out = True
        self._timer = None
        self.writer.transport.abort()

    def alive(self, now: float) -> bool:
        """Still usable for a new exchange: open, not closed by the server, not idle too long,
        and nothing unsolicited from the server waiting to be read (as Go's transport, which
        closes a connection that speaks while idle)."""
        return (
            not getattr(self.reader, "_buffer", None)  # StreamReader has no public peek
            and not self.reader.at_eof()
            and not self.writer.transport.is_closing()
            and now - self.idle_since < IDLE_SECONDS
        )

    def abort(self) -> None:
        self.disarm()
        self.writer.transport.abort()

    def failure(self, e: BaseException, what: str) -> BaseException:
        """The exception to raise for a read that failed with ``e``."""
        if self.timed_out:
            return TimeoutError(f"deadline passed while {what}")
        if isinstance(e, asyncio.IncompleteReadError):
            return ConnectionClosed(f"server closed the connection while {what}")
        if isinstance(e, asyncio.LimitOverrunError):
            return ProtocolError(f"line longer than {MAX_HEAD_BYTES} bytes while {what}")
        return e

    async def read_head(self) -> ResponseHead:
        """The next response head, skipping interim (1xx) answers."""
        for _ in range(MAX_INTERIM):
            try:
                block = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as e:
                raise self.failure(e, "reading the response head") from e
            head = parse_head(block)
            if not 100 <= head.status < 200:
                return head
            if head.status == 101:
                raise ProtocolError("unexpected protocol switch (101)")
        raise ProtocolError(f"more than {MAX_INTERIM} interim (1xx) answers")


class Response:
    """A response whose body is read once, whole, in pieces or as lines; then ``release``d.

    ``release`` hands the connection back to the pool if the body was read to
    the end and the connection may be kept alive, and aborts it otherwise (an
    abandoned, failed or cancelled exchange). Call it exactly once, in a
    ``finally``.
    """

    __slots__ = ("_conn", "_done", "_framing", "_pool", "_remaining", "head")

    def __init__(
        self, pool: ConnectionPool, conn: Connection, head: ResponseHead, framing: Framing
    ) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self.head = head
        self._framing = framing
        self._remaining = framing.length if framing.kind == LENGTH else 0
        self._done = framing.kind == NO_BODY or (framing.kind == LENGTH and framing.length == 0)

    @property
    def status(self) -> int:
        return self.head.status

    @property
    def headers(self) -> Headers:
        return self.head.headers

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.give_back(conn, reusable=self._done and self._framing.keep_alive)

    async def read(self, limit: int) -> bytes:
        """The whole body; ``ProtocolError`` if it is longer than ``limit`` bytes."""
        if self._framing.kind == LENGTH and self._remaining > limit:
            raise ProtocolError(f"body of {self._remaining} bytes exceeds {limit}")
        if self._framing.kind == LENGTH and not self._done:
            conn = self._live()
            try:
                data = await conn.reader.readexactly(self._remaining)
            except (asyncio.IncompleteReadError, OSError) as e:
                raise conn.failure(e, "reading the body") from e
            self._remaining = 0
            self._finish()
            return data
        parts: list[bytes] = []
        size = 0
        while piece := await self._next_piece(1 << 16):
            size += len(piece)
            if size > limit:
                raise ProtocolError(f"body exceeds {limit} bytes")
            parts.append(piece)
        return b"".join(parts)

    async def pieces(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces of ``size`` bytes (the last one shorter), as they arrive."""
        buf = bytearray()
        while piece := await self._next_piece(size - len(buf)):
            if not buf and len(piece) == size:
                yield piece
                continue
            buf += piece
            if len(buf) >= size:
                yield bytes(buf)
                buf.clear()
        if buf:
            yield bytes(buf)

    async def lines(self, limit: int, *, piece_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """The body split at LF, each line as soon as it is complete; at most ``limit`` bytes each."""
        buf = bytearray()
        while piece := await self._next_piece(piece_size):
            i = piece.find(b"\n")
            if i == len(piece) - 1 and not buf:  # the usual case: one whole line
                yield piece[:i]
                continue
            if i < 0:
                buf += piece
                if len(buf) > limit:
                    raise ProtocolError(f"line longer than {limit} bytes")
                continue
            if buf:
                buf += piece[:i]
                yield bytes(buf)
                buf.clear()
            else:
                yield piece[:i]
            rest = piece[i + 1 :].split(b"\n")
            last = rest.pop()
            for line in rest:
                yield line
            if len(last) > limit:
                raise ProtocolError(f"line longer than {limit} bytes")
            buf += last
        if buf:
            yield bytes(buf)

    def _live(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("response already released")
        return self._conn

    def _finish(self) -> None:
        self._done = True
        if self._conn is not None:
            self._conn.disarm()

    async def _next_piece(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body as they arrive; ``b""`` at its end."""
        if self._done:
            return b""
        conn = self._live()
        reader = conn.reader
        kind = self._framing.kind
        try:
            if kind == UNTIL_CLOSE:
                data = await reader.read(size)
                if not data:
                    if conn.timed_out:
                        raise TimeoutError("deadline passed while reading the body")
                    self._finish()
                return data
            if kind == CHUNKED and self._remaining == 0:
                n = parse_chunk_size((await reader.readuntil(b"\r\n"))[:-2])
                if n == 0:
                    await self._skip_trailers()
                    self._finish()
                    return b""
                if n <= size:  # the usual case: the chunk and its CRLF in one read
                    data = await reader.readexactly(n + 2)
                    if data[-2:] != b"\r\n":
                        raise ProtocolError("chunk data not followed by CRLF")
                    return data[:-2]
                self._remaining = n
            data = await reader.read(min(size, self._remaining))
            if (
                data
                and kind == CHUNKED
                and self._remaining == len(data)
                and await reader.readexactly(2) != b"\r\n"
            ):
                raise ProtocolError("chunk data not followed by CRLF")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as e:
            raise conn.failure(e, "reading the body") from e
        if not data:
            raise conn.failure(asyncio.IncompleteReadError(b"", None), "reading the body")
        self._remaining -= len(data)
        if kind == LENGTH and self._remaining == 0:
            self._finish()
        return data

    async def _skip_trailers(self) -> None:
        reader = self._live().reader
        for _ in range(MAX_TRAILERS + 1):
            if await reader.readuntil(b"\r\n") == b"\r\n":
                return
        raise ProtocolError(f"more than {MAX_TRAILERS} trailer fields")


class ConnectionPool:
    """At most ``limit`` connections to one origin: idle ones reused, most recent first."""

    def __init__(self, origin: Origin, ssl_context: ssl.SSLContext | None, *, limit: int) -> None:
        if limit < 1:
            raise ValueError("a connection pool needs at least one connection")
        self.origin = origin
        self._ssl = ssl_context if origin.scheme == "https" else None
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[Connection] = []
        self._generation = 0

    async def send(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        *,
        deadline: float,
    ) -> Response:
        """Send one request and read its head; the caller reads the body and releases it."""
        data = encode_request(method, target, headers, body)
        async with asyncio.timeout_at(deadline):
            await self._slots.acquire()
        conn: Connection | None = None
        try:
            for attempt in range(2):
                conn = self._take_idle()
                if conn is None:
                    conn = await self._connect(deadline)
                reused = conn.uses > 0
                conn.uses += 1
                conn.arm(deadline)
                try:
                    conn.writer.write(data)
                    await conn.writer.drain()
                    head = await conn.read_head()
                except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                    if not (reused and attempt == 0 and method in _REPLAYABLE):
                        raise
                    conn.abort()  # the server closed it while idle: once more, on a new one
                    conn = None
                    continue
                response = Response(self, conn, head, body_framing(head, method))
                conn = None  # the response owns it now
                return response
            raise AssertionError("unreachable")  # pragma: no cover
        except BaseException:
            if conn is not None:
                conn.abort()
            self._slots.release()
            raise

    def give_back(self, conn: Connection, *, reusable: bool) -> None:
        """Called once per ``send`` (by ``Response.release``): keep or abort the connection."""
        conn.disarm()
        if reusable and conn.generation == self._generation:
            loop = asyncio.get_running_loop()
            conn.idle_since = loop.time()
            if conn.alive(conn.idle_since):
                self._idle.append(conn)
            else:
                conn.abort()
        else:
            conn.abort()
        self._slots.release()

    def close(self) -> None:
        """Abort the idle connections; those in use are aborted when released."""
        self._generation += 1
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.abort()

    def _take_idle(self) -> Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            conn = self._idle.pop()
            if conn.alive(now):
                return conn
            conn.abort()
        return None

    async def _connect(self, deadline: float) -> Connection:
        o = self.origin
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(
                o.host,
                o.port,
                ssl=self._ssl,
                server_hostname=o.host if self._ssl is not None else None,
                limit=MAX_HEAD_BYTES,
            )
        return Connection(reader, writer, self._generation)
