"""Held objects: the newest version known, never an older one, within a byte budget."""

from __future__ import annotations

from typing import Any

from issuer.controllers.held import HeldObjects, resource_version


def obj(rv: str, size: int = 10) -> dict[str, Any]:
    return {"metadata": {"name": "r", "resourceVersion": rv}, "spec": {"request": "x" * size}}


def test_the_watched_version_is_taken_once() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("7"))
    held.offer("ns/r", obj("8"))
    assert held.take("ns/r") == obj("8")
    assert held.take("ns/r") is None  # taken: the next reconcile GETs unless more is seen
    assert held.bytes == 0


def test_versions_older_than_our_write_are_ignored_until_the_watch_shows_it() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("7"))
    held.offer("ns/r", obj("9"))  # our PUT made 8, our PATCH 9
    held.offer("ns/r", obj("8"))  # still on its way: older than what we hold
    assert held.take("ns/r") == obj("9")
    held.offer("ns/r", obj("9"))  # the watch caught up with our write
    held.offer("ns/r", obj("10"))  # someone else's change after it
    assert held.take("ns/r") == obj("10")


def test_forget_drops_the_object_and_the_newest_version_known() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("9"))
    held.forget("ns/r")
    assert held.take("ns/r") is None
    held.offer("ns/r", obj("3"))  # recreated under the same name
    assert held.take("ns/r") == obj("3")
    assert held.bytes == 0


def test_large_objects_and_objects_beyond_the_budget_are_not_held() -> None:
    held = HeldObjects(budget=300, object_limit=200)
    held.offer("a", obj("1", size=500))  # beyond the per-object limit
    assert len(held) == 0
    held.offer("b", obj("1", size=100))
    held.offer("c", obj("1", size=150))  # would exceed the budget
    assert len(held) == 1
    assert held.take("c") is None
    assert held.take("b") == obj("1", size=100)
    assert held.bytes == 0


def test_a_write_answer_without_a_resource_version_is_not_held() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("1"))
    held.offer("ns/r", {"metadata": {"name": "r"}})
    assert held.take("ns/r") is None
    assert resource_version({"metadata": {"resourceVersion": ""}}) is None
    assert resource_version(None) is None


def test_our_write_watched_before_it_returned_does_not_hide_later_versions() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("9"))  # the watch was faster than our write's answer
    held.offer("ns/r", obj("9"))
    held.offer("ns/r", obj("10"))  # someone else's change after it
    assert held.take("ns/r") == obj("10")


def test_a_version_older_than_one_taken_is_never_held() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("8"))  # our PUT saved the certificate ARN
    assert held.take("ns/r") == obj("8")  # a reconcile works on it; its status write fails
    held.offer("ns/r", obj("7"))  # the watch, behind: the request before the ARN
    assert held.take("ns/r") is None  # GET, never the version without the ARN
    held.offer("ns/r", obj("8"))
    assert held.take("ns/r") is None  # as old as the one taken: nothing new to hold


def test_a_get_sets_the_floor_and_drops_an_older_held_version() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("5"))
    held.read("ns/r", obj("6"))
    assert held.take("ns/r") is None
    held.offer("ns/r", obj("6"))
    held.offer("ns/r", obj("4"))
    assert held.take("ns/r") is None
    held.offer("ns/r", obj("7"))
    assert held.take("ns/r") == obj("7")


def test_versions_compare_as_integers_not_as_text() -> None:
    held = HeldObjects()
    held.offer("ns/r", obj("99"))
    held.offer("ns/r", obj("100"))
    assert held.take("ns/r") == obj("100")


def test_versions_that_cannot_be_ordered_are_not_held() -> None:
    for rv in ("", "0", "007", "12a", "-3", "1.5", "٣", "9" * 65):
        assert resource_version({"metadata": {"resourceVersion": rv}}) is None, rv
    assert resource_version({"metadata": {"resourceVersion": 12}}) is None  # not a string
    assert resource_version({"metadata": {"resourceVersion": "12"}}) == 12
    held = HeldObjects()
    held.offer("ns/r", obj("5"))
    held.offer("ns/r", obj("opaque"))
    assert held.take("ns/r") is None
    assert held.bytes == 0
