"""The controller's Sign/Check seam against the emulator in-process: no control plane needed.

Covers issue 10 defect 6: a persisted certificate ARN is polled on the CA its
own ARN names (the issuer may have moved to another CA), and a certificate that
CA does not know is issued again under the issuer's current CA.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from awspca_devstack.csrs import make_csr, new_key
from awspca_emulator import EmulatorHandle

from issuer.config import PCARateLimits
from issuer.errors import PermanentError, Reason
from issuer.signer import signing
from issuer.signer.pca import PCAClient
from issuer.signer.ratelimit import RateLimiterRegistry
from issuer.signer.readiness import Readiness
from tests.emulator.conftest import pca_client


@pytest.fixture(scope="module")
def client(boto_session: boto3.session.Session, emulator: EmulatorHandle) -> Iterator[PCAClient]:
    pool = ThreadPoolExecutor(max_workers=4)
    yield PCAClient(
        pca_client(boto_session, emulator.url), pool, RateLimiterRegistry(PCARateLimits())
    )
    pool.shutdown()


async def _issuer(client: PCAClient, emulator: EmulatorHandle) -> signing.SigningIssuer:
    ca = str(emulator.admin.bootstrap("ec")["subordinate_arn"])
    return signing.SigningIssuer(client, await signing.check(client, ca), None, 900.0)


def _request(uid: str, arn: str | None = None) -> signing.SignRequest:
    csr, _ = make_csr("seam.test", key=new_key("ec256"), dns=("seam.test",))
    return signing.SignRequest(uid, csr, False, (), None, arn)


def _issues(emulator: EmulatorHandle, ca: str) -> list[dict[str, Any]]:
    return [c for c in emulator.admin.calls("IssueCertificate") if c.get("ca_arn") == ca]


async def test_sign_is_pending_then_issued_with_one_issue(
    client: PCAClient, emulator: EmulatorHandle
) -> None:
    issuer = await _issuer(client, emulator)
    emulator.admin.configure(issuance_delay=0.5)
    seen: list[str] = []
    req = _request("uid-pending")
    first = await signing.sign(req, issuer, now=datetime.now(UTC), on_issued=seen.append)
    assert isinstance(first, signing.Pending)
    assert seen == [first.certificate_arn]
    resumed = signing.SignRequest(req.uid, req.csr_pem, False, (), None, first.certificate_arn)
    second: signing.Outcome = first
    for _ in range(100):  # polls until the emulator's issuance delay has passed
        await asyncio.sleep(first.retry_after / 4)
        second = await signing.sign(resumed, issuer, now=datetime.now(UTC), on_issued=seen.append)
        if isinstance(second, signing.Issued):
            break
    assert isinstance(second, signing.Issued)
    assert second.certificate_arn == first.certificate_arn
    assert "BEGIN CERTIFICATE" in second.chain_pem
    assert "BEGIN CERTIFICATE" in second.ca_pem
    assert len(_issues(emulator, issuer.ca.arn)) == 1


async def test_a_resumed_arn_is_polled_on_the_ca_it_names(
    client: PCAClient, emulator: EmulatorHandle
) -> None:
    old = await _issuer(client, emulator)
    req = _request("uid-moved")
    issued = await signing.sign(req, old, now=datetime.now(UTC), on_issued=lambda a: None)
    assert isinstance(issued, signing.Issued)
    new = await _issuer(client, emulator)  # spec.arn changed to another CA
    resumed = signing.SignRequest(req.uid, req.csr_pem, False, (), None, issued.certificate_arn)
    again = await signing.sign(resumed, new, now=datetime.now(UTC), on_issued=lambda a: None)
    assert isinstance(again, signing.Issued)
    assert again.certificate_arn == issued.certificate_arn
    assert again.reissued_from is None
    assert _issues(emulator, new.ca.arn) == []


async def test_a_certificate_its_former_ca_does_not_know_is_issued_under_the_new_one(
    client: PCAClient, emulator: EmulatorHandle
) -> None:
    new = await _issuer(client, emulator)
    account = new.ca.arn.split(":")[4]
    gone_ca = f"arn:aws:acm-pca:us-east-1:{account}:certificate-authority/{'0' * 8}-0000-0000-0000-{'0' * 12}"
    stale = f"{gone_ca}/certificate/{'ab' * 16}"
    seen: list[str] = []
    req = _request("uid-gone", stale)
    outcome = await signing.sign(req, new, now=datetime.now(UTC), on_issued=seen.append)
    assert isinstance(outcome, signing.Issued)
    assert outcome.reissued_from == stale
    assert outcome.certificate_arn.startswith(new.ca.arn)
    assert seen == [outcome.certificate_arn]
    # Unknown to the issuer's own CA: nothing to move to, the request fails clearly.
    own = f"{new.ca.arn}/certificate/{'cd' * 16}"
    with pytest.raises(PermanentError) as info:
        await signing.sign(
            _request("uid-own", own), new, now=datetime.now(UTC), on_issued=seen.append
        )
    assert info.value.reason == Reason.CERTIFICATE_NOT_FOUND


async def _until_issued(
    req: signing.SignRequest,
    first: signing.Pending,
    issuer: signing.SigningIssuer,
    readiness: Readiness,
) -> signing.Issued:
    resumed = signing.SignRequest(req.uid, req.csr_pem, False, (), None, first.certificate_arn)
    pending = first
    for _ in range(100):  # bounded: the emulator's delay passes long before
        await asyncio.sleep(pending.retry_after)
        outcome = await signing.sign(
            resumed, issuer, now=datetime.now(UTC), on_issued=lambda a: None, readiness=readiness
        )
        if isinstance(outcome, signing.Issued):
            return outcome
        pending = outcome
    raise AssertionError(f"never issued: {pending}")


async def test_a_ca_learned_to_be_slow_is_not_polled_at_once(
    client: PCAClient, emulator: EmulatorHandle
) -> None:
    issuer = await _issuer(client, emulator)
    readiness = Readiness()
    emulator.admin.configure(issuance_delay=0.3)
    try:
        req = _request("uid-learn")
        first = await signing.sign(
            req, issuer, now=datetime.now(UTC), on_issued=lambda a: None, readiness=readiness
        )
        assert isinstance(first, signing.Pending)  # polled at once: nothing learned yet
        await _until_issued(req, first, issuer, readiness)
        learned = readiness.estimate(issuer.ca.arn)
        assert learned is not None
        assert learned > 0.0
        req = _request("uid-learned")
        second = await signing.sign(
            req, issuer, now=datetime.now(UTC), on_issued=lambda a: None, readiness=readiness
        )
        assert isinstance(second, signing.Pending)
        assert second.retry_after == learned
        gets = [
            c
            for c in emulator.admin.calls("GetCertificate")
            if c.get("certificate_arn") == second.certificate_arn
        ]
        assert gets == []  # not polled before it is likely ready
        issued = await _until_issued(req, second, issuer, readiness)
        assert issued.certificate_arn == second.certificate_arn
    finally:
        emulator.admin.configure(issuance_delay=0.0)
