"""Upstream v1.12's credential rules, on the real API server with the controller as a process.

- A Go client's empty secretRef (``{"accessKeyIDSelector": {"key": ""}, ...}``)
  means "no Secret".
- ``serviceAccountRef``: the controller mints a TokenRequest token for that
  ServiceAccount and exchanges it for ``spec.role``; the emulator's STS
  verifies the token against the API server's JWKS.
- Ambient credentials: cluster issuers by default, namespaced issuers only
  with ``--issuer-ambient-credentials``; otherwise upstream's "empty
  credentials" error.
- ``notBeforeOffset`` reaches the certificate's NotBefore.
- Upstream's TestIssuerReconcile rows about Secrets and notBeforeOffset, ported.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import KubeError, condition
from awspca_devstack.stack import DEFAULT_KEYS, instead_of
from awspca_emulator import AdminClient

from issuer.kube import config as kube_config
from issuer.kube.client import KubeClient as AsyncKubeClient
from issuer.kube.tokens import blocking_token_source
from tests import flows

ISSUER, CLUSTER = "AWSPCAIssuer", "AWSPCAClusterIssuer"
# What upstream's typed Go client sends for an issuer without a Secret.
GO_EMPTY_SECRET_REF = {"accessKeyIDSelector": {"key": ""}, "secretAccessKeySelector": {"key": ""}}
AMBIENT_TEXT = "empty credentials; perhaps you meant to enable ambient credentials?"


def _wait_checked(
    kube: KubeClient, kind: str, name: str, namespace: str | None = None
) -> dict[str, Any]:
    """The issuer's Ready condition once the controller has decided (not NotChecked)."""
    obj = kube.wait_for(
        flows.issuer_path(kind, namespace, name),
        lambda o: (condition(o, "Ready") or {}).get("reason") not in (None, "NotChecked"),
        timeout=60,
        what=f"{kind} {name} checked",
    )
    ready = condition(obj, "Ready") or {}
    assert ready.get("observedGeneration") == obj["metadata"]["generation"], ready
    return ready


def _sign_one(
    kube: KubeClient, namespace: str, kind: str, issuer: str, name: str = "one"
) -> dict[str, Any]:
    key = new_key("ec256")
    csr, _ = make_csr(f"{name}.test", key=key, dns=(f"{name}.{namespace}.test",))
    flows.create_request(
        kube, namespace, name, csr, issuer_kind=kind, issuer_name=issuer, duration="1h"
    )
    obj = flows.wait_request(kube, namespace, name)
    flows.verify_chain(obj, key)
    return obj


def test_go_clients_empty_secret_ref_means_no_secret(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    name = f"go-{namespace}"
    flows.create_issuer(
        kube, CLUSTER, name, arn=cas["ec"]["subordinate_arn"], secret_ref=GO_EMPTY_SECRET_REF
    )
    stored = kube.get(flows.issuer_path(CLUSTER, None, name))
    # The API server keeps the empty selectors (and defaults their name), as for Go clients.
    assert stored["spec"]["secretRef"]["accessKeyIDSelector"]["key"] == ""
    ready = _wait_checked(kube, CLUSTER, name)
    assert (ready["status"], ready["reason"]) == ("True", "Verified"), ready
    _sign_one(kube, namespace, CLUSTER, name)


def test_namespaced_issuer_without_credentials_does_not_use_the_controllers(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    arn = cas["ec"]["subordinate_arn"]
    flows.create_issuer(kube, ISSUER, "bare", arn=arn, namespace=namespace)
    flows.create_issuer(
        kube, ISSUER, "go", arn=arn, namespace=namespace, secret_ref=GO_EMPTY_SECRET_REF
    )
    for name in ("bare", "go"):
        ready = _wait_checked(kube, ISSUER, name, namespace)
        assert (ready["status"], ready["reason"]) == ("False", "AmbientCredentialsDisabled")
        assert ready["message"] == AMBIENT_TEXT, ready  # upstream's words exactly (its e2e)
    assert "run with --issuer-ambient-credentials" in controller.log_text()
    key = new_key("ec256")
    csr, _ = make_csr("waits.test", key=key)
    flows.create_request(kube, namespace, "waits", csr, issuer_kind=ISSUER, issuer_name="bare")
    flows.wait_request(kube, namespace, "waits", reason="Pending")


def test_ambient_credential_flags_switch_per_kind(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    emulator: Any,
    cas: dict[str, dict[str, str]],
    namespace: str,
    workdir: Path,
) -> None:
    """--issuer-ambient-credentials lets namespaced issuers use IRSA;
    --cluster-issuer-ambient-credentials=false stops cluster issuers from doing so."""
    arn = cas["rsa"]["subordinate_arn"]
    cluster_name = f"ambient-{namespace}"
    with instead_of(
        controller,
        control_plane,
        emulator,
        workdir,
        "ambient-flags",
        "--issuer-ambient-credentials",
        "--cluster-issuer-ambient-credentials=false",
    ) as proc:
        flows.create_issuer(kube, ISSUER, "ambient", arn=arn, namespace=namespace)
        flows.create_issuer(kube, CLUSTER, cluster_name, arn=arn)
        ready = _wait_checked(kube, ISSUER, "ambient", namespace)
        assert (ready["status"], ready["reason"]) == ("True", "Verified"), ready
        _sign_one(kube, namespace, ISSUER, "ambient")
        refused = _wait_checked(kube, CLUSTER, cluster_name)
        assert refused["reason"] == "AmbientCredentialsDisabled", refused
        assert refused["message"] == AMBIENT_TEXT, refused
        assert "run with --cluster-issuer-ambient-credentials" in proc.log_text()


def test_service_account_ref_and_not_before_offset_end_to_end(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    """A token of the named ServiceAccount, verified by the emulator's STS against the
    API server's JWKS, buys the role that issues; NotBefore is issuance - notBeforeOffset."""
    arn = cas["ec"]["subordinate_arn"]
    control_plane.create_service_account(namespace, "signer")
    role = admin.add_role(
        f"signer-{namespace}", trusted_subjects=[f"system:serviceaccount:{namespace}:signer"]
    )
    for kind, name, sa_ref, offset in (
        (ISSUER, "sa", {"name": "signer"}, "5m"),
        (CLUSTER, f"sa-{namespace}", {"name": "signer", "namespace": namespace}, "0s"),
    ):
        flows.create_issuer(
            kube,
            kind,
            name,
            arn=arn,
            namespace=namespace,
            role=role,
            extra={"serviceAccountRef": sa_ref, "notBeforeOffset": offset},
        )
        ready = _wait_checked(kube, kind, name, namespace)
        assert (ready["status"], ready["reason"]) == ("True", "Verified"), ready
        before = time.time()
        obj = _sign_one(kube, namespace, kind, name, name="ns" if kind == ISSUER else "cl")
        leaf = flows.issued_chain(obj)[0][0]
        backdate = before - leaf.not_valid_before_utc.timestamp()
        want = 300 if offset == "5m" else 0
        assert want - 1 <= backdate <= want + 30, (kind, backdate)
    session = f"arn:aws:sts::123456789012:assumed-role/signer-{namespace}/aws-privateca-issuer"
    issued_by = {c["caller_arn"] for c in admin.calls("IssueCertificate") if c["ca_arn"] == arn}
    assert session in issued_by, issued_by
    exchanges = [
        c
        for c in admin.calls("AssumeRoleWithWebIdentity")
        if c.get("caller_arn") == session or role in str(c)
    ]
    assert exchanges, "the emulator's STS saw no AssumeRoleWithWebIdentity for the role"


@pytest.mark.parametrize(
    ("kind", "sa_ref", "role", "fragment"),
    [
        (ISSUER, {"name": "signer", "namespace": "elsewhere"}, True, "must match the Issuer's"),
        (CLUSTER, {"name": "signer"}, True, "namespace is required on an AWSPCAClusterIssuer"),
        (ISSUER, {"name": "signer"}, False, "role must be set when using serviceAccountRef"),
        (ISSUER, {"name": ""}, True, "serviceAccountRef.name is required"),
    ],
)
def test_service_account_ref_is_validated_as_upstream(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
    kind: str,
    sa_ref: dict[str, str],
    role: bool,
    fragment: str,
) -> None:
    name = "bad" if kind == ISSUER else f"bad-{namespace}"
    flows.create_issuer(
        kube,
        kind,
        name,
        arn=cas["ec"]["subordinate_arn"],
        namespace=namespace,
        role="arn:aws:iam::123456789012:role/whatever" if role else None,
        extra={"serviceAccountRef": sa_ref},
    )
    ready = _wait_checked(kube, kind, name, namespace)
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec"), ready
    assert fragment in ready["message"], ready


def test_service_account_that_does_not_exist_is_a_credentials_error(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    flows.create_issuer(
        kube,
        ISSUER,
        "ghost",
        arn=cas["ec"]["subordinate_arn"],
        namespace=namespace,
        role="arn:aws:iam::123456789012:role/whatever",
        extra={"serviceAccountRef": {"name": "ghost"}},
    )
    ready = _wait_checked(kube, ISSUER, "ghost", namespace)
    assert (ready["status"], ready["reason"]) == ("False", "CredentialsError"), ready
    assert f"failed to request token for ServiceAccount {namespace}/ghost" in ready["message"]


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_every_exchange_gets_a_fresh_token_as_upstream_asks_for_it(
    control_plane: ControlPlane, namespace: str
) -> None:
    """The token source the AWS SDK calls from its threads: one TokenRequest per call,
    audience sts.amazonaws.com, 600 seconds, for the named ServiceAccount."""
    control_plane.create_service_account(namespace, "signer")

    async def two_tokens() -> list[str]:
        client = AsyncKubeClient(await kube_config.load(str(control_plane.kubeconfig)))
        try:
            source = blocking_token_source(client, namespace, "signer", asyncio.get_running_loop())
            with pytest.raises(RuntimeError, match="own event loop"):
                source()  # called on the loop it needs, it would deadlock
            loop = asyncio.get_running_loop()
            return [await loop.run_in_executor(None, source) for _ in range(2)]
        finally:
            await client.close()

    tokens = asyncio.run(two_tokens())
    assert tokens[0] != tokens[1]
    for claims in map(_claims, tokens):
        assert claims["aud"] == ["sts.amazonaws.com"]
        assert claims["exp"] - claims["iat"] == 600
        assert claims["sub"] == f"system:serviceaccount:{namespace}:signer"


# Upstream's TestIssuerReconcile (pkg/controllers/genericissuer_controller_test.go), the
# rows about Secrets and notBeforeOffset, through the real API server: name -> (Secret
# data, secretRef selectors, notBeforeOffset, Ready status, fragment of the message).
RECONCILE_TABLE: dict[str, tuple[dict[str, str], dict[str, Any], str | None, str, str]] = {
    "success-issuer": (DEFAULT_KEYS, {}, None, "True", "ACTIVE"),
    "success-with-secret-selector": (
        {
            "fake-access-key-id": DEFAULT_KEYS["AWS_ACCESS_KEY_ID"],
            "fake-secret-access-key": DEFAULT_KEYS["AWS_SECRET_ACCESS_KEY"],
        },
        {
            "accessKeyIDSelector": {"key": "fake-access-key-id"},
            "secretAccessKeySelector": {"key": "fake-secret-access-key"},
        },
        None,
        "True",
        "ACTIVE",
    ),
    "failure-issuer-no-access-key-specified": (
        {"AWS_SECRET_ACCESS_KEY": "x"},
        {},
        None,
        "False",
        "AWS_ACCESS_KEY_ID",
    ),
    "failure-issuer-no-access-key-specified-with-selector": (
        {"AWS_SECRET_ACCESS_KEY": "x"},
        {"accessKeyIDSelector": {"key": "fake-access-key-id"}},
        None,
        "False",
        "fake-access-key-id",
    ),
    "failure-issuer-no-secret-access-key-specified": (
        {"AWS_ACCESS_KEY_ID": "x"},
        {},
        None,
        "False",
        "AWS_SECRET_ACCESS_KEY",
    ),
    "failure-issuer-no-secret-access-key-specified-with-selector": (
        {"AWS_ACCESS_KEY_ID": "x"},
        {"secretAccessKeySelector": {"key": "fake-secret-access-key"}},
        None,
        "False",
        "fake-secret-access-key",
    ),
    "failure-issuer-not-before-offset-too-large": (
        DEFAULT_KEYS,
        {},
        "25h",
        "False",
        "notBeforeOffset in Issuer Spec must not exceed 24h",
    ),
}


@pytest.mark.parametrize("case", sorted(RECONCILE_TABLE))
def test_upstream_issuer_reconcile_table(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
    case: str,
) -> None:
    data, selectors, offset, status, fragment = RECONCILE_TABLE[case]
    flows.issuer_on_secret(
        kube,
        namespace,
        "issuer1",
        arn=cas["ec"]["subordinate_arn"],
        secret="issuer1-credentials",
        data=data,
        selectors=selectors,
        extra={"notBeforeOffset": offset} if offset else None,
    )
    ready = _wait_checked(kube, ISSUER, "issuer1", namespace)
    assert ready["status"] == status, ready
    assert fragment in ready["message"], ready


def test_negative_not_before_offset_is_refused_at_admission(
    kube: KubeClient, cas: dict[str, dict[str, str]], namespace: str
) -> None:
    """Upstream's failure-issuer-negative-not-before-offset: with v1.12's CRD pattern (ours
    is the same) the API server refuses "-1s" before any controller sees it."""
    with pytest.raises(KubeError) as err:
        flows.create_issuer(
            kube,
            ISSUER,
            "negative",
            arn=cas["ec"]["subordinate_arn"],
            namespace=namespace,
            extra={"notBeforeOffset": "-1s"},
        )
    assert err.value.code == 422
    assert "notBeforeOffset" in err.value.body
