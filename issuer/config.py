"""The controller's configuration: one typed, immutable value built from flags.

Everything that tunes behaviour lives here so that the rest of the code takes a
``Config`` and never reads flags or the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PCARateLimits:
    """Client-side token-bucket rates per AWS account and region, in calls per second.

    Defaults follow the AWS Private CA quotas.
    """

    issue_certificate: float = 25.0
    get_certificate: float = 75.0
    describe_certificate_authority: float = 20.0


@dataclass(frozen=True)
class Config:
    """Runtime configuration of one controller process."""

    metrics_bind_address: str = ":8080"
    health_probe_bind_address: str = ":8081"
    leader_elect: bool = False
    leader_election_id: str = "b858308c.awspca.cert-manager.io"
    leader_election_namespace: str | None = None
    disable_approved_check: bool = False
    disable_client_side_rate_limiting: bool = False
    # As upstream v1.12: may an issuer with neither secretRef.name nor
    # serviceAccountRef use the controller's own AWS identity?
    cluster_issuer_ambient_credentials: bool = True
    issuer_ambient_credentials: bool = False
    # None: no client-side limit, as upstream v1.12 (controller-runtime leaves
    # limiting to the API server's priority and fairness); --kube-api-qps sets one
    kube_api_qps: float | None = None
    kube_api_burst: int = 200
    workers: int = 16
    aws_threads: int = 32
    pca_rate_limits: PCARateLimits = PCARateLimits()
    max_retry_duration_seconds: float = 3600.0
    cluster_resource_namespace: str = "cert-manager"
    issuer_recheck_seconds: float = 300.0
    kubeconfig: str | None = None
    log_level: str = "info"
    log_format: str = "json"
