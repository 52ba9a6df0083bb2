"""Held objects: reused only while the cache shows their version, within a byte budget."""

from __future__ import annotations

from typing import Any

from issuer.controllers.held import HeldObjects, resource_version


def obj(rv: str, size: int = 10) -> dict[str, Any]:
    return {"metadata": {"name": "r", "resourceVersion": rv}, "spec": {"request": "x" * size}}


def test_an_object_is_reused_once_while_the_cache_shows_its_version() -> None:
    cache = {"ns/r": "7"}
    held = HeldObjects(cache.get)
    held.hold("ns/r", obj("7"))
    assert held.take("ns/r") == obj("7")
    assert held.take("ns/r") is None  # taken: the next reconcile GETs unless held again
    assert held.bytes == 0


def test_a_newer_version_in_the_cache_means_a_get() -> None:
    cache = {"ns/r": "8"}
    held = HeldObjects(cache.get)
    held.hold("ns/r", obj("7"))
    assert held.take("ns/r") is None
    assert len(held) == 0


def test_holding_again_replaces_and_forget_drops() -> None:
    cache = {"ns/r": "9"}
    held = HeldObjects(cache.get)
    held.hold("ns/r", obj("8"))
    held.hold("ns/r", obj("9"))
    assert len(held) == 1
    held.forget("ns/r")
    assert held.take("ns/r") is None
    assert held.bytes == 0


def test_large_objects_and_objects_beyond_the_budget_are_not_held() -> None:
    cache = {"a": "1", "b": "1", "c": "1"}
    held = HeldObjects(cache.get, budget=300, object_limit=200)
    held.hold("a", obj("1", size=500))  # beyond the per-object limit
    assert len(held) == 0
    held.hold("b", obj("1", size=100))
    held.hold("c", obj("1", size=150))  # would exceed the budget
    assert len(held) == 1
    assert held.take("c") is None
    assert held.take("b") == obj("1", size=100)
    assert held.bytes == 0


def test_an_object_without_a_resource_version_is_never_held() -> None:
    held = HeldObjects(lambda key: None)
    held.hold("ns/r", {"metadata": {"name": "r"}})
    assert len(held) == 0
    assert resource_version({"metadata": {"resourceVersion": ""}}) is None
    assert resource_version(None) is None
