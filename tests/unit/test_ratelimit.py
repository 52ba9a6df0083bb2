"""Token buckets: burst, rate, FIFO fairness, cancellation; the per-CA registry."""

from __future__ import annotations

import asyncio
import time

import pytest

from issuer.config import PCARateLimits
from issuer.ratelimit import TokenBucket
from issuer.signer.ratelimit import (
    DESCRIBE_CERTIFICATE_AUTHORITY,
    GET_CERTIFICATE,
    ISSUE_CERTIFICATE,
    RateLimiterRegistry,
    quota_scope,
)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("inf"), 1), (1.0, 0)])
def test_bucket_rejects_bad_parameters(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate, burst)


@pytest.mark.parametrize(("burst", "calls"), [(1, 1), (5, 5), (25, 25)])
async def test_burst_is_free(burst: int, calls: int) -> None:
    bucket = TokenBucket(1.0, burst)
    waited = [await bucket.acquire() for _ in range(calls)]
    assert waited == [0.0] * calls


@pytest.mark.parametrize(("rate", "burst", "calls"), [(100.0, 2, 12), (200.0, 5, 25)])
async def test_rate_is_respected(rate: float, burst: int, calls: int) -> None:
    bucket = TokenBucket(rate, burst)
    start = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(calls)))
    elapsed = time.monotonic() - start
    expected = (calls - burst) / rate
    assert elapsed >= expected * 0.9
    assert elapsed < expected + 0.25


async def test_fifo_under_contention() -> None:
    bucket = TokenBucket(200.0, 1)
    order: list[int] = []

    async def worker(i: int) -> None:
        await bucket.acquire()
        order.append(i)

    tasks = []
    for i in range(10):
        tasks.append(asyncio.create_task(worker(i)))
        await asyncio.sleep(0)  # each task reaches acquire() in creation order
    await asyncio.gather(*tasks)
    assert order == list(range(10))


async def test_waits_are_increasing_slots() -> None:
    bucket = TokenBucket(10.0, 1)
    waits = await asyncio.gather(*(bucket.acquire() for _ in range(4)))
    assert waits[0] == 0.0
    assert waits[1:] == pytest.approx([0.1, 0.2, 0.3], abs=0.02)


async def test_cancelled_waiter_gives_its_token_back() -> None:
    bucket = TokenBucket(10.0, 1)
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # the next caller waits about one slot, not two
    assert await bucket.acquire() < 0.12


async def test_try_acquire_never_jumps_the_queue() -> None:
    bucket = TokenBucket(5.0, 1)
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0.25)  # a token refilled at 0.2 s, but the waiter reserved it
    assert waiter.done()
    assert bucket.try_acquire() is False
    await waiter


CA = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"


@pytest.mark.parametrize(
    ("arn", "scope"),
    [
        (CA + "ca-1", "aws:us-east-1:111122223333"),
        (
            "arn:aws-us-gov:acm-pca:us-gov-west-1:111122223333:certificate-authority/x",
            "aws-us-gov:us-gov-west-1:111122223333",
        ),
        ("not-an-arn", "not-an-arn"),
        (
            "arn:aws:acm-pca::111122223333:certificate-authority/x",
            "arn:aws:acm-pca::111122223333:certificate-authority/x",
        ),
    ],
)
def test_quota_scope_is_the_account_and_region(arn: str, scope: str) -> None:
    assert quota_scope(arn) == scope


def test_registry_buckets_per_account_region_and_operation() -> None:
    """AWS counts PCA quotas per account and region: CAs of one account share a bucket."""
    limits = PCARateLimits(
        issue_certificate=25.0, get_certificate=75.0, describe_certificate_authority=2.5
    )
    reg = RateLimiterRegistry(limits)
    a = reg.bucket(CA + "ca-1", ISSUE_CERTIFICATE)
    assert a is not None
    assert a is reg.bucket(CA + "ca-1", ISSUE_CERTIFICATE)
    assert a is reg.bucket(CA + "ca-2", ISSUE_CERTIFICATE)
    assert a is not reg.bucket(
        CA.replace("111122223333", "444455556666") + "ca-1", ISSUE_CERTIFICATE
    )
    assert a is not reg.bucket(CA.replace("us-east-1", "eu-west-1") + "ca-1", ISSUE_CERTIFICATE)
    assert a is not reg.bucket(CA + "ca-1", GET_CERTIFICATE)
    table = {
        ISSUE_CERTIFICATE: (25.0, 25),
        GET_CERTIFICATE: (75.0, 75),
        DESCRIBE_CERTIFICATE_AUTHORITY: (2.5, 3),
    }
    for op, (rate, burst) in table.items():
        bucket = reg.bucket("us-east-1", op)
        assert bucket is not None
        assert (bucket.rate, bucket.burst) == (rate, burst)
    assert set(reg.operations) == set(table)


def test_registry_unknown_operation() -> None:
    with pytest.raises(ValueError, match="ListTags"):
        RateLimiterRegistry(PCARateLimits()).bucket("k", "ListTags")


async def test_registry_unlimited() -> None:
    reg = RateLimiterRegistry(PCARateLimits(issue_certificate=0.0))
    assert reg.bucket("k", ISSUE_CERTIFICATE) is None
    waits = [await reg.acquire("k", ISSUE_CERTIFICATE) for _ in range(100)]
    assert waits == [0.0] * 100


async def test_registry_acquire_limits() -> None:
    reg = RateLimiterRegistry(PCARateLimits(issue_certificate=50.0))
    waits = [await reg.acquire("k", ISSUE_CERTIFICATE) for _ in range(52)]
    assert waits[:50] == [0.0] * 50
    assert waits[50] > 0
