"""The IssueCertificate `Validity` structure -> certificate NotBefore/NotAfter.

Types ABSOLUTE (unix seconds), END_DATE (YYYYMMDDHHMMSS or YYMMDDHHMMSS), DAYS,
MONTHS, YEARS. NotBefore is backdated 60 minutes, as the service does,
unless the optional ``ValidityNotBefore`` says otherwise: an explicit date
(ABSOLUTE or END_DATE; relative types are refused), which must come before
NotAfter. A NotAfter past the issuing CA's NotAfter, or already past, is a
``ValidationException``.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ApiError

BACKDATE = timedelta(minutes=60)


def _add_months(t: datetime, months: int) -> datetime:
    month0 = t.month - 1 + months
    year = t.year + month0 // 12
    month = month0 % 12 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)


def _end_date(value: int) -> datetime:
    text = str(value)
    try:
        if len(text) == 14:
            return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        if len(text) == 12:
            yy = int(text[:2])
            century = "19" if yy >= 50 else "20"
            return datetime.strptime(century + text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise ApiError("InvalidArgsException", f"END_DATE validity value not valid: {value}")


def not_after(validity: Any, now: datetime) -> datetime:
    """NotAfter for a Validity structure, relative to `now`."""
    if not isinstance(validity, dict):
        raise ApiError("InvalidArgsException", "Validity must be a structure.")
    kind = validity.get("Type")
    value = validity.get("Value")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ApiError("InvalidArgsException", f"Validity value not valid: {value!r}")
    try:
        if kind == "ABSOLUTE":
            return datetime.fromtimestamp(value, UTC)
        if kind == "END_DATE":
            return _end_date(value)
        if kind == "DAYS":
            return now + timedelta(days=value)
        if kind == "MONTHS":
            return _add_months(now, value)
        if kind == "YEARS":
            return _add_months(now, 12 * value)
    except (OverflowError, ValueError) as exc:
        raise ApiError("ValidationException", f"Validity out of range: {value}") from exc
    raise ApiError("InvalidArgsException", f"Validity type not valid: {kind!r}")


def not_before(validity_not_before: Any, now: datetime) -> datetime:
    """NotBefore from the optional ``ValidityNotBefore``; absent: now - 60 minutes."""
    if validity_not_before is None:
        return (now - BACKDATE).replace(microsecond=0)
    if isinstance(validity_not_before, dict) and validity_not_before.get("Type") not in (
        "ABSOLUTE",
        "END_DATE",
    ):
        raise ApiError(
            "ValidationException",
            "ValidityNotBefore must be an explicit date and time (Type ABSOLUTE or END_DATE).",
        )
    return not_after(validity_not_before, now).replace(microsecond=0)


def validity_window(
    validity: Any,
    now: datetime,
    ca_not_after: datetime | None,
    validity_not_before: Any = None,
) -> tuple[datetime, datetime]:
    """(NotBefore, NotAfter) for a certificate issued now under a CA valid until ca_not_after."""
    end = not_after(validity, now).replace(microsecond=0)
    if end <= now:
        raise ApiError("ValidationException", "The certificate validity ends in the past.")
    if ca_not_after is not None and end > ca_not_after:
        raise ApiError(
            "ValidationException",
            f"The certificate validity specified exceeds the certificate authority "
            f"validity (NotAfter {ca_not_after.isoformat()}).",
        )
    start = not_before(validity_not_before, now)
    if start >= end:
        raise ApiError(
            "ValidationException", "ValidityNotBefore must be earlier than the Validity end."
        )
    return start, end
