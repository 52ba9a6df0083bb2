"""Who may do what: one authorization decision for every signed call (pure over state).

A call is allowed when the caller's identity allows it and, for a resource of
another account, a resource share does too (AWS's cross-account rule: both
sides must say yes).

Identity side, by kind of caller:
- an IAM user (created through the IAM API): its attached managed policies
  must allow the action on the resource and nothing deny it; a permissions
  boundary must allow it as well;
- a role session: the role's `allowed_cas` limit which CAs it may touch;
- a configured static key: its account's administrator.

``sts:GetCallerIdentity`` needs no permission, as in AWS.
"""

from __future__ import annotations

from . import policy
from .errors import ApiError
from .iam_ops import IamDirectory
from .identity import Identity, matches
from .ram_ops import RamService

ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})


class Authorizer:
    def __init__(self, iam: IamDirectory, ram: RamService) -> None:
        self.iam = iam
        self.ram = ram

    def identity_allows(
        self, identity: Identity, action: str, resource: str, context: dict[str, str]
    ) -> bool:
        if action in ALWAYS_ALLOWED:
            return True
        user = self.iam.policies_of(identity.arn)
        if user is not None:
            docs, boundary = user
            if policy.evaluate(docs, action, resource, context) is not policy.Decision.ALLOW:
                return False
            return (
                boundary is None
                or policy.evaluate([boundary], action, resource, context) is policy.Decision.ALLOW
            )
        role = identity.role
        if role is not None and action.startswith("acm-pca:") and resource != "*":
            return matches(resource, role.allowed_cas)
        return True

    def check(
        self,
        identity: Identity,
        action: str,
        resource: str,
        *,
        resource_account: str | None = None,
        context: dict[str, str] | None = None,
        code: str = "AccessDeniedException",
    ) -> None:
        """Raise `code` (the service's access-denied error) unless the call is allowed."""
        ctx = context or {}
        if not self.identity_allows(identity, action, resource, ctx):
            raise ApiError(
                code,
                f"User: {identity.arn} is not authorized to perform: {action} on resource: "
                f"{resource} because no identity-based policy allows the {action} action",
                403 if code == "AccessDenied" else 400,
            )
        foreign = resource_account is not None and resource_account != identity.account
        if foreign and not self.ram.grants(resource, identity.account, action, ctx):
            raise ApiError(
                code,
                f"User: {identity.arn} is not authorized to perform: {action} on resource: "
                f"{resource} because no resource-based policy allows the {action} action",
                403 if code == "AccessDenied" else 400,
            )
