"""A tenant cannot reach another tenant's Secret through the names it writes into an issuer.

Against the real API server, the emulator and the controller process. The
hostile issuer lives in namespace B and names tenant A's Secret through a
path (``../../A/secrets/aws``); tenant A's keys are known to the emulator
only, so the call log proves whether they were ever used.
"""

from __future__ import annotations

import contextlib
import copy
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import KubeError, condition
from awspca_emulator import AdminClient

from tests import flows

KIND = "AWSPCAIssuer"
CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/awspcaissuers.awspca.cert-manager.io"


def _hostile_names(tenant_a: str) -> list[str]:
    return [
        f"../../{tenant_a}/secrets/aws",
        f"aws/../../../{tenant_a}/secrets/aws",
        f"..%2F..%2F{tenant_a}%2Fsecrets%2Faws",
        "aws?x=1",
        "AWS",
    ]


def _secret_ref_schema(crd: dict[str, Any]) -> dict[str, Any]:
    version = crd["spec"]["versions"][0]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ref: dict[str, Any] = spec["properties"]["secretRef"]["properties"]
    return ref


@contextlib.contextmanager
def _schema_without_name_rules(kube: KubeClient) -> Iterator[None]:
    """The CRD as the Go issuer ships it: names in secretRef are free strings.

    A cluster that swapped the Go issuer for this one can keep the old CRDs
    (helm never upgrades CRDs), so the controller must refuse hostile names
    on its own, whatever the schema lets through.
    """
    original = kube.get(CRD)
    loose = copy.deepcopy(original)
    for field in ("name", "namespace"):
        prop = _secret_ref_schema(loose)[field]
        for rule in ("pattern", "maxLength"):
            prop.pop(rule, None)
    kube.request("PUT", CRD, loose)
    try:
        yield
    finally:
        current = kube.get(CRD)
        restored = copy.deepcopy(original)
        restored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        kube.request("PUT", CRD, restored)


def _create_until_accepted(
    kube: KubeClient, namespace: str, name: str, arn: str, secret_name: str
) -> None:
    """Create the issuer, retrying while the API server still serves the previous schema."""
    deadline = time.monotonic() + 60
    while True:
        try:
            flows.create_issuer(
                kube,
                KIND,
                name,
                arn=arn,
                namespace=namespace,
                secret_ref={"name": secret_name},
            )
            return
        except KubeError as e:
            if e.code != 422 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_the_schema_refuses_names_that_are_not_object_names(
    control_plane: ControlPlane, kube: KubeClient, namespace: str
) -> None:
    tenant_a = control_plane.new_namespace("tenant-a")
    arn = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"
    for i, hostile in enumerate(_hostile_names(tenant_a)):
        with pytest.raises(KubeError) as refused:
            flows.create_issuer(
                kube, KIND, f"h{i}", arn=arn, namespace=namespace, secret_ref={"name": hostile}
            )
        assert refused.value.code == 422, hostile
        assert "secretRef.name" in str(refused.value), str(refused.value)
    with pytest.raises(KubeError) as refused:
        flows.create_issuer(
            kube,
            "AWSPCAClusterIssuer",
            f"hostile-ns-{uuid.uuid4().hex[:6]}",
            arn=arn,
            secret_ref={"name": "aws", "namespace": f"{tenant_a}/secrets/aws/.."},
        )
    assert refused.value.code == 422
    assert "secretRef.namespace" in str(refused.value)


def test_a_path_in_secret_ref_name_never_reaches_another_namespace(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    tenant_a = control_plane.new_namespace("tenant-a")
    keys = flows.new_access_keys(admin)
    flows.create_secret(kube, tenant_a, "aws", keys)
    hostile = _hostile_names(tenant_a)
    with _schema_without_name_rules(kube):
        for i, name in enumerate(hostile):
            _create_until_accepted(
                kube, namespace, f"hostile-{i}", cas["ec"]["subordinate_arn"], name
            )
    for i, name in enumerate(hostile):
        obj = kube.wait_for(
            flows.issuer_path(KIND, namespace, f"hostile-{i}"),
            lambda o: (condition(o, "Ready") or {}).get("reason") not in (None, "NotChecked"),
            timeout=60,
            what=f"hostile issuer {i} checked",
        )
        ready = condition(obj, "Ready") or {}
        assert ready.get("status") == "False", (name, ready)
        assert ready.get("reason") == "InvalidSpec", (name, ready)
        assert "spec.secretRef.name" in str(ready.get("message")), ready
    # Tenant A's keys were never used: the controller never read A's Secret.
    used = [c for c in admin.calls() if c.get("access_key_id") == keys["AWS_ACCESS_KEY_ID"]]
    assert used == []
    # And the legitimate issuer of tenant A, reading its own Secret, works.
    flows.secret_issuer(kube, tenant_a, cas["ec"]["subordinate_arn"], name="own")


def test_a_request_cannot_use_another_namespaces_issuer(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    tenant_a = control_plane.new_namespace("tenant-a")
    keys = flows.new_access_keys(admin)
    flows.secret_issuer(kube, tenant_a, cas["ec"]["subordinate_arn"], keys=keys)
    csr, _ = make_csr("b.test", key=new_key("ec256"), dns=("b.test",))
    for i, name in enumerate(["pca", f"{tenant_a}/pca", f"../{tenant_a}/pca"]):
        flows.create_request(kube, namespace, f"b-{i}", csr, issuer_kind=KIND, issuer_name=name)
    for i, name in enumerate(["pca", f"{tenant_a}/pca", f"../{tenant_a}/pca"]):
        pending = flows.wait_request(kube, namespace, f"b-{i}", reason="Pending")
        assert f"{KIND} {namespace}/{name} not found" in flows.condition_message(pending)
    issued = [
        c
        for c in admin.calls("IssueCertificate")
        if c.get("access_key_id") == keys["AWS_ACCESS_KEY_ID"]
    ]
    assert issued == []
