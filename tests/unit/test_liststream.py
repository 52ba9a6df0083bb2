"""ListSplitter: a List body fed in arbitrary chunks gives back exactly its items and metadata."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from issuer.kube.liststream import MAX_METADATA_BYTES, ListBodyError, ListSplitter

TRICKY = [
    {"metadata": {"name": "a", "namespace": "n"}, "spec": {"request": "x" * 5000}},
    {"metadata": {"name": 'b"}]{[,'}, "spec": {"note": 'quote \\" and \\\\ and } ] { [ ,'}},
    {"metadata": {"name": "c"}, "data": [1, [2, [3, {"d": []}]], {}], "e": "\u00e9\u4e2d\\"},
    {},
]


def _split(body: bytes, chunk: int) -> tuple[list[Any], dict[str, Any], bool]:
    s = ListSplitter()
    items: list[Any] = []
    for i in range(0, len(body), chunk):
        items.extend(json.loads(raw) for raw in s.feed(body[i : i + chunk]))
    return items, s.metadata, s.done


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096, 1 << 20])
@pytest.mark.parametrize("metadata_first", [True, False])
def test_items_and_metadata_come_back_whatever_the_chunking(
    chunk: int, metadata_first: bool
) -> None:
    meta = {"resourceVersion": "42", "continue": 'tok"en}'}
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "items"}
    if metadata_first:
        doc["metadata"] = meta
    doc["items"] = TRICKY
    if not metadata_first:
        doc["metadata"] = meta
    for indent in (None, 2):
        body = json.dumps(doc, indent=indent, ensure_ascii=False).encode()
        assert _split(body, chunk) == (TRICKY, meta, True)


def test_random_chunk_boundaries() -> None:
    rnd = random.Random(7)
    body = json.dumps({"metadata": {"resourceVersion": "1"}, "items": TRICKY * 5}).encode()
    s = ListSplitter()
    items: list[Any] = []
    pos = 0
    while pos < len(body):
        step = rnd.randint(1, 300)
        items.extend(json.loads(raw) for raw in s.feed(body[pos : pos + step]))
        pos += step
    assert items == TRICKY * 5
    assert s.done


def test_empty_and_null_items() -> None:
    assert _split(b'{"metadata":{},"items":[]}', 5) == ([], {}, True)
    assert _split(b'{"items":null,"metadata":{"resourceVersion":"3"}}', 5) == (
        [],
        {"resourceVersion": "3"},
        True,
    )


def test_scanned_bytes_are_released_between_items() -> None:
    """Only the item being read is buffered, never the items already handed back."""
    s = ListSplitter()
    s.feed(b'{"items":[')
    for _ in range(50):
        out = s.feed(json.dumps({"big": "y" * 100_000}).encode() + b",")
        assert len(out) == 1
        assert len(s._buf) < 100
    s.feed(b"{}]}")
    assert s.done


def test_truncated_body_is_not_done() -> None:
    items, _, done = _split(b'{"items":[{"a":1},{"b":', 4)
    assert items == [{"a": 1}]
    assert not done


def test_not_an_object_is_refused() -> None:
    with pytest.raises(ListBodyError):
        ListSplitter().feed(b'[{"a":1}]')


def test_huge_metadata_is_refused() -> None:
    s = ListSplitter()
    with pytest.raises(ListBodyError):
        s.feed(b'{"metadata":{"x":"' + b"z" * (MAX_METADATA_BYTES + 10))
