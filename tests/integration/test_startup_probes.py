"""The real controller process answers /healthz while it is still loading, /readyz only when ready.

The process is ``issuer.cli.main`` with one addition: an import hook that
holds the import of ``issuer.app`` (the controller and its heavy
dependencies) until the test opens a gate file; then the asyncio server
takes the probe socket over from the start-up thread. While it is held, the probe
listener must already answer /healthz 200 and /readyz 503 ("starting");
once the gate opens, /readyz must turn 200 when the manager is ready
(informers synced on the leader) and /metrics must answer on its own port.
Every wait is on a condition, bounded generously; nothing here is timed.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.procs import Process, local_get
from awspca_devstack.stack import CONTROLLER_NS

_HELD_START = """
import sys, time
from pathlib import Path

gate = Path(sys.argv[1])


class HoldController:
    def find_spec(self, name, path=None, target=None):
        if name == "issuer.app":
            Path(sys.argv[2]).touch()  # the controller import has begun
            while not gate.exists():
                time.sleep(0.01)
        return None


sys.meta_path.insert(0, HoldController())
from issuer.cli import main

raise SystemExit(main(sys.argv[3:]))
"""


def _until(what: str, proc: Process, ok: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"controller exited while waiting for {what}:\n{proc.tail(40)}")
        if ok():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{proc.tail(40)}")


def _status(port: int, path: str) -> tuple[int, str] | None:
    try:
        return local_get(port, path)
    except OSError:
        return None


def test_healthz_answers_while_the_controller_loads_and_readyz_waits_for_the_manager(
    control_plane: ControlPlane, emulator: Any, tmp_path: Path
) -> None:
    control_plane.ensure_namespace(CONTROLLER_NS)
    lease = f"startup-probes-{uuid.uuid4().hex[:8]}"
    # Its own Lease (taken at once) keeps it from reconciling beside the shared controller
    # for longer than the moment it is ready.
    spec = IssuerProcess(control_plane, aws_endpoint=emulator.url, name="startup-probes")
    gate, reached = tmp_path / "gate", tmp_path / "reached"
    argv = [
        sys.executable,
        "-c",
        _HELD_START,
        str(gate),
        str(reached),
        "--kubeconfig",
        str(control_plane.kubeconfig),
        "--metrics-bind-address",
        f"127.0.0.1:{spec.metrics_port}",
        "--health-probe-bind-address",
        f"127.0.0.1:{spec.probe_port}",
        "--leader-elect",
        "--leader-election-namespace",
        CONTROLLER_NS,
        "--leader-election-id",
        lease,
    ]
    proc = Process(spec.name, argv, tmp_path / "startup-probes.log", env=spec.env).start()
    try:
        _until("the import of issuer.app to be held", proc, reached.exists)
        _until("/healthz 200", proc, lambda: _status(spec.probe_port, "/healthz") == (200, "ok"))
        # Held: the controller is not loaded, so it cannot be ready, and says why.
        assert _status(spec.probe_port, "/readyz") == (
            503,
            "[-]starting failed: the controller is starting\n",
        )
        assert _status(spec.metrics_port, "/metrics") is None  # not listening yet
        assert _status(spec.probe_port, "/healthz") == (200, "ok")

        gate.touch()
        seen: list[tuple[int, str] | None] = []

        def ready() -> bool:
            seen.append(_status(spec.probe_port, "/readyz"))
            return seen[-1] == (200, "ok")

        _until("/readyz 200", proc, ready)
        assert all(s is not None and s[0] in (200, 503) for s in seen), seen  # never closed
        assert _status(spec.probe_port, "/healthz") == (200, "ok")
        metrics = _status(spec.metrics_port, "/metrics")
        assert metrics is not None
        assert metrics[0] == 200
        assert 'awspca_issuer_build_info{version="' in metrics[1]
    finally:
        proc.stop()
