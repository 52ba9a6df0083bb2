"""The HTTP/1.1 wire's pure parts, in tables: heads, framing, chunk sizes, requests out.

Malformed and hostile answers must be a ``ProtocolError`` (never a hang, a
crash of another type, or a silently wrong body framing); requests out must
never carry a CR/LF a server could read as another header or request.
"""

from __future__ import annotations

import pytest

from issuer.kube.http import (
    CHUNKED,
    LENGTH,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    NO_BODY,
    UNTIL_CLOSE,
    Framing,
    Origin,
    ProtocolError,
    body_framing,
    encode_request,
    parse_chunk_size,
    parse_head,
    request_target,
)

OK = b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize(
    ("block", "status", "reason", "headers"),
    [
        (OK + b"Content-Length: 2\r\n\r\n", 200, "OK", {"content-length": "2"}),
        (b"HTTP/1.1 404 Not Found\r\n\r\n", 404, "Not Found", {}),
        (b"HTTP/1.1 204\r\n\r\n", 204, "", {}),  # the reason phrase is optional
        (b"HTTP/1.1 200 \r\n\r\n", 200, "", {}),
        (b"HTTP/1.0 200 OK\r\n\r\n", 200, "OK", {}),
        (OK + b"X-A:1\r\nx-a:  2 \r\n\r\n", 200, "OK", {"x-a": "1, 2"}),  # repeated field
        (OK + b"Empty:\r\n\r\n", 200, "OK", {"empty": ""}),
        (OK + b"Retry-After: 3\r\n", 200, "OK", {"retry-after": "3"}),  # without the last CRLF
        (OK + b"X-Latin: caf\xe9\r\n\r\n", 200, "OK", {"x-latin": "caf\u00e9"}),
        (b"HTTP/1.1 500 Internal\tError\r\n\r\n", 500, "Internal\tError", {}),
    ],
)
def test_heads_that_parse(block: bytes, status: int, reason: str, headers: dict[str, str]) -> None:
    head = parse_head(block)
    assert (head.status, head.reason, dict(head.headers)) == (status, reason, headers)


def test_header_lookup_ignores_case() -> None:
    head = parse_head(OK + b"Retry-After: 7\r\n\r\n")
    assert head.headers.get("Retry-After") == head.headers["RETRY-AFTER"] == "7"
    assert "retry-after" in head.headers
    assert head.headers.get("Content-Length") is None


@pytest.mark.parametrize(
    ("block", "why"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"HTTP/2 200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "status line"),
        (b"http/1.1 200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1  200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 O\x00K\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "status line"),  # bare LF
        (b"<html>hello</html>\r\n\r\n", "status line"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "status line"),  # TLS, not HTTP
        (OK + b"NoColon\r\n\r\n", "header field"),
        (OK + b": value\r\n\r\n", "header field"),
        (OK + b"Bad Name: v\r\n\r\n", "header field"),
        (OK + b"Name : v\r\n\r\n", "header field"),  # white space before the colon
        (OK + b"X-A: 1\r\n folded\r\n\r\n", "header field"),  # obsolete line folding
        (OK + b"X-A: a\x00b\r\n\r\n", "forbidden character"),
        (OK + b"X-A: a\nb\r\n\r\n", "forbidden character"),  # bare LF inside a line
        (OK + b"X-A: a\x7fb\r\n\r\n", "forbidden character"),
        (OK + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", "header fields"),
        (OK + b"X: " + b"y" * MAX_HEAD_BYTES + b"\r\n\r\n", "larger than"),
    ],
)
def test_malformed_heads_are_protocol_errors(block: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        parse_head(block)


def _framing(head: bytes, method: str = "GET") -> Framing:
    return body_framing(parse_head(head + b"\r\n"), method)


@pytest.mark.parametrize(
    ("head", "method", "expected"),
    [
        (OK + b"Content-Length: 12\r\n", "GET", Framing(LENGTH, 12, True)),
        (OK + b"Content-Length: 0\r\n", "GET", Framing(LENGTH, 0, True)),
        (OK + b"Content-Length: 5\r\nContent-Length: 5\r\n", "GET", Framing(LENGTH, 5, True)),
        (OK + b"Content-Length: 5, 5\r\n", "GET", Framing(LENGTH, 5, True)),
        (OK + b"Transfer-Encoding: chunked\r\n", "GET", Framing(CHUNKED, 0, True)),
        (OK + b"Transfer-Encoding: Chunked\r\n", "GET", Framing(CHUNKED, 0, True)),
        (OK, "GET", Framing(UNTIL_CLOSE, 0, False)),  # no length: the close ends it
        (OK + b"Content-Length: 9\r\nConnection: close\r\n", "GET", Framing(LENGTH, 9, False)),
        (OK + b"Content-Length: 9\r\nConnection: x, Close\r\n", "GET", Framing(LENGTH, 9, False)),
        (OK + b"Content-Length: 9\r\nConnection: keep-alive\r\n", "GET", Framing(LENGTH, 9, True)),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n", "GET", Framing(LENGTH, 3, False)),
        (OK + b"Content-Length: 40\r\n", "HEAD", Framing(NO_BODY, 0, True)),
        (b"HTTP/1.1 204 No Content\r\n", "DELETE", Framing(NO_BODY, 0, True)),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n", "GET", Framing(NO_BODY, 0, True)),
        (OK + b"Content-Encoding: identity\r\nContent-Length: 1\r\n", "GET", Framing(LENGTH, 1)),
    ],
)
def test_body_framing(head: bytes, method: str, expected: Framing) -> None:
    assert _framing(head, method) == expected


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (OK + b"Content-Length: -1\r\n", "Content-Length"),
        (OK + b"Content-Length: +5\r\n", "Content-Length"),
        (OK + b"Content-Length: 0x10\r\n", "Content-Length"),
        (OK + b"Content-Length: 1 2\r\n", "Content-Length"),
        (OK + b"Content-Length:\r\n", "Content-Length"),
        (OK + b"Content-Length: \xd9\xa3\r\n", "Content-Length"),  # a non-ASCII digit
        (OK + b"Content-Length: 9999999999999999\r\n", "Content-Length"),
        (OK + b"Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length"),  # smuggling
        (OK + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "both"),
        (OK + b"Transfer-Encoding: gzip, chunked\r\n", "transfer coding"),
        (OK + b"Transfer-Encoding: chunked, chunked\r\n", "transfer coding"),
        (OK + b"Transfer-Encoding: identity\r\n", "transfer coding"),
        (b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n", "transfer coding"),
        (OK + b"Content-Encoding: gzip\r\nContent-Length: 20\r\n", "content coding"),
    ],
)
def test_framing_refused(head: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        _framing(head)


@pytest.mark.parametrize(
    ("line", "size"),
    [
        (b"0", 0),
        (b"a", 10),
        (b"1F4", 500),
        (b"00010", 16),
        (b"ff;name=value", 255),
        (b"10 ;ext", 16),
        (b"10\t", 16),
        (b"fffffffffffffff", (1 << 60) - 1),
    ],
)
def test_chunk_sizes(line: bytes, size: int) -> None:
    assert parse_chunk_size(line) == size


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b" 10",
        b"-1",
        b"+1",
        b"0x10",
        b"g",
        b"1 0",
        b"10\r",
        b";ext",
        b"1" * 16,
        b"\xef\xbc\x91",
    ],
)
def test_malformed_chunk_sizes(line: bytes) -> None:
    with pytest.raises(ProtocolError, match="chunk size"):
        parse_chunk_size(line)


@pytest.mark.parametrize(
    ("path", "params", "target"),
    [
        ("/api/v1/namespaces", None, "/api/v1/namespaces"),
        ("", None, "/"),
        ("/api/v1/namespaces/a%2Fb/secrets", None, "/api/v1/namespaces/a%2Fb/secrets"),
        ("/api/v1/x y", None, "/api/v1/x%20y"),
        ("/api/v1/\u00e9\r\n", None, "/api/v1/%C3%A9%0D%0A"),
        ("/p", {"limit": "100", "continue": "a b/c"}, "/p?limit=100&continue=a%20b%2Fc"),
        (
            "/p",
            {"labelSelector": "a=b,c in (x,y)"},
            "/p?labelSelector=a%3Db%2Cc%20in%20%28x%2Cy%29",
        ),
        ("/p", {"a&b": "1=2"}, "/p?a%26b=1%3D2"),
        ("/p", {}, "/p"),
    ],
)
def test_request_targets(path: str, params: dict[str, str] | None, target: str) -> None:
    assert request_target(path, params) == target


def test_request_encoding() -> None:
    raw = encode_request(
        "POST", "/api/v1/x", [("Host", "h:6443"), ("Content-Type", "application/json")], b"{}"
    )
    assert raw == (
        b"POST /api/v1/x HTTP/1.1\r\nHost: h:6443\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    assert encode_request("GET", "/", [], None) == b"GET / HTTP/1.1\r\n\r\n"
    assert encode_request("PUT", "/", [], b"").endswith(b"Content-Length: 0\r\n\r\n")
    assert b"Accept-Encoding" not in encode_request("GET", "/", [("Host", "h")], None)


@pytest.mark.parametrize(
    ("method", "target", "headers", "why"),
    [
        ("GET", "/", [("Authorization", "Bearer x\r\nX-Injected: 1")], "CR, LF or NUL"),
        ("GET", "/", [("Authorization", "Bearer x\n")], "CR, LF or NUL"),
        ("GET", "/", [("X", "a\x00b")], "CR, LF or NUL"),
        ("GET", "/", [("Bad Name", "v")], "field name"),
        ("GET", "/", [("X:Y", "v")], "field name"),
        ("GET /x HTTP/1.1\r\n", "/", [], "method"),
        ("", "/", [], "method"),
        ("GET", "/a b", [], "target"),
        ("GET", "/a\r\nX: 1", [], "target"),
        ("GET", "/\u00e9", [], "target"),
        ("GET", "", [], "target"),
    ],
)
def test_request_encoding_refuses_injection(
    method: str, target: str, headers: list[tuple[str, str]], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        encode_request(method, target, headers, None)


def test_injected_secret_is_not_in_the_error() -> None:
    with pytest.raises(ValueError, match="Authorization") as err:
        encode_request("GET", "/", [("Authorization", "Bearer s3cret\r\n")], None)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "origin", "host_header"),
    [
        ("https://127.0.0.1:6443", Origin("https", "127.0.0.1", 6443, ""), "127.0.0.1:6443"),
        ("https://kube.example", Origin("https", "kube.example", 443, ""), "kube.example"),
        ("http://kube.example", Origin("http", "kube.example", 80, ""), "kube.example"),
        ("https://[::1]:6443/", Origin("https", "::1", 6443, ""), "[::1]:6443"),
        ("https://[fd00::1]", Origin("https", "fd00::1", 443, ""), "[fd00::1]"),
        ("https://h/k8s/clusters/c-1/", Origin("https", "h", 443, "/k8s/clusters/c-1"), "h"),
    ],
)
def test_origins(url: str, origin: Origin, host_header: str) -> None:
    assert Origin.parse(url) == origin
    assert origin.host_header == host_header


@pytest.mark.parametrize(
    "url",
    ["", "kube:6443", "ftp://h", "https://", "https://h:99999", "https://u:p@h", "https://h/?q=1"],
)
def test_unusable_origins(url: str) -> None:
    with pytest.raises(ValueError, match="server"):
        Origin.parse(url)
