"""The fault matrix: real processes, real faults, one certificate per request.

Each scenario runs requests through the controller (a process), the real API
server and the emulator while something breaks: the controller is SIGKILLed
at each step of issuance, the API server goes away, the leader dies under
load, PCA throttles or answers 5xx, the emulator restarts from its state file,
STS is down, temporary credentials expire, the CA is disabled, the issuer's
Secret is rotated or deleted. Every scenario ends with every request Issued
(none Failed on the way) and, from the emulator's call log, exactly one
certificate per request. Every wait is bounded; every loop stops by itself.

The slow variants (longer storms, more requests, repeated rounds) run under
``make soak`` (``AWSPCA_SOAK_SCALE``), not in ``make test``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from awspca_devstack import ControlPlane
from awspca_devstack.csrs import b64
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import condition
from awspca_devstack.stack import CUSTOM_KEY_ID, CUSTOM_SECRET, DEFAULT_KEYS

from tests import flows
from tests.faults.stack import KIND, FaultStack

#: 1 in make test; make soak raises it (more requests, longer storms).
SCALE = max(1, int(os.environ.get("AWSPCA_SOAK_SCALE", "1")))


@pytest.fixture(scope="module")
def stack(
    control_plane: ControlPlane, controller: IssuerProcess, workdir: Path
) -> Iterator[FaultStack]:
    controller.stop()  # one controller per control plane: ours, killable
    s = FaultStack(control_plane, workdir)
    s.start_emulator()
    try:
        yield s
    finally:
        s.stop()
        controller.start()


@pytest.fixture
def proc(stack: FaultStack, request: pytest.FixtureRequest) -> Iterator[IssuerProcess]:
    """This scenario's controller (IRSA ambient credentials, Secrets per issuer)."""
    p = stack.controller(request.node.name[:40])
    yield p
    p.stop()
    stack.admin.clear_faults()
    stack.admin.configure(issuance_delay=0.0)


def _names(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


# -- SIGKILL at each step of issuance -------------------------------------------


def test_sigkill_before_issuecertificate(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    """Killed again and again in its first moments, with requests waiting."""
    ca = stack.ready_issuer(namespace)
    proc.stop()
    keys = stack.create_requests(namespace, _names("early", 5 * SCALE))
    for _ in range(3):
        proc.start()  # returns once healthy; the workers are starting
        proc.kill()
    proc.start()
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))


def test_sigkill_after_issuecertificate_before_the_arn_is_saved(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    """PCA issued the certificate but the controller died before it saw the ARN."""
    ca = stack.ready_issuer(namespace)
    stack.admin.set_fault("IssueCertificate", latency=3.0)
    keys = stack.create_requests(namespace, ["inflight"])
    time.sleep(1.5)  # the IssueCertificate call is in flight (3 s of latency)
    proc.kill()
    stack.wait_calls("IssueCertificate", ca, lambda c: c.get("result") == "OK", timeout=30)
    obj = stack.kube.get(flows.cr_path(namespace, "inflight"))
    assert "aws-privateca-issuer/certificate-arn" not in (obj["metadata"].get("annotations") or {})
    stack.admin.clear_faults()
    proc.start()
    stack.wait_all_issued(namespace, keys, timeout=90)
    stack.assert_one_certificate_per_request(namespace, ca, 1)


def test_sigkill_after_the_arn_is_saved_and_while_polling(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    """Killed right after the annotation write, and again while GetCertificate says in progress."""
    ca = stack.ready_issuer(namespace)
    stack.admin.configure(issuance_delay=8.0)
    keys = stack.create_requests(namespace, ["saved"])
    stack.wait_annotated(namespace, "saved")
    proc.kill()
    proc.start()
    stack.wait_calls(
        "GetCertificate", ca, lambda c: c.get("result") == "RequestInProgressException"
    )
    proc.kill()
    proc.start()
    stack.wait_all_issued(namespace, keys, timeout=90)
    stack.assert_one_certificate_per_request(namespace, ca, 1)


# -- the API server -----------------------------------------------------------------


def test_apiserver_outage_of_a_minute_during_issuance(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    ca = stack.ready_issuer(namespace)
    stack.admin.configure(issuance_delay=2.0)
    keys = stack.create_requests(namespace, _names("outage", 10 * SCALE))
    stack.wait_annotated(namespace, "outage-0")
    stack.cp.restart_apiserver(down_for=60.0)
    stack.wait_all_issued(namespace, keys, timeout=180)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))
    assert proc.alive, "the controller died while the API server was away"


def test_apiserver_restarts_back_to_back(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    ca = stack.ready_issuer(namespace)
    stack.admin.configure(issuance_delay=1.0)
    keys = stack.create_requests(namespace, _names("restart", 10 * SCALE))
    for _ in range(2):
        stack.cp.restart_apiserver()
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))


# -- leader failover under load -------------------------------------------------------


def _leader(replicas: list[IssuerProcess]) -> IssuerProcess:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for r in replicas:
            if "certificate issued" in r.log_text():
                return r
        time.sleep(0.2)
    raise AssertionError("no replica issued anything within 60 s")


def test_leader_failover_under_load(stack: FaultStack, proc: IssuerProcess, namespace: str) -> None:
    proc.stop()
    a = stack.controller("lead-a", "--leader-elect")
    b = stack.controller("lead-b", "--leader-elect")
    try:
        ca = stack.ready_issuer(namespace)
        stack.admin.configure(issuance_delay=1.0)
        keys = stack.create_requests(namespace, _names("load", 40 * SCALE))
        leader = _leader([a, b])
        leader.kill()
        stack.wait_all_issued(namespace, keys, timeout=240)
        stack.assert_one_certificate_per_request(namespace, ca, len(keys))
    finally:
        a.stop()
        b.stop()


# -- PCA misbehaving ------------------------------------------------------------------


def test_throttling_storm(stack: FaultStack, namespace: str) -> None:
    """The service throttles far below the client's own limits: nothing fails, nothing doubles."""
    p = stack.controller(
        "storm", "--pca-issue-certificate-rate", "100", "--pca-get-certificate-rate", "100"
    )
    try:
        ca = stack.ready_issuer(namespace)
        stack.admin.configure(
            throttle_rates={"IssueCertificate": 2.0, "GetCertificate": 3.0}, reset_throttle=True
        )
        keys = stack.create_requests(namespace, _names("storm", 30 * SCALE))
        stack.wait_all_issued(namespace, keys, timeout=240)
        throttled = [
            c
            for c in stack.admin.calls("IssueCertificate")
            if c.get("ca_arn") == ca and c.get("result") == "ThrottlingException"
        ]
        assert throttled, "the storm never throttled anything: the scenario proves nothing"
        stack.assert_one_certificate_per_request(namespace, ca, len(keys))
    finally:
        stack.admin.configure(
            throttle_rates={"IssueCertificate": 25.0, "GetCertificate": 75.0}, reset_throttle=True
        )
        p.stop()


def test_twenty_percent_5xx_for_a_minute(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    ca = stack.ready_issuer(namespace)
    for op in ("IssueCertificate", "GetCertificate", "DescribeCertificateAuthority"):
        stack.admin.set_fault(op, server_error_rate=0.2)
    started = time.monotonic()
    keys: dict[str, Any] = {}
    batch = 0
    while time.monotonic() - started < 60 * SCALE:  # requests keep arriving for the minute
        keys.update(stack.create_requests(namespace, _names(f"b{batch}", 3)))
        batch += 1
        time.sleep(5)
    stack.admin.clear_faults()
    stack.wait_all_issued(namespace, keys, timeout=180)
    errors = [
        c
        for c in stack.admin.calls()
        if c.get("ca_arn") == ca and str(c.get("status", "")).startswith("5")
    ]
    assert errors, "no 5xx was injected"
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))


def test_emulator_restart_from_its_state_file(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    """Certificates in progress survive a restart of the service, and polling resumes."""
    ca = stack.ready_issuer(namespace)
    stack.admin.configure(issuance_delay=6.0)
    keys = stack.create_requests(namespace, _names("svc", 5 * SCALE))
    for name in keys:
        stack.wait_annotated(namespace, name)
    stack.restart_emulator(down_for=5.0)
    stack.admin.configure(issuance_delay=6.0)
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))


# -- identity and credentials --------------------------------------------------------


def test_sts_outage_with_ambient_web_identity(stack: FaultStack, namespace: str) -> None:
    """IRSA credentials must be refreshed while STS is down: requests wait, then are issued."""
    stack.admin.configure(credential_lifetime=30)  # every STS credential is short-lived
    # A namespaced issuer without a Secret uses the controller's identity only when allowed.
    p = stack.controller("sts", "--issuer-ambient-credentials")
    try:
        ca = str(stack.admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"])
        flows.create_issuer(stack.kube, KIND, "pca", arn=ca, namespace=namespace)  # ambient
        flows.wait_issuer_ready(stack.kube, KIND, "pca", namespace)
        stack.admin.set_fault("AssumeRoleWithWebIdentity", server_error_rate=1.0)
        keys = stack.create_requests(namespace, _names("sts", 5 * SCALE))
        time.sleep(35)  # past the credentials' lifetime, STS still down
        stack.admin.clear_faults()
        stack.wait_all_issued(namespace, keys, timeout=120)
        stack.assert_one_certificate_per_request(namespace, ca, len(keys))
    finally:
        stack.admin.configure(credential_lifetime=None)
        p.stop()


def _temporary_keys(stack: FaultStack, lifetime: int) -> dict[str, str]:
    """Keys with a session token from STS AssumeRole, living ``lifetime`` seconds."""
    stack.admin.configure(credential_lifetime=lifetime)
    sts = boto3.client(
        "sts",
        endpoint_url=stack.emulator.url,
        region_name="us-east-1",
        aws_access_key_id=DEFAULT_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DEFAULT_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        creds = sts.assume_role(
            RoleArn="arn:aws:iam::123456789012:role/pca-assumed", RoleSessionName="faults"
        )["Credentials"]
    finally:
        stack.admin.configure(credential_lifetime=None)
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def _put_secret(stack: FaultStack, namespace: str, data: dict[str, str]) -> None:
    path = f"/api/v1/namespaces/{namespace}/secrets/aws"
    stack.kube.merge_patch(path, {"data": {k: b64(v.encode()) for k, v in data.items()}})


def test_expired_temporary_credentials_then_fresh_ones(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    ca = stack.ready_issuer(namespace, secret=_temporary_keys(stack, 20))
    time.sleep(22)  # the session has expired
    keys = stack.create_requests(namespace, _names("exp", 3 * SCALE))
    issuer_path = flows.issuer_path(KIND, namespace, "pca")
    stack.kube.wait_for(
        issuer_path,
        lambda o: (condition(o, "Ready") or {}).get("status") == "False",
        timeout=60,
        what="issuer not Ready on expired credentials",
    )
    for name in keys:  # waiting, not failed
        assert flows.ready_status(stack.kube.get(flows.cr_path(namespace, name)))[1] != "Failed"
    _put_secret(stack, namespace, _temporary_keys(stack, 3600))
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))


def test_ca_disabled_then_enabled(stack: FaultStack, proc: IssuerProcess, namespace: str) -> None:
    ca = stack.ready_issuer(namespace)
    pca = boto3.client(
        "acm-pca",
        endpoint_url=stack.emulator.url,
        region_name="us-east-1",
        aws_access_key_id=DEFAULT_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DEFAULT_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    pca.update_certificate_authority(CertificateAuthorityArn=ca, Status="DISABLED")
    keys = stack.create_requests(namespace, _names("dis", 3 * SCALE))
    stack.kube.wait_for(
        flows.issuer_path(KIND, namespace, "pca"),
        lambda o: (condition(o, "Ready") or {}).get("status") == "False",
        timeout=60,
        what="issuer not Ready while its CA is disabled",
    )
    time.sleep(5)
    for name in keys:
        assert flows.ready_status(stack.kube.get(flows.cr_path(namespace, name)))[1] != "Issued"
    pca.update_certificate_authority(CertificateAuthorityArn=ca, Status="ACTIVE")
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))


def test_secret_rotated_in_flight(stack: FaultStack, proc: IssuerProcess, namespace: str) -> None:
    ca = stack.ready_issuer(namespace)
    stack.admin.configure(issuance_delay=4.0)
    keys = stack.create_requests(namespace, _names("rot", 5 * SCALE))
    stack.wait_annotated(namespace, "rot-0")
    _put_secret(
        stack,
        namespace,
        {"AWS_ACCESS_KEY_ID": CUSTOM_KEY_ID, "AWS_SECRET_ACCESS_KEY": CUSTOM_SECRET},
    )
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))
    # The rotated Secret was picked up while certificates were in flight.
    fetched = [
        c
        for c in stack.admin.calls("GetCertificate")
        if c.get("ca_arn") == ca and c.get("result") == "OK"
    ]
    assert any(c.get("access_key_id") == CUSTOM_KEY_ID for c in fetched)


def test_secret_deleted_in_flight_then_recreated(
    stack: FaultStack, proc: IssuerProcess, namespace: str
) -> None:
    ca = stack.ready_issuer(namespace)
    stack.kube.delete(f"/api/v1/namespaces/{namespace}/secrets/aws")
    keys = stack.create_requests(namespace, _names("del", 3 * SCALE))
    stack.kube.wait_for(
        flows.issuer_path(KIND, namespace, "pca"),
        lambda o: (condition(o, "Ready") or {}).get("status") == "False",
        timeout=60,
        what="issuer not Ready without its Secret",
    )
    for name in keys:
        assert flows.ready_status(stack.kube.get(flows.cr_path(namespace, name)))[1] != "Failed"
    flows.create_secret(stack.kube, namespace, "aws", DEFAULT_KEYS)
    stack.wait_all_issued(namespace, keys, timeout=120)
    stack.assert_one_certificate_per_request(namespace, ca, len(keys))
    assert proc.alive, "the controller died"
