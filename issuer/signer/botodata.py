"""The botocore data the controller keeps in memory: endpoints of the services it calls only.

botocore's session parses ``endpoints.json`` (1.2 MB, every partition and every
AWS service) into ~7 MiB of Python dicts the first time it creates a client,
and keeps them for the life of the process, though the controller only ever
creates clients for a handful of services. ``EndpointsLoader`` is botocore's
own data loader (same search path, same files, same cache for every other
document) except for that one document: it is read from the same file and
scanned one service at a time, keeping only the services in ``SERVICES``, so
neither the whole document nor more than one unwanted service is ever in
memory. A service left out resolves as botocore resolves any service absent
from the file: from its partition's defaults, the endpoint itself coming from
the service's endpoint ruleset.
"""

from __future__ import annotations

import gzip
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Collection
from json import JSONDecodeError, JSONDecoder
from typing import Any

import botocore.exceptions
import botocore.loaders
import botocore.session

ENDPOINTS = "endpoints"
#: What this process creates clients for: ACM PCA, STS (assumed roles and web
#: identity) and what the default credential chain may use (IAM Identity Center).
SERVICES = frozenset({"acm-pca", "sts", "sso", "sso-oidc"})

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DROPPED = object()
_Value = Callable[[str, int], tuple[Any, int]]


class EndpointsLoader(botocore.loaders.Loader):
    """botocore's loader, whose ``endpoints`` document holds only ``services``."""

    def __init__(
        self,
        services: Collection[str] = SERVICES,
        extra_search_paths: list[str] | None = None,
    ) -> None:
        super().__init__(extra_search_paths=extra_search_paths)
        self.services = frozenset(services)
        self._endpoints: tuple[dict[str, Any], str] | None = None

    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        if name != ENDPOINTS:
            found: tuple[Any, str] = super().load_data_with_path(name)
            return found
        if self._endpoints is None:
            self._endpoints = self._load_endpoints()
        return self._endpoints

    def _load_endpoints(self) -> tuple[dict[str, Any], str]:
        # The first file found on the search path wins, as botocore's own lookup does.
        for directory in self.search_paths:
            path = os.path.join(directory, ENDPOINTS)
            for suffix, read in ((".json", _read), (".json.gz", _read_gzip)):
                if os.path.isfile(path + suffix):
                    return prune_endpoints(read(path + suffix), self.services), path
        raise botocore.exceptions.DataNotFoundError(data_path=ENDPOINTS)


def session(services: Collection[str] = SERVICES) -> botocore.session.Session:
    """A botocore session whose loader is an ``EndpointsLoader`` (honouring ``AWS_DATA_PATH``)."""
    sess = botocore.session.get_session()
    data_path = sess.get_config_variable("data_path")
    extra = [p for p in data_path.split(os.pathsep) if p] if data_path else None
    sess.register_component("data_loader", EndpointsLoader(services, extra_search_paths=extra))
    return sess


def prune_endpoints(text: str, services: Collection[str]) -> dict[str, Any]:
    """``json.loads(text)`` of an endpoints document, with each partition's
    ``services`` reduced to ``services``; objects are OrderedDicts, as botocore loads them.

    Only one service's value is decoded at a time: the document is walked
    member by member down to ``partitions[*].services``, every other value is
    decoded whole (they are small). Raises ``ValueError`` on malformed JSON.
    """
    decoder = JSONDecoder(object_pairs_hook=OrderedDict)
    keep = frozenset(services)

    def whole(key: str, idx: int) -> tuple[Any, int]:
        value, end = decoder.raw_decode(text, idx)
        return value, end

    def service(key: str, idx: int) -> tuple[Any, int]:
        value, end = decoder.raw_decode(text, idx)
        return (value if key in keep else _DROPPED), end

    def partition_member(key: str, idx: int) -> tuple[Any, int]:
        return _object(text, idx, service) if key == "services" else whole(key, idx)

    def partitions(idx: int) -> tuple[list[Any], int]:
        return _array(text, idx, lambda i: _object(text, i, partition_member))

    def root_member(key: str, idx: int) -> tuple[Any, int]:
        return partitions(idx) if key == "partitions" else whole(key, idx)

    try:
        doc, end = _object(text, _skip(text, 0), root_member)
    except JSONDecodeError as e:
        raise ValueError(f"endpoints document: {e}") from e
    if _skip(text, end) != len(text):
        raise ValueError("endpoints document: extra data after the object")
    return doc


def _skip(text: str, idx: int) -> int:
    match = _WHITESPACE.match(text, idx)
    return match.end() if match else idx


def _expect(text: str, idx: int, char: str) -> int:
    if text[idx : idx + 1] != char:
        raise ValueError(f"endpoints document: expected {char!r} at {idx}")
    return idx + 1


def _object(text: str, idx: int, value: _Value) -> tuple[OrderedDict[str, Any], int]:
    """The object at ``idx`` (no leading white space), each member's value read by ``value``."""
    idx = _skip(text, _expect(text, idx, "{"))
    out: OrderedDict[str, Any] = OrderedDict()
    if text[idx : idx + 1] == "}":
        return out, idx + 1
    decoder = JSONDecoder()
    while True:
        if text[idx : idx + 1] != '"':
            raise ValueError(f"endpoints document: expected a member name at {idx}")
        key, idx = decoder.raw_decode(text, idx)
        idx = _skip(text, _expect(text, _skip(text, idx), ":"))
        member, idx = value(key, idx)
        if member is not _DROPPED:
            out[key] = member
        idx = _skip(text, idx)
        if text[idx : idx + 1] == ",":
            idx = _skip(text, idx + 1)
            continue
        return out, _expect(text, idx, "}")


def _array(text: str, idx: int, item: Callable[[int], tuple[Any, int]]) -> tuple[list[Any], int]:
    idx = _skip(text, _expect(text, idx, "["))
    out: list[Any] = []
    if text[idx : idx + 1] == "]":
        return out, idx + 1
    while True:
        value, idx = item(idx)
        out.append(value)
        idx = _skip(text, idx)
        if text[idx : idx + 1] == ",":
            idx = _skip(text, idx + 1)
            continue
        return out, _expect(text, idx, "]")


def _read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def _read_gzip(path: str) -> str:
    with gzip.open(path, "rb") as f:
        return f.read().decode("utf-8")
