"""The command line keeps the Go issuer's flags and Go's flag syntax."""

from __future__ import annotations

import subprocess
import sys

import pytest

from issuer.cli import build_parser, parse_config

GO_FLAGS = [
    "--metrics-bind-address",
    "--health-probe-bind-address",
    "--leader-elect",
    "--disable-approved-check",
    "--disable-client-side-rate-limiting",
    "--cluster-issuer-ambient-credentials",
    "--issuer-ambient-credentials",
    "--kubeconfig",
]


def test_help_lists_the_go_issuers_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "issuer", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in GO_FLAGS:
        assert flag in out, flag


def test_defaults_match_the_go_issuer() -> None:
    c = parse_config([])
    assert c.metrics_bind_address == ":8080"
    assert c.health_probe_bind_address == ":8081"
    assert not c.leader_elect
    assert not c.disable_approved_check
    assert not c.disable_client_side_rate_limiting
    assert c.cluster_issuer_ambient_credentials is True  # v1.12 defaults
    assert c.issuer_ambient_credentials is False
    assert c.max_retry_duration_seconds == 3600
    assert (c.pca_rate_limits.issue_certificate, c.pca_rate_limits.get_certificate) == (25, 75)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--leader-elect"], True),
        (["-leader-elect"], True),
        (["--leader-elect=true"], True),
        (["--leader-elect=false"], False),
        (["-leader-elect=1"], True),
        (["--leader-elect=F"], False),
        ([], False),
    ],
)
def test_go_style_booleans(argv: list[str], expected: bool) -> None:
    assert parse_config(argv).leader_elect is expected


@pytest.mark.parametrize(
    ("argv", "cluster", "namespaced"),
    [
        ([], True, False),
        (["--cluster-issuer-ambient-credentials=false"], False, False),
        (["-issuer-ambient-credentials"], True, True),
        (
            ["--issuer-ambient-credentials=true", "--cluster-issuer-ambient-credentials=0"],
            False,
            True,
        ),
    ],
)
def test_ambient_credential_flags(argv: list[str], cluster: bool, namespaced: bool) -> None:
    c = parse_config(argv)
    assert (c.cluster_issuer_ambient_credentials, c.issuer_ambient_credentials) == (
        cluster,
        namespaced,
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1h", 3600), ("90s", 90), ("1h30m", 5400), ("500ms", 0.5), ("120", 120), ("2m3s", 123)],
)
def test_max_retry_duration_takes_go_durations(value: str, seconds: float) -> None:
    assert parse_config(["--max-retry-duration", value]).max_retry_duration_seconds == seconds


@pytest.mark.parametrize("bad", ["", "abc", "1x", "-5s", "h"])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--max-retry-duration", bad])


@pytest.mark.parametrize(
    ("argv", "level", "fmt"),
    [
        ([], "info", "json"),
        (["--zap-devel"], "debug", "text"),
        (["--zap-encoder", "console"], "info", "text"),
        (["--zap-log-level", "debug"], "debug", "json"),
        (["--zap-log-level", "3"], "debug", "json"),
        (["--zap-devel", "--log-level", "warning", "--log-format", "json"], "warning", "json"),
    ],
)
def test_zap_flags_map_to_logging(argv: list[str], level: str, fmt: str) -> None:
    c = parse_config(argv)
    assert (c.log_level, c.log_format) == (level, fmt)


def test_unknown_flag_is_an_error() -> None:
    with pytest.raises(SystemExit):
        parse_config(["--no-such-flag"])
