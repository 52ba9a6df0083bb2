"""When each object of one collection reached a state, seen by one watch stream (bench only).

A batch of thousands of requests is not polled by LIST (each LIST carries every
object, which loads the API server under test); one watch stream sees each
change once. `StateWatch` starts before the objects are created, records the
first time each object matched ``done``, and stops the wait at once when one
matched ``failed``. The thread ends by itself within one watch timeout of
`close` (daemon, bounded).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from awspca_devstack import KubeClient
from awspca_devstack.kubeclient import JSON

#: Seconds each watch call lasts before it is opened again (and the most the
#: thread outlives `close`).
WATCH_SECONDS = 5.0


class StateWatch:
    """Names of ``path``'s objects that matched ``done`` (and when), or ``failed``."""

    def __init__(
        self,
        kube: KubeClient,
        path: str,
        done: Callable[[JSON], bool],
        failed: Callable[[JSON], bool] = lambda _: False,
    ) -> None:
        self.kube = kube
        self.path = path
        self._done = done
        self._failed = failed
        self.done_at: dict[str, float] = {}
        self.failed: set[str] = set()
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._rv = self._relist()
        self._thread = threading.Thread(target=self._run, name="bench-watch", daemon=True)
        self._thread.start()

    def __enter__(self) -> StateWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()

    def _see(self, obj: JSON) -> None:
        name = obj["metadata"]["name"]
        with self._cond:
            if self._failed(obj):
                self.failed.add(name)
            elif name not in self.done_at and self._done(obj):
                self.done_at[name] = time.monotonic()
            self._cond.notify_all()

    def _relist(self) -> str:
        listing = self.kube.get(self.path)
        for obj in listing["items"]:
            self._see(obj)
        return str(listing["metadata"]["resourceVersion"])

    def _run(self) -> None:
        try:
            while not self._closed.is_set():
                for event in self.kube.watch(
                    self.path, resource_version=self._rv, timeout=WATCH_SECONDS
                ):
                    if self._closed.is_set():
                        return
                    obj = event["object"]
                    if event["type"] == "ERROR":  # e.g. 410 Gone: start again from a LIST
                        self._rv = self._relist()
                        break
                    self._rv = obj["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._see(obj)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            with self._cond:
                self.error = exc
                self._cond.notify_all()

    def wait(self, n: int, timeout: float, *, stop_on_failed: bool = True) -> float:
        """Monotonic time when ``n`` objects had ended (the last one seen ``done``).

        With ``stop_on_failed`` one failed object raises at once; without it,
        failed objects count as ended and the caller reads `failed`.
        """

        def ended() -> int:
            return len(self.done_at) + (0 if stop_on_failed else len(self.failed))

        with self._cond:
            self._cond.wait_for(
                lambda: (
                    ended() >= n or (stop_on_failed and bool(self.failed)) or self.error is not None
                ),
                timeout,
            )
            if stop_on_failed and self.failed:
                raise RuntimeError(f"{len(self.failed)} objects failed under {self.path}")
            if self.error is not None:
                raise RuntimeError(f"the watch of {self.path} broke") from self.error
            if ended() < n:
                raise TimeoutError(f"{self.path}: {ended()} of {n} ended after {timeout} s")
            return max(self.done_at.values(), default=time.monotonic())
