"""Issuer health and the messages users read, against the real API server, emulator and controller."""

from __future__ import annotations

import time
import uuid
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import condition
from awspca_emulator import AdminClient
from awspca_emulator.config import DEFAULT_THROTTLE_RATES

from tests import flows

KIND = "AWSPCAIssuer"
CLUSTER_RESOURCE_NS = "cert-manager"  # what the harness passes --cluster-resource-namespace
DESCRIBE = "DescribeCertificateAuthority"


def _throttled_checks(admin: AdminClient, key_id: str, since: float) -> int:
    return sum(
        1
        for c in admin.calls(DESCRIBE)
        if c.get("access_key_id") == key_id
        and c.get("result") == "ThrottlingException"
        and float(c.get("time", 0)) >= since
    )


def test_a_throttled_check_keeps_a_ready_issuer_ready(
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    keys = flows.new_access_keys(admin)
    issuer = flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"], keys=keys)
    before = condition(issuer, "Ready") or {}
    started = time.time()
    admin.configure(throttle_rates={DESCRIBE: 0})  # every DescribeCertificateAuthority throttled
    try:
        # The controller re-checks a Ready issuer every 3 s (test setting): wait
        # for three throttled checks of *this* issuer.
        deadline = time.monotonic() + 120
        while _throttled_checks(admin, keys["AWS_ACCESS_KEY_ID"], started) < 3:
            assert time.monotonic() < deadline, "the issuer was not re-checked while throttled"
            now: Any = condition(kube.get(flows.issuer_path(KIND, namespace, "pca")), "Ready")
            assert now == before, f"a throttled check changed the issuer: {now}"
            time.sleep(0.5)
        after = condition(kube.get(flows.issuer_path(KIND, namespace, "pca")), "Ready")
        assert after == before
        # Requests are still signed through it meanwhile.
        key = new_key("ec256")
        csr, _ = make_csr("during.test", key=key, dns=("during.test",))
        flows.create_request(kube, namespace, "during", csr, issuer_kind=KIND, issuer_name="pca")
        flows.verify_chain(flows.wait_request(kube, namespace, "during", timeout=60), key)
    finally:
        admin.configure(throttle_rates={DESCRIBE: DEFAULT_THROTTLE_RATES[DESCRIBE]})
    events = kube.get(f"/api/v1/namespaces/{namespace}/events")["items"]
    assert not [e for e in events if e["reason"] == "CAUnreachable"], events


def test_a_cluster_issuers_secret_hint_names_the_namespace_it_read(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    # No secretRef.namespace: the controller reads its cluster resource namespace.
    name = f"hint-{uuid.uuid4().hex[:6]}"
    secret = f"{name}-creds"
    flows.create_secret(
        kube,
        control_plane.ensure_namespace(CLUSTER_RESOURCE_NS),
        secret,
        {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000001", "AWS_SECRET_ACCESS_KEY": "x" * 40},
    )
    flows.create_issuer(
        kube,
        "AWSPCAClusterIssuer",
        name,
        arn=cas["ec"]["subordinate_arn"],
        secret_ref={"name": secret},
    )
    obj = kube.wait_for(
        flows.issuer_path("AWSPCAClusterIssuer", None, name),
        lambda o: (condition(o, "Ready") or {}).get("reason") == "CredentialsError",
        timeout=60,
        what="cluster issuer refused by AWS",
    )
    message = flows.condition_message(obj)
    assert f"check the Secret {CLUSTER_RESOURCE_NS}/{secret}" in message, message
    # A request in another namespace is told the cluster issuer's name, not a
    # namespaced name made up from its own namespace.
    csr, _ = make_csr("hint.test", key=new_key("ec256"), dns=("hint.test",))
    flows.create_request(
        kube, namespace, "hint", csr, issuer_kind="AWSPCAClusterIssuer", issuer_name=name
    )
    pending = flows.wait_request(kube, namespace, "hint", reason="Pending")
    assert f"{namespace}/{name}" not in flows.condition_message(pending)


def test_an_overflowing_duration_fails_with_a_message_that_says_so(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"])
    csr, _ = make_csr("long.test", key=new_key("ec256"), dns=("long.test",))
    flows.create_request(
        kube, namespace, "long", csr, issuer_kind=KIND, issuer_name="pca", duration="9" * 400 + "h"
    )
    failed = flows.wait_request(kube, namespace, "long", reason="Failed", timeout=60)
    message = flows.condition_message(failed)
    assert "spec.duration" in message
    assert "longer than the longest Go duration" in message
    assert "inf" not in message.replace("invalid", "")


def test_periodic_checks_that_find_nothing_new_write_nothing(
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    """Each check of a Ready issuer (every 3 s here) that finds the CA as before leaves
    the issuer untouched: no status write, no second Event."""
    keys = flows.new_access_keys(admin)
    issuer = flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"], keys=keys)
    version = issuer["metadata"]["resourceVersion"]
    started = time.time()
    deadline = time.monotonic() + 60
    while True:
        checks = [
            c
            for c in admin.calls(DESCRIBE)
            if c.get("access_key_id") == keys["AWS_ACCESS_KEY_ID"]
            and c.get("result") == "OK"
            and float(c.get("time", 0)) >= started
        ]
        if len(checks) >= 3:
            break
        assert time.monotonic() < deadline, "the issuer was not re-checked"
        time.sleep(0.5)
    again = kube.get(flows.issuer_path(KIND, namespace, "pca"))
    assert again["metadata"]["resourceVersion"] == version
    verified = flows.events_about(kube, namespace, "pca")
    assert sum(int(e.get("count") or 1) for e in verified) == 1, verified
