"""AWS RAM resource shares of private CAs across accounts (no wire protocol here).

Owns shares, their invitations and associations, and RAM's rules: only the
owner of a resource may share it; a principal outside the owner's account is
invited and the share reaches it only once it accepts; a deleted share grants
nothing. What a share grants is the policy of its managed permission, as AWS
defines them for ``acm-pca`` (each issuance permission allows
``IssueCertificate`` with one template only, through an
``acm-pca:TemplateArn`` condition, plus the read operations).

`grants(resource_arn, account, action, context)` is what the authorizer asks
for a caller of another account.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from . import policy
from .errors import ApiError

PERMISSION_PREFIX = "arn:aws:ram::aws:permission/"
_READ_ACTIONS = [
    "acm-pca:DescribeCertificateAuthority",
    "acm-pca:GetCertificate",
    "acm-pca:GetCertificateAuthorityCertificate",
    "acm-pca:ListPermissions",
    "acm-pca:ListTags",
]


def _issuance_policy(template: str) -> policy.PolicyDocument:
    return policy.parse_document(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "acm-pca:IssueCertificate",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {
                                "acm-pca:TemplateArn": f"arn:aws:acm-pca:::template/{template}"
                            }
                        },
                    },
                    {"Effect": "Allow", "Action": _READ_ACTIONS, "Resource": "*"},
                ],
            }
        )
    )


#: The managed permissions for the ``acm-pca:CertificateAuthority`` resource type.
MANAGED_PERMISSIONS: dict[str, policy.PolicyDocument] = {
    "AWSRAMDefaultPermissionCertificateAuthority": _issuance_policy("EndEntityCertificate/V1"),
    "AWSRAMBlankEndEntityCertificateAPICSRPassthroughIssuanceCertificateAuthority": (
        _issuance_policy("BlankEndEntityCertificate_APICSRPassthrough/V1")
    ),
    "AWSRAMSubordinateCACertificatePathLen0IssuanceCertificateAuthority": _issuance_policy(
        "SubordinateCACertificate_PathLen0/V1"
    ),
    "AWSRAMRevokeCertificateCertificateAuthority": policy.parse_document(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["acm-pca:RevokeCertificate", *_READ_ACTIONS],
                        "Resource": "*",
                    }
                ]
            }
        )
    ),
}
DEFAULT_PERMISSION = "AWSRAMDefaultPermissionCertificateAuthority"


@dataclass
class Association:
    entity: str  # a resource ARN or a principal (account id)
    kind: str  # RESOURCE | PRINCIPAL
    status: str
    created_at: float
    updated_at: float
    external: bool = False


@dataclass
class Invitation:
    arn: str
    share_arn: str
    sender: str
    receiver: str
    created_at: float
    status: str = "PENDING"


@dataclass
class Share:
    arn: str
    name: str
    owner: str
    region: str
    permissions: list[str]
    allow_external: bool
    created_at: float
    updated_at: float
    status: str = "ACTIVE"
    associations: list[Association] = field(default_factory=list)

    def principals(self) -> list[Association]:
        return [a for a in self.associations if a.kind == "PRINCIPAL"]

    def resources(self) -> list[Association]:
        return [a for a in self.associations if a.kind == "RESOURCE"]


def _permission_name(arn: object) -> str:
    if not isinstance(arn, str) or not arn.startswith(PERMISSION_PREFIX):
        raise ApiError("MalformedArnException", f"The permission ARN {arn} is not valid.")
    name = arn[len(PERMISSION_PREFIX) :].split("/")[0]
    if name not in MANAGED_PERMISSIONS:
        raise ApiError("UnknownResourceException", f"The permission {arn} does not exist.")
    return name


class RamService:
    """Shares of every account; `resource_owner` tells which account owns a resource ARN."""

    def __init__(
        self,
        resource_owner: Callable[[str], str | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.resource_owner = resource_owner
        self.clock = clock
        self.shares: dict[str, Share] = {}
        self.invitations: dict[str, Invitation] = {}

    def share(self, arn: object, account: str) -> Share:
        found = self.shares.get(arn) if isinstance(arn, str) else None
        if found is None or found.owner != account:
            raise ApiError("UnknownResourceException", f"The resource share {arn} was not found.")
        return found

    def create(
        self,
        account: str,
        region: str,
        name: object,
        resources: list[str],
        principals: list[str],
        permissions: list[str] | None,
        allow_external: bool,
    ) -> Share:
        if not isinstance(name, str) or not name:
            raise ApiError("InvalidParameterException", "name is required.")
        for arn in resources:
            if self.resource_owner(arn) != account:
                raise ApiError(
                    "UnknownResourceException",
                    f"The resource {arn} does not exist or is not yours.",
                )
        for p in principals:
            if not (isinstance(p, str) and p.isdigit() and len(p) == 12):
                raise ApiError(
                    "InvalidParameterException", f"Principal {p} is not a valid account id."
                )
            if p != account and not allow_external:
                raise ApiError(
                    "OperationNotPermittedException",
                    "The share does not allow principals outside your organization.",
                )
        names = [_permission_name(a) for a in permissions] if permissions else [DEFAULT_PERMISSION]
        now = self.clock()
        share = Share(
            arn=f"arn:aws:ram:{region}:{account}:resource-share/{uuid.uuid4()}",
            name=name,
            owner=account,
            region=region,
            permissions=names,
            allow_external=allow_external,
            created_at=now,
            updated_at=now,
        )
        for arn in resources:
            share.associations.append(Association(arn, "RESOURCE", "ASSOCIATED", now, now))
        for p in principals:
            external = p != account
            share.associations.append(
                Association(
                    p, "PRINCIPAL", "ASSOCIATING" if external else "ASSOCIATED", now, now, external
                )
            )
            if external:
                inv = Invitation(
                    arn=f"arn:aws:ram:{region}:{account}:resource-share-invitation/{uuid.uuid4()}",
                    share_arn=share.arn,
                    sender=account,
                    receiver=p,
                    created_at=now,
                )
                self.invitations[inv.arn] = inv
        self.shares[share.arn] = share
        return share

    def invitations_for(
        self, account: str, share_arns: list[str], invitation_arns: list[str]
    ) -> list[Invitation]:
        """Invitations `account` has received (RAM lists only the receiver's)."""
        out = []
        for inv in self.invitations.values():
            if inv.receiver != account:
                continue
            if share_arns and inv.share_arn not in share_arns:
                continue
            if invitation_arns and inv.arn not in invitation_arns:
                continue
            out.append(inv)
        return sorted(out, key=lambda i: i.created_at)

    def accept(self, account: str, invitation_arn: object) -> Invitation:
        inv = self.invitations.get(invitation_arn) if isinstance(invitation_arn, str) else None
        if inv is None or inv.receiver != account:
            raise ApiError(
                "ResourceShareInvitationArnNotFoundException",
                f"The invitation {invitation_arn} was not found.",
            )
        if inv.status == "ACCEPTED":
            raise ApiError(
                "ResourceShareInvitationAlreadyAcceptedException",
                "The invitation was already accepted.",
            )
        share = self.shares[inv.share_arn]
        if inv.status != "PENDING" or share.status != "ACTIVE":
            raise ApiError(
                "ResourceShareInvitationExpiredException", "The invitation is no longer valid."
            )
        inv.status = "ACCEPTED"
        now = self.clock()
        for a in share.principals():
            if a.entity == account:
                a.status, a.updated_at = "ASSOCIATED", now
        return inv

    def delete(self, account: str, arn: object) -> None:
        share = self.share(arn, account)
        now = self.clock()
        share.status, share.updated_at = "DELETED", now
        for a in share.associations:
            a.status, a.updated_at = "DISASSOCIATED", now
        for inv in self.invitations.values():
            if inv.share_arn == share.arn and inv.status == "PENDING":
                inv.status = "EXPIRED"

    def grants(self, resource_arn: str, account: str, action: str, context: dict[str, str]) -> bool:
        """An active share gives `account` (associated) this action on the resource."""
        for share in self.shares.values():
            if share.status != "ACTIVE":
                continue
            if not any(
                a.entity == resource_arn and a.status == "ASSOCIATED" for a in share.resources()
            ):
                continue
            if not any(
                a.entity == account and a.status == "ASSOCIATED" for a in share.principals()
            ):
                continue
            docs = [MANAGED_PERMISSIONS[n] for n in share.permissions]
            if policy.evaluate(docs, action, resource_arn, context) is policy.Decision.ALLOW:
                return True
        return False
