"""The one redaction function: every text bound for a condition, an Event or a log goes through it.

Two layers, because a secret can reach a message through text nobody wrote
(an SDK's exception quoting a header value, a traceback):

* values the controller *knows* are secret: everything it read from a
  credentials Secret is registered with ``remember_secret`` before any use,
  and any occurrence of it (as is, or as Python's ``repr`` escapes it, e.g.
  ``b'AKIA\\n...'`` in "Invalid header value" errors) is replaced;
* things that are secrets whatever their origin: PEM private keys (also cut
  short, without their END line), JWTs, Authorization headers, AWS
  signatures, session tokens and ``secret...=value`` pairs.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

REDACTED = "<redacted>"

_PATTERNS = [
    # PEM private keys, also truncated (no END line) and inside JSON/repr strings.
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
        re.S,
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
    # "Invalid header value b'...'" (http.client): the value is whatever a Secret held.
    re.compile(
        r"(?i)(invalid header (?:value|name) )(?:b?'(?:[^'\\]|\\.)*'|b?\"(?:[^\"\\]|\\.)*\")"
    ),
]

# Every pattern above needs one of these (lowercase) in ASCII text: a line
# with none of them, the usual log line, is not scanned pattern by pattern.
# Non-ASCII text always is: with IGNORECASE, U+017F matches "s" and U+212A "k".
_TRIGGERS = (
    "-----begin ",
    "eyj",
    "authorization",
    "secret",
    "security",
    "session",
    "x-amz-signature",
    "password",
    "invalid header ",
)

# Shorter values are not remembered: they would redact ordinary words, and no
# AWS credential is that short (they are refused before use anyway).
MIN_REMEMBERED = 8
MAX_REMEMBERED = 1024
_lock = threading.Lock()
_known: OrderedDict[str, None] = OrderedDict()
_known_re: re.Pattern[str] | None = None


def _forms(value: str) -> set[str]:
    forms = {value, repr(value)[1:-1], repr(value.encode("utf-8", "replace"))[2:-1]}
    # A multi-line value (a PEM key) can be quoted one line at a time.
    forms.update(line.strip() for line in value.splitlines())
    return {f for f in forms if len(f) >= MIN_REMEMBERED}


def remember_secret(value: str) -> None:
    """Register ``value`` (read from a credentials Secret) as text never to show."""
    global _known_re
    forms = _forms(value)
    if not forms:
        return
    with _lock:
        changed = False
        for form in forms:
            if form in _known:
                _known.move_to_end(form)
                continue
            _known[form] = None
            changed = True
        while len(_known) > MAX_REMEMBERED:
            _known.popitem(last=False)
        if changed:
            ordered = sorted(_known, key=len, reverse=True)  # longest first
            _known_re = re.compile("|".join(re.escape(k) for k in ordered))


def redact(text: str) -> str:
    """``text`` with every secret in it replaced by ``<redacted>``."""
    known = _known_re
    if known is not None:
        text = known.sub(REDACTED, text)
    if text.isascii():
        low = text.lower()
        if not any(trigger in low for trigger in _TRIGGERS):
            return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text
