"""The harness's control plane is a real Kubernetes API: CRDs, validation, watch, tokens."""

from __future__ import annotations

import copy

import jwt
import pytest
from awspca_devstack import ControlPlane, KubeClient, KubeError
from awspca_devstack.csrs import b64, make_csr
from awspca_devstack.kubeclient import Credentials, has_condition

GROUP_PATH = "/apis/awspca.cert-manager.io/v1beta1"
CR_PATH = "/apis/cert-manager.io/v1/namespaces/{ns}/certificaterequests"
CA_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/0f2a3b4c-aaaa-bbbb-cccc-1234567890ab"


def test_all_crds_are_established(control_plane: ControlPlane, kube: KubeClient) -> None:
    names = set(control_plane.crd_names)
    assert {
        "awspcaissuers.awspca.cert-manager.io",
        "awspcaclusterissuers.awspca.cert-manager.io",
        "certificaterequests.cert-manager.io",
        "certificates.cert-manager.io",
    } <= names
    for n in names:
        crd = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
        assert has_condition(crd, "Established"), n


def test_namespaced_issuer_round_trips(kube: KubeClient, namespace: str) -> None:
    body = {
        "apiVersion": "awspca.cert-manager.io/v1beta1",
        "kind": "AWSPCAIssuer",
        "metadata": {"name": "pca", "namespace": namespace},
        "spec": {
            "arn": CA_ARN,
            "region": "us-east-1",
            "role": "arn:aws:iam::123456789012:role/issuer",
            "secretRef": {
                "name": "aws-creds",
                "namespace": namespace,
                "accessKeyIDSelector": {"key": "id"},
                "secretAccessKeySelector": {"key": "secret"},
            },
            "pcaTemplate": {"defaultTemplateName": "EndEntityClientAuthCertificate/V1"},
        },
    }
    path = f"{GROUP_PATH}/namespaces/{namespace}/awspcaissuers"
    kube.create(path, body)
    got = kube.get(f"{path}/pca")
    # The API server defaults the selectors' unused name to "", as upstream's CRD does.
    stored = copy.deepcopy(body["spec"])
    assert isinstance(stored, dict)
    for sel in ("accessKeyIDSelector", "secretAccessKeySelector"):
        stored["secretRef"][sel]["name"] = ""
    assert got["spec"] == stored
    status = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Verified",
                "message": "ok",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": got["metadata"]["generation"],
            }
        ]
    }
    # The answer to the write is the object as stored; a later GET could already
    # show the session's controller checking this issuer and writing its own status.
    stored = kube.merge_patch(f"{path}/pca/status", {"status": status})
    assert stored["status"] == status


def test_cluster_issuer_round_trips_and_prints_columns(
    control_plane: ControlPlane, kube: KubeClient
) -> None:
    path = f"{GROUP_PATH}/awspcaclusterissuers"
    kube.create(
        path,
        {
            "apiVersion": "awspca.cert-manager.io/v1beta1",
            "kind": "AWSPCAClusterIssuer",
            "metadata": {"name": "cluster-pca"},
            "spec": {"arn": CA_ARN, "region": "us-east-1"},
        },
    )
    assert kube.get(f"{path}/cluster-pca")["spec"]["arn"] == CA_ARN
    out = control_plane.kubectl("get", "awspcaclusterissuers", "cluster-pca").stdout
    assert out.split()[:4] == ["NAME", "READY", "REASON", "AGE"]


@pytest.mark.parametrize(
    "spec",
    [
        {"arn": 42},
        {"secretRef": {"name": ["not", "a", "string"]}},
        {"secretRef": {"accessKeyIDSelector": {}}},  # key is required
        {"pcaTemplate": "EndEntityCertificate/V1"},
    ],
)
def test_schema_refuses_wrong_types(
    kube: KubeClient, namespace: str, spec: dict[str, object]
) -> None:
    with pytest.raises(KubeError) as e:
        kube.create(
            f"{GROUP_PATH}/namespaces/{namespace}/awspcaissuers",
            {
                "apiVersion": "awspca.cert-manager.io/v1beta1",
                "kind": "AWSPCAIssuer",
                "metadata": {"name": "bad", "namespace": namespace},
                "spec": spec,
            },
        )
    assert e.value.code == 422, e.value


def test_certificate_request_is_created_and_seen_by_a_watch(
    kube: KubeClient, namespace: str
) -> None:
    path = CR_PATH.format(ns=namespace)
    rv = kube.get(path)["metadata"]["resourceVersion"]
    csr, _ = make_csr("watch.example.test", dns=("watch.example.test",))
    kube.create(
        path,
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": "req-1", "namespace": namespace},
            "spec": {
                "request": b64(csr),
                "issuerRef": {
                    "group": "awspca.cert-manager.io",
                    "kind": "AWSPCAIssuer",
                    "name": "pca",
                },
                "usages": ["digital signature", "server auth"],
            },
        },
    )
    seen = []
    for ev in kube.watch(path, resource_version=rv, timeout=10):
        if ev["type"] == "ADDED":
            seen.append(ev["object"]["metadata"]["name"])
            break
    assert seen == ["req-1"]


def test_service_account_token_verifies_against_the_jwks(
    control_plane: ControlPlane, namespace: str
) -> None:
    control_plane.create_service_account(namespace, "issuer")
    token = control_plane.service_account_token(namespace, "issuer", ("sts.amazonaws.com",))
    discovery = control_plane.oidc_discovery()
    assert discovery["issuer"] == control_plane.issuer_url
    keys = jwt.PyJWKSet.from_dict(control_plane.jwks())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(
        token,
        key=key.key,
        algorithms=["RS256"],
        audience="sts.amazonaws.com",
        issuer=control_plane.issuer_url,
    )
    assert claims["sub"] == f"system:serviceaccount:{namespace}:issuer"
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key=key.key, algorithms=["RS256"], audience="someone-else")


def test_oidc_documents_are_readable_anonymously(control_plane: ControlPlane) -> None:
    anon = KubeClient(control_plane.server, Credentials(ca_file=control_plane.ca_file))
    with pytest.raises(KubeError) as e:
        anon.get("/api/v1/namespaces")
    assert e.value.code in (401, 403)
    assert b"keys" in anon.raw("/openid/v1/jwks")
    assert b"jwks_uri" in anon.raw("/.well-known/openid-configuration")
