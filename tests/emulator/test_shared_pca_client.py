"""Issuers of one region share one botocore client; each call is signed with its issuer's keys.

Real boto3 against the in-process emulator: two issuers with different access
keys call concurrently through the shared client, and the emulator's call log
shows every call signed with the right issuer's key. Per issuer, only a
credentials object remains (measured with tracemalloc).
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

import pytest
from awspca_emulator import EmulatorHandle

from issuer.config import PCARateLimits
from issuer.signer.credentials import CredentialSpec, StaticKeys
from issuer.signer.pca import PCAClients
from issuer.signer.ratelimit import RateLimiterRegistry

KEYS = {"a": ("AKIDSHAREDAAAAAAAAAA", "a" * 40), "b": ("AKIDSHAREDBBBBBBBBBB", "b" * 40)}
#: Heap bytes per additional issuer (a botocore client of its own costs ~140 KiB).
PER_ISSUER_BOUND = 16 * 1024


@pytest.fixture
def clients(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> PCAClients:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key_id, secret in KEYS.values():
        emulator.admin.add_access_key(key_id, secret)
    return PCAClients(threads=8, limits=RateLimiterRegistry(PCARateLimits()))


def _spec(name: str, region: str = "us-east-1") -> CredentialSpec:
    return CredentialSpec(StaticKeys(*KEYS[name]), None, region)


async def test_concurrent_calls_are_signed_with_their_issuers_keys(
    clients: PCAClients, emulator: EmulatorHandle, ec_pki: dict[str, Any]
) -> None:
    a = await clients.for_issuer("ns/a", _spec("a"))
    b = await clients.for_issuer("ns/b", _spec("b"))
    other_region = await clients.for_issuer("ns/c", _spec("a", "eu-west-1"))
    assert a._client is b._client, "one client per region"
    assert other_region._client is not a._client
    arns = {"a": ec_pki["root_arn"], "b": ec_pki["subordinate_arn"]}
    before = len(emulator.admin.calls("DescribeCertificateAuthority"))
    calls = [a.describe_ca(arns["a"]) for _ in range(20)] + [
        b.describe_ca(arns["b"]) for _ in range(20)
    ]
    await asyncio.gather(*calls)
    log = emulator.admin.calls("DescribeCertificateAuthority")[before:]
    assert len(log) == 40
    for name, arn in arns.items():
        keys = {c["access_key_id"] for c in log if c["ca_arn"] == arn}
        assert keys == {KEYS[name][0]}, (name, keys)


async def test_an_issuer_costs_kilobytes_not_a_client(clients: PCAClients) -> None:
    await clients.for_issuer("ns/warm", _spec("a"))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(50):
            await clients.for_issuer(f"ns/i{i}", _spec("a" if i % 2 else "b"))
        gc.collect()
        per_issuer = (tracemalloc.get_traced_memory()[0] - base) / 50
    finally:
        tracemalloc.stop()
    assert per_issuer < PER_ISSUER_BOUND, f"{per_issuer:.0f} bytes per issuer"
