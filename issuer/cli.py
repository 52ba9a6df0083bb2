"""Command line of the controller: the Go issuer's flags plus our own.

Flags are parsed the way Go's ``flag`` package does it where users can tell:
``-flag`` and ``--flag`` are the same, and boolean flags accept ``--flag``,
``--flag=true`` and ``--flag=false``, so the upstream chart's arguments work
unchanged. controller-runtime's ``--zap-*`` logging flags are accepted and
mapped onto our logging options.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence

from issuer import __version__, bootstrap
from issuer.api.names import parse_go_duration
from issuer.config import Config, PCARateLimits
from issuer.observability import logging as logsetup

_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off"}
_PLAIN_SECONDS = re.compile(r"[0-9]+(\.[0-9]*)?")


def _go_bool(value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {value!r}")


def _positive_float(value: str) -> float:
    out = float(value)
    if out <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value!r}")
    return out


def _positive_int(value: str) -> int:
    out = int(value)
    if out <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value!r}")
    return out


def _duration_seconds(value: str) -> float:
    """A positive Go duration (``90s``, ``1h30m``, ``500ms``) or plain seconds."""
    try:
        total = (
            float(value) if _PLAIN_SECONDS.fullmatch(value.strip()) else parse_go_duration(value)
        )
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    if not total > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value!r}")
    return total


def _flag(parser: argparse._ActionsContainer, name: str, **kwargs: object) -> None:
    """Add ``--name`` and its Go-style single-dash twin ``-name``."""
    parser.add_argument(f"--{name}", f"-{name}", **kwargs)  # type: ignore[arg-type]


def _bool_flag(
    parser: argparse._ActionsContainer, name: str, help_text: str, *, default: bool = False
) -> None:
    _flag(
        parser,
        name,
        nargs="?",
        const=True,
        default=default,
        type=_go_bool,
        metavar="BOOL",
        help=help_text,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; exposed so tests can inspect the flags."""
    parser = argparse.ArgumentParser(
        prog="python -m issuer",
        description="cert-manager external issuer for AWS Private CA (drop-in for "
        "aws-privateca-issuer).",
        allow_abbrev=False,
    )
    up = parser.add_argument_group("flags of the Go aws-privateca-issuer")
    _flag(
        up,
        "metrics-bind-address",
        default=":8080",
        help="address the metrics endpoint binds to (default :8080; 0 disables)",
    )
    _flag(
        up,
        "health-probe-bind-address",
        default=":8081",
        help="address the /healthz and /readyz endpoints bind to (default :8081)",
    )
    _bool_flag(
        up,
        "leader-elect",
        "enable leader election on a Lease; controllers run only on the leader",
    )
    _bool_flag(
        up,
        "disable-approved-check",
        "sign CertificateRequests without waiting for cert-manager's Approved condition",
    )
    _bool_flag(
        up,
        "disable-client-side-rate-limiting",
        "lift the Kubernetes client's QPS/burst limits set by --kube-api-qps",
    )
    _bool_flag(
        up,
        "cluster-issuer-ambient-credentials",
        "let an AWSPCAClusterIssuer without secretRef.name or serviceAccountRef use the "
        "controller's own AWS identity (default true)",
        default=Config.cluster_issuer_ambient_credentials,
    )
    _bool_flag(
        up,
        "issuer-ambient-credentials",
        "let an AWSPCAIssuer without secretRef.name or serviceAccountRef use the "
        "controller's own AWS identity (default false)",
        default=Config.issuer_ambient_credentials,
    )
    zap = parser.add_argument_group("controller-runtime logging flags (accepted for drop-in)")
    _bool_flag(zap, "zap-devel", "development logging: text format, debug level")
    _flag(zap, "zap-encoder", choices=["json", "console"], help="log format")
    _flag(zap, "zap-log-level", help="log level: debug, info, error, or a verbosity number")
    _flag(zap, "zap-stacktrace-level", help="accepted and ignored")
    _flag(zap, "zap-time-encoding", help="accepted and ignored")

    ours = parser.add_argument_group("flags of this issuer")
    _flag(ours, "kubeconfig", default=os.environ.get("KUBECONFIG"), help="path to a kubeconfig")
    _flag(ours, "leader-election-id", default=Config.leader_election_id, help="Lease name")
    _flag(
        ours,
        "leader-election-namespace",
        default=None,
        help="namespace of the Lease (default: the pod's namespace)",
    )
    _flag(
        ours,
        "cluster-resource-namespace",
        default=Config.cluster_resource_namespace,
        help="namespace where Secrets of cluster issuers without secretRef.namespace live",
    )
    _flag(
        ours,
        "workers",
        type=_positive_int,
        default=Config.workers,
        help="concurrent CertificateRequest reconciles",
    )
    _flag(
        ours,
        "aws-threads",
        type=_positive_int,
        default=Config.aws_threads,
        help="threads running blocking AWS SDK calls",
    )
    _flag(
        ours,
        "kube-api-qps",
        type=_positive_float,
        default=Config.kube_api_qps,
        help="Kubernetes client queries per second (default: no client-side limit, as upstream; "
        "the API server's priority and fairness limits)",
    )
    _flag(
        ours,
        "kube-api-burst",
        type=_positive_int,
        default=Config.kube_api_burst,
        help="Kubernetes client burst, with --kube-api-qps",
    )
    limits = PCARateLimits()
    _flag(
        ours,
        "pca-issue-certificate-rate",
        type=_positive_float,
        default=limits.issue_certificate,
        help="IssueCertificate calls/s per AWS account and region (AWS quota: 25)",
    )
    _flag(
        ours,
        "pca-get-certificate-rate",
        type=_positive_float,
        default=limits.get_certificate,
        help="GetCertificate calls/s per AWS account and region (AWS quota: 75)",
    )
    _flag(
        ours,
        "pca-describe-ca-rate",
        type=_positive_float,
        default=limits.describe_certificate_authority,
        help="DescribeCertificateAuthority calls/s per AWS account and region (AWS quota: 20)",
    )
    _flag(
        ours,
        "max-retry-duration",
        type=_duration_seconds,
        default=Config.max_retry_duration_seconds,
        help="retryable errors are retried until this long after request creation "
        "(Go duration or seconds; default 1h)",
    )
    _flag(
        ours,
        "issuer-recheck-interval",
        type=_duration_seconds,
        default=Config.issuer_recheck_seconds,
        help="how often a Ready issuer's CA is checked again (default 5m)",
    )
    _flag(ours, "log-level", choices=["debug", "info", "warning", "error"], default=None)
    _flag(ours, "log-format", choices=["json", "text"], default=None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _log_options(ns: argparse.Namespace) -> tuple[str, str]:
    level, fmt = "info", "json"
    if ns.zap_devel:
        level, fmt = "debug", "text"
    if ns.zap_encoder:
        fmt = "json" if ns.zap_encoder == "json" else "text"
    if ns.zap_log_level:
        zl = str(ns.zap_log_level).lower()
        level = {"debug": "debug", "info": "info", "error": "error"}.get(
            zl, "debug" if zl.isdigit() and int(zl) > 0 else "info"
        )
    if ns.log_level:
        level = ns.log_level
    if ns.log_format:
        fmt = ns.log_format
    return level, fmt


def parse_config(argv: Sequence[str] | None = None) -> Config:
    """Parse the command line into a ``Config``."""
    ns = build_parser().parse_args(argv)
    level, fmt = _log_options(ns)
    return Config(
        metrics_bind_address=ns.metrics_bind_address,
        health_probe_bind_address=ns.health_probe_bind_address,
        leader_elect=ns.leader_elect,
        leader_election_id=ns.leader_election_id,
        leader_election_namespace=ns.leader_election_namespace,
        disable_approved_check=ns.disable_approved_check,
        disable_client_side_rate_limiting=ns.disable_client_side_rate_limiting,
        cluster_issuer_ambient_credentials=ns.cluster_issuer_ambient_credentials,
        issuer_ambient_credentials=ns.issuer_ambient_credentials,
        kube_api_qps=ns.kube_api_qps,
        kube_api_burst=ns.kube_api_burst,
        workers=ns.workers,
        aws_threads=ns.aws_threads,
        pca_rate_limits=PCARateLimits(
            issue_certificate=ns.pca_issue_certificate_rate,
            get_certificate=ns.pca_get_certificate_rate,
            describe_certificate_authority=ns.pca_describe_ca_rate,
        ),
        max_retry_duration_seconds=ns.max_retry_duration,
        cluster_resource_namespace=ns.cluster_resource_namespace,
        issuer_recheck_seconds=ns.issuer_recheck_interval,
        kubeconfig=ns.kubeconfig,
        log_level=level,
        log_format=fmt,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags and run the controller until SIGTERM/SIGINT."""
    config = parse_config(argv)
    logsetup.setup(config.log_level, config.log_format)
    return bootstrap.main(config)
