"""Throughput of the emulator for IssueCertificate + GetCertificate pairs.

Not a pytest module (its name does not start with ``test_``). Run:

    .venv/bin/python -m tests.bench.bench_emulator [--pairs 2000] [--concurrency 32] [--runs 3]
        [--key ec|rsa] [--client aiohttp|boto3]

The emulator runs in its own process (``python -m awspca_emulator serve
--no-throttling --bootstrap ec``), so client and server do not share a GIL. The
client is a raw aiohttp client whose requests are signed with botocore's own
SigV4 signer, exactly as boto3 would sign them (``--client boto3``: N threads,
each with its own boto3 client, which measures boto3 more than the emulator). Prints requests/s and pairs/s
per run and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from awspca_emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, AdminClient
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGION = "us-east-1"


def _csr(i: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bench-{i}.test")])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(f"bench-{i}.test")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


class Client:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url + "/"
        self.session = session
        self.signer = SigV4Auth(
            Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY), "acm-pca", REGION
        )

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        req = AWSRequest(
            method="POST",
            url=self.url,
            data=body,
            headers={
                "X-Amz-Target": f"ACMPrivateCA.{operation}",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        self.signer.add_auth(req)
        async with self.session.post(
            self.url, data=body, headers=dict(req.headers.items())
        ) as resp:
            data: dict[str, Any] = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"{operation}: {resp.status} {data}")
            return data


async def _run(
    url: str, ca_arn: str, signing: str, csrs: list[str], pairs: int, concurrency: int
) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = Client(url, session)
        next_index = 0

        async def worker() -> None:
            nonlocal next_index
            while next_index < pairs:
                i = next_index
                next_index += 1
                out = await client.call(
                    "IssueCertificate",
                    {
                        "CertificateAuthorityArn": ca_arn,
                        "Csr": csrs[i % len(csrs)],
                        "SigningAlgorithm": signing,
                        "Validity": {"Type": "DAYS", "Value": 30},
                        "IdempotencyToken": f"bench-{time.time_ns()}-{i}",
                    },
                )
                got = await client.call(
                    "GetCertificate",
                    {"CertificateAuthorityArn": ca_arn, "CertificateArn": out["CertificateArn"]},
                )
                assert got["Certificate"].startswith("-----BEGIN CERTIFICATE-----")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def _run_boto3(
    url: str, ca_arn: str, signing: str, csrs: list[str], pairs: int, threads: int
) -> float:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    clients = [
        session.client(
            "acm-pca",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=DEFAULT_ACCESS_KEY_ID,
            aws_secret_access_key=DEFAULT_SECRET_ACCESS_KEY,
            config=Config(retries={"total_max_attempts": 1}, max_pool_connections=2),
        )
        for _ in range(threads)
    ]
    pems = [base64.b64decode(c) for c in csrs]
    counter = iter(range(pairs))
    lock = threading.Lock()

    def worker(n: int) -> None:
        client = clients[n]
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            arn = client.issue_certificate(
                CertificateAuthorityArn=ca_arn,
                Csr=pems[i % len(pems)],
                SigningAlgorithm=signing,  # type: ignore[arg-type]
                Validity={"Type": "DAYS", "Value": 30},
            )["CertificateArn"]
            client.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=arn)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--pairs", type=int, default=2000, help="IssueCertificate+GetCertificate pairs per run"
    )
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--key", default="ec", help="CA key: ec (EC_prime256v1) or rsa (RSA_2048)")
    p.add_argument("--client", choices=["aiohttp", "boto3"], default="aiohttp")
    args = p.parse_args()

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "awspca_emulator",
            "serve",
            "--no-throttling",
            "--bootstrap",
            args.key,
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        csrs = [_csr(i) for i in range(64)]
        rates = []
        for run in range(args.runs):
            signing = "SHA256WITHRSA" if args.key == "rsa" else "SHA256WITHECDSA"
            elapsed = asyncio.run(
                _run(
                    info["url"],
                    info["subordinate_arn"],
                    signing,
                    csrs,
                    args.pairs,
                    args.concurrency,
                )
            )
            rps = 2 * args.pairs / elapsed
            rates.append(rps)
            print(
                f"run {run + 1}: {args.pairs} pairs in {elapsed:.2f}s = {rps:.0f} requests/s "
                f"({args.pairs / elapsed:.0f} pairs/s)"
            )
        counters = AdminClient(info["url"]).counters()
        print(
            "emulator counted:",
            {op: counters.get(op, {}) for op in ("IssueCertificate", "GetCertificate")},
        )
        median = statistics.median(rates)
        print(
            f"median: {median:.0f} requests/s ({median / 2:.0f} IssueCertificate+GetCertificate pairs/s)"
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
