"""The state file survives a restart; the CLI serves, bootstraps and prints its JSON line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from awspca_emulator import AdminClient, EmulatorConfig, run_in_thread
from botocore.exceptions import ClientError
from cryptography import x509

from .conftest import pca_client
from .helpers import error_code, fetch, issue

pytestmark = pytest.mark.timeout(60)


def test_state_file_survives_restart(tmp_path: Path, boto_session: boto3.session.Session) -> None:
    state = tmp_path / "state" / "emulator.json"
    config = EmulatorConfig(state_file=str(state), throttling_enabled=False)
    with run_in_thread(config) as first:
        pki = first.bootstrap("ec")
        pca = pca_client(boto_session, first.url)
        pca.update_certificate_authority(CertificateAuthorityArn=pki["root_arn"], Status="DISABLED")
        leaf_arn = issue(pca, pki["subordinate_arn"], token="persist-me")
        leaf, chain = fetch(pca, pki["subordinate_arn"], leaf_arn)
    assert json.loads(state.read_text())["version"] == 1
    assert not list(state.parent.glob(".emulator-state-*"))  # written atomically, no leftovers
    with run_in_thread(EmulatorConfig(state_file=str(state), throttling_enabled=False)) as second:
        pca = pca_client(boto_session, second.url)
        root = pca.describe_certificate_authority(CertificateAuthorityArn=pki["root_arn"])
        assert root["CertificateAuthority"]["Status"] == "DISABLED"
        assert fetch(pca, pki["subordinate_arn"], leaf_arn) == (leaf, chain)
        # same idempotency token -> same certificate after the restart
        assert issue(pca, pki["subordinate_arn"], token="persist-me") == leaf_arn
        # the subordinate's key survived: it still issues certificates chaining to the root
        new_leaf, new_chain = fetch(pca, pki["subordinate_arn"], issue(pca, pki["subordinate_arn"]))
        new_leaf.verify_directly_issued_by(new_chain[0])
        with pytest.raises(ClientError) as exc:
            issue(pca, pki["root_arn"], template="SubordinateCACertificate_PathLen0")
        assert error_code(exc) == "InvalidStateException"


def test_cli_serve_with_bootstrap(tmp_path: Path, boto_session: boto3.session.Session) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    config = tmp_path / "emulator.yaml"
    config.write_text('account_id: "210987654321"\nthrottling_enabled: false\n')
    cmd = [sys.executable, "-m", "awspca_emulator", "serve", "--port", "0", "--bootstrap", "ec"]
    proc = subprocess.Popen(
        [*cmd, "--config", str(config)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["url"].startswith("http://127.0.0.1:")
        assert ":210987654321:" in line["root_arn"]
        pca = pca_client(boto_session, line["url"])
        sub = pca.get_certificate_authority_certificate(
            CertificateAuthorityArn=line["subordinate_arn"]
        )
        x509.load_pem_x509_certificate(sub["Certificate"].encode()).verify_directly_issued_by(
            x509.load_pem_x509_certificate(sub["CertificateChain"].encode())
        )
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "awspca_emulator",
                "bootstrap",
                "--url",
                line["url"],
                "--key-algorithm",
                "ec",
            ],
            capture_output=True,
            env=env,
            text=True,
            check=True,
            timeout=30,
        )
        arns = json.loads(out.stdout)
        assert arns["root_arn"] != line["root_arn"]
        assert {c["arn"] for c in AdminClient(line["url"]).cas()} >= {
            arns["root_arn"],
            arns["subordinate_arn"],
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
