"""DeleteCertificateAuthority and RestoreCertificateAuthority as PCA has them:
an ACTIVE CA must be disabled first, a deleted CA issues nothing, stays
restorable for 7..30 days, then is gone."""

from __future__ import annotations

import time
from typing import Any

import pytest
from awspca_emulator import EmulatorConfig, EmulatorHandle
from awspca_emulator.errors import ApiError
from awspca_emulator.pca_ops import CallContext, PcaService
from awspca_emulator.state import Store
from botocore.exceptions import ClientError
from mypy_boto3_acm_pca import ACMPCAClient

from .helpers import ec_root, error_code, issue

pytestmark = pytest.mark.timeout(60)


def _status(pca: ACMPCAClient, arn: str) -> dict[str, Any]:
    return dict(
        pca.describe_certificate_authority(CertificateAuthorityArn=arn)["CertificateAuthority"]
    )


def test_delete_disable_first_then_restore(pca: ACMPCAClient, emulator: EmulatorHandle) -> None:
    sub = emulator.bootstrap("EC_prime256v1")["subordinate_arn"]
    with pytest.raises(ClientError) as exc:
        pca.delete_certificate_authority(CertificateAuthorityArn=sub, PermanentDeletionTimeInDays=7)
    assert error_code(exc) == "InvalidStateException"
    pca.update_certificate_authority(CertificateAuthorityArn=sub, Status="DISABLED")
    with pytest.raises(ClientError) as exc:
        pca.delete_certificate_authority(
            CertificateAuthorityArn=sub, PermanentDeletionTimeInDays=31
        )
    assert error_code(exc) == "ValidationException"
    before = time.time()
    pca.delete_certificate_authority(CertificateAuthorityArn=sub, PermanentDeletionTimeInDays=7)
    ca = _status(pca, sub)
    assert ca["Status"] == "DELETED"
    assert abs(ca["RestorableUntil"].timestamp() - (before + 7 * 86400)) < 60
    with pytest.raises(ClientError) as exc:
        issue(pca, sub)
    assert error_code(exc) == "InvalidStateException"
    with pytest.raises(ClientError) as exc:
        pca.update_certificate_authority(CertificateAuthorityArn=sub, Status="ACTIVE")
    assert error_code(exc) == "InvalidStateException"
    pca.restore_certificate_authority(CertificateAuthorityArn=sub)
    assert _status(pca, sub)["Status"] == "DISABLED"
    pca.update_certificate_authority(CertificateAuthorityArn=sub, Status="ACTIVE")
    issue(pca, sub)


def test_pending_ca_is_deleted_without_disabling(pca: ACMPCAClient) -> None:
    arn = pca.create_certificate_authority(**ec_root("never used"))["CertificateAuthorityArn"]
    pca.delete_certificate_authority(CertificateAuthorityArn=arn)  # default window: 30 days
    assert _status(pca, arn)["Status"] == "DELETED"
    pca.restore_certificate_authority(CertificateAuthorityArn=arn)
    assert _status(pca, arn)["Status"] == "PENDING_CERTIFICATE"


def test_after_the_restore_window_the_ca_is_gone() -> None:
    now = [1_000_000.0]
    ops = PcaService(Store(), EmulatorConfig(), clock=lambda: now[0])
    ctx = CallContext(account="123456789012", region="us-east-1")
    arn = ops.create_certificate_authority(ec_root("short-lived"), ctx)["CertificateAuthorityArn"]
    ops.delete_certificate_authority(
        {"CertificateAuthorityArn": arn, "PermanentDeletionTimeInDays": 7}, ctx
    )
    now[0] += 7 * 86400 - 1
    ops.describe_certificate_authority({"CertificateAuthorityArn": arn}, ctx)
    now[0] += 1
    with pytest.raises(ApiError) as exc:
        ops.restore_certificate_authority({"CertificateAuthorityArn": arn}, ctx)
    assert exc.value.code == "ResourceNotFoundException"


def test_a_restore_window_over_thirty_days_is_refused_by_the_model(pca: ACMPCAClient) -> None:
    """botocore checks only the minimum of an integer; the service's maximum (30) is the
    emulator's to enforce, worded as the service words it."""
    arn = pca.create_certificate_authority(**ec_root("too long"))["CertificateAuthorityArn"]
    with pytest.raises(ClientError) as exc:
        pca.delete_certificate_authority(
            CertificateAuthorityArn=arn, PermanentDeletionTimeInDays=31
        )
    assert error_code(exc) == "ValidationException"
    assert (
        "Value at 'permanentDeletionTimeInDays' failed to satisfy constraint: "
        "Member must have value less than or equal to 30"
    ) in str(exc.value)
