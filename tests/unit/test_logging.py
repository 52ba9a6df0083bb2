"""Structured logs: JSON and text lines, reconcile context on every line, secrets never logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from issuer.observability import logging as obslog
from issuer.observability.logging import JSONFormatter, TextFormatter, reconcile_context
from issuer.observability.redaction import redact

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXZhbHVl"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION = "FwoGZXIvYXdzEJr//////////wEaDGV4YW1wbGUtc2Vzc2lvbg=="
PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIExampleKeyBody\n-----END EC PRIVATE KEY-----"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("unit.logging")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream, handler
    logger.handlers.clear()
    logger.propagate = True


def lines(stream: io.StringIO) -> list[str]:
    return [ln for ln in stream.getvalue().splitlines() if ln]


def test_json_lines_carry_the_reconcile_key_and_id_inside_the_context(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = capture
    handler.setFormatter(JSONFormatter())
    logger.info("outside")
    with reconcile_context(controller="certificaterequest", key="ns/req", reconcile_id="abc123"):
        logger.info("inside", extra={"certificate_arn": "arn:cert/1"})
        with reconcile_context(step="poll"):
            logger.debug("nested")
    logger.info("after")
    outside, inside, nested, after = (json.loads(ln) for ln in lines(stream))
    for doc in (outside, after):
        assert "key" not in doc
        assert "reconcile_id" not in doc
    assert inside["key"] == "ns/req"
    assert inside["reconcile_id"] == "abc123"
    assert inside["controller"] == "certificaterequest"
    assert inside["certificate_arn"] == "arn:cert/1"
    assert inside["level"] == "info"
    assert inside["msg"] == "inside"
    assert inside["logger"] == "unit.logging"
    assert inside["ts"].endswith("+00:00")
    assert nested["step"] == "poll"
    assert nested["key"] == "ns/req"
    assert nested["level"] == "debug"


def test_text_lines_carry_the_same_fields(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = capture
    handler.setFormatter(TextFormatter())
    with reconcile_context(controller="issuer", key="AWSPCAClusterIssuer/pca", reconcile_id="r1"):
        logger.warning("issuer condition", extra={"ready": "False"})
    (line,) = lines(stream)
    assert " WARN unit.logging: issuer condition " in line
    assert "key=AWSPCAClusterIssuer/pca" in line
    assert "reconcile_id=r1" in line
    assert "ready=False" in line


@pytest.mark.parametrize("formatter", [JSONFormatter(), TextFormatter()])
def test_fields_named_like_secrets_are_redacted(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler], formatter: logging.Formatter
) -> None:
    logger, stream, handler = capture
    handler.setFormatter(formatter)
    logger.info(
        "credentials loaded",
        extra={
            "secret_access_key": "not-a-pattern-value-1",
            "session_token": "not-a-pattern-value-2",
            "password": "not-a-pattern-value-3",
            "private_key": "not-a-pattern-value-4",
            "secret_name": "aws-creds",
        },
    )
    text = stream.getvalue()
    for i in range(1, 5):
        assert f"not-a-pattern-value-{i}" not in text
    assert "aws-creds" in text
    assert "<redacted>" in text


@pytest.mark.parametrize("formatter", [JSONFormatter(), TextFormatter()])
def test_secrets_in_messages_and_tracebacks_are_scrubbed(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler], formatter: logging.Formatter
) -> None:
    logger, stream, handler = capture
    handler.setFormatter(formatter)
    logger.info("token file says %s", JWT)
    logger.info("headers %s", {"Authorization": f"Bearer {JWT}", "X-Amz-Security-Token": SESSION})
    logger.info("env aws_secret_access_key=%s next", SECRET_KEY)
    logger.info("key %s", PEM)
    logger.info("detail", extra={"error": f'{{"SecretAccessKey": "{SECRET_KEY}"}}'})
    try:
        raise RuntimeError(f"boom SessionToken={SESSION} Authorization: AWS4-HMAC-SHA256 sig")
    except RuntimeError:
        logger.exception("failed")
    text = stream.getvalue()
    for secret in (JWT, SECRET_KEY, SESSION, "ExampleKeyBody", "AWS4-HMAC-SHA256 sig"):
        assert secret not in text
    assert text.count("<redacted>") >= 7
    assert "next" in text
    assert "boom" in text


def test_redact_leaves_ordinary_text_alone() -> None:
    text = (
        "certificate issued certificate_arn=arn:aws:acm-pca:us-east-1:123456789012:"
        "certificate-authority/abc/certificate/def key=ns/name reason=Throttled "
        "secret_name=aws-creds token_file=/var/run/token"
    )
    assert redact(text) == text


def test_setup_selects_format_and_level() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        obslog.setup("debug", "text")
        assert isinstance(root.handlers[0].formatter, TextFormatter)
        assert root.level == logging.DEBUG
        assert logging.getLogger("botocore").level == logging.WARNING
        obslog.setup("warning", "json")
        assert isinstance(root.handlers[0].formatter, JSONFormatter)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_redact_hides_header_errors_and_truncated_keys() -> None:
    said = "Invalid header value b'AKIA\\nsomething-secret' for Authorization"
    assert "something-secret" not in redact(said)
    cut = "key -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAcutshort"
    assert "MIIEowIBAAKCAQEAcutshort" not in redact(cut)
