"""Unit tests of the emulator's pure parts: validity, SigV4 (against botocore's
signer), JWT verification, token buckets, fault decisions."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from awspca_emulator import EmulatorConfig, FaultConfig
from awspca_emulator.errors import ApiError
from awspca_emulator.faults import FaultInjector
from awspca_emulator.identity import CredentialStore
from awspca_emulator.jwt_verify import (
    TokenError,
    check_claims,
    decode_unverified,
    select_key,
    verify_signature,
)
from awspca_emulator.sigv4 import AuthError, verify
from awspca_emulator.throttle import Throttler
from awspca_emulator.validity import validity_window
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from multidict import CIMultiDict

NOW = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        ({"Type": "MONTHS", "Value": 1}, datetime(2026, 2, 28, 12, 0, tzinfo=UTC)),
        ({"Type": "YEARS", "Value": 2}, datetime(2028, 1, 31, 12, 0, tzinfo=UTC)),
        (
            {"Type": "END_DATE", "Value": 491231235959},
            datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
        ),
        ({"Type": "END_DATE", "Value": 20300101000000}, datetime(2030, 1, 1, tzinfo=UTC)),
    ],
)
def test_validity(validity: dict[str, object], expected: datetime) -> None:
    start, end = validity_window(validity, NOW, None)
    assert end == expected
    assert start == datetime(2026, 1, 31, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("validity", "code"),
    [
        ({"Type": "END_DATE", "Value": 501231235959}, "ValidationException"),  # 1950: in the past
        ({"Type": "WEEKS", "Value": 1}, "InvalidArgsException"),
        ({"Type": "DAYS", "Value": 0}, "InvalidArgsException"),
        ({"Type": "END_DATE", "Value": 123}, "InvalidArgsException"),
        ({"Type": "YEARS", "Value": 11}, "ValidationException"),  # beyond the CA
    ],
)
def test_validity_errors(validity: dict[str, object], code: str) -> None:
    with pytest.raises(ApiError) as exc:
        validity_window(validity, NOW, datetime(2036, 1, 1, tzinfo=UTC))
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("not_before", "expected"),
    [
        (None, datetime(2026, 1, 31, 11, 0, tzinfo=UTC)),  # PCA's own 60-minute backdating
        (
            {"Type": "ABSOLUTE", "Value": int(NOW.timestamp()) - 900},
            datetime(2026, 1, 31, 11, 45, tzinfo=UTC),
        ),
        ({"Type": "ABSOLUTE", "Value": int(NOW.timestamp())}, NOW),
        ({"Type": "END_DATE", "Value": 20260131100000}, datetime(2026, 1, 31, 10, 0, tzinfo=UTC)),
    ],
)
def test_validity_not_before(not_before: dict[str, object] | None, expected: datetime) -> None:
    start, end = validity_window({"Type": "DAYS", "Value": 1}, NOW, None, not_before)
    assert (start, end) == (expected, NOW + timedelta(days=1))


@pytest.mark.parametrize(
    ("not_before", "code"),
    [
        ({"Type": "DAYS", "Value": 1}, "ValidationException"),  # relative: not a start date
        ({"Type": "ABSOLUTE", "Value": int(NOW.timestamp()) + 2 * 86400}, "ValidationException"),
        ({"Type": "ABSOLUTE", "Value": 0}, "InvalidArgsException"),
        ("soon", "InvalidArgsException"),
    ],
)
def test_validity_not_before_errors(not_before: object, code: str) -> None:
    with pytest.raises(ApiError) as exc:
        validity_window({"Type": "DAYS", "Value": 1}, NOW, None, not_before)
    assert exc.value.code == code


def _signed(service: str = "acm-pca", secret: str = "s3cr3t") -> AWSRequest:  # noqa: S107
    req = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/some/path?b=2&a=1&a=0&x=%2F",
        data=b'{"hello": "world"}',
        headers={
            "X-Amz-Target": "ACMPrivateCA.ListCertificateAuthorities",
            "X-Custom": "  a   b  ",
        },
    )
    SigV4Auth(Credentials("AKIDUNITTEST", secret), service, "eu-west-1").add_auth(req)
    return req


def _verify(req: AWSRequest, body: bytes | None = None, service: str | None = "acm-pca") -> str:
    store = CredentialStore(EmulatorConfig(access_keys={"AKIDUNITTEST": "s3cr3t"}))
    path, _, query = str(req.url).split("127.0.0.1:4566", 1)[1].partition("?")
    headers = CIMultiDict({k: str(v) for k, v in req.headers.items()})
    headers["Host"] = "127.0.0.1:4566"
    auth = verify(
        method="POST",
        raw_path=path,
        raw_query=query,
        headers=headers,
        body=req.body if body is None else body,  # type: ignore[arg-type]
        store=store,
        now=time.time(),
        max_skew=900,
        service=service,
    )
    return auth.region


def test_sigv4_matches_botocore() -> None:
    assert _verify(_signed()) == "eu-west-1"


@pytest.mark.parametrize(
    ("req_kw", "body", "service", "kind"),
    [
        ({}, b"{}", "acm-pca", "bad_signature"),
        ({"secret": "other"}, None, "acm-pca", "bad_signature"),
        ({"service": "sts"}, None, "acm-pca", "bad_signature"),
    ],
    ids=["tampered-body", "wrong-secret", "wrong-service-scope"],
)
def test_sigv4_failures(
    req_kw: dict[str, str], body: bytes | None, service: str, kind: str
) -> None:
    with pytest.raises(AuthError) as exc:
        _verify(_signed(**req_kw), body, service)
    assert exc.value.kind == kind


def test_jwt_es384_and_refused_algorithms() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "k"}
    claims = {"iss": "i", "aud": ["x", "sts.amazonaws.com"], "sub": "s", "exp": time.time() + 60}
    token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k"})
    header, got, signing_input, sig = decode_unverified(token)
    found = select_key(header, {"keys": [jwk]})
    assert found is not None
    verify_signature(header, found, signing_input, sig)
    check_claims(got, issuer="i", audience="sts.amazonaws.com")
    hs = jwt.encode(
        claims, "shared-secret-of-at-least-32-bytes!!", algorithm="HS256", headers={"kid": "k"}
    )
    header, _, signing_input, sig = decode_unverified(hs)
    with pytest.raises(TokenError):
        verify_signature(header, jwk, signing_input, sig)
    with pytest.raises(TokenError):
        verify_signature({"alg": "none"}, jwk, signing_input, b"")


def test_token_bucket() -> None:
    now = [0.0]
    t = Throttler(EmulatorConfig(throttle_rates={"Op": 2}), clock=lambda: now[0])
    assert [t.allow("Op", "a", "r") for _ in range(3)] == [True, True, False]
    assert t.allow("Op", "a", "other-region")  # per account+region
    now[0] += 0.5
    assert t.allow("Op", "a", "r")
    assert not t.allow("Op", "a", "r")
    t.config.throttling_enabled = False
    assert all(t.allow("Op", "a", "r") for _ in range(10))


def test_fail_next_then_healthy() -> None:
    f = FaultInjector(EmulatorConfig())
    f.set("Op", FaultConfig(fail_next=1, fail_next_code="InternalFailure"))
    first = f.decide("Op").error
    assert first is not None
    assert (first.code, first.status) == ("InternalFailure", 500)
    assert f.decide("Op").error is None
    assert f.decide("Other").error is None
