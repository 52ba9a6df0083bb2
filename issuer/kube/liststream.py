"""Split a streamed Kubernetes List body into its items, one object at a time.

A LIST answer is one JSON object ``{"kind": ..., "metadata": {...}, "items":
[obj, obj, ...]}``. Decoding it whole holds every item (and every CSR and
certificate body in them) at once: a page of large objects is a memory spike.
``ListSplitter`` is fed the body in chunks and hands back each element of the
top-level ``items`` array as its own bytes, plus the top-level ``metadata``
(``resourceVersion``, ``continue``), so the caller decodes and projects one
object at a time and peak memory is bounded by the largest single object.

Only the structure is scanned (brackets, braces, strings and commas, skipped
with regular expressions); every value is decoded by ``json.loads``. Other
top-level members are ignored; a ``metadata`` larger than
``MAX_METADATA_BYTES`` is an error.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_METADATA_BYTES = 1 << 20

_STRUCTURE = re.compile(rb'["{}\[\],]')
_STRING_END = re.compile(rb'["\\]')


class ListBodyError(ValueError):
    """The body is not a JSON object of the expected List shape."""


class ListSplitter:
    """Incremental scanner of one List body: ``feed`` chunks, get item bytes back."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # next byte of _buf to scan
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._string_start = -1  # offset in _buf of the current string at depth 1
        self._expect_key = False  # at depth 1, the next string is a member name
        self._key = ""  # the depth-1 member whose value is being read
        self._in_items = False
        self._start = -1  # offset in _buf of the value being captured (item or metadata)
        self.metadata: dict[str, Any] = {}
        self.done = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """Scan ``chunk``; return the raw bytes of every item it completed."""
        self._buf += chunk
        out: list[bytes] = []
        buf = self._buf
        pos = self._pos
        n = len(buf)
        while pos < n:
            if self._in_string:
                if self._escape:
                    self._escape = False
                    pos += 1
                    continue
                m = _STRING_END.search(buf, pos)
                if m is None:
                    pos = n
                    break
                pos = m.end()
                if buf[m.start()] == 0x5C:  # backslash: skip the escaped byte
                    self._escape = True
                    continue
                self._in_string = False
                if self._string_start >= 0:
                    self._key = str(json.loads(bytes(buf[self._string_start : pos])))
                    self._string_start = -1
                    self._expect_key = False
                continue
            m = _STRUCTURE.search(buf, pos)
            if m is None:
                pos = n
                break
            c = buf[m.start()]
            pos = m.end()
            if c == 0x22:  # "
                self._in_string = True
                if self._depth == 1 and self._expect_key:
                    self._string_start = m.start()
            elif c in (0x7B, 0x5B):  # { [
                self._open(c, m.start())
            elif c in (0x7D, 0x5D):  # } ]
                item = self._close(buf, m.start(), pos)
                if item is not None:
                    out.append(item)
            elif self._depth == 1:  # ,
                self._expect_key = True
        self._pos = pos
        self._compact()
        return out

    def _open(self, c: int, at: int) -> None:
        if self._depth == 0:
            if c != 0x7B:
                raise ListBodyError("a List body must be a JSON object")
            self._expect_key = True
        elif self._depth == 1:
            if self._key == "items" and c == 0x5B:
                self._in_items = True
            elif self._key == "metadata" and c == 0x7B:
                self._start = at
        elif self._depth == 2 and self._in_items:
            self._start = at
        self._depth += 1

    def _close(self, buf: bytearray, at: int, end: int) -> bytes | None:
        self._depth -= 1
        if self._depth < 0:
            raise ListBodyError("unbalanced List body")
        if self._depth == 0:
            self.done = True
        elif self._depth == 1:
            self._in_items = False
            if self._key == "metadata" and self._start >= 0:
                doc = json.loads(bytes(buf[self._start : end]))
                self.metadata = doc if isinstance(doc, dict) else {}
                self._start = -1
        elif self._depth == 2 and self._in_items and self._start >= 0:
            item = bytes(buf[self._start : end])
            self._start = -1
            return item
        return None

    def _compact(self) -> None:
        """Drop scanned bytes no capture needs any more."""
        keep = self._pos
        if self._start >= 0:
            keep = self._start
            if self._key == "metadata" and self._pos - self._start > MAX_METADATA_BYTES:
                raise ListBodyError("List metadata too large")
        if self._string_start >= 0:
            keep = min(keep, self._string_start)
        if keep:
            del self._buf[:keep]
            self._pos -= keep
            if self._start >= 0:
                self._start -= keep
            if self._string_start >= 0:
                self._string_start -= keep
