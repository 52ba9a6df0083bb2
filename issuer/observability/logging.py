"""Structured logging: JSON or text lines, with the reconcile's key and id on every line.

``reconcile_context`` puts controller, key and reconcile id in a context
variable; every record logged inside it carries them. Secrets never reach the
logs even by mistake, in two layers: values of extra fields whose names look
secret (token, secret, password, credential, private, session) are replaced,
and every finished line (message, fields, tracebacks) goes through
``redaction.redact``, the one function that also cleans conditions and Events.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from issuer.observability.redaction import REDACTED, redact

_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "reconcile_context", default=None
)
_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("secret", "token", "password", "credential", "private", "session")


@contextlib.contextmanager
def reconcile_context(**fields: str) -> Iterator[None]:
    prev = _CONTEXT.get() or {}
    reset = _CONTEXT.set({**prev, **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(reset)


def _redact(key: str, value: Any) -> Any:
    low = key.lower()
    if any(w in low for w in _SECRET_WORDS) and low not in ("secret_name", "secretref"):
        return REDACTED
    return value


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = dict(_CONTEXT.get() or {})
    for k, v in vars(record).items():
        if k not in _STD_ATTRS and not k.startswith("_"):
            out[k] = _redact(k, v)
    return out


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(_fields(record))
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(doc, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{ts} {record.levelname[:4]} {record.name}: {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def setup(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
