"""Real-component test harness: etcd + kube-apiserver on loopback, cert-manager, tools.

Used as session-scoped pytest fixtures (tests/conftest.py) and by the demo
(``python -m tests.harness``). Nothing here mocks Kubernetes.
"""

from tests.harness.controlplane import ControlPlane
from tests.harness.kubeclient import KubeClient, KubeError

__all__ = ["ControlPlane", "KubeClient", "KubeError"]
