"""The ``Validity`` parameter of ``IssueCertificate`` from a request's ``spec.duration``.

Like the Go issuer (v1.3 and later), the validity is ``ABSOLUTE``: NotAfter
is *now + duration* in Unix seconds. For whole-day durations this is exactly
what the Go issuer sends, and short durations stay exact (``1h`` gives a
one-hour certificate; PCA's ``DAYS`` type would round it up to a day).
Without ``spec.duration`` the default is 30 days.

``ValidityNotBefore`` is sent as upstream v1.12 sends it: ABSOLUTE, issuance
time minus the issuer's ``notBeforeOffset`` (default 15m), in place of PCA's
own 60-minute backdating, which makes short-lived certificates renew early.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from issuer.errors import PermanentError, Reason

DEFAULT_DURATION_SECONDS = 30 * 24 * 3600


def validity_for(duration_seconds: float | None, *, now: datetime) -> dict[str, Any]:
    """``{"Type": "ABSOLUTE", "Value": <unix seconds of NotAfter>}`` for boto3.

    Fractions of a second round up. A duration that is not positive is a
    PermanentError (reason InvalidDuration).
    """
    seconds = DEFAULT_DURATION_SECONDS if duration_seconds is None else duration_seconds
    if not math.isfinite(seconds) or seconds <= 0:
        raise PermanentError(
            f"spec.duration must be positive, got {duration_seconds} seconds",
            reason=Reason.INVALID_DURATION,
        )
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return {"Type": "ABSOLUTE", "Value": math.floor(now.timestamp()) + math.ceil(seconds)}


def not_before_for(offset_seconds: float, *, now: datetime) -> dict[str, Any]:
    """``{"Type": "ABSOLUTE", "Value": <unix seconds of now - offset>}`` (ValidityNotBefore)."""
    if not math.isfinite(offset_seconds) or offset_seconds < 0:
        raise PermanentError(
            f"notBeforeOffset must not be negative, got {offset_seconds} seconds",
            reason=Reason.INVALID_DURATION,
        )
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return {"Type": "ABSOLUTE", "Value": math.floor(now.timestamp() - offset_seconds)}
