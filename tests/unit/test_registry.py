"""The issuer registry: readiness, waiters re-queued when their issuer turns Ready."""

from __future__ import annotations

from typing import Any, cast

import pytest

from issuer.controllers.registry import (
    IssuerRegistry,
    ReadyIssuer,
    issuer_key,
    split_issuer_key,
)
from issuer.errors import IssuerError, RetryableError


def test_keys_round_trip() -> None:
    for kind, ns, name in (("AWSPCAIssuer", "a", "b"), ("AWSPCAClusterIssuer", "", "c")):
        assert split_issuer_key(issuer_key(kind, ns, name)) == (kind, ns, name)


def test_waiters_are_requeued_when_the_issuer_turns_ready() -> None:
    requeued: list[str] = []
    reg = IssuerRegistry(requeued.append)
    with pytest.raises(RetryableError, match="not found"):
        reg.ready_for("AWSPCAIssuer", "ns", "pca", "ns/r1")
    key = issuer_key("AWSPCAIssuer", "ns", "pca")
    reg.set_not_ready(key, "CredentialsError", "bad keys")
    with pytest.raises(IssuerError, match="bad keys"):
        reg.ready_for("AWSPCAIssuer", "ns", "pca", "ns/r2")
    ready = cast(ReadyIssuer, object())
    reg.set_ready(key, ready)
    assert sorted(requeued) == ["ns/r1", "ns/r2"]
    assert reg.ready_for("AWSPCAIssuer", "ns", "pca", "ns/r3") is ready
    assert reg.waiting(key) == 0


def test_forgotten_requests_are_not_requeued() -> None:
    requeued: list[Any] = []
    reg = IssuerRegistry(requeued.append)
    with pytest.raises(RetryableError):
        reg.ready_for("AWSPCAClusterIssuer", "", "pca", "ns/gone")
    reg.forget_request("ns/gone")
    reg.set_ready(issuer_key("AWSPCAClusterIssuer", "", "pca"), cast(ReadyIssuer, object()))
    assert requeued == []


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(RetryableError, match="unknown issuer kind"):
        IssuerRegistry(lambda k: None).ready_for("Issuer", "ns", "x", "ns/r")
