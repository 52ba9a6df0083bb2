"""Condition lists as raw JSON dicts: find, test, set (with transition times), compare.

Works for both shapes the controller writes:

* ``metav1.Condition`` on our issuers (type, status, reason, message,
  lastTransitionTime, observedGeneration);
* cert-manager ``CertificateRequestCondition`` (the same without
  observedGeneration).

Every function is pure: inputs are never mutated, new lists are returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from issuer.observability.redaction import redact

Condition = dict[str, Any]
# Raw lists from the API: items that are not objects are skipped, never trusted.
ConditionsIn = Sequence[object] | None

REASON_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
MAX_MESSAGE_BYTES = 32768
MAX_REASON_LENGTH = 1024
_TRUNCATION_MARK = " ... [truncated]"
_TIME_KEY = "lastTransitionTime"


def format_time(when: datetime) -> str:
    """RFC 3339 in UTC with second precision: ``YYYY-MM-DDTHH:MM:SSZ``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp as written by the API server; None if absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def sanitize_reason(reason: str) -> str:
    """Turn any string into a valid condition reason (CamelCase-ish, API-server accepted).

    Invalid characters are dropped, a leading non-letter is stripped, and a
    trailing ``,`` or ``:`` removed. An empty result becomes ``"Unknown"``.
    """
    reason = str.__str__(reason)  # a plain str, as read back from JSON (not a StrEnum member)
    if REASON_PATTERN.match(reason) and len(reason) <= MAX_REASON_LENGTH:
        return reason
    cleaned = re.sub(r"[^A-Za-z0-9_,:]", "", reason)
    cleaned = re.sub(r"^[^A-Za-z]+", "", cleaned)[:MAX_REASON_LENGTH]
    cleaned = cleaned.rstrip(",:")
    return cleaned if cleaned else "Unknown"


def truncate_message(message: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """Cap ``message`` at ``limit`` UTF-8 bytes without splitting a character."""
    encoded = message.encode("utf-8")
    if len(encoded) <= limit:
        return message
    mark = _TRUNCATION_MARK.encode("utf-8")
    keep = max(limit - len(mark), 0)
    head = encoded[:keep].decode("utf-8", errors="ignore")
    return head + _TRUNCATION_MARK if keep else head


def find_condition(conds: ConditionsIn, type: str) -> Condition | None:
    """The condition of ``type`` (a copy), or None."""
    for cond in conds or ():
        if isinstance(cond, Mapping) and cond.get("type") == type:
            return dict(cond)
    return None


def condition_is(conds: ConditionsIn, type: str, status: str) -> bool:
    """Whether the condition of ``type`` exists with ``status`` ("True"/"False"/"Unknown")."""
    cond = find_condition(conds, type)
    return cond is not None and cond.get("status") == status


def set_condition(
    conds: ConditionsIn,
    *,
    type: str,
    status: str,
    reason: str,
    message: str,
    now: datetime,
    observed_generation: int | None = None,
) -> list[Condition]:
    """Return a new list with the condition of ``type`` set.

    The message goes through ``redact`` (no secret ever reaches a status) and
    is capped at the API server's limit.

    ``lastTransitionTime`` is kept when the status does not change and set to
    ``now`` otherwise. Order of the other conditions is kept; a new condition
    is appended. ``observedGeneration`` is written only when given.
    """
    if status not in ("True", "False", "Unknown"):
        raise ValueError(f"condition status must be True, False or Unknown, not {status!r}")
    new: Condition = {
        "type": type,
        "status": status,
        "reason": sanitize_reason(reason),
        "message": truncate_message(redact(message)),
        _TIME_KEY: format_time(now),
    }
    if observed_generation is not None:
        new["observedGeneration"] = observed_generation
    result: list[Condition] = []
    replaced = False
    for cond in conds or ():
        if not isinstance(cond, Mapping):
            continue  # not a condition: drop it
        if cond.get("type") != type:
            result.append(dict(cond))
            continue
        if replaced:
            continue  # a duplicate of the type: drop it
        if cond.get("status") == status and cond.get(_TIME_KEY):
            new[_TIME_KEY] = cond[_TIME_KEY]
        result.append(new)
        replaced = True
    if not replaced:
        result.append(new)
    return result


def _normalized(conds: ConditionsIn) -> list[tuple[tuple[str, str], ...]]:
    items = []
    for cond in conds or ():
        if not isinstance(cond, Mapping):
            continue
        # JSON, not repr: a value we built (a StrEnum reason) must equal the same value read back
        fields = tuple(
            sorted(
                (k, json.dumps(v, sort_keys=True, default=str))
                for k, v in cond.items()
                if k != _TIME_KEY
            )
        )
        items.append(fields)
    return sorted(items)


def conditions_equal_ignoring_time(a: ConditionsIn, b: ConditionsIn) -> bool:
    """Whether two condition lists say the same thing, ignoring order and transition times."""
    return _normalized(a) == _normalized(b)
