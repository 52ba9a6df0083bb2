"""IAM users, managed policies and access keys, per account (no wire protocol here).

Owns the directory of IAM entities and IAM's rules about them: names unique
per account, a permissions boundary must name an existing policy, a user
holds at most two access keys, a user or policy still in use cannot be
deleted (DeleteConflict). A new access key is put in the credential store at
once, so it signs requests from the moment CreateAccessKey answers (IAM is
eventually consistent; the emulator is not, which no correct client minds).

`policies_of(user_arn)` gives what the authorizer evaluates for a user: its
attached managed policies and its permissions boundary.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError
from .identity import CredentialStore
from .policy import PolicyDocument, parse_document

MAX_KEYS_PER_USER = 2
_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
_ID_ALPHABET = string.ascii_uppercase + string.digits


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(n))


@dataclass
class ManagedPolicy:
    name: str
    policy_id: str
    arn: str
    path: str
    document: PolicyDocument
    created_at: float
    attachments: int = 0
    boundary_uses: int = 0


@dataclass
class AccessKey:
    access_key_id: str
    secret: str
    user_name: str
    created_at: float
    status: str = "Active"


@dataclass
class User:
    name: str
    user_id: str
    arn: str
    path: str
    account: str
    created_at: float
    boundary_arn: str | None = None
    attached: list[str] = field(default_factory=list)
    keys: dict[str, AccessKey] = field(default_factory=dict)


def _check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value at '{what}' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: [\w+=,.@-]+",
        )
    return value


def _check_path(value: str | None) -> str:
    path = value or "/"
    if not (path.startswith("/") and path.endswith("/")) or len(path) > 512:
        raise ApiError("ValidationError", "The specified value for path is invalid.")
    return path


class IamDirectory:
    """Users, policies and keys of every account."""

    def __init__(self, creds: CredentialStore, clock: Callable[[], float] = time.time) -> None:
        self.creds = creds
        self.clock = clock
        self.users: dict[tuple[str, str], User] = {}  # (account, name)
        self.policies: dict[str, ManagedPolicy] = {}  # arn
        self._user_by_arn: dict[str, User] = {}

    # -- lookups -------------------------------------------------------------

    def user(self, account: str, name: object) -> User:
        user = self.users.get((account, _check_name(name, "userName")))
        if user is None:
            raise ApiError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
        return user

    def policy(self, account: str, arn: object) -> ManagedPolicy:
        found = self.policies.get(arn) if isinstance(arn, str) else None
        if found is None or f":{account}:" not in found.arn:
            raise ApiError(
                "NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404
            )
        return found

    def policies_of(
        self, user_arn: str
    ) -> tuple[list[PolicyDocument], PolicyDocument | None] | None:
        """(attached policies, boundary) of an IAM user; None if the ARN is no IAM user."""
        user = self._user_by_arn.get(user_arn)
        if user is None:
            return None
        docs = [self.policies[a].document for a in user.attached if a in self.policies]
        boundary = self.policies.get(user.boundary_arn) if user.boundary_arn else None
        return docs, boundary.document if boundary else None

    # -- policies ------------------------------------------------------------

    def create_policy(
        self, account: str, name: object, document: object, path: str | None
    ) -> ManagedPolicy:
        name = _check_name(name, "policyName")
        if not isinstance(document, str):
            raise ApiError("ValidationError", "PolicyDocument is required.")
        doc = parse_document(document)
        path = _check_path(path)
        arn = f"arn:aws:iam::{account}:policy{path}{name}"
        if any(p.name == name and f":{account}:" in p.arn for p in self.policies.values()):
            raise ApiError("EntityAlreadyExists", f"A policy called {name} already exists.", 409)
        pol = ManagedPolicy(name, "ANPA" + _rand(17), arn, path, doc, self.clock())
        self.policies[arn] = pol
        return pol

    def delete_policy(self, account: str, arn: object) -> None:
        pol = self.policy(account, arn)
        if pol.attachments or pol.boundary_uses:
            raise ApiError("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
        del self.policies[pol.arn]

    # -- users ---------------------------------------------------------------

    def create_user(
        self, account: str, name: object, path: str | None, boundary: str | None
    ) -> User:
        name = _check_name(name, "userName")
        if (account, name) in self.users:
            raise ApiError("EntityAlreadyExists", f"User with name {name} already exists.", 409)
        boundary_policy = self.policy(account, boundary) if boundary else None
        path = _check_path(path)
        user = User(
            name=name,
            user_id="AIDA" + _rand(17),
            arn=f"arn:aws:iam::{account}:user{path}{name}",
            path=path,
            account=account,
            created_at=self.clock(),
            boundary_arn=boundary_policy.arn if boundary_policy else None,
        )
        if boundary_policy:
            boundary_policy.boundary_uses += 1
        self.users[(account, name)] = user
        self._user_by_arn[user.arn] = user
        return user

    def delete_user(self, account: str, name: object) -> None:
        user = self.user(account, name)
        if user.attached or user.keys:
            raise ApiError(
                "DeleteConflict",
                "Cannot delete entity, must detach all policies and delete all access keys first.",
                409,
            )
        if user.boundary_arn and user.boundary_arn in self.policies:
            self.policies[user.boundary_arn].boundary_uses -= 1
        del self.users[(account, user.name)]
        del self._user_by_arn[user.arn]

    def attach_user_policy(self, account: str, name: object, arn: object) -> None:
        user = self.user(account, name)
        pol = self.policy(account, arn)
        if pol.arn not in user.attached:
            user.attached.append(pol.arn)
            pol.attachments += 1

    def detach_user_policy(self, account: str, name: object, arn: object) -> None:
        user = self.user(account, name)
        if arn not in user.attached:
            raise ApiError("NoSuchEntity", f"Policy {arn} was not found.", 404)
        user.attached.remove(str(arn))
        if arn in self.policies:
            self.policies[str(arn)].attachments -= 1

    # -- access keys ---------------------------------------------------------

    def create_access_key(self, account: str, name: object) -> AccessKey:
        user = self.user(account, name)
        if len(user.keys) >= MAX_KEYS_PER_USER:
            raise ApiError(
                "LimitExceeded",
                f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}",
                409,
            )
        key = AccessKey(
            access_key_id="AKIA" + _rand(16),
            secret=secrets.token_urlsafe(30)[:40],
            user_name=user.name,
            created_at=self.clock(),
        )
        user.keys[key.access_key_id] = key
        self.creds.add_access_key(
            key.access_key_id,
            key.secret,
            user.name,
            account=account,
            user_arn=user.arn,
            user_id=user.user_id,
        )
        return key

    def delete_access_key(self, account: str, name: object, key_id: object) -> None:
        user = self.user(account, name)
        if not isinstance(key_id, str) or key_id not in user.keys:
            raise ApiError("NoSuchEntity", f"The Access Key with id {key_id} cannot be found.", 404)
        del user.keys[key_id]
        self.creds.remove_access_key(key_id)
