"""Go ``time.ParseDuration`` in Python: the one parser for durations users write.

Used for ``spec.notBeforeOffset`` (a ``metav1.Duration`` upstream) and for the
duration flags. Accepts what Go accepts: an optional sign, then one or more
``<decimal number><unit>`` with units ns, us, µs, ms, s, m, h; ``0`` alone.
"""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in ``text`` (``1h30m``, ``-15m``, ``1.5s``, ``0``); ValueError when Go would fail."""
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}")
    s = text
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(s):
        match = _PART.match(s, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match[1]) * _UNITS[match[2]]
        pos = match.end()
    return sign * total
