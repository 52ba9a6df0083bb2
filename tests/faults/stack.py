"""The fault matrix's own stack: an emulator it may restart, a controller it may kill.

The session's shared controller is stopped while this module runs (one
controller per control plane, unless leader election decides), and the
emulator listens on a fixed loopback port with a state file, so it can be
stopped and started again from its state as a real service restarts. Every
scenario proves exactly-once from the emulator's call log: per request, at
most one certificate ARN ever came out of IssueCertificate.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.procs import free_port
from awspca_devstack.stack import DEFAULT_KEYS, emulator_config, start_controller
from awspca_emulator import AdminClient, EmulatorConfig, run_in_thread

from tests import flows

KIND = "AWSPCAIssuer"
ARN_ANNOTATION = "aws-privateca-issuer/certificate-arn"


class FaultStack:
    """One emulator (restartable, fixed port, state file) and one controller (killable)."""

    def __init__(self, cp: ControlPlane, workdir: Path) -> None:
        self.cp = cp
        self.kube: KubeClient = cp.admin
        self.workdir = workdir
        self.port = free_port()
        self.state_file = workdir / "faults-emulator-state.json"
        self.emulator: Any = None
        self.controllers: list[IssuerProcess] = []
        self.earlier_calls: list[dict[str, Any]] = []  # call logs of emulator runs before a restart
        self.admin: AdminClient

    # -- the emulator ------------------------------------------------------
    def _config(self) -> EmulatorConfig:
        return dataclasses.replace(
            emulator_config(self.cp), port=self.port, state_file=str(self.state_file)
        )

    def start_emulator(self) -> None:
        self.emulator = run_in_thread(self._config())
        self.admin = AdminClient(self.emulator.url)

    def restart_emulator(self, down_for: float = 0.0) -> None:
        """Stop the emulator (state flushed to its file) and start it again from that file."""
        self.earlier_calls.extend(self.admin.calls())
        self.emulator.stop()
        time.sleep(down_for)
        self.start_emulator()

    # -- controllers -------------------------------------------------------
    def controller(self, name: str, *args: str, irsa: bool = True) -> IssuerProcess:
        proc = start_controller(self.cp, self.emulator, self.workdir, name, *args, irsa=irsa)
        self.controllers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.controllers:
            proc.stop()
        if self.emulator is not None:
            self.emulator.stop()

    # -- issuers and requests ----------------------------------------------
    def ready_issuer(self, namespace: str, *, secret: dict[str, str] | None = None) -> str:
        """A CA hierarchy of this scenario's own (so the call log is ours) and a Ready issuer."""
        ca = str(self.admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"])
        flows.create_secret(self.kube, namespace, "aws", secret or DEFAULT_KEYS)
        flows.create_issuer(
            self.kube, KIND, "pca", arn=ca, namespace=namespace, secret_ref={"name": "aws"}
        )
        flows.wait_issuer_ready(self.kube, KIND, "pca", namespace)
        return ca

    def create_requests(self, namespace: str, names: Iterable[str]) -> dict[str, Any]:
        """One request per name, each with its own key; returns the keys by name."""
        keys = {}
        for name in names:
            key = new_key("ec256")
            csr, _ = make_csr(f"{name}.faults.test", key=key)
            flows.create_request(
                self.kube, namespace, name, csr, issuer_kind=KIND, issuer_name="pca"
            )
            keys[name] = key
        return keys

    def wait_all_issued(self, namespace: str, keys: dict[str, Any], timeout: float) -> None:
        """Every request Issued (none Failed on the way), each chain for its own key."""
        n = len(keys)

        def done(lst: dict[str, Any]) -> bool:
            failed = [
                o["metadata"]["name"]
                for o in lst["items"]
                if flows.ready_status(o)[1] in ("Failed", "Denied")
            ]
            assert not failed, f"requests failed: {failed}: " + "; ".join(
                flows.condition_message(o)
                for o in lst["items"]
                if o["metadata"]["name"] in failed[:3]
            )
            return sum(flows.ready_status(o)[1] == "Issued" for o in lst["items"]) == n

        self.kube.wait_for(
            flows.cr_path(namespace), done, timeout=timeout, interval=1.0, what=f"{n} issued"
        )
        for name, key in keys.items():
            flows.verify_chain(self.kube.get(flows.cr_path(namespace, name)), key)

    def wait_annotated(self, namespace: str, name: str, timeout: float = 60) -> str:
        obj = self.kube.wait_for(
            flows.cr_path(namespace, name),
            lambda o: ARN_ANNOTATION in (o["metadata"].get("annotations") or {}),
            timeout=timeout,
            what=f"{name}: certificate ARN persisted",
        )
        return str(obj["metadata"]["annotations"][ARN_ANNOTATION])

    def wait_calls(
        self, operation: str, ca: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(pred(c) for c in self.admin.calls(operation) if c.get("ca_arn") == ca):
                return
            time.sleep(0.1)
        raise AssertionError(f"no {operation} call on {ca} matched within {timeout}s")

    # -- the proof ---------------------------------------------------------
    def assert_one_certificate_per_request(self, namespace: str, ca: str, n: int) -> None:
        """From the call log: n idempotency tokens, each gave exactly one certificate ARN,
        and each request's annotation is the certificate its chain came from."""
        arns_by_token: dict[str, set[str]] = collections.defaultdict(set)
        for call in [*self.earlier_calls, *self.admin.calls()]:
            if call.get("operation") != "IssueCertificate":
                continue
            if call.get("ca_arn") == ca and call.get("result") == "OK":
                arns_by_token[str(call.get("idempotency_token"))].add(
                    str(call.get("certificate_arn"))
                )
        twice = {t: a for t, a in arns_by_token.items() if len(a) != 1}
        assert not twice, f"a request was issued more than one certificate: {twice}"
        assert len(arns_by_token) == n, f"{len(arns_by_token)} tokens issued for {n} requests"
        issued = {a for arns in arns_by_token.values() for a in arns}
        items = self.kube.get(flows.cr_path(namespace))["items"]
        annotated = {o["metadata"]["annotations"][ARN_ANNOTATION] for o in items}
        assert annotated == issued
