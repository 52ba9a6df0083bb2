"""The chart's controller pod as a podman container against a ControlPlane.

What the kubelet would do with the Deployment helm renders, minus the
scheduling: the container's args, env, security context and limits come from
the rendered object (read-only root, its user, no capabilities, no privilege
escalation, the /tmp emptyDir, memory and CPU limits), the pod's ServiceAccount token, the API
server's CA and the namespace are bind-mounted where the in-cluster
configuration looks for them, with KUBERNETES_SERVICE_HOST/PORT set; EKS's pod
identity webhook is imitated with a second token (audience sts.amazonaws.com)
and AWS_ROLE_ARN. The network is the host's (loopback API server and
emulator), so the container's ports are the host's: one pod at a time per
machine (a lock file serialises them).

Images are built by hack/image.sh; ``podman()`` uses its containers.conf.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awspca_emulator import EmulatorConfig
from awspca_emulator.config import RoleConfig

from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.procs import local_get
from awspca_devstack.stack import IRSA_ROLE, emulator_config
from awspca_devstack.tools import HACK

IMAGE_SCRIPT = HACK / "image.sh"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IRSA_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
NOT_HERE = 3  # hack/image.sh's exit code for "cannot build images on this machine"
IDENTITY_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


class CannotBuildHere(RuntimeError):
    """This machine cannot build images (no root, no apt); the message says why, in one line."""


@functools.cache
def image_env() -> dict[str, str]:
    """The environment podman needs here (hack/image.sh's private containers.conf)."""
    res = subprocess.run(
        [str(IMAGE_SCRIPT), "env"], capture_output=True, text=True, check=True, timeout=30
    )
    key, _, value = res.stdout.strip().partition("=")
    return {**os.environ, key: value}


def build_image() -> str:
    """Build (or reuse) the image with hack/image.sh; its name."""
    res = subprocess.run(
        [str(IMAGE_SCRIPT), "build"], capture_output=True, text=True, check=False, timeout=1800
    )
    if res.returncode == NOT_HERE:
        raise CannotBuildHere(res.stderr.strip().splitlines()[-1])
    if res.returncode != 0:
        raise RuntimeError(f"hack/image.sh build failed:\n{res.stderr[-4000:]}")
    return res.stdout.strip().splitlines()[-1]


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        env=image_env(),
        timeout=timeout,
        check=False,
    )
    if check and res.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])} failed:\n{res.stdout}\n{res.stderr}")
    return res


@dataclass
class PodSpec:
    """The parts of the rendered Deployment a container runtime acts on."""

    args: list[str]
    env: dict[str, str]
    user: int
    group: int
    read_only_root: bool
    drop_all_capabilities: bool
    no_new_privileges: bool
    ports: dict[str, int]
    grace_seconds: int
    service_account: str
    namespace: str
    tmp_mounts: list[str] = field(default_factory=list)
    memory_limit: str | None = None  # podman's --memory syntax
    cpu_limit: float | None = None

    @classmethod
    def from_rendered(cls, objs: list[dict[str, Any]]) -> PodSpec:
        (dep,) = [o for o in objs if o["kind"] == "Deployment"]
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
        env: dict[str, str] = {}
        for e in c.get("env") or []:
            if "value" not in e:
                raise ValueError(f"env {e['name']}: only literal values can be run here")
            env[e["name"]] = str(e["value"])
        empty_dirs = {v["name"] for v in pod.get("volumes") or [] if "emptyDir" in v}
        limits = (c.get("resources") or {}).get("limits") or {}
        return cls(
            args=[str(a) for a in c.get("args") or []],
            env=env,
            user=int(csc.get("runAsUser", psc.get("runAsUser", 0))),
            group=int(csc.get("runAsGroup", psc.get("runAsGroup", 0))),
            read_only_root=bool(csc.get("readOnlyRootFilesystem")),
            drop_all_capabilities="ALL" in (csc.get("capabilities") or {}).get("drop", []),
            no_new_privileges=csc.get("allowPrivilegeEscalation") is False,
            ports={p["name"]: int(p["containerPort"]) for p in c.get("ports") or []},
            grace_seconds=int(pod.get("terminationGracePeriodSeconds", 30)),
            service_account=pod["serviceAccountName"],
            namespace=dep["metadata"]["namespace"],
            tmp_mounts=[
                m["mountPath"] for m in c.get("volumeMounts") or [] if m["name"] in empty_dirs
            ],
            memory_limit=_memory(limits["memory"]) if "memory" in limits else None,
            cpu_limit=_cpu(limits["cpu"]) if "cpu" in limits else None,
        )


_BINARY_UNITS = {"Ki": "k", "Mi": "m", "Gi": "g"}


def _memory(quantity: object) -> str:
    """A Kubernetes memory quantity (``256Mi``, ``1Gi``, bytes) as podman's ``--memory``."""
    q = str(quantity)
    for suffix, unit in _BINARY_UNITS.items():
        if q.endswith(suffix):
            return q.removesuffix(suffix) + unit
    if not q.isdigit():
        raise ValueError(f"memory quantity {q!r}: only Ki/Mi/Gi or bytes can be run here")
    return q


def _cpu(quantity: object) -> float:
    """A Kubernetes CPU quantity (``1``, ``500m``) in CPUs."""
    q = str(quantity)
    return int(q.removesuffix("m")) / 1000 if q.endswith("m") else float(q)


def install_identity(cp: ControlPlane, objs: list[dict[str, Any]], spec: PodSpec) -> None:
    """The chart's namespace, ServiceAccount and RBAC, as helm would install them."""
    cp.ensure_namespace(spec.namespace)
    items = [o for o in objs if o["kind"] in IDENTITY_KINDS]
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    cp.kubectl("apply", "-f", "-", input_text=json.dumps(doc))


def irsa_emulator_config(cp: ControlPlane, spec: PodSpec) -> EmulatorConfig:
    """The stack's emulator settings, with IRSA_ROLE trusting the chart's ServiceAccount."""
    cfg = emulator_config(cp)
    role = IRSA_ROLE.rpartition("/")[2]
    subject = f"system:serviceaccount:{spec.namespace}:{spec.service_account}"
    roles = [
        RoleConfig(name=role, trusted_subjects=[subject]) if r.name == role else r
        for r in cfg.roles
    ]
    return dataclasses.replace(cfg, roles=roles)


def emulator_env(url: str) -> dict[str, str]:
    """AWS_* for the pod: every AWS call goes to the emulator, never to instance metadata."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _write_dir(d: Path, files: dict[str, str]) -> Path:
    """World-readable files (as a projected volume's 0644) the container's user can read."""
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    d.chmod(0o755)
    for name, text in files.items():
        (d / name).write_text(text)
        (d / name).chmod(0o644)
    return d


@contextlib.contextmanager
def _host_ports_lock(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "chartpod-ports.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))  # noqa: S104 - what the chart's ":8080" binds
        except OSError:
            return False
        return True


class ChartPod:
    """One run of the image as the chart's pod; ``start()``, ``terminate()``, ``remove()``."""

    def __init__(
        self,
        cp: ControlPlane,
        image: str,
        spec: PodSpec,
        *,
        name: str,
        aws_env: dict[str, str],
        irsa_role: str | None = None,
    ) -> None:
        self.cp = cp
        self.image = image
        self.spec = spec
        self.name = f"awspca-chartpod-{name}"
        self.aws_env = aws_env
        self.irsa_role = irsa_role
        self.log_path = cp.dir / f"{self.name}.log"
        self._lock: contextlib.ExitStack | None = None

    # --- what the kubelet and the pod identity webhook provide -----------------------
    def _mounts(self) -> list[str]:
        cp, spec = self.cp, self.spec
        token = cp.service_account_token(spec.namespace, spec.service_account, (), 3600)
        sa = _write_dir(
            cp.dir / f"{self.name}-sa",
            {"token": token, "ca.crt": cp.ca_file.read_text(), "namespace": spec.namespace},
        )
        mounts = ["--volume", f"{sa}:{SA_DIR}:ro"]
        if self.irsa_role:
            web = cp.service_account_token(
                spec.namespace, spec.service_account, ("sts.amazonaws.com",), 3600
            )
            irsa = _write_dir(cp.dir / f"{self.name}-irsa", {"token": web})
            mounts += ["--volume", f"{irsa}:{IRSA_DIR}:ro"]
        return mounts

    def _env(self) -> dict[str, str]:
        host, _, port = self.cp.server.removeprefix("https://").rpartition(":")
        env = {
            **self.spec.env,
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": port,
            **self.aws_env,
        }
        if self.irsa_role:
            env["AWS_ROLE_ARN"] = self.irsa_role
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = f"{IRSA_DIR}/token"
        return env

    def argv(self) -> list[str]:
        spec = self.spec
        argv = [
            "run",
            "--detach",
            "--name",
            self.name,
            "--network",
            "host",
            "--user",
            f"{spec.user}:{spec.group}",
            "--log-driver",
            "k8s-file",
            "--log-opt",
            f"path={self.log_path}",
        ]
        if spec.read_only_root:
            argv += ["--read-only", "--read-only-tmpfs=false"]
        if spec.drop_all_capabilities:
            argv += ["--cap-drop", "all"]
        if spec.no_new_privileges:
            argv += ["--security-opt", "no-new-privileges"]
        if spec.memory_limit:
            argv += ["--memory", spec.memory_limit]
        if spec.cpu_limit:
            argv += ["--cpus", str(spec.cpu_limit)]
        for path in spec.tmp_mounts:
            argv += ["--tmpfs", f"{path}:rw,size=64m,mode=1777"]
        for k, v in sorted(self._env().items()):
            argv += ["--env", f"{k}={v}"]
        return [*argv, *self._mounts(), self.image, *spec.args]

    # --- lifecycle ---------------------------------------------------------------------
    def start(self, wait_free: float = 300.0) -> ChartPod:
        stack = contextlib.ExitStack()
        stack.enter_context(_host_ports_lock(Path(image_env()["CONTAINERS_CONF"]).parent))
        self._lock = stack
        deadline = time.monotonic() + wait_free
        busy = [p for p in self.spec.ports.values() if not _port_free(p)]
        while busy and time.monotonic() < deadline:
            time.sleep(1)
            busy = [p for p in self.spec.ports.values() if not _port_free(p)]
        if busy:
            stack.close()
            raise RuntimeError(f"host ports {busy} (the chart's) are in use by another process")
        podman("rm", "--force", "--ignore", self.name)
        podman(*self.argv())
        return self

    def inspect(self, fmt: str) -> str:
        return podman("inspect", "--format", fmt, self.name).stdout.strip()

    def running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def pid(self) -> int:
        return int(self.inspect("{{.State.Pid}}"))

    def proc_status(self) -> dict[str, str]:
        """/proc/<pid>/status of the container's main process, as seen from the host."""
        out: dict[str, str] = {}
        for line in Path(f"/proc/{self.pid()}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            out[k] = v.strip()
        return out

    def rss_bytes(self) -> int:
        return int(self.proc_status()["VmRSS"].split()[0]) * 1024

    def get(self, port_name: str, path: str) -> tuple[int, str]:
        return local_get(self.spec.ports[port_name], path)

    def wait_probe(self, path: str, status: int = 200, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        last: tuple[int, str] | str = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited:\n{self.logs()}")
            try:
                last = self.get("health", path)
                if last[0] == status:
                    return last[1]
            except OSError as e:
                last = repr(e)
            time.sleep(0.5)
        raise TimeoutError(f"{path} not {status} after {timeout}s ({last}):\n{self.logs()}")

    def terminate(self) -> tuple[int, float]:
        """SIGTERM, as the kubelet sends it; (exit code, seconds until exit).

        Waits up to the grace period; past it the kubelet would SIGKILL (137).
        """
        t0 = time.monotonic()
        podman("kill", "--signal", "TERM", self.name)
        deadline = t0 + self.spec.grace_seconds
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        took = time.monotonic() - t0
        if self.running():
            podman("kill", "--signal", "KILL", self.name)
        code = int(podman("wait", self.name, timeout=60).stdout.strip().splitlines()[-1])
        return code, took

    def logs(self, lines: int = 60) -> str:
        res = podman("logs", "--tail", str(lines), self.name, check=False)
        return res.stdout + res.stderr

    def remove(self) -> None:
        podman("rm", "--force", "--ignore", self.name, check=False)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def run_once(
    image: str, *args: str, env: dict[str, str] | None = None, entrypoint: str | None = None
) -> tuple[int, str]:
    """``podman run --rm`` of the image, read-only and unprivileged; (exit code, output)."""
    argv = ["run", "--rm", "--read-only", "--cap-drop", "all", "--network", "none"]
    for k, v in (env or {}).items():
        argv += ["--env", f"{k}={v}"]
    if entrypoint is not None:
        argv += ["--entrypoint", entrypoint]
    res = podman(*argv, image, *args, check=False)
    return res.returncode, res.stdout + res.stderr
