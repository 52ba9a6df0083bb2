"""List+watch informer with a compact cache and event handlers.

One informer per resource: it lists (paginated), then watches from the list's
resourceVersion with bookmarks, re-watches when the server ends a stream,
re-lists on 410 Gone (computing the deletions it missed), and reconnects with
capped exponential backoff when the API server is unreachable. The cache keeps
only what ``project`` returns for each object, so memory stays flat however
many finished objects the cluster accumulates. It keeps it encoded as compact
JSON bytes without the object's name and namespace (the key says them; they
are put back on ``get`` and for handlers), and equal encodings are stored
once (``_Store``): a projection that keeps only what a controller decides on
is the same for most objects (every finished request of one issuer), so a
cached object costs its key and a reference, ~0.1 KiB.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Iterator, KeysView

from issuer.kube.client import JSON, ApiError, Gone, KubeClient, api_error
from issuer.kube.liststream import ListBodyError, ListSplitter

log = logging.getLogger(__name__)

Handler = Callable[[str, JSON | None, JSON | None], None]
"""Called with (event type ADDED/MODIFIED/DELETED, old projection, new projection)."""

WATCH_TIMEOUT_SECONDS = 300
LIST_PAGE = 100
# Reconnect attempts double from 0.5 s up to 8 s: after an API server outage the
# caches resume within seconds of its return (with a 30 s cap, up to half a
# minute went by), at the cost of one cheap connection attempt per 8 s meanwhile.
BACKOFF_MIN, BACKOFF_MAX = 0.5, 8.0


def object_key(obj: JSON) -> str:
    """``namespace/name`` (or ``name`` for cluster-scoped objects)."""
    md = obj.get("metadata", {})
    ns = md.get("namespace")
    return f"{ns}/{md.get('name')}" if ns else str(md.get("name"))


def _identity(obj: JSON) -> JSON:
    return obj


class Informer:
    """Keeps a projected cache of one resource collection in sync and fans out changes."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        name: str,
        project: Callable[[JSON], JSON] = _identity,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> None:
        self.client = client
        self.path = path
        self.name = name
        self.project = project
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._cache = _Store()
        self._handlers: list[Handler] = []
        self._rv: str | None = None
        self.synced = asyncio.Event()
        self.relists = 0

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def get(self, key: str) -> JSON | None:
        return self._cache.get(key)

    def __len__(self) -> int:
        return len(self._cache)

    def _params(self) -> dict[str, str]:
        p: dict[str, str] = {}
        if self.label_selector:
            p["labelSelector"] = self.label_selector
        if self.field_selector:
            p["fieldSelector"] = self.field_selector
        return p

    def _emit(self, kind: str, old: JSON | None, new: JSON | None) -> None:
        for h in self._handlers:
            try:
                h(kind, old, new)
            except Exception:
                log.exception("informer handler failed", extra={"informer": self.name})

    async def _list(self) -> None:
        fresh = _Store()
        cont: str | None = None
        rv = ""
        while True:
            params = {**self._params(), "limit": str(LIST_PAGE)}
            if cont:
                params["continue"] = cont
            meta = await self._list_page(params, fresh)
            rv = meta.get("resourceVersion", rv)
            cont = meta.get("continue")
            if not cont:
                break
        old = self._cache
        self._cache = fresh
        self._rv = rv
        for key in old.keys() - fresh.keys():
            self._emit("DELETED", old.get(key), None)
        for key in fresh:
            if key not in old:
                self._emit("ADDED", None, fresh.get(key))
            elif not old.same(key, fresh):
                self._emit("MODIFIED", old.get(key), fresh.get(key))
        self.synced.set()

    async def _list_page(self, params: dict[str, str], into: _Store) -> JSON:
        """Fetch one LIST page, projecting each item as it arrives; return the page's metadata.

        The page is never decoded whole: only one full object at a time is held,
        however large the objects (hostile CSRs) or the page.
        """
        splitter = ListSplitter()
        async for chunk in self.client.stream(self.path, params):
            for raw in splitter.feed(chunk):
                item = json.loads(raw)
                del raw
                if isinstance(item, dict):
                    into.put(object_key(item), self.project(item))
        if not splitter.done:
            raise ListBodyError("LIST body ended early")
        return splitter.metadata

    def _apply(self, event: JSON) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        rv = obj.get("metadata", {}).get("resourceVersion")
        if kind == "BOOKMARK":
            self._rv = rv or self._rv
            return
        if kind == "ERROR":
            code = obj.get("code")
            raise api_error(int(code or 500), obj, "WATCH", self.path)
        key = object_key(obj)
        if kind in ("ADDED", "MODIFIED"):
            new = self.project(obj)
            old = self._cache.get(key)
            self._cache.put(key, new)
            self._rv = rv or self._rv
            self._emit("ADDED" if old is None else "MODIFIED", old, new)
        elif kind == "DELETED":
            old = self._cache.get(key)
            self._cache.pop(key)
            self._rv = rv or self._rv
            self._emit("DELETED", old, self.project(obj))

    async def run(self) -> None:
        """List, then watch for ever; returns only when cancelled."""
        backoff = BACKOFF_MIN
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                params = {
                    **self._params(),
                    "resourceVersion": self._rv or "",
                    "timeoutSeconds": str(WATCH_TIMEOUT_SECONDS),
                }
                async for event in self.client.watch(
                    self.path, params, timeout=WATCH_TIMEOUT_SECONDS
                ):
                    self._apply(event)
                backoff = BACKOFF_MIN
            except asyncio.CancelledError:
                raise
            except ApiError as e:
                if isinstance(e, Gone):
                    log.info("watch expired; relisting", extra={"informer": self.name})
                    self.relists += 1
                    need_list = True
                    continue
                log.warning("watch failed", extra={"informer": self.name, "error": str(e)})
                need_list = e.status in (401, 403, 500, 503) or need_list
                backoff = await _backoff(backoff)
            except (OSError, TimeoutError, ValueError) as e:  # transport, HTTP, JSON
                log.warning(
                    "API server unreachable; retrying",
                    extra={"informer": self.name, "error": repr(e)},
                )
                backoff = await _backoff(backoff)


class _Shared:
    """One encoding and how many keys hold it."""

    __slots__ = ("encoded", "holders")

    def __init__(self, encoded: bytes) -> None:
        self.encoded = encoded
        self.holders = 0


class _Store:
    """Projections by key, each encoded without its name and namespace, equal encodings once.

    An encoding is dropped when the last key holding it goes, so the shared
    table is bounded by the objects cached, whatever their projections were.
    """

    def __init__(self) -> None:
        self._by_key: dict[str, _Shared] = {}
        self._shared: dict[bytes, _Shared] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def keys(self) -> KeysView[str]:
        return self._by_key.keys()

    def get(self, key: str) -> JSON | None:
        """A fresh copy of the projection cached for ``key``, or None."""
        held = self._by_key.get(key)
        return None if held is None else _decode(key, held.encoded)

    def same(self, key: str, other: _Store) -> bool:
        """Whether ``key`` holds an equal projection here and in ``other``."""
        mine, theirs = self._by_key.get(key), other._by_key.get(key)
        return mine is not None and theirs is not None and mine.encoded == theirs.encoded

    def put(self, key: str, projection: JSON) -> None:
        encoded = _encode(key, projection)
        shared = self._shared.get(encoded)
        if shared is None:
            shared = self._shared[encoded] = _Shared(encoded)
        shared.holders += 1
        self._release(self._by_key.get(key))
        self._by_key[key] = shared

    def pop(self, key: str) -> None:
        self._release(self._by_key.pop(key, None))

    def _release(self, shared: _Shared | None) -> None:
        if shared is None:
            return
        shared.holders -= 1
        if shared.holders == 0:
            del self._shared[shared.encoded]


def _encode(key: str, projection: JSON) -> bytes:
    """``projection`` as compact JSON, its name and namespace left out when the key says them.

    A projection whose metadata the key does not rebuild exactly is kept whole,
    marked by a leading ``!`` (no JSON text starts with one).
    """
    md = projection.get("metadata")
    if isinstance(md, dict) and _naming(md) == key:
        rest = {k: v for k, v in md.items() if k not in ("name", "namespace")}
        return _json({**projection, "metadata": rest})
    return _VERBATIM + _json(projection)


def _decode(key: str, encoded: bytes) -> JSON:
    if encoded.startswith(_VERBATIM):
        whole: JSON = json.loads(encoded[len(_VERBATIM) :])
        return whole
    doc: JSON = json.loads(encoded)
    namespace, _, name = key.rpartition("/")
    md = doc.setdefault("metadata", {})
    md["name"] = name
    if namespace:
        md["namespace"] = namespace
    return doc


_VERBATIM = b"!"


def _json(doc: JSON) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _naming(md: JSON) -> str | None:
    """The key ``_decode`` rebuilds metadata from, when it rebuilds exactly these fields."""
    name, namespace = md.get("name"), md.get("namespace")
    if not isinstance(name, str) or not name or "/" in name:
        return None
    if namespace is None:
        return name
    if not isinstance(namespace, str) or not namespace:
        return None
    return f"{namespace}/{name}"


async def _backoff(current: float) -> float:
    await asyncio.sleep(current * (0.5 + random.random() / 2))
    return min(current * 2, BACKOFF_MAX)
