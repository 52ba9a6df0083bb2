"""The informer's cache: what it keeps per object, and how little memory that takes.

Events are applied directly (no API server needed for this part; the
list/watch against the real API server is in tests/integration/test_informer.py).
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from typing import Any

import pytest

from issuer.api import certificaterequest as certificaterequest_module
from issuer.api.certificaterequest import compact_projection
from issuer.kube import informer as informer_module
from issuer.kube.informer import Informer, object_key

FINISHED = 2000
#: Bytes of Python heap per cached finished request: its key and a reference to
#: the one encoding all finished requests of its issuer share (as nested dicts
#: it was ~3,300; as one JSON encoding each ~1,000).
PER_REQUEST_BOUND = 200


def finished_request(i: int) -> dict[str, Any]:
    ca = f"arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/{uuid.uuid4()}"
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": {
            "name": f"web-{i}-abcde",
            "namespace": "team-a",
            "uid": str(uuid.uuid4()),
            "resourceVersion": str(100_000 + i),
            "creationTimestamp": "2026-11-28T20:00:00Z",
            "generation": 1,
            "annotations": {
                "aws-privateca-issuer/certificate-arn": f"{ca}/certificate/{uuid.uuid4().hex}",
                "cert-manager.io/certificate-name": "web",
            },
            "managedFields": [{"manager": "cert-manager", "operation": "Update"}],
        },
        "spec": {
            "request": "Q" * 1500,
            "issuerRef": {"group": "awspca.cert-manager.io", "kind": "AWSPCAIssuer", "name": "pca"},
            "usages": ["digital signature", "key encipherment"],
        },
        "status": {
            "certificate": "B" * 3000,
            "ca": "C" * 1500,
            "conditions": [
                {
                    "type": "Approved",
                    "status": "True",
                    "reason": "cert-manager.io",
                    "message": "Certificate request has been approved by cert-manager.io",
                    "lastTransitionTime": "2026-11-28T20:00:00Z",
                },
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Issued",
                    "message": "Certificate issued by AWS Private CA",
                    "lastTransitionTime": "2026-11-28T20:00:01Z",
                },
            ],
        },
    }


def _informer() -> Informer:
    return Informer(None, "/x", name="crs", project=compact_projection)  # type: ignore[arg-type]


def test_cache_returns_the_projection_and_handlers_see_old_and_new() -> None:
    inf = _informer()
    seen: list[tuple[str, Any, Any]] = []
    inf.add_handler(lambda kind, old, new: seen.append((kind, old, new)))
    obj = finished_request(1)
    inf._apply({"type": "ADDED", "object": obj})
    assert inf.get("team-a/web-1-abcde") == compact_projection(obj)
    changed = finished_request(1)
    changed["metadata"]["resourceVersion"] = "2"
    inf._apply({"type": "MODIFIED", "object": changed})
    assert seen[1] == ("MODIFIED", compact_projection(obj), compact_projection(changed))
    got = inf.get("team-a/web-1-abcde")
    assert got is not None
    got["metadata"]["name"] = "mutated by a caller"
    assert inf.get("team-a/web-1-abcde") == compact_projection(changed), "the cache is a copy"
    inf._apply({"type": "DELETED", "object": changed})
    assert inf.get("team-a/web-1-abcde") is None
    assert seen[2][0] == "DELETED"
    assert seen[2][1] == compact_projection(changed)
    assert len(inf) == 0


def test_finished_requests_cost_well_under_a_kib_each() -> None:
    objs = [finished_request(i) for i in range(FINISHED)]
    inf = _informer()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for obj in objs:
            inf._apply({"type": "ADDED", "object": obj})
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # Only what the cache's own code allocated: in a full run, threads other
    # tests left behind allocate meanwhile and would be counted too.
    cache_code = [
        tracemalloc.Filter(True, informer_module.__file__),
        tracemalloc.Filter(True, certificaterequest_module.__file__),
    ]
    grown = after.filter_traces(cache_code).compare_to(before.filter_traces(cache_code), "filename")
    per_request = sum(stat.size_diff for stat in grown) / FINISHED
    assert len(inf) == FINISHED
    print(f"{per_request:.0f} bytes per cached request")
    assert per_request < PER_REQUEST_BOUND, f"{per_request:.0f} bytes per cached request"


def test_equal_projections_are_stored_once_and_dropped_with_their_last_holder() -> None:
    inf = _informer()
    for i in range(50):
        inf._apply({"type": "ADDED", "object": finished_request(i)})
    assert len(inf._cache._shared) == 1, "finished requests of one issuer share one encoding"
    pending = finished_request(50)
    pending["status"] = {}
    inf._apply({"type": "ADDED", "object": pending})
    assert len(inf._cache._shared) == 2
    for i in range(51):
        obj = finished_request(i) if i < 50 else pending
        assert inf.get(f"team-a/web-{i}-abcde") == compact_projection(obj)
        inf._apply({"type": "DELETED", "object": obj})
    assert len(inf) == 0
    assert inf._cache._shared == {}, "no encoding outlives the objects holding it"


def test_a_modified_object_moves_to_its_new_encoding() -> None:
    inf = _informer()
    obj = finished_request(1)
    obj["status"] = {}
    inf._apply({"type": "ADDED", "object": obj})
    inf._apply({"type": "MODIFIED", "object": finished_request(1)})
    assert len(inf._cache._shared) == 1
    assert inf.get("team-a/web-1-abcde") == compact_projection(finished_request(1))


@pytest.mark.parametrize(
    "metadata",
    [
        {"name": "cluster-scoped"},
        {"name": "x", "namespace": ""},
        {"name": "", "namespace": "ns"},
        {"namespace": "ns"},
        {"name": "a/b", "namespace": "ns"},
        {"name": 7, "namespace": "ns"},
        {"name": "x", "namespace": ["ns"]},
    ],
)
def test_projections_come_back_exactly_whatever_their_names(metadata: dict[str, Any]) -> None:
    inf = Informer(None, "/x", name="any")  # type: ignore[arg-type]
    obj = {"metadata": metadata, "spec": {"n": 1}}
    seen: list[Any] = []
    inf.add_handler(lambda kind, old, new: seen.append(old))
    inf._apply({"type": "ADDED", "object": obj})
    key = object_key(obj)
    assert inf.get(key) == obj
    inf._apply({"type": "MODIFIED", "object": {**obj, "spec": {"n": 2}}})
    assert seen == [None, obj]
