"""Idempotency token and the IssueCertificate Validity parameter."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from issuer.errors import PermanentError
from issuer.signer.token import idempotency_token
from issuer.signer.validity import DEFAULT_DURATION_SECONDS, validity_for

CSR_A = b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
CSR_B = CSR_A.replace(b"AAAA", b"AAAB")


@pytest.mark.parametrize(
    ("uid", "csr"),
    [("", b""), ("4f1e7c2a-0000-4000-8000-000000000000", CSR_A), ("u" * 500, CSR_B * 100)],
)
def test_token_shape_and_determinism(uid: str, csr: bytes) -> None:
    token = idempotency_token(uid, csr)
    assert len(token) == 36
    assert re.fullmatch(r"[0-9a-f]{36}", token)
    assert idempotency_token(uid, csr) == token


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("uid-1", CSR_A), ("uid-2", CSR_A)),  # recreated request, same CSR
        (("uid-1", CSR_A), ("uid-1", CSR_B)),  # same request, new CSR
        (("ab", b"c"), ("a", b"bc")),  # the separator matters
    ],
)
def test_token_sensitivity(a: tuple[str, bytes], b: tuple[str, bytes]) -> None:
    assert idempotency_token(*a) != idempotency_token(*b)


NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
NOW_S = math.floor(NOW.timestamp())


@pytest.mark.parametrize(
    ("duration", "expected_seconds"),
    [
        (None, 30 * 86400),
        (3600.0, 3600),  # 1h is 1h, not a day
        (90.0, 90),
        (86400.0, 86400),
        (720 * 3600.0, 720 * 3600),
        (2160 * 3600.0, 2160 * 3600),
        (0.5, 1),  # fractions round up
        (3600.2, 3601),
    ],
)
def test_validity(duration: float | None, expected_seconds: int) -> None:
    assert validity_for(duration, now=NOW) == {
        "Type": "ABSOLUTE",
        "Value": NOW_S + expected_seconds,
    }


def test_validity_default_is_thirty_days() -> None:
    assert DEFAULT_DURATION_SECONDS == 30 * 24 * 3600


def test_validity_is_independent_of_now_timezone() -> None:
    other = NOW.astimezone(timezone(timedelta(hours=-7)))
    assert validity_for(3600.0, now=other) == validity_for(3600.0, now=NOW)


@pytest.mark.parametrize("duration", [0.0, -1.0, float("nan"), float("inf")])
def test_validity_rejects(duration: float) -> None:
    with pytest.raises(PermanentError) as info:
        validity_for(duration, now=NOW)
    assert info.value.reason == "InvalidDuration"


def test_validity_needs_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone"):
        validity_for(None, now=datetime(2026, 1, 1))
