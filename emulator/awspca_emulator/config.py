"""Configuration of the emulator: dataclasses, defaults and loading from a dict/YAML.

Owns `EmulatorConfig` and its parts (`RoleConfig`, `OidcIssuerConfig`,
`FaultConfig`). Nothing here does I/O except `EmulatorConfig.from_yaml`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_ACCESS_KEY_ID = "AKIAEMULATOR000000001"
DEFAULT_SECRET_ACCESS_KEY = "emulator-secret-0000000000000000000000001"  # noqa: S105
DEFAULT_ACCOUNT_ID = "123456789012"

#: Requests per second per account+region, after the AWS Private CA quotas.
DEFAULT_THROTTLE_RATES: dict[str, float] = {
    "IssueCertificate": 25.0,
    "GetCertificate": 75.0,
    "DescribeCertificateAuthority": 20.0,
}
#: Rate of every operation without an entry in the rates table.
DEFAULT_OTHER_RATE = 200.0

Delay = float | tuple[float, float]


@dataclass
class RoleConfig:
    """An IAM role: who may assume it and which CAs its sessions may use."""

    name: str
    #: ServiceAccount subjects trusted for AssumeRoleWithWebIdentity (fnmatch patterns).
    trusted_subjects: list[str] = field(default_factory=list)
    #: Access key ids, user/role ARNs allowed to AssumeRole it (fnmatch patterns).
    allowed_principals: list[str] = field(default_factory=list)
    #: CA ARNs the role's sessions may call (fnmatch patterns; "*" = all).
    allowed_cas: list[str] = field(default_factory=lambda: ["*"])
    #: Issuers whose tokens this role trusts (empty = every configured issuer).
    trusted_issuers: list[str] = field(default_factory=list)
    #: The account the role lives in (None = the emulator's default account).
    account: str | None = None

    def arn(self, account_id: str) -> str:
        """The role's ARN; `account_id` is the default account, used unless the role has one."""
        return f"arn:aws:iam::{self.account or account_id}:role/{self.name}"


@dataclass
class OidcIssuerConfig:
    """A trusted OIDC identity provider and where its signing keys come from.

    Keys come, in that order, from `jwks` (a JWKS dict), `jwks_file`, `jwks_url`
    or the discovery document at `discovery_url` (default
    ``<issuer>/.well-known/openid-configuration``) and its ``jwks_uri``.
    HTTPS fetches trust `ca_file` and may present `client_cert`/`client_key`
    or a bearer token.
    """

    issuer: str
    audience: str = "sts.amazonaws.com"
    jwks: dict[str, Any] | None = None
    jwks_file: str | None = None
    jwks_url: str | None = None
    discovery_url: str | None = None
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    jwks_cache_seconds: float = 300.0


@dataclass
class FaultConfig:
    """Fault injection for one operation."""

    #: Probability (0..1) of answering with `error_code` (a client error).
    error_rate: float = 0.0
    error_code: str = "ThrottlingException"
    #: Probability (0..1) of answering with `server_error_code` (5xx).
    server_error_rate: float = 0.0
    server_error_code: str = "ServiceUnavailable"
    #: Seconds added before answering.
    latency: float = 0.0
    #: Fail the next N calls with `fail_next_code`.
    fail_next: int = 0
    fail_next_code: str = "InternalFailure"


@dataclass
class EmulatorConfig:
    """Everything the emulator can be told at start (most of it also at run time)."""

    host: str = "127.0.0.1"
    port: int = 0
    account_id: str = DEFAULT_ACCOUNT_ID
    access_keys: dict[str, str] = field(
        default_factory=lambda: {DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY}
    )
    #: Seconds until GetCertificate returns an issued certificate: fixed or (min, max).
    issuance_delay: Delay = 0.0
    throttling_enabled: bool = True
    throttle_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THROTTLE_RATES))
    state_file: str | None = None
    oidc_issuers: list[OidcIssuerConfig] = field(default_factory=list)
    roles: list[RoleConfig] = field(default_factory=list)
    faults: dict[str, FaultConfig] = field(default_factory=dict)
    verify_signatures: bool = True
    #: Access keys of other accounts: account id -> {access key id: secret}.
    #: Like `access_keys`, each key is that account's administrator.
    other_accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Allowed difference between X-Amz-Date and the emulator's clock.
    max_clock_skew: float = 900.0
    #: STS session lengths (DurationSeconds is clamped to these bounds).
    sts_default_duration: int = 3600
    sts_min_duration: int = 900
    sts_max_duration: int = 43200
    #: If set, temporary credentials live this many seconds whatever was asked (tests).
    credential_lifetime: float | None = None
    idempotency_window: float = 300.0
    call_log_size: int = 100_000

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorConfig:
        """Build from plain data (YAML/JSON), with nested roles, issuers and faults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown emulator config keys: {sorted(unknown)}")
        kw: dict[str, Any] = dict(data)
        if "roles" in kw:
            kw["roles"] = [r if isinstance(r, RoleConfig) else RoleConfig(**r) for r in kw["roles"]]
        if "oidc_issuers" in kw:
            kw["oidc_issuers"] = [
                o if isinstance(o, OidcIssuerConfig) else OidcIssuerConfig(**o)
                for o in kw["oidc_issuers"]
            ]
        if "faults" in kw:
            kw["faults"] = {
                op: f if isinstance(f, FaultConfig) else FaultConfig(**f)
                for op, f in kw["faults"].items()
            }
        if isinstance(kw.get("issuance_delay"), list):
            lo, hi = kw["issuance_delay"]
            kw["issuance_delay"] = (float(lo), float(hi))
        if "throttle_rates" in kw:
            kw["throttle_rates"] = {**DEFAULT_THROTTLE_RATES, **kw["throttle_rates"]}
        return cls(**kw)

    @classmethod
    def from_yaml(cls, path: str | Path) -> EmulatorConfig:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping")
        return cls.from_dict(data)
