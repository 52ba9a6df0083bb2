"""PodSpec: what a container runtime takes from a rendered Deployment (tests/e2e/test_image.py runs it)."""

from __future__ import annotations

from typing import Any

import pytest
from awspca_devstack.chartpod import PodSpec


def _deployment(container: dict[str, Any], **pod: Any) -> list[dict[str, Any]]:
    spec = {"serviceAccountName": "sa", "containers": [{"name": "c", **container}], **pod}
    return [
        {"kind": "Service", "metadata": {"name": "x"}},
        {
            "kind": "Deployment",
            "metadata": {"name": "x", "namespace": "ns"},
            "spec": {"template": {"spec": spec}},
        },
    ]


def test_security_context_ports_limits_and_emptydirs() -> None:
    spec = PodSpec.from_rendered(
        _deployment(
            {
                "args": ["--a=1"],
                "env": [{"name": "K", "value": 1}],
                "ports": [{"name": "http", "containerPort": 8080}],
                "securityContext": {
                    "runAsUser": 65532,
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}},
                "volumeMounts": [
                    {"name": "tmp", "mountPath": "/tmp"},
                    {"name": "cfg", "mountPath": "/etc/cfg"},
                ],
            },
            securityContext={"runAsUser": 1, "runAsGroup": 65532},
            terminationGracePeriodSeconds=45,
            volumes=[{"name": "tmp", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
        )
    )
    assert (spec.user, spec.group) == (65532, 65532)  # the container's setting wins
    assert spec.read_only_root
    assert spec.no_new_privileges
    assert spec.drop_all_capabilities
    assert spec.env == {"K": "1"}
    assert spec.ports == {"http": 8080}
    assert (spec.memory_limit, spec.cpu_limit) == ("256m", 0.5)
    assert spec.tmp_mounts == ["/tmp"]
    assert (spec.grace_seconds, spec.namespace, spec.service_account) == (45, "ns", "sa")


@pytest.mark.parametrize(
    ("limits", "memory", "cpu"),
    [
        ({"memory": "1Gi", "cpu": "2"}, "1g", 2.0),
        ({"memory": "1048576"}, "1048576", None),
        ({}, None, None),
    ],
)
def test_quantities(limits: dict[str, str], memory: str | None, cpu: float | None) -> None:
    spec = PodSpec.from_rendered(_deployment({"resources": {"limits": limits}}))
    assert (spec.memory_limit, spec.cpu_limit) == (memory, cpu)


def test_what_cannot_be_run_here_is_refused() -> None:
    with pytest.raises(ValueError, match="only literal values"):
        PodSpec.from_rendered(_deployment({"env": [{"name": "K", "valueFrom": {}}]}))
    with pytest.raises(ValueError, match="memory quantity"):
        PodSpec.from_rendered(_deployment({"resources": {"limits": {"memory": "1G"}}}))
