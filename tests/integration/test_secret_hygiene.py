"""Credential values never reach a status, an Event or a log, whatever a Secret holds.

Against the real API server, the emulator and the controller process: Secrets
whose values no AWS credential can have (a line break in a key ID or session
token, a selector pointing at a TLS Secret's private key) make their issuer
not Ready with reason CredentialsError naming the key; then every condition,
Event and log line the controller wrote is searched for the values.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from awspca_devstack import KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import condition
from cryptography.hazmat.primitives import serialization

from tests import flows

KIND = "AWSPCAIssuer"


def _marker(tag: str) -> str:
    return f"{tag}{uuid.uuid4().hex}"


def _pem_key() -> str:
    return (
        new_key("ec256")
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _fragments(value: str) -> list[str]:
    """What of ``value`` must never be seen: each line, and the value as repr escapes it."""
    parts = [line.strip() for line in value.splitlines() if len(line.strip()) >= 8]
    parts.append(repr(value.encode())[2:-1])
    return [p for p in parts if "PRIVATE KEY" not in p]


def _wait_not_ready(kube: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    obj = kube.wait_for(
        flows.issuer_path(KIND, namespace, name),
        lambda o: (condition(o, "Ready") or {}).get("reason") not in (None, "NotChecked"),
        timeout=60,
        what=f"issuer {name} checked",
    )
    ready = condition(obj, "Ready") or {}
    assert ready.get("status") == "False", ready
    return ready


def test_unusable_credential_values_are_refused_and_never_shown(
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    arn = cas["ec"]["subordinate_arn"]
    good_secret = "emulator-secret-0000000000000000000000001"
    key_id_with_newline = "AKIA" + uuid.uuid4().hex[:16].upper() + "\n" + _marker("idtail")
    token_with_newline = _marker("tokenhead") + "\n" + _marker("tokentail")
    private_key = _pem_key()
    cases = {
        "newline-id": (
            {"AWS_ACCESS_KEY_ID": key_id_with_newline, "AWS_SECRET_ACCESS_KEY": good_secret},
            {},
            "AWS_ACCESS_KEY_ID",
        ),
        "newline-token": (
            {
                "AWS_ACCESS_KEY_ID": "AKIAEMULATOR000000001",
                "AWS_SECRET_ACCESS_KEY": good_secret,
                "AWS_SESSION_TOKEN": token_with_newline,
            },
            {},
            "AWS_SESSION_TOKEN",
        ),
        "tls-key": (
            {"tls.key": private_key, "tls.crt": "not used", "AWS_SECRET_ACCESS_KEY": good_secret},
            {"accessKeyIDSelector": {"key": "tls.key"}},
            "tls.key",
        ),
    }
    for name, (data, selectors, _) in cases.items():
        flows.issuer_on_secret(
            kube, namespace, name, arn=arn, secret=f"aws-{name}", data=data, selectors=selectors
        )
        csr, _ = make_csr(f"{name}.test", key=new_key("ec256"), dns=(f"{name}.test",))
        flows.create_request(
            kube, namespace, f"req-{name}", csr, issuer_kind=KIND, issuer_name=name
        )

    for name, (_, _, bad_key) in cases.items():
        ready = _wait_not_ready(kube, namespace, name)
        assert ready["reason"] == "CredentialsError", ready
        assert f"key {bad_key}" in ready["message"], ready
        # The request waits, told why (once the issuer has been checked).
        kube.wait_for(
            flows.cr_path(namespace, f"req-{name}"),
            lambda o: "CredentialsError" in flows.condition_message(o),
            timeout=60,
            what=f"request req-{name} told its issuer's credentials are refused",
        )

    # Everything the controller wrote that a tenant or an operator can read.
    # Events are sent in the background: wait until the issuers' refusals are there.
    events = kube.wait_for(
        f"/api/v1/namespaces/{namespace}/events",
        lambda o: sum(e.get("reason") == "CredentialsError" for e in o["items"]) >= len(cases),
        timeout=60,
        what="the refusals recorded as Events",
    )
    seen = [
        json.dumps(kube.get(flows.issuer_path(KIND, namespace, ""))),
        json.dumps(kube.get(flows.cr_path(namespace))),
        json.dumps(events),
        controller.log_text(),
    ]
    secrets = [key_id_with_newline, token_with_newline, private_key]
    for text in seen:
        for secret in secrets:
            for fragment in _fragments(secret):
                assert fragment not in text, f"{fragment[:12]}... leaked"
