"""Creating thousands of objects fast: a few kept-alive HTTPS connections (bench only).

`KubeClient` opens one TLS connection per call, which is what tests want and
what makes a batch of 10,000 creates slow (the handshakes cost the harness and
the API server under test more than the creates). `BulkCreator` POSTs over one
kept-alive connection per worker thread, at most ``workers`` at a time, with
the same credentials; it stops by itself after ``n`` objects.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from awspca_devstack import KubeClient
from awspca_devstack.kubeclient import JSON, KubeError


class BulkCreator:
    def __init__(self, kube: KubeClient, workers: int = 8) -> None:
        url = urllib.parse.urlsplit(kube.server)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.workers = workers
        self.timeout = kube.timeout
        creds = kube.creds
        self._ssl = ssl.create_default_context(cafile=str(creds.ca_file))
        if creds.client_cert and creds.client_key:
            self._ssl.load_cert_chain(str(creds.client_cert), str(creds.client_key))
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if creds.token:
            self._headers["Authorization"] = f"Bearer {creds.token}"
        self._local = threading.local()
        self._conns: list[http.client.HTTPSConnection] = []
        self._lock = threading.Lock()

    def _post(self, path: str, obj: JSON) -> None:
        conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(
                self.host, self.port, context=self._ssl, timeout=self.timeout
            )
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        try:
            conn.request("POST", path, body=json.dumps(obj).encode(), headers=self._headers)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()  # the next call on this thread connects again
            self._local.conn = None
            raise
        if resp.status != 201:
            raise KubeError(resp.status, body.decode(errors="replace"), "POST", path)

    def create(self, path: str, make: Callable[[int], JSON], n: int) -> None:
        """POST ``make(0..n-1)`` to ``path`` on at most ``workers`` connections."""
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, n))) as pool:
                list(pool.map(lambda i: self._post(path, make(i)), range(n)))
        finally:
            with self._lock:
                conns, self._conns = self._conns, []
            for conn in conns:
                conn.close()
