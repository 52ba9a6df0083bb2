"""Condition helpers: lookup, transitions, reason/message limits, comparison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from issuer.api.conditions import (
    MAX_MESSAGE_BYTES,
    REASON_PATTERN,
    condition_is,
    conditions_equal_ignoring_time,
    find_condition,
    format_time,
    parse_time,
    sanitize_reason,
    set_condition,
    truncate_message,
)
from issuer.errors import Reason

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 4, 0, 0, tzinfo=UTC)
T0S = "2026-01-02T03:04:05Z"
T1S = "2026-01-02T04:00:00Z"

READY_FALSE = {
    "type": "Ready",
    "status": "False",
    "reason": "Pending",
    "message": "waiting",
    "lastTransitionTime": T0S,
}
APPROVED = {
    "type": "Approved",
    "status": "True",
    "reason": "ok",
    "message": "",
    "lastTransitionTime": T0S,
}


@pytest.mark.parametrize(
    ("conds", "ctype", "expected"),
    [
        (None, "Ready", None),
        ([], "Ready", None),
        ([APPROVED], "Ready", None),
        ([APPROVED, READY_FALSE], "Ready", READY_FALSE),
        ([APPROVED, READY_FALSE], "Approved", APPROVED),
    ],
)
def test_find_condition(
    conds: list[dict[str, Any]] | None, ctype: str, expected: dict[str, Any] | None
) -> None:
    assert find_condition(conds, ctype) == expected


@pytest.mark.parametrize(
    ("conds", "ctype", "status", "expected"),
    [
        (None, "Ready", "True", False),
        ([READY_FALSE], "Ready", "False", True),
        ([READY_FALSE], "Ready", "True", False),
        ([APPROVED], "Approved", "True", True),
        ([APPROVED], "Denied", "True", False),
    ],
)
def test_condition_is(
    conds: list[dict[str, Any]] | None, ctype: str, status: str, expected: bool
) -> None:
    assert condition_is(conds, ctype, status) is expected


@pytest.mark.parametrize(
    ("before", "status", "generation", "expected_time", "expected_len"),
    [
        # new condition: appended, transition now
        ([APPROVED], "False", None, T1S, 2),
        # same status: transition time kept, reason/message updated
        ([APPROVED, READY_FALSE], "False", None, T0S, 2),
        # status change: transition now
        ([APPROVED, READY_FALSE], "True", 3, T1S, 2),
        # existing condition without a time gets one
        ([{"type": "Ready", "status": "False"}], "False", None, T1S, 1),
    ],
)
def test_set_condition_transitions(
    before: list[dict[str, Any]],
    status: str,
    generation: int | None,
    expected_time: str,
    expected_len: int,
) -> None:
    snapshot = [dict(c) for c in before]
    after = set_condition(
        before,
        type="Ready",
        status=status,
        reason="Issued",
        message="done",
        now=T1,
        observed_generation=generation,
    )
    assert before == snapshot  # input untouched
    assert len(after) == expected_len
    ready = find_condition(after, "Ready")
    assert ready is not None
    assert ready["status"] == status
    assert ready["reason"] == "Issued"
    assert ready["message"] == "done"
    assert ready["lastTransitionTime"] == expected_time
    if generation is None:
        assert "observedGeneration" not in ready
    else:
        assert ready["observedGeneration"] == generation
    if len(before) > 1:
        assert after[0] == APPROVED  # order and other conditions kept


def test_set_condition_rejects_bad_status() -> None:
    with pytest.raises(ValueError, match="status"):
        set_condition(None, type="Ready", status="true", reason="X", message="", now=T0)


def test_set_condition_sanitizes_reason_and_caps_message() -> None:
    out = set_condition(
        None, type="Ready", status="False", reason="bad reason!", message="x" * 40000, now=T0
    )
    assert REASON_PATTERN.match(out[0]["reason"])
    assert len(out[0]["message"].encode()) <= MAX_MESSAGE_BYTES


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Issued", "Issued"),
        ("A", "A"),
        ("Some_Reason:sub,x", "Some_Reason:sub,x"),
        ("has space", "hasspace"),
        ("1Leading", "Leading"),
        ("Trailing:", "Trailing"),
        ("Throttling-Exception", "ThrottlingException"),
        ("", "Unknown"),
        ("!!!", "Unknown"),
        ("123", "Unknown"),
    ],
)
def test_sanitize_reason(reason: str, expected: str) -> None:
    got = sanitize_reason(reason)
    assert got == expected
    assert REASON_PATTERN.match(got)


@pytest.mark.parametrize(
    ("message", "limit", "expect_truncated"),
    [
        ("short", 100, False),
        ("a" * 100, 100, False),
        ("a" * 101, 100, True),
        ("\u00e9" * 60, 100, True),  # 2-byte chars over the limit
        ("\U0001f600" * 30, 100, True),  # 4-byte chars
    ],
)
def test_truncate_message(message: str, limit: int, expect_truncated: bool) -> None:
    got = truncate_message(message, limit)
    assert len(got.encode("utf-8")) <= limit
    assert (got != message) is expect_truncated
    if expect_truncated:
        assert got.endswith("[truncated]")
        head = got.removesuffix(" ... [truncated]")
        assert message.startswith(head)  # no character was split


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T0S, T0),
        ("2026-01-02T03:04:05+00:00", T0),
        ("2026-01-02T03:04:05", T0),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_format_time_naive_is_utc_and_drops_microseconds() -> None:
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 999)) == T0S
    assert format_time(T0.replace(microsecond=5)) == T0S


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (None, [], True),
        ([READY_FALSE], [{**READY_FALSE, "lastTransitionTime": T1S}], True),
        ([READY_FALSE, APPROVED], [APPROVED, READY_FALSE], True),
        ([READY_FALSE], [{**READY_FALSE, "message": "other"}], False),
        ([READY_FALSE], [{**READY_FALSE, "observedGeneration": 2}], False),
        ([READY_FALSE], [READY_FALSE, APPROVED], False),
        ([READY_FALSE], [{**READY_FALSE, "status": "True"}], False),
    ],
)
def test_conditions_equal_ignoring_time(
    a: list[dict[str, Any]] | None, b: list[dict[str, Any]] | None, expected: bool
) -> None:
    assert conditions_equal_ignoring_time(a, b) is expected


def test_set_condition_drops_duplicates_of_the_type() -> None:
    dup = {**READY_FALSE, "reason": "Dup"}
    after = set_condition(
        [READY_FALSE, APPROVED, dup],
        type="Ready",
        status="False",
        reason="Pending",
        message="m",
        now=T1,
    )
    assert [c["type"] for c in after] == ["Ready", "Approved"]
    assert after[0]["lastTransitionTime"] == T0S


def test_sanitize_reason_caps_length() -> None:
    got = sanitize_reason("A" * 5000)
    assert len(got) == 1024
    assert REASON_PATTERN.match(got)


def test_a_condition_set_with_an_enum_reason_equals_itself_read_back_as_json() -> None:
    written = set_condition(
        [APPROVED], type="Ready", status="False", reason=Reason.PENDING, message="m", now=T1
    )
    assert type(written[-1]["reason"]) is str
    read_back = json.loads(json.dumps(written))
    assert conditions_equal_ignoring_time(read_back, written)
    again = set_condition(
        read_back, type="Ready", status="False", reason=Reason.PENDING, message="m", now=T1
    )
    assert conditions_equal_ignoring_time(read_back, again)
