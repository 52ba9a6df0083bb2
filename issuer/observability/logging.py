"""Structured logging: JSON or text lines, with the reconcile's key and id on every line.

``reconcile_context`` puts controller, key and reconcile id in a context
variable; every record logged inside it carries them. Secrets never reach the
logs even by mistake, in two layers: values of extra fields whose names look
secret (token, secret, password, credential, private, session) are replaced,
and every finished line (message, fields, tracebacks) is scrubbed of things
that are secrets whatever their name: JWTs (ServiceAccount / web identity
tokens), PEM private keys, Authorization headers, AWS signatures and session
tokens, ``secret...=value`` pairs.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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


REDACTED = "<redacted>"
_SCRUB = [
    # PEM private keys (also inside JSON strings, where newlines are "\\n").
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----", re.S
    ),
    # JWTs: ServiceAccount tokens, web identity tokens.
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    # Authorization headers (Bearer tokens, SigV4 credentials and signatures).
    re.compile(r"(?i)(authorization\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\"'\n]+"),
    # key=value or "key": "value" pairs whose key names a secret.
    re.compile(
        r"(?i)((?:secret_?access_?key|security[-_]?token|session[-_]?token|x-amz-signature|"
        r"password)\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\s\"',&}\\]+"
    ),
]


def scrub(text: str) -> str:
    """``text`` with anything that looks like a secret replaced by ``<redacted>``."""
    for pattern in _SCRUB:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


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
        return scrub(json.dumps(doc, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{ts} {record.levelname[:4]} {record.name}: {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub(line)


def setup(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
