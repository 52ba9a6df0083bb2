"""Static keys from a Secret: checked before use, refused naming the key, never the value."""

from __future__ import annotations

import base64

import botocore.session
import pytest

from issuer.errors import IssuerError
from issuer.observability.redaction import redact
from issuer.signer.credentials import StaticKeys, static_keys_from_secret

KEY_ID = "AKIAEXAMPLE000000001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUnitTestOnlyKeyBody\n"
    "hRANCAAQfakefakefakefakefakefakefakefakefakefakefakefakefakefakefak\n"
    "-----END PRIVATE KEY-----\n"
)


def _data(**values: str) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def _keys(data: dict[str, str], id_key: str = "AWS_ACCESS_KEY_ID") -> StaticKeys:
    return static_keys_from_secret(
        data,
        access_key_id_key=id_key,
        secret_access_key_key="AWS_SECRET_ACCESS_KEY",
        session_token_key="AWS_SESSION_TOKEN",
        where="team-a/aws",
    )


def test_good_keys_pass_and_a_trailing_newline_is_forgiven() -> None:
    keys = _keys(
        _data(
            AWS_ACCESS_KEY_ID=KEY_ID + "\n", AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN="t0k"
        )
    )
    assert (keys.access_key_id, keys.secret_access_key, keys.session_token) == (
        KEY_ID,
        SECRET,
        "t0k",
    )
    assert KEY_ID not in repr(keys)
    assert SECRET not in repr(keys)


@pytest.mark.parametrize(
    ("values", "id_key", "fragment"),
    [
        (
            {"AWS_ACCESS_KEY_ID": "AKIA\nINJECTED0000000", "AWS_SECRET_ACCESS_KEY": SECRET},
            "AWS_ACCESS_KEY_ID",
            "key AWS_ACCESS_KEY_ID contains a line break",
        ),
        (
            {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "abc\ndef-secret-value"},
            "AWS_ACCESS_KEY_ID",
            "key AWS_SECRET_ACCESS_KEY contains a line break",
        ),
        (
            {"tls.key": PEM, "AWS_SECRET_ACCESS_KEY": SECRET},
            "tls.key",
            "key tls.key contains a line break",
        ),
        (
            {"AWS_ACCESS_KEY_ID": "short", "AWS_SECRET_ACCESS_KEY": SECRET},
            "AWS_ACCESS_KEY_ID",
            "is not an AWS access key ID",
        ),
        (
            {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "sp ace-secret-value"},
            "AWS_ACCESS_KEY_ID",
            "contains white space",
        ),
        (
            {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "caf\u00e9-secret-value"},
            "AWS_ACCESS_KEY_ID",
            "non-ASCII",
        ),
        (
            {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "ctl\x01-secret-value"},
            "AWS_ACCESS_KEY_ID",
            "control characters",
        ),
        (
            {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "x" * 129},
            "AWS_ACCESS_KEY_ID",
            "longer than 128",
        ),
        (
            {
                "AWS_ACCESS_KEY_ID": KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET,
                "AWS_SESSION_TOKEN": "tok\nen-value-123",
            },
            "AWS_ACCESS_KEY_ID",
            "key AWS_SESSION_TOKEN contains a line break",
        ),
        (
            {"AWS_SECRET_ACCESS_KEY": SECRET},
            "AWS_ACCESS_KEY_ID",
            "key AWS_ACCESS_KEY_ID is missing",
        ),
    ],
)
def test_unusable_values_are_refused_naming_the_key_never_the_value(
    values: dict[str, str], id_key: str, fragment: str
) -> None:
    with pytest.raises(IssuerError) as refused:
        _keys(_data(**values), id_key)
    err = refused.value
    assert err.reason == "CredentialsError"
    assert fragment in err.message
    assert "team-a/aws" in err.message
    for value in values.values():
        for part in value.splitlines():
            if len(part) >= 4:
                assert part not in err.message


def test_every_value_read_is_redacted_afterwards_even_as_an_sdk_quotes_it() -> None:
    token = "FQoGZXIvYXdzEOnlyInThisTest\nSecondLineOfToken99"
    with pytest.raises(IssuerError):
        _keys(
            _data(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=token)
        )
    # What http.client says when such a value reaches a header:
    said = f"Invalid header value {token.encode()!r} while signing; raw {token}"
    out = redact(said)
    assert "FQoGZXIvYXdzEOnlyInThisTest" not in out
    assert "SecondLineOfToken99" not in out
    assert "<redacted>" in out


def test_a_valid_key_works_with_botocore_unchanged() -> None:
    keys = _keys(_data(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET))
    client = botocore.session.get_session().create_client(
        "acm-pca",
        region_name="us-east-1",
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
    )
    assert client.meta.region_name == "us-east-1"
