"""The call log and counters tests read to prove what the clients did.

Every API call (PCA and STS, including refused ones) is one entry: time,
service, operation, CA ARN, caller access key id and ARN, result code
("OK" or the error code), idempotency token, certificate ARN.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class CallRecord:
    time: float
    service: str
    operation: str
    result: str
    status: int
    access_key_id: str | None = None
    caller_arn: str | None = None
    ca_arn: str | None = None
    certificate_arn: str | None = None
    idempotency_token: str | None = None
    region: str | None = None
    duration: float = 0.0


class CallLog:
    def __init__(self, size: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[CallRecord] = deque(maxlen=size)
        self._counters: Counter[tuple[str, str]] = Counter()

    def add(self, rec: CallRecord) -> None:
        with self._lock:
            self._records.append(rec)
            self._counters[(rec.operation, rec.result)] += 1

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            recs = list(self._records)
        return [asdict(r) for r in recs if operation is None or r.operation == operation]

    def counters(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            items = list(self._counters.items())
        for (op, result), n in items:
            out.setdefault(op, {})[result] = n
        for results in out.values():
            results["total"] = sum(results.values())
        return out

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._counters.clear()
