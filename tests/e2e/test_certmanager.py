"""cert-manager's real controller runs against the harness and makes CertificateRequests."""

from __future__ import annotations

from awspca_devstack import KubeClient
from awspca_devstack.certmanager import CertManager
from awspca_devstack.kubeclient import has_condition


def test_certificate_becomes_an_approved_request_for_our_issuer(
    cert_manager: CertManager, kube: KubeClient, namespace: str
) -> None:
    issuer_ref = {"group": "awspca.cert-manager.io", "kind": "AWSPCAClusterIssuer", "name": "pca"}
    kube.create(
        f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificates",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "secretName": "web-tls",
                "commonName": "web.example.test",
                "dnsNames": ["web.example.test"],
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": issuer_ref,
            },
        },
    )
    path = f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificaterequests"
    reqs = kube.wait_for(
        path,
        lambda lst: any(has_condition(o, "Approved") for o in lst["items"]),
        timeout=60,
        what="an approved CertificateRequest",
    )["items"]
    assert len(reqs) == 1
    cr = reqs[0]
    assert cr["spec"]["issuerRef"] == issuer_ref
    assert cr["metadata"]["ownerReferences"][0]["name"] == "web"
    assert cr["spec"]["request"]
    # No issuer exists yet: the request stays pending, never Ready.
    assert not has_condition(cr, "Ready")
