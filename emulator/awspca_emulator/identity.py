"""Who may call: static access keys, temporary STS credentials, and roles.

Owns the credential store (access key id -> secret and identity), minting of
temporary credentials, and the role table (roles of any account) with its
fnmatch-style trust checks. No wire protocol here.
"""

from __future__ import annotations

import fnmatch
import secrets
import string
import threading
from dataclasses import dataclass

from .config import EmulatorConfig, RoleConfig

_KEY_ALPHABET = string.ascii_uppercase + string.digits


def _rand(n: int, alphabet: str = _KEY_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Identity:
    """The principal behind an access key."""

    access_key_id: str
    account: str
    arn: str
    user_id: str
    role: RoleConfig | None = None
    role_arn: str | None = None
    session_name: str | None = None

    def principal_names(self) -> tuple[str, ...]:
        """Names an AssumeRole trust list may use for this principal."""
        names = [self.access_key_id, self.arn]
        if self.role_arn:
            names.append(self.role_arn)
        return tuple(names)


@dataclass
class Credential:
    secret: str
    identity: Identity
    session_token: str | None = None
    expiration: float | None = None


def matches(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def trusts(identity: Identity, patterns: list[str]) -> bool:
    """A role's trust list names this principal (``arn:aws:iam::ACCOUNT:root`` = the whole account)."""
    if f"arn:aws:iam::{identity.account}:root" in patterns:
        return True
    return any(matches(n, patterns) for n in identity.principal_names())


class CredentialStore:
    """Access keys (static and temporary) and roles; thread-safe for admin calls."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._creds: dict[str, Credential] = {}
        self.roles: dict[str, RoleConfig] = {}
        for key_id, secret in config.access_keys.items():
            self.add_access_key(key_id, secret)
        for account, keys in config.other_accounts.items():
            for key_id, secret in keys.items():
                self.add_access_key(key_id, secret, account=account)
        for role in config.roles:
            self.add_role(role)

    def add_access_key(
        self,
        access_key_id: str,
        secret: str,
        user_name: str | None = None,
        *,
        account: str | None = None,
        user_arn: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """A long-term key, usable at once; without a user it is its account's administrator."""
        account = account or self.config.account_id
        name = user_name or access_key_id
        ident = Identity(
            access_key_id=access_key_id,
            account=account,
            arn=user_arn or f"arn:aws:iam::{account}:user/{name}",
            user_id=user_id or f"AIDA{access_key_id[-16:].upper():0>16}",
        )
        with self._lock:
            self._creds[access_key_id] = Credential(secret=secret, identity=ident)

    def remove_access_key(self, access_key_id: str) -> None:
        with self._lock:
            self._creds.pop(access_key_id, None)

    def add_role(self, role: RoleConfig) -> None:
        with self._lock:
            self.roles[role.arn(self.config.account_id)] = role

    def role_by_arn(self, arn: str) -> RoleConfig | None:
        """The role an ARN names (``arn:aws:iam::ACCOUNT:role/[path/]NAME``), in any account."""
        head, sep, rest = arn.partition(":role/")
        if not sep or not head.startswith("arn:aws:iam::"):
            return None
        return self.roles.get(f"{head}:role/{rest.split('/')[-1]}")

    def lookup(self, access_key_id: str) -> Credential | None:
        return self._creds.get(access_key_id)

    def mint(self, role: RoleConfig, session_name: str, lifetime: float, now: float) -> Credential:
        """New temporary credentials (ASIA...) for a role session, in the role's account."""
        account = role.account or self.config.account_id
        key_id = "ASIA" + _rand(16)
        role_id = "AROA" + _rand(17)
        role_arn = role.arn(account)
        ident = Identity(
            access_key_id=key_id,
            account=account,
            arn=f"arn:aws:sts::{account}:assumed-role/{role.name}/{session_name}",
            user_id=f"{role_id}:{session_name}",
            role=role,
            role_arn=role_arn,
            session_name=session_name,
        )
        cred = Credential(
            secret=secrets.token_urlsafe(30)[:40],
            identity=ident,
            session_token="EMU" + secrets.token_urlsafe(96),
            expiration=now + lifetime,
        )
        with self._lock:
            self._purge(now)
            self._creds[key_id] = cred
        return cred

    def _purge(self, now: float) -> None:
        # Keep expired credentials for an hour so their use says "expired", not "unknown".
        stale = [
            k
            for k, c in self._creds.items()
            if c.expiration is not None and c.expiration < now - 3600
        ]
        for k in stale:
            del self._creds[k]
