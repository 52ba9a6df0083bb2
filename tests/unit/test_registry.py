"""The issuer registry: readiness, waiters re-queued when their issuer turns Ready."""

from __future__ import annotations

from typing import Any, cast

from issuer.controllers.registry import (
    IssuerRegistry,
    ReadyIssuer,
    Waiting,
    issuer_key,
)


def test_waiters_are_requeued_when_the_issuer_turns_ready() -> None:
    requeued: list[str] = []
    reg = IssuerRegistry(requeued.append)
    assert reg.ready_for("AWSPCAIssuer", "ns", "pca", "ns/r1") == Waiting(
        "AWSPCAIssuer ns/pca not found"
    )
    key = issuer_key("AWSPCAIssuer", "ns", "pca")
    reg.set_not_ready(key, "CredentialsError", "bad keys")
    waiting = reg.ready_for("AWSPCAIssuer", "ns", "pca", "ns/r2")
    assert isinstance(waiting, Waiting)
    assert "bad keys" in waiting.message
    ready = cast(ReadyIssuer, object())
    reg.set_ready(key, ready)
    assert sorted(requeued) == ["ns/r1", "ns/r2"]
    assert reg.ready_for("AWSPCAIssuer", "ns", "pca", "ns/r3") is ready
    reg.set_ready(key, ready)
    assert sorted(requeued) == ["ns/r1", "ns/r2"]  # served waiters are not re-queued again


def test_an_issuer_seen_in_the_cache_is_never_reported_missing() -> None:
    reg = IssuerRegistry(lambda k: None)
    key = issuer_key("AWSPCAClusterIssuer", "", "pca")
    reg.set_seen(key)
    waiting = reg.ready_for("AWSPCAClusterIssuer", "ns", "pca", "ns/r")
    assert waiting == Waiting("AWSPCAClusterIssuer pca is not Ready (not checked yet)")


def test_forgotten_requests_are_not_requeued() -> None:
    requeued: list[Any] = []
    reg = IssuerRegistry(requeued.append)
    assert isinstance(reg.ready_for("AWSPCAClusterIssuer", "", "pca", "ns/gone"), Waiting)
    reg.forget_request("ns/gone")
    reg.set_ready(issuer_key("AWSPCAClusterIssuer", "", "pca"), cast(ReadyIssuer, object()))
    assert requeued == []


def test_a_huge_issuer_name_is_not_echoed_whole() -> None:
    waiting = IssuerRegistry(lambda k: None).ready_for("AWSPCAClusterIssuer", "", "x" * 60_000, "r")
    assert isinstance(waiting, Waiting)
    assert len(waiting.message) < 200
