"""Tenants cannot grow /metrics (issue 10, defect 9), against the real controller process.

400 approved requests naming 400 issuers that do not exist (one name 60,000
characters long) leave the controller's /metrics without a series for any of
them, and its size where it was; the requests wait (Pending) as upstream's do.
"""

from __future__ import annotations

import re
import urllib.request

from awspca_devstack import KubeClient
from awspca_devstack.csrs import make_csr
from awspca_devstack.issuerproc import IssuerProcess

from tests import flows

GHOSTS = 400
LONG_NAME = "x" * 60_000


def _scrape(proc: IssuerProcess) -> str:
    with urllib.request.urlopen(proc.metrics_url, timeout=10) as resp:  # noqa: S310 - loopback
        return str(resp.read().decode())


def _ours(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("awspca_issuer_")]


def test_requests_naming_missing_issuers_add_no_series(
    kube: KubeClient, namespace: str, controller: IssuerProcess
) -> None:
    before = _scrape(controller)
    csr, _ = make_csr("ghost.test")
    names = [LONG_NAME] + [f"ghost-{i}" for i in range(1, GHOSTS)]
    for i, issuer_name in enumerate(names):
        flows.create_request(
            kube, namespace, f"r{i}", csr, issuer_kind="AWSPCAIssuer", issuer_name=issuer_name
        )
    # The controller has reconciled them: the last ones wait for their issuer.
    for i in (0, GHOSTS - 1):
        flows.wait_request(kube, namespace, f"r{i}", reason="Pending", timeout=180)
    after = _scrape(controller)
    assert "ghost-" not in after
    assert "x" * 100 not in after
    assert not [line for line in _ours(after) if f'issuer_namespace="{namespace}"' in line]
    # Nothing else of ours grew by a series per request either. The shared
    # controller keeps serving the issuers and CAs earlier tests left behind (and
    # re-registers their series after a restart), so series labelled by an
    # issuer, a CA or a PCA operation are theirs: the ghosts never exist as
    # issuers (checked above) and never reach AWS.
    new = set(_ours(after)) - set(_ours(before))
    theirs = ('issuer_name="', 'ca_arn="', 'operation="')
    grown = sorted(line for line in new if not any(label in line for label in theirs))
    assert len(grown) < GHOSTS // 4, f"{len(grown)} new series for {GHOSTS} requests: {grown[:5]}"
    assert max(len(line) for line in after.splitlines()) < 2_000  # label values are bounded
    kube.delete(flows.cr_path(namespace))
    assert re.search(r"^awspca_issuer_leader 1", after, re.M)
