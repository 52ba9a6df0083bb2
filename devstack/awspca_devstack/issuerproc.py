"""Our controller (``python -m issuer``) as a real process against a ControlPlane.

AWS traffic goes to a local emulator through ``AWS_ENDPOINT_URL`` (boto3
honours it for every service), and instance metadata lookups are disabled so
nothing ever leaves the machine.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.procs import Process, free_port, local_get


class IssuerProcess:
    def __init__(
        self,
        cp: ControlPlane,
        *,
        aws_endpoint: str,
        name: str = "issuer",
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        kubeconfig: Path | None = None,
        kubeconfig_flag: bool = True,
    ) -> None:
        """``kubeconfig_flag=False`` leaves ``--kubeconfig`` out: the process finds its own."""
        self.cp = cp
        self.name = name
        self.metrics_port = free_port()
        self.probe_port = free_port()
        self.args = args
        self.kubeconfig = kubeconfig or cp.kubeconfig
        self.kubeconfig_flag = kubeconfig_flag
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("KUBECONFIG",)
        }
        base.update(
            {
                "AWS_ENDPOINT_URL": aws_endpoint,
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(env or {})
        self.env = base
        self.proc: Process | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def probe(self, path: str) -> tuple[int, str]:
        return local_get(self.probe_port, path)

    def start(self, wait: bool = True) -> IssuerProcess:
        argv = [
            sys.executable,
            "-m",
            "issuer",
            *(("--kubeconfig", str(self.kubeconfig)) if self.kubeconfig_flag else ()),
            "--metrics-bind-address",
            f"127.0.0.1:{self.metrics_port}",
            "--health-probe-bind-address",
            f"127.0.0.1:{self.probe_port}",
            "--cluster-resource-namespace",
            "cert-manager",
            "--log-format",
            "json",
            "--log-level",
            "debug",
            *self.args,
        ]
        self.proc = Process(self.name, argv, self.cp.dir / f"{self.name}.log", env=self.env).start()
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """/healthz 200 and the controller loaded: its /metrics listener answers.

        /healthz alone answers from the process's first milliseconds, before the
        controller is imported; /metrics is served once the manager runs.
        """
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.proc.tail(60)}")
            try:
                if (
                    self.probe("/healthz")[0] == 200
                    and local_get(self.metrics_port, "/metrics")[0] == 200
                ):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy:\n{self.proc.tail(60)}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def stop(self) -> int | None:
        return self.proc.stop() if self.proc else None

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()

    def log_text(self) -> str:
        return (self.cp.dir / f"{self.name}.log").read_text(errors="replace")

    def __enter__(self) -> IssuerProcess:
        if self.proc is None or not self.proc.alive():
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
