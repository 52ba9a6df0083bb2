"""The newest version known of each unfinished request, reused instead of a GET.

The informer's watch delivers every version of a request, in order, and the
API server answers each of our writes with the version it wrote. The newest
of these is what a GET would return unless a change is still on its way; a
reconcile takes it from here, and GETs only when nothing is held. This is the
read a controller-runtime reconciler makes from its cache, never an older
one: a write based on it carries its resourceVersion, and the API server
refuses it (409, re-read) if the object moved on in between.

Ordering: after our own write (version N) the watch may still deliver the
versions before N; those are ignored until the watch shows N itself, so an
older version never replaces the one our write returned.

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


def resource_version(obj: JSON | None) -> str | None:
    """``metadata.resourceVersion`` of ``obj``, None when absent."""
    if obj is None:
        return None
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    return rv if isinstance(rv, str) and rv else None


class HeldObjects:
    """key -> encoded newest version, from the watch (``seen``) and our writes (``written``)."""

    def __init__(
        self, *, budget: int = MAX_HELD_BYTES, object_limit: int = MAX_OBJECT_BYTES
    ) -> None:
        self._budget = budget
        self._object_limit = object_limit
        self._held: dict[str, bytes] = {}
        self._awaiting: dict[str, str] = {}  # key -> version of our write not yet watched
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._held)

    @property
    def bytes(self) -> int:
        return self._bytes

    def seen(self, key: str, obj: JSON) -> None:
        """The watch (or a list) delivered ``obj``, the next version of ``key``."""
        awaited = self._awaiting.get(key)
        if awaited is not None:
            if resource_version(obj) == awaited:
                del self._awaiting[key]  # our write, already held as its answer
            return  # an older version than the one our write returned
        self._put(key, obj)

    def written(self, key: str, obj: JSON) -> None:
        """Our write of ``key`` returned ``obj``: the newest version until the watch shows more."""
        rv = resource_version(obj)
        if rv is None:
            self.forget(key)
            return
        self._awaiting[key] = rv
        self._put(key, obj)

    def take(self, key: str) -> JSON | None:
        """The newest version held for ``key`` (dropped from here), or None: GET it."""
        encoded = self._held.pop(key, None)
        if encoded is None:
            return None
        self._bytes -= len(encoded)
        obj: JSON = json.loads(encoded)
        return obj

    def forget(self, key: str) -> None:
        self._awaiting.pop(key, None)
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
