"""Properties of every parser of user input: only the project's own errors, no secret echoed.

Hypothesis generates hostile input for each parser a tenant can reach: issuer
specs, CertificateRequests (spec, annotations, status), CSRs, Go durations,
ARNs, object names and Secret data. Whatever it generates, a parser returns
a value or raises one of ``issuer.errors``' classes (never a KeyError,
TypeError, OverflowError...), messages stay bounded, and a credential value
never comes back out of a message, a condition or a log line.
"""

from __future__ import annotations

import base64
import logging
import os
import string
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from issuer.api import names
from issuer.api.certificaterequest import CertificateRequestView, compact_projection, is_finished
from issuer.api.conditions import set_condition
from issuer.api.issuer import IssuerView, effective_region, parse_ca_arn, validate_issuer_spec
from issuer.controllers.issuer_decision import decide_issuer_health
from issuer.controllers.request_decision import decide_gates
from issuer.errors import IssuerControllerError
from issuer.observability import redaction
from issuer.observability.logging import JSONFormatter
from issuer.observability.redaction import REDACTED, redact, remember_secret
from issuer.signer.credentials import StaticKeys, static_keys_from_secret
from issuer.signer.csr import check_csr
from issuer.signer.templates import select_template
from issuer.signer.validity import validity_for

# `make test` runs the same 200 examples per property every time (no flaky CI);
# PROPERTY_EXAMPLES=5000 explores that many fresh random ones.
PROFILE = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=not os.environ.get("PROPERTY_EXAMPLES"),
    suppress_health_check=[HealthCheck.too_slow],
)
MAX_MESSAGE = 2_000  # what any one message of a parser may hold, whatever the input
NOW = datetime(2026, 1, 1, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture(autouse=True, scope="module")
def _own_redaction_registry() -> Iterator[None]:
    """The random "secrets" remembered here must not redact other modules' text."""
    saved, saved_re = OrderedDict(redaction._known), redaction._known_re
    yield
    redaction._known.clear()
    redaction._known.update(saved)
    redaction._known_re = saved_re


def outcome(fn: Callable[[], T]) -> T | IssuerControllerError:
    """What ``fn`` returns, or the project error it raises; any other exception fails the test."""
    try:
        return fn()
    except IssuerControllerError as err:
        return err


# Any JSON document: what the API server (or a hostile client) can hand us.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
hostile_text = st.one_of(
    st.text(),
    st.text(alphabet=string.printable),
    st.sampled_from(
        ["", "..", "../../x/secrets/y", "a/b", "%2F", "\n", "\x00", "arn:", "x" * 5000, "\u202e"]
    ),
)


def _spec_fields() -> st.SearchStrategy[dict[str, Any]]:
    selector = st.fixed_dictionaries({"key": hostile_text | json_values})
    secret_ref = st.fixed_dictionaries(
        {},
        optional={
            "name": hostile_text,
            "namespace": hostile_text,
            "accessKeyIDSelector": selector | json_values,
            "secretAccessKeySelector": selector,
            "sessionTokenSelector": selector,
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "arn": hostile_text | json_values,
            "region": hostile_text,
            "role": hostile_text,
            "secretRef": secret_ref | json_values,
            "pcaTemplate": st.fixed_dictionaries({"defaultTemplateName": hostile_text})
            | json_values,
        },
    )


def _issuer_objects() -> st.SearchStrategy[Any]:
    meta = st.fixed_dictionaries(
        {},
        optional={
            "name": hostile_text,
            "namespace": hostile_text,
            "generation": st.integers() | json_values,
        },
    )
    return json_values | st.fixed_dictionaries(
        {"metadata": meta, "spec": _spec_fields()}, optional={"status": json_values}
    )


@PROFILE
@given(obj=_issuer_objects(), cluster=st.booleans(), default_region=st.none() | hostile_text)
def test_issuer_spec_parsing_and_validation(obj: Any, cluster: bool, default_region: Any) -> None:
    kind = names.CLUSTER_ISSUER_KIND if cluster else names.ISSUER_KIND
    if not isinstance(obj, dict):
        obj = {"spec": obj}
    view = IssuerView.from_obj(obj, kind)
    problems = validate_issuer_spec(view, default_region=default_region)
    effective_region(view, default_region=default_region)
    status, reason, message = decide_issuer_health(
        view, problems=problems, ca_status=None, error=None, secret_namespace="ns"
    )
    for problem in problems:
        assert len(problem) < MAX_MESSAGE, problem[:200]
    assert status in ("True", "False")
    assert reason
    assert message


def _request_objects() -> st.SearchStrategy[Any]:
    spec = st.fixed_dictionaries(
        {},
        optional={
            "request": hostile_text | json_values,
            "duration": hostile_text | json_values,
            "usages": st.lists(hostile_text) | json_values,
            "isCA": json_values,
            "issuerRef": st.fixed_dictionaries(
                {},
                optional={
                    "group": st.sampled_from([names.GROUP, "", "cert-manager.io"]) | hostile_text,
                    "kind": st.sampled_from(names.KINDS) | hostile_text,
                    "name": hostile_text,
                },
            )
            | json_values,
        },
    )
    meta = st.fixed_dictionaries(
        {},
        optional={
            "name": hostile_text,
            "namespace": hostile_text,
            "uid": hostile_text,
            "creationTimestamp": hostile_text,
            "annotations": st.dictionaries(
                st.sampled_from([names.CERT_ARN_ANNOTATION, "x"]), hostile_text | json_values
            )
            | json_values,
        },
    )
    status = st.fixed_dictionaries(
        {},
        optional={
            "conditions": st.lists(json_values) | json_values,
            "certificate": json_values,
            "failureTime": hostile_text,
        },
    )
    return json_values | st.fixed_dictionaries({"metadata": meta, "spec": spec, "status": status})


@PROFILE
@given(obj=_request_objects(), approval=st.booleans())
def test_request_parsing(obj: Any, approval: bool) -> None:
    if not isinstance(obj, dict):
        obj = {"spec": obj}
    view = CertificateRequestView.from_obj(obj)
    compact = compact_projection(obj)
    assert CertificateRequestView.from_obj(compact).key == view.key
    is_finished(obj)
    decide_gates(view, approval_check=approval)
    validity = outcome(lambda: validity_for(view.requested_duration(), now=NOW))
    template = outcome(
        lambda: select_template(
            default_template_name=None,
            is_ca=view.is_ca,
            usages=view.usages,
            ca_arn="arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
        )
    )
    csr = outcome(lambda: check_csr(view.csr_pem))
    for result in (validity, template, csr):
        if isinstance(result, IssuerControllerError):
            assert len(result.message) < MAX_MESSAGE


PEM_HEAD = b"-----BEGIN CERTIFICATE REQUEST-----\n"
PEM_TAIL = b"\n-----END CERTIFICATE REQUEST-----\n"


@PROFILE
@given(
    body=st.binary(max_size=2048),
    wrap=st.sampled_from(["raw", "pem", "b64pem"]),
)
def test_csr_parsing(body: bytes, wrap: str) -> None:
    if wrap == "pem":
        data = PEM_HEAD + body + PEM_TAIL
    elif wrap == "b64pem":
        data = PEM_HEAD + base64.encodebytes(body) + PEM_TAIL
    else:
        data = body
    result = outcome(lambda: check_csr(data))
    if isinstance(result, IssuerControllerError):
        assert result.reason in ("MalformedCSR", "UnsupportedKey")
        assert len(result.message) < MAX_MESSAGE


units = st.sampled_from(["ns", "us", "\u00b5s", "ms", "s", "m", "h"])


@PROFILE
@given(text=hostile_text | st.from_regex(r"[+-]?(\d{0,25}(\.\d{0,12})?(ns|us|ms|s|m|h)){1,4}"))
def test_durations_parse_or_say_why(text: str) -> None:
    seconds = outcome(lambda: names.parse_go_duration(text))
    if isinstance(seconds, IssuerControllerError):
        assert isinstance(seconds, names.InvalidDuration)
        assert len(seconds.message) < 400
    else:
        assert abs(seconds) <= (2**63) / 1e9


@PROFILE
@given(parts=st.lists(st.tuples(st.integers(0, 10_000), units), min_size=1, max_size=4))
def test_durations_add_up(parts: list[tuple[int, str]]) -> None:
    per_unit = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    text = "".join(f"{n}{u}" for n, u in parts)
    expected = sum(n * per_unit[u] for n, u in parts)
    assert abs(names.parse_go_duration(text) - expected) <= 1e-9 * len(parts) + expected * 1e-12


@PROFILE
@given(arn=hostile_text)
def test_arn_parsing(arn: str) -> None:
    ca = outcome(lambda: parse_ca_arn(arn))
    if isinstance(ca, IssuerControllerError):
        assert ca.reason == "InvalidArn"
        assert len(ca.message) < MAX_MESSAGE
    else:
        assert ca.arn == arn.strip()


@PROFILE
@given(namespace=hostile_text, name=hostile_text)
def test_paths_hold_exactly_the_names_they_were_given(namespace: str, name: str) -> None:
    path = outcome(lambda: names.secret_path(namespace, name))
    if isinstance(path, IssuerControllerError):
        assert isinstance(path, names.InvalidName)
        assert len(path.message) < 400
        return
    segments = path.split("/")
    assert segments[:4] == ["", "api", "v1", "namespaces"]
    assert [unquote(s) for s in segments[4:]] == [namespace, "secrets", name]
    assert not ({"..", "."} & set(segments))
    assert not (set("?#%\\") & set(path))


def _secret_value() -> st.SearchStrategy[str]:
    # A marker no message template contains, somewhere in arbitrary text.
    return st.tuples(st.text(max_size=40), st.text(max_size=40)).map(
        lambda t: f"{t[0]}Zq9!Secret{t[1]}"
    )


@PROFILE
@given(
    values=st.dictionaries(
        st.sampled_from(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "k"]),
        _secret_value(),
    ),
    raw=st.dictionaries(st.text(max_size=10), json_values, max_size=3),
)
def test_secret_data_is_refused_without_echoing_it(values: dict[str, str], raw: Any) -> None:
    data: dict[str, Any] = dict(raw)
    data.update({k: base64.b64encode(v.encode()).decode() for k, v in values.items()})
    keys = outcome(
        lambda: static_keys_from_secret(
            data,
            access_key_id_key="AWS_ACCESS_KEY_ID",
            secret_access_key_key="AWS_SECRET_ACCESS_KEY",
            session_token_key="AWS_SESSION_TOKEN",
            where="ns/aws",
        )
    )
    if isinstance(keys, IssuerControllerError):
        assert keys.reason == "CredentialsError"
        assert "Zq9!Secret" not in keys.message
    else:
        assert isinstance(keys, StaticKeys)
        assert "Zq9!Secret" not in repr(keys)


@PROFILE
@given(
    secret=st.text(alphabet=string.printable + "\u00e9\u2028", min_size=8, max_size=60),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_a_remembered_secret_never_comes_back_out(secret: str, before: str, after: str) -> None:
    assume(secret.strip() == secret and secret not in REDACTED and len(secret) >= 8)
    assume(not any(c in secret for c in "<>"))
    remember_secret(secret)
    said = f"{before}{secret}{after} / {secret!r} / {secret.encode()!r}"
    assert secret not in redact(said)
    condition = set_condition(
        None, type="Ready", status="False", reason="X", message=said, now=NOW
    )[0]
    assert secret not in condition["message"]
    record = logging.makeLogRecord({"msg": "failed: %s", "args": (said,), "levelno": 40})
    assert secret not in JSONFormatter().format(record)


_SECRETISH = [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----MIIEcut",
    "eyJhbGciOi.eyJzdWIiOi.c2ln",
    "Authorization: Bearer abc.def",
    "AUTHORIZATION=AWS4-HMAC-SHA256 Credential=AKIA/x",
    "aws_secret_access_key=wJalr",
    "SecretAccessKey: 'abc'",
    "X-Amz-Security-Token=FQoG",
    "session_token=abcdef",
    "X-Amz-Signature=0123abcd",
    "PASSWORD=hunter22",
    "Invalid header value b'AKIA\\nxyz'",
    "invalid header name 'x y'",
]


@PROFILE
@given(
    parts=st.lists(st.one_of(st.sampled_from(_SECRETISH), st.text(max_size=20)), max_size=6),
    upper=st.booleans(),
)
def test_redact_skips_only_text_no_pattern_can_match(parts: list[str], upper: bool) -> None:
    """Skipping the patterns for text without a trigger word changes nothing."""
    text = " ".join(p.upper() if upper else p for p in parts)
    expected = text if redaction._known_re is None else redaction._known_re.sub(REDACTED, text)
    for pattern in redaction._PATTERNS:
        expected = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, expected)
    assert redact(text) == expected
