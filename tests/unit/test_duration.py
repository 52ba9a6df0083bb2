"""Go's time.ParseDuration, as metav1.Duration fields and duration flags are parsed."""

from __future__ import annotations

import pytest

from issuer.api.duration import parse_go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("15m", 900.0),
        ("24h0m0s", 86400.0),
        ("1h30m", 5400.0),
        ("-1s", -1.0),
        ("+2s", 2.0),
        ("1.5s", 1.5),
        (".5m", 30.0),
        ("500ms", 0.5),
        ("2us", 2e-6),
        ("2\u00b5s", 2e-6),
        ("3ns", 3e-9),
        ("99999h", 99999 * 3600.0),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "-", "1", "1d", "h", "1h 30m", " 1h", "1.2.3s", "ms", "0x1s"])
def test_what_go_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(bad)
