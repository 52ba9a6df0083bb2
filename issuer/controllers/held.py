"""Objects our own writes returned, reused instead of a GET while nothing newer is known.

A request polled again (RequestInProgress, a retry) was last written by us:
the API server's answer to that write is the object as it stands, and the
informer's cache says whether anything changed since (its resourceVersion
moves on with every write that follows, ours or anyone's). When the cache
still shows the version we hold, a GET would return that same object, so the
reconcile reads it from here; otherwise it GETs. This is the read a
controller-runtime reconciler makes from its cache, never an older one: a
write based on it carries its resourceVersion, and the API server refuses it
(409, re-read) if the object moved on in between.

Held objects are compact JSON bytes, one per request that may need a
reconcile, within a budget of ``MAX_HELD_BYTES`` in all and ``MAX_OBJECT_BYTES``
each (a request's objects can be large and hostile); what does not fit is not
held, and its next reconcile simply GETs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
    """key -> (resourceVersion, encoded object) of the objects our writes returned."""

    def __init__(
        self,
        cached_version: Callable[[str], str | None],
        *,
        budget: int = MAX_HELD_BYTES,
        object_limit: int = MAX_OBJECT_BYTES,
    ) -> None:
        self._cached_version = cached_version
        self._budget = budget
        self._object_limit = object_limit
        self._held: dict[str, tuple[str, bytes]] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._held)

    @property
    def bytes(self) -> int:
        return self._bytes

    def hold(self, key: str, obj: JSON) -> None:
        """Keep ``obj``, the newest version known of ``key``, for its next reconcile."""
        self.forget(key)
        rv = resource_version(obj)
        if rv is None:
            return
        encoded = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        if len(encoded) > self._object_limit or self._bytes + len(encoded) > self._budget:
            return
        self._held[key] = (rv, encoded)
        self._bytes += len(encoded)

    def take(self, key: str) -> JSON | None:
        """The held object of ``key`` if the cache still shows its version; dropped either way."""
        held = self._held.get(key)
        if held is None:
            return None
        self.forget(key)
        if self._cached_version(key) != held[0]:
            return None
        obj: JSON = json.loads(held[1])
        return obj

    def forget(self, key: str) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            self._bytes -= len(held[1])
