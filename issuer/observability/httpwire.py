"""HTTP/1.1 on the wire for the probe and metrics endpoints: pure parsing and encoding.

Owns what a request head may look like (``parse_head``: request line and
headers, bounded to ``MAX_HEAD_BYTES`` and ``MAX_HEADERS``, strict about
syntax, anything else a ``BadRequest`` with the status to answer), which
handler answers it (``route``: exact path, GET/HEAD only, else 404/405) and
the bytes of an answer (``encode``). No I/O: the asyncio server
(``httpserver``) and the start-up server (``earlyserver``) are thin shells
around these functions. Standard library only, and cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_HEAD_BYTES = 8192
MAX_HEADERS = 64

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
