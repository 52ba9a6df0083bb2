"""Real-component test harness: etcd + kube-apiserver on loopback, cert-manager, tools.

Used as session-scoped pytest fixtures (tests/conftest.py) and by the demo
(``python -m awspca_devstack``). Nothing here mocks Kubernetes.
"""

from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.kubeclient import KubeClient, KubeError

__all__ = ["ControlPlane", "KubeClient", "KubeError"]
