"""Fixtures shared by the integration tests (the session's control plane is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from awspca_devstack import ControlPlane

from issuer.kube import config as kube_config
from issuer.kube.client import KubeClient as AsyncKube


@pytest.fixture
async def akube(control_plane: ControlPlane) -> AsyncIterator[AsyncKube]:
    """The controller's own async client on the session's API server, without a QPS limit."""
    client = AsyncKube(await kube_config.load(str(control_plane.kubeconfig)), qps=None)
    yield client
    await client.close()
