"""CertificateRequest view parsing and the informer's compact projection."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from issuer.api.certificaterequest import (
    COMPACT_MARKER,
    CertificateRequestView,
    compact_projection,
    is_finished,
)
from issuer.api.names import CERT_ARN_ANNOTATION, InvalidDuration
from issuer.controllers.request_decision import decide_gates

CSR = b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"


def _cr(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": {
            "name": "req",
            "namespace": "istio-system",
            "uid": "u-1",
            "resourceVersion": "42",
            "generation": 1,
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "annotations": {
                CERT_ARN_ANNOTATION: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x/certificate/y",
                "cert-manager.io/certificate-name": "cacerts",
                "kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 5000 + "}",
            },
            "labels": {"a": "b"},
            "managedFields": [{"manager": "x" * 1000}],
        },
        "spec": {
            "issuerRef": {
                "group": "awspca.cert-manager.io",
                "kind": "AWSPCAClusterIssuer",
                "name": "pca",
            },
            "request": base64.b64encode(CSR).decode(),
            "duration": "2160h0m0s",
            "isCA": True,
            "usages": ["digital signature", "cert sign"],
            "username": "system:serviceaccount:cert-manager:cert-manager",
        },
        "status": status,
    }


def test_view_from_full_object() -> None:
    view = CertificateRequestView.from_obj(
        _cr(
            certificate="Y2VydA==",
            failureTime="2026-01-03T00:00:00Z",
            conditions=[{"type": "Approved", "status": "True"}],
        )
    )
    assert view.namespace == "istio-system"
    assert view.name == "req"
    assert view.key == "istio-system/req"
    assert view.uid == "u-1"
    assert view.resource_version == "42"
    assert view.creation_timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert view.issuer_group == "awspca.cert-manager.io"
    assert view.issuer_kind == "AWSPCAClusterIssuer"
    assert view.issuer_name == "pca"
    assert view.csr_pem == CSR
    assert view.duration_seconds == 2160 * 3600
    assert view.is_ca is True
    assert view.usages == ("digital signature", "cert sign")
    assert view.conditions == ({"type": "Approved", "status": "True"},)
    assert view.has_certificate is True
    assert view.certificate_arn is not None
    assert view.certificate_arn.endswith("/certificate/y")
    assert view.failure_time == datetime(2026, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("patch", "field", "expected"),
    [
        ({"spec": {}}, "csr_pem", b""),
        ({"spec": {"request": "not base64!!"}}, "csr_pem", b""),
        ({"spec": {"request": 12}}, "csr_pem", b""),
        ({"spec": {}}, "duration_seconds", None),
        ({"spec": {"duration": "forever"}}, "duration_seconds", None),
        ({"spec": {"duration": "1h"}}, "duration_seconds", 3600.0),
        ({"spec": {}}, "is_ca", False),
        ({"spec": {"isCA": "true"}}, "is_ca", False),
        ({"spec": {}}, "usages", ()),
        ({"spec": {}}, "issuer_group", ""),
        ({"status": {}}, "has_certificate", False),
        ({"status": {"certificate": ""}}, "has_certificate", False),
        ({"status": {"hasCertificate": True}}, "has_certificate", True),
        ({"status": {"conditions": "junk"}}, "conditions", ()),
        ({"metadata": {}}, "certificate_arn", None),
        ({"metadata": {"annotations": {CERT_ARN_ANNOTATION: ""}}}, "certificate_arn", None),
        ({"metadata": {}}, "creation_timestamp", datetime(1970, 1, 1, tzinfo=UTC)),
        ({"status": {}}, "failure_time", None),
    ],
)
def test_view_defaults_and_bad_values(patch: dict[str, Any], field: str, expected: object) -> None:
    obj = _cr()
    obj.update(patch)
    assert getattr(CertificateRequestView.from_obj(obj), field) == expected


def test_view_of_empty_object() -> None:
    view = CertificateRequestView.from_obj({})
    assert (view.name, view.namespace, view.csr_pem, view.has_certificate) == ("", "", b"", False)


FINISHED_READY = [{"type": "Ready", "status": "True", "reason": "Issued"}]
FAILED_READY = [{"type": "Ready", "status": "False", "reason": "Failed", "message": "m" * 1000}]
DENIED_READY = [{"type": "Ready", "status": "False", "reason": "Denied"}]
PENDING_READY = [{"type": "Ready", "status": "False", "reason": "Pending"}]


@pytest.mark.parametrize(
    ("conditions", "finished"),
    [
        (None, False),
        ([], False),
        (PENDING_READY, False),
        (FINISHED_READY, True),
        (FAILED_READY, True),
        (DENIED_READY, True),
    ],
)
def test_is_finished(conditions: list[dict[str, Any]] | None, finished: bool) -> None:
    status = {} if conditions is None else {"conditions": conditions}
    assert is_finished(_cr(**status)) is finished


APPROVED = {"type": "Approved", "status": "True", "reason": "cert-manager.io", "message": "ok"}
INVALID = {"type": "InvalidRequest", "status": "True", "reason": "Bad", "message": "m" * 999}
DENIED = {"type": "Denied", "status": "True", "reason": "Policy", "message": "no"}


@pytest.mark.parametrize(
    ("status", "has_cert"),
    [
        ({"conditions": FINISHED_READY, "certificate": "QQ==" * 2000, "ca": "QQ==" * 2000}, True),
        ({"conditions": FAILED_READY, "failureTime": "2026-01-03T00:00:00Z"}, False),
        ({"conditions": [APPROVED, *PENDING_READY]}, False),
        ({"conditions": [INVALID]}, False),
        ({"conditions": [DENIED, *PENDING_READY]}, False),
        ({"conditions": [APPROVED], "hasCertificate": True}, True),
        ({}, False),
    ],
)
def test_compact_projection(status: dict[str, Any], has_cert: bool) -> None:
    full = _cr(**status)
    compact = compact_projection(full)
    assert compact[COMPACT_MARKER] is True
    assert compact["spec"] == {"issuerRef": full["spec"]["issuerRef"]}
    assert compact["metadata"] == {"name": "req", "namespace": "istio-system"}
    assert set(compact["status"]) <= {"hasCertificate", "conditions"}
    assert all(
        set(c) <= {"type", "status", "reason"} for c in compact["status"].get("conditions", [])
    )
    assert len(json.dumps(compact)) < 400  # small whatever the bodies weigh
    # the gates and the predicates see the same thing from the projection as from the object
    a = CertificateRequestView.from_obj(full)
    b = CertificateRequestView.from_obj(compact)
    assert b.has_certificate is has_cert
    for approval_check in (True, False):
        assert decide_gates(b, approval_check=approval_check) == decide_gates(
            a, approval_check=approval_check
        )
    assert (a.key, a.issuer_kind, a.issuer_group, a.issuer_name, a.has_certificate) == (
        b.key,
        b.issuer_kind,
        b.issuer_group,
        b.issuer_name,
        b.has_certificate,
    )
    assert [(c.get("type"), c.get("status"), c.get("reason")) for c in a.conditions] == [
        (c.get("type"), c.get("status"), c.get("reason")) for c in b.conditions
    ]
    # projecting twice changes nothing
    assert compact_projection(compact) == compact


def test_finished_requests_of_one_issuer_project_alike_but_for_their_names() -> None:
    one, two = (
        _cr(conditions=[APPROVED, *FINISHED_READY]),
        _cr(conditions=[APPROVED, *FINISHED_READY]),
    )
    two["metadata"].update(name="other", uid="u-2", resourceVersion="43", annotations={})
    two["metadata"]["creationTimestamp"] = "2026-02-02T00:00:00Z"
    two["status"]["conditions"][1] = {
        **FINISHED_READY[0],
        "message": "x",
        "lastTransitionTime": "t",
    }
    a, b = compact_projection(one), compact_projection(two)
    assert a["metadata"].pop("name") == "req"
    assert b["metadata"].pop("name") == "other"
    assert a == b


def test_compact_projection_caps_hostile_condition_strings() -> None:
    long = {"type": "T" * 5000, "status": "S" * 5000, "reason": "R" * 5000, "message": "m"}
    compact = compact_projection(_cr(conditions=[long]))
    assert compact["status"]["conditions"] == [
        {"type": "T" * 256, "status": "S" * 256, "reason": "R" * 256}
    ]


def test_an_invalid_or_overflowing_duration_is_refused_when_asked_for() -> None:
    def view(duration: str) -> CertificateRequestView:
        obj = _cr()
        obj["spec"]["duration"] = duration
        return CertificateRequestView.from_obj(obj)

    assert view("1h").requested_duration() == 3600
    for bad, fragment in (("9" * 400 + "h", "longer than the longest"), ("1d", "invalid")):
        v = view(bad)
        assert v.duration_seconds is None
        with pytest.raises(InvalidDuration) as refused:
            v.requested_duration()
        assert refused.value.message.startswith("spec.duration: ")
        assert fragment in refused.value.message
        assert " inf " not in refused.value.message
