"""The newest version known of each unfinished request, reused instead of a GET.

The informer's watch delivers every version of a request, in order, and the
API server answers each of our writes (and GETs) with the version it holds.
The newest of these is what a GET would return unless a change is still on
its way; a reconcile takes it from here, and GETs only when nothing is held.
This is the read a controller-runtime reconciler makes from its cache, never
an older one: a write based on it carries its resourceVersion, and the API
server refuses it (409, re-read) if the object moved on in between.

Ordering: the resourceVersions of one resource compare as integers (etcd
revisions; Kubernetes guarantees it from v1.35, KEP-5504). Each key keeps the
newest version known, from the watch, our writes or a GET, also after a
reconcile took the held object: a version older than that (the watch catching
up with our own write, a LIST answered from an older snapshot) is never held,
so a reconcile never acts on a request as it was before our last write (say,
without the certificate ARN we saved). A resourceVersion that is not a
canonical positive integer cannot be ordered: nothing is held for that key,
and its reconcile GETs.

Held objects are compact JSON bytes, one per request that may need a
reconcile, within a budget of ``MAX_HELD_BYTES`` in all and ``MAX_OBJECT_BYTES``
each (a request's objects can be large and hostile); what does not fit is not
held, and its next reconcile simply GETs.
"""

from __future__ import annotations

import json
from typing import Any

JSON = dict[str, Any]

MAX_HELD_BYTES = 4 << 20
MAX_OBJECT_BYTES = 64 << 10  # twice the largest CSR AWS PCA accepts, with the rest of the object
_MAX_RV_DIGITS = 64  # far beyond any etcd revision; longer is not a version we order


def resource_version(obj: JSON | None) -> int | None:
    """``metadata.resourceVersion`` of ``obj`` as an integer; None when absent or not comparable.

    Comparable means what KEP-5504 allows comparing: a positive decimal integer
    without leading zeros.
    """
    if obj is None:
        return None
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    if (
        not isinstance(rv, str)
        or not 0 < len(rv) <= _MAX_RV_DIGITS
        or not rv.isascii()
        or not rv.isdigit()
        or rv[0] == "0"
    ):
        return None
    return int(rv)


class HeldObjects:
    """key -> encoded newest version, and the newest resourceVersion known of each key."""

    def __init__(
        self, *, budget: int = MAX_HELD_BYTES, object_limit: int = MAX_OBJECT_BYTES
    ) -> None:
        self._budget = budget
        self._object_limit = object_limit
        self._held: dict[str, bytes] = {}
        self._newest: dict[str, int] = {}  # key -> newest version known (held, taken or read)
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._held)

    @property
    def bytes(self) -> int:
        return self._bytes

    def offer(self, key: str, obj: JSON) -> None:
        """The watch, a list or our write delivered ``obj``: held if it is the newest known."""
        rv = resource_version(obj)
        if rv is None:
            self.forget(key)  # cannot be ordered: its reconciles GET
            return
        if rv <= self._newest.get(key, 0):
            return  # what we hold, took or read is as new or newer
        self._newest[key] = rv
        self._put(key, obj)

    def read(self, key: str, obj: JSON) -> None:
        """A GET returned ``obj``, which the reconcile works on: anything older is dropped."""
        rv = resource_version(obj)
        if rv is None:
            self.forget(key)
            return
        if rv >= self._newest.get(key, 0):
            self._newest[key] = rv
            self._drop(key)

    def take(self, key: str) -> JSON | None:
        """The newest version held for ``key`` (dropped from here), or None: GET it."""
        encoded = self._held.pop(key, None)
        if encoded is None:
            return None
        self._bytes -= len(encoded)
        obj: JSON = json.loads(encoded)
        return obj

    def forget(self, key: str) -> None:
        """The request is finished, deleted or not ours: nothing is kept for it."""
        self._newest.pop(key, None)
        self._drop(key)

    def _put(self, key: str, obj: JSON) -> None:
        self._drop(key)
        encoded = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        if len(encoded) > self._object_limit or self._bytes + len(encoded) > self._budget:
            return
        self._held[key] = encoded
        self._bytes += len(encoded)

    def _drop(self, key: str) -> None:
        encoded = self._held.pop(key, None)
        if encoded is not None:
            self._bytes -= len(encoded)
