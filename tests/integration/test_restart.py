"""The harness restarts the API server in place (for fault tests); state survives in etcd."""

from __future__ import annotations

import pytest
from awspca_devstack import ControlPlane, KubeError


def test_apiserver_restart_keeps_state(control_plane: ControlPlane) -> None:
    ns = control_plane.new_namespace("restart")
    control_plane.stop_apiserver()
    with pytest.raises((KubeError, OSError)):
        control_plane.admin.get("/api/v1/namespaces")
    control_plane.start_apiserver()
    assert control_plane.admin.get(f"/api/v1/namespaces/{ns}")["metadata"]["name"] == ns
