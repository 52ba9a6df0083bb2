"""The API's names: object-name validation, the one path builder, typed keys, Go durations."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from issuer.api import names
from issuer.api.names import (
    CLUSTER_ISSUER_KIND,
    ISSUER_KIND,
    InvalidName,
    IssuerKey,
    RequestKey,
    parse_go_duration,
)
from issuer.errors import PermanentError

HOSTILE = [
    "../../tenant-a/secrets/aws",
    "aws/../../x",
    "..",
    ".",
    "",
    "a/b",
    "aws?watch=true",
    "aws#frag",
    "..%2F..%2Fx",
    "AWS",
    "aws ",
    "-aws",
    "aws-",
    "a" * 254,
    "a\nb",
    "\u0430ws",  # Cyrillic a
]


@pytest.mark.parametrize("bad", HOSTILE)
def test_every_path_refuses_what_is_not_an_object_name(bad: str) -> None:
    builders: list[Callable[[], str]] = [
        lambda: names.secret_path("ns", bad),
        lambda: names.secret_path(bad, "aws"),
        lambda: names.request_path(bad, "r"),
        lambda: names.request_path("ns", bad),
        lambda: names.issuer_path(ISSUER_KIND, "ns", bad),
        lambda: names.issuer_path(ISSUER_KIND, bad, "pca"),
        lambda: names.issuer_path(CLUSTER_ISSUER_KIND, "", bad),
        lambda: names.lease_path(bad),
        lambda: names.lease_path("ns", bad),
        lambda: names.events_path(bad),
        lambda: names.secrets_path(bad),
        lambda: names.service_account_token_path("ns", bad),
    ]
    for build in builders:
        with pytest.raises(InvalidName) as refused:
            build()
        assert isinstance(refused.value, PermanentError)
        assert len(refused.value.message) < 400  # a 254-character name is not echoed whole


def test_paths_of_valid_names() -> None:
    assert names.secret_path("ns", "aws.creds") == "/api/v1/namespaces/ns/secrets/aws.creds"
    assert names.events_path("ns") == "/api/v1/namespaces/ns/events"
    assert names.secrets_path("ns") == "/api/v1/namespaces/ns/secrets"
    assert (
        names.service_account_token_path("ns", "sa")
        == "/api/v1/namespaces/ns/serviceaccounts/sa/token"
    )
    assert names.lease_path("ns", "l") == "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l"
    assert (
        names.issuer_path(ISSUER_KIND, "ns", "pca", status=True)
        == "/apis/awspca.cert-manager.io/v1beta1/namespaces/ns/awspcaissuers/pca/status"
    )
    # A cluster issuer has no namespace in its path, whatever the caller passes.
    assert (
        names.issuer_path(CLUSTER_ISSUER_KIND, "ignored", "pca")
        == "/apis/awspca.cert-manager.io/v1beta1/awspcaclusterissuers/pca"
    )
    assert (
        names.request_path("ns", "r")
        == "/apis/cert-manager.io/v1/namespaces/ns/certificaterequests/r"
    )
    assert names.requests_path() == "/apis/cert-manager.io/v1/certificaterequests"
    assert names.issuers_path(ISSUER_KIND) == "/apis/awspca.cert-manager.io/v1beta1/awspcaissuers"


def test_namespaces_are_labels_not_subdomains() -> None:
    assert names.name_problem("a.b", what="x") is None
    assert names.name_problem("a.b", what="x", label=True) is not None
    assert names.name_problem("a" * 63, what="x", label=True) is None
    assert names.name_problem("a" * 64, what="x", label=True) is not None


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(InvalidName, match="unknown issuer kind"):
        names.issuer_path("Issuer", "ns", "pca")


def test_keys_round_trip() -> None:
    for key in (IssuerKey(ISSUER_KIND, "a", "b"), IssuerKey(CLUSTER_ISSUER_KIND, "", "c")):
        assert IssuerKey.parse(str(key)) == key
    assert str(IssuerKey(CLUSTER_ISSUER_KIND, "", "c")) == "AWSPCAClusterIssuer/c"
    assert RequestKey.parse("ns/r") == RequestKey("ns", "r")
    assert str(RequestKey("ns", "r")) == "ns/r"


def test_a_cluster_issuer_is_named_without_a_namespace() -> None:
    # What a human reads in "... not found": never the request's namespace.
    assert IssuerKey(CLUSTER_ISSUER_KIND, "", "pca").where == "pca"
    assert IssuerKey(ISSUER_KIND, "ns", "pca").where == "ns/pca"
    assert len(IssuerKey(CLUSTER_ISSUER_KIND, "", "x" * 60_000).where) < 100


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("720h0m0s", 720 * 3600),
        ("1h30m", 5400),
        ("90s", 90),
        ("1.5h", 5400),
        ("2h45m30.5s", 2 * 3600 + 45 * 60 + 30.5),
        ("500ms", 0.5),
        ("1000us", 0.001),
        ("1000\u00b5s", 0.001),
        ("1000\u03bcs", 0.001),
        ("1000000ns", 0.001),
        ("0", 0),
        ("-0", 0),
        ("0s", 0),
        ("-1h", -3600),
        ("+5m", 300),
        (".5s", 0.5),
        ("1.s", 1),
        ("2562047h47m16.854775807s", (2**63 - 1) / 1e9),
        ("-2562047h47m16.854775808s", -(2**63) / 1e9),
        ("0000000000000000000000000000000000000000000000001s", 1),
        ("15m", 900),
        ("24h0m0s", 86400),
        ("2us", 2e-6),
        ("3ns", 3e-9),
        ("99999h", 99999 * 3600),
    ],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "h",
        "1d",
        "1h 30m",
        " 1h",
        "1h ",
        "1hh",
        "abc",
        "-",
        "+",
        "1.2.3s",
        ".s",
        "s1",
        "ms",
        "0x1s",
    ],
)
def test_parse_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    "text", ["2562047h47m16.854775808s", "2562048h", "9" * 400 + "h", "1" + "0" * 5000 + "s"]
)
def test_durations_beyond_gos_limit_say_so(text: str) -> None:
    with pytest.raises(ValueError, match="longer than the longest Go duration") as refused:
        parse_go_duration(text)
    assert "inf" not in str(refused.value).replace("invalid", "")
    assert len(str(refused.value)) < 300


@pytest.mark.parametrize("text", ["\u0661h", "1\u0660m", "\uff11s"])
def test_only_ascii_digits_make_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_go_duration(text)
