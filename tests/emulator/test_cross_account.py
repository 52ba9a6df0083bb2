"""Two accounts and RAM through real boto3: a CA of account B is usable by
account A only through an accepted resource share, and only for what the
share's managed permission allows (templates included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from awspca_emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_SECRET_ACCESS_KEY,
    EmulatorConfig,
    EmulatorHandle,
    RoleConfig,
    run_in_thread,
)
from awspca_emulator.bootstrap import bootstrap
from botocore.exceptions import ClientError
from mypy_boto3_acm_pca import ACMPCAClient
from mypy_boto3_ram import RAMClient

from .conftest import NO_RETRIES, REGION, pca_client, sts_client
from .helpers import ec_root, error_code, issue

pytestmark = pytest.mark.timeout(60)
ACCOUNT_B = "210987654321"
B_KEY, B_SECRET = "AKIAACCOUNTB00000001", "account-b-secret-000000000000000000000001"
PERMISSION = "arn:aws:ram::aws:permission/"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    """Account A (default keys) and account B (its own key and an admin role A may assume)."""
    config = EmulatorConfig(
        throttling_enabled=False,
        other_accounts={ACCOUNT_B: {B_KEY: B_SECRET}},
        roles=[
            RoleConfig(
                name="ca-admin",
                account=ACCOUNT_B,
                allowed_principals=[f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"],
            )
        ],
    )
    with run_in_thread(config) as handle:
        yield handle


def ram_client(session: boto3.session.Session, url: str, key: str, secret: str) -> RAMClient:
    return session.client(
        "ram",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRIES,
    )


@pytest.fixture(scope="module")
def b_ca(emulator: EmulatorHandle) -> dict[str, Any]:
    return emulator.call(
        bootstrap(emulator.emulator, key_algorithm="EC_prime256v1", account=ACCOUNT_B)
    )


@pytest.fixture
def clients(boto_session: boto3.session.Session, emulator: EmulatorHandle) -> dict[str, Any]:
    url = emulator.url
    return {
        "a_pca": pca_client(boto_session, url),
        "b_pca": pca_client(boto_session, url, B_KEY, B_SECRET),
        "a_ram": ram_client(boto_session, url, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY),
        "b_ram": ram_client(boto_session, url, B_KEY, B_SECRET),
    }


def _share(b_ram: RAMClient, ca: str, permission: str) -> str:
    out = b_ram.create_resource_share(
        name="ca-share",
        resourceArns=[ca],
        principals=[DEFAULT_ACCOUNT_ID],
        permissionArns=[PERMISSION + permission],
    )
    assert out["resourceShare"]["owningAccountId"] == ACCOUNT_B
    return out["resourceShare"]["resourceShareArn"]


def _accept(a_ram: RAMClient, share: str) -> None:
    invites = a_ram.get_resource_share_invitations(resourceShareArns=[share])
    (invite,) = invites["resourceShareInvitations"]
    assert (invite["senderAccountId"], invite["status"]) == (ACCOUNT_B, "PENDING")
    accepted = a_ram.accept_resource_share_invitation(
        resourceShareInvitationArn=invite["resourceShareInvitationArn"]
    )
    assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"


def _denied(call: Any, **kw: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kw)
    return error_code(exc)


def test_share_reaches_account_a_only_once_accepted_and_until_deleted(
    clients: dict[str, Any], b_ca: dict[str, Any]
) -> None:
    a_pca: ACMPCAClient = clients["a_pca"]
    sub = b_ca["subordinate_arn"]
    describe = a_pca.describe_certificate_authority
    assert _denied(describe, CertificateAuthorityArn=sub) == "AccessDeniedException"
    assert _denied(issue, pca=a_pca, ca_arn=sub) == "AccessDeniedException"

    share = _share(clients["b_ram"], sub, "AWSRAMDefaultPermissionCertificateAuthority")
    assert _denied(describe, CertificateAuthorityArn=sub) == "AccessDeniedException"
    assoc = clients["b_ram"].get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share]
    )["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"]) for a in assoc] == [
        (DEFAULT_ACCOUNT_ID, "ASSOCIATING")
    ]
    _accept(clients["a_ram"], share)
    res = clients["b_ram"].get_resource_share_associations(
        associationType="RESOURCE", resourceShareArns=[share]
    )["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"]) for a in res] == [(sub, "ASSOCIATED")]

    assert (
        describe(CertificateAuthorityArn=sub)["CertificateAuthority"]["OwnerAccount"] == ACCOUNT_B
    )
    arn = issue(a_pca, sub, template="EndEntityCertificate")
    a_pca.get_certificate(CertificateAuthorityArn=sub, CertificateArn=arn)
    issue(a_pca, sub)  # no template: PCA's default, EndEntityCertificate/V1
    # The default permission allows one template only, and no management.
    assert (
        _denied(issue, pca=a_pca, ca_arn=sub, template="SubordinateCACertificate_PathLen0")
        == "AccessDeniedException"
    )
    assert (
        _denied(a_pca.update_certificate_authority, CertificateAuthorityArn=sub, Status="DISABLED")
        == "AccessDeniedException"
    )

    clients["b_ram"].delete_resource_share(resourceShareArn=share)
    assert _denied(describe, CertificateAuthorityArn=sub) == "AccessDeniedException"


def test_a_subordinate_ca_permission_allows_that_template(
    clients: dict[str, Any], b_ca: dict[str, Any]
) -> None:
    a_pca: ACMPCAClient = clients["a_pca"]
    root = b_ca["root_arn"]
    share = _share(
        clients["b_ram"], root, "AWSRAMSubordinateCACertificatePathLen0IssuanceCertificateAuthority"
    )
    _accept(clients["a_ram"], share)
    issue(a_pca, root, template="SubordinateCACertificate_PathLen0", signing="SHA256WITHECDSA")
    assert _denied(issue, pca=a_pca, ca_arn=root, template="EndEntityCertificate") == (
        "AccessDeniedException"
    )
    clients["b_ram"].delete_resource_share(resourceShareArn=share)


def test_only_the_owner_shares_and_only_the_receiver_accepts(
    clients: dict[str, Any], b_ca: dict[str, Any], emulator: EmulatorHandle
) -> None:
    a_ca = emulator.bootstrap("EC_prime256v1")["subordinate_arn"]
    with pytest.raises(ClientError) as exc:  # B does not own A's CA
        clients["b_ram"].create_resource_share(
            name="not-mine", resourceArns=[a_ca], principals=[ACCOUNT_B]
        )
    assert error_code(exc) == "UnknownResourceException"
    share = _share(
        clients["b_ram"], b_ca["subordinate_arn"], "AWSRAMDefaultPermissionCertificateAuthority"
    )
    invite = clients["a_ram"].get_resource_share_invitations(resourceShareArns=[share])
    arn = invite["resourceShareInvitations"][0]["resourceShareInvitationArn"]
    sent = clients["b_ram"].get_resource_share_invitations(resourceShareArns=[share])
    assert sent["resourceShareInvitations"] == []  # listed for the receiver only
    with pytest.raises(ClientError) as exc:  # external principals must be allowed
        clients["b_ram"].create_resource_share(
            name="internal-only",
            resourceArns=[b_ca["root_arn"]],
            principals=[DEFAULT_ACCOUNT_ID],
            allowExternalPrincipals=False,
        )
    assert error_code(exc) == "OperationNotPermittedException"
    with pytest.raises(ClientError) as exc:  # the sender cannot accept for A
        clients["b_ram"].accept_resource_share_invitation(resourceShareInvitationArn=arn)
    assert error_code(exc) == "ResourceShareInvitationArnNotFoundException"
    clients["b_ram"].delete_resource_share(resourceShareArn=share)


def test_account_a_assumes_a_role_of_account_b(
    boto_session: boto3.session.Session, emulator: EmulatorHandle
) -> None:
    sts = sts_client(boto_session, emulator.url)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_B}:role/ca-admin", RoleSessionName="xa"
    )["Credentials"]
    b_sts = sts_client(
        boto_session,
        emulator.url,
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
    )
    assert b_sts.get_caller_identity()["Account"] == ACCOUNT_B
    b_pca = pca_client(
        boto_session,
        emulator.url,
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
    )
    arn = b_pca.create_certificate_authority(**ec_root("B root"))["CertificateAuthorityArn"]
    assert f":{ACCOUNT_B}:" in arn
    b_sts_untrusted = sts_client(boto_session, emulator.url, B_KEY, B_SECRET)
    with pytest.raises(ClientError) as exc:  # the trust names account A only
        b_sts_untrusted.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_B}:role/ca-admin", RoleSessionName="xa"
        )
    assert error_code(exc) == "AccessDenied"
