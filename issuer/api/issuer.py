"""AWSPCAIssuer / AWSPCAClusterIssuer: a typed view, CA ARN parsing and spec validation.

Pure functions over the raw JSON dict of an issuer. Validation returns a list
of human-readable problems (empty when the spec is usable) so the issuer's
Ready condition can say everything that is wrong at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from issuer.api.names import (
    CLUSTER_ISSUER_KIND,
    ISSUER_KIND,
    name_problem,
    parse_go_duration,
    shown,
)
from issuer.errors import PermanentError, Reason

DEFAULT_ACCESS_KEY_ID_KEY = "AWS_ACCESS_KEY_ID"
DEFAULT_SECRET_ACCESS_KEY_KEY = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 (a key name)
DEFAULT_SESSION_TOKEN_KEY = "AWS_SESSION_TOKEN"  # noqa: S105 (a key name)

# Upstream sends NotBefore = issuance time - 15m unless spec.notBeforeOffset says
# otherwise (in place of PCA's own 60-minute backdating); at most 24h.
DEFAULT_NOT_BEFORE_OFFSET_SECONDS = 15 * 60
MAX_NOT_BEFORE_OFFSET_SECONDS = 24 * 3600

# ASCII only: a region becomes part of the endpoint's host name, and \d or \w
# would otherwise match any Unicode digit or letter.
_CA_ARN = re.compile(
    r"^arn:(?P<partition>[a-z][a-z0-9-]*):acm-pca:(?P<region>[a-z]{2}(?:-[a-z0-9]+)+-\d+)"
    r":(?P<account>\d{12}):certificate-authority/(?P<ca_id>[A-Za-z0-9][A-Za-z0-9-]*)$",
    re.ASCII,
)
_ROLE_ARN = re.compile(r"^arn:[a-z][a-z0-9-]*:iam::\d{12}:role/[\w+=,.@/-]+$", re.ASCII)
_TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9_]+(/V\d+)?$", re.ASCII)
_TEMPLATE_ARN = re.compile(r"^arn:[a-z][a-z0-9-]*:acm-pca:::template/[A-Za-z0-9_]+/V\d+$", re.ASCII)
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z0-9]+)+-\d+$", re.ASCII)
# Keys of a Secret's data, as the API server validates them (IsConfigMapKey).
DATA_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
DATA_KEY_MAX = 253
_DATA_KEY = re.compile(DATA_KEY_PATTERN)


@dataclass(frozen=True)
class CAArn:
    """The parts of an ACM PCA certificate-authority ARN."""

    partition: str
    region: str
    account: str
    ca_id: str

    @property
    def arn(self) -> str:
        """The ARN again, canonical form."""
        return (
            f"arn:{self.partition}:acm-pca:{self.region}:{self.account}"
            f":certificate-authority/{self.ca_id}"
        )


def parse_ca_arn(arn: str) -> CAArn:
    """Parse ``arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>``.

    Raises PermanentError(reason=Reason.INVALID_ARN) when ``arn`` does not have that shape.
    """
    match = _CA_ARN.fullmatch(arn.strip()) if isinstance(arn, str) else None
    if match is None:
        raise PermanentError(
            f"{shown(arn)} is not an AWS Private CA ARN "
            "(expected arn:<partition>:acm-pca:<region>:<12-digit account>"
            ":certificate-authority/<id>)",
            reason=Reason.INVALID_ARN,
        )
    return CAArn(
        partition=match["partition"],
        region=match["region"],
        account=match["account"],
        ca_id=match["ca_id"],
    )


@dataclass(frozen=True)
class SecretRefView:
    """``spec.secretRef``: where static AWS credentials live and under which keys."""

    name: str
    namespace: str
    access_key_id_key: str = DEFAULT_ACCESS_KEY_ID_KEY
    secret_access_key_key: str = DEFAULT_SECRET_ACCESS_KEY_KEY
    session_token_key: str = DEFAULT_SESSION_TOKEN_KEY


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _selector_key(ref: Mapping[str, Any], field: str, default: str) -> str:
    return _str(_dict(ref.get(field)).get("key")) or default


def _parse_secret_ref(value: object) -> SecretRefView | None:
    """The Secret to read, or None. As upstream, only a non-empty ``name`` names one.

    Go clients serialize "no Secret" as ``{"accessKeyIDSelector": {"key": ""},
    "secretAccessKeySelector": {"key": ""}}``; whatever else it holds, a
    secretRef without a name means "no Secret".
    """
    ref = _dict(value)
    name = _str(ref.get("name"))
    if not name:
        return None
    return SecretRefView(
        name=name,
        namespace=_str(ref.get("namespace")),
        access_key_id_key=_selector_key(ref, "accessKeyIDSelector", DEFAULT_ACCESS_KEY_ID_KEY),
        secret_access_key_key=_selector_key(
            ref, "secretAccessKeySelector", DEFAULT_SECRET_ACCESS_KEY_KEY
        ),
        session_token_key=_selector_key(ref, "sessionTokenSelector", DEFAULT_SESSION_TOKEN_KEY),
    )


@dataclass(frozen=True)
class ServiceAccountRefView:
    """``spec.serviceAccountRef``: a ServiceAccount whose token is exchanged for ``spec.role``."""

    name: str
    namespace: str


def _parse_service_account_ref(value: object) -> ServiceAccountRefView | None:
    if not isinstance(value, Mapping):
        return None  # absent (or null): no ServiceAccount
    return ServiceAccountRefView(
        name=_str(value.get("name")), namespace=_str(value.get("namespace"))
    )


@dataclass(frozen=True)
class IssuerView:
    """The fields of an AWSPCAIssuer or AWSPCAClusterIssuer the controller acts on."""

    kind: str
    namespace: str
    name: str
    generation: int
    arn: str
    region: str
    role: str
    secret_ref: SecretRefView | None
    default_template_name: str | None
    conditions: tuple[dict[str, Any], ...]
    service_account_ref: ServiceAccountRefView | None = None
    not_before_offset: str | None = None

    @property
    def is_cluster(self) -> bool:
        """Whether this is an AWSPCAClusterIssuer."""
        return self.kind == CLUSTER_ISSUER_KIND

    @property
    def key(self) -> str:
        """``namespace/name`` for namespaced issuers, ``name`` for cluster issuers."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def from_obj(cls, obj: Mapping[str, Any], kind: str) -> IssuerView:
        """Parse a raw issuer of ``kind``; a cluster issuer always has namespace ''."""
        if kind not in (ISSUER_KIND, CLUSTER_ISSUER_KIND):
            raise ValueError(f"unknown issuer kind {kind!r}")
        meta = _dict(obj.get("metadata"))
        spec = _dict(obj.get("spec"))
        status = _dict(obj.get("status"))
        generation = meta.get("generation")
        template = _str(_dict(spec.get("pcaTemplate")).get("defaultTemplateName"))
        raw_conds = status.get("conditions")
        return cls(
            kind=kind,
            namespace="" if kind == CLUSTER_ISSUER_KIND else _str(meta.get("namespace")),
            name=_str(meta.get("name")),
            generation=generation if isinstance(generation, int) else 0,
            arn=_str(spec.get("arn")),
            region=_str(spec.get("region")),
            role=_str(spec.get("role")),
            secret_ref=_parse_secret_ref(spec.get("secretRef")),
            default_template_name=template or None,
            service_account_ref=_parse_service_account_ref(spec.get("serviceAccountRef")),
            not_before_offset=(
                spec["notBeforeOffset"] if isinstance(spec.get("notBeforeOffset"), str) else None
            ),
            conditions=(
                tuple(dict(c) for c in raw_conds if isinstance(c, Mapping))
                if isinstance(raw_conds, list)
                else ()
            ),
        )


def not_before_offset_seconds(view: IssuerView) -> float:
    """How far before issuance NotBefore lies: ``spec.notBeforeOffset``, default 15m.

    Raises PermanentError(reason=Reason.INVALID_SPEC) when it is not a Go duration
    within 0..24h (the issuer's validation reports the same problem first).
    """
    raw = view.not_before_offset
    if raw is None:
        return float(DEFAULT_NOT_BEFORE_OFFSET_SECONDS)
    try:
        seconds = parse_go_duration(raw)
    except ValueError as e:
        raise PermanentError(
            f"spec.notBeforeOffset {shown(raw)} is not a duration (e.g. 15m, 1h30m)",
            reason=Reason.INVALID_SPEC,
        ) from e
    if seconds < 0:
        raise PermanentError(
            "notBeforeOffset in Issuer Spec must not be negative", reason=Reason.INVALID_SPEC
        )
    if seconds > MAX_NOT_BEFORE_OFFSET_SECONDS:
        raise PermanentError(
            "notBeforeOffset in Issuer Spec must not exceed 24h", reason=Reason.INVALID_SPEC
        )
    return seconds


def service_account_namespace(view: IssuerView) -> str:
    """Namespace of the ServiceAccount to mint a token for (the issuer's own, for an AWSPCAIssuer)."""
    ref = view.service_account_ref
    if ref is None:
        raise ValueError("issuer has no serviceAccountRef")
    return ref.namespace or view.namespace


def _service_account_problems(view: IssuerView) -> list[str]:
    """Upstream's rules for serviceAccountRef (texts as upstream's, prefixed with the field)."""
    ref = view.service_account_ref
    if ref is None:
        return []
    if not ref.name:
        return ["spec.serviceAccountRef.name is required"]
    if not view.role:
        return ["spec.role must be set when using serviceAccountRef"]
    if view.secret_ref is not None:
        return ["set only one of secretRef and serviceAccountRef"]
    if view.is_cluster and not ref.namespace:
        return ["spec.serviceAccountRef: namespace is required on an AWSPCAClusterIssuer"]
    if not view.is_cluster and ref.namespace and ref.namespace != view.namespace:
        return [
            f"spec.serviceAccountRef: namespace must match the Issuer's namespace "
            f"{view.namespace!r}, not {ref.namespace!r}"
        ]
    return []


def ambient_refusal(
    view: IssuerView, *, cluster_issuer_ambient: bool, issuer_ambient: bool
) -> str | None:
    """The flag that forbids this issuer the controller's own AWS identity, or None.

    As upstream v1.12: only an issuer with neither ``secretRef.name`` nor
    ``serviceAccountRef`` falls back to ambient credentials, and only when
    its kind may (``role`` alone does not count as credentials).
    """
    if view.secret_ref is not None or view.service_account_ref is not None:
        return None
    if view.is_cluster:
        return None if cluster_issuer_ambient else "--cluster-issuer-ambient-credentials"
    return None if issuer_ambient else "--issuer-ambient-credentials"


def effective_region(view: IssuerView, *, default_region: str | None) -> str | None:
    """Region to call: ``spec.region``, else the CA ARN's region, else ``default_region``."""
    if view.region:
        return view.region
    try:
        return parse_ca_arn(view.arn).region
    except PermanentError:
        return default_region or None


def validate_issuer_spec(view: IssuerView, *, default_region: str | None) -> list[str]:
    """Everything wrong with the issuer's spec, as sentences a human can act on."""
    problems: list[str] = _service_account_problems(view) + _service_account_name_problems(view)
    ca: CAArn | None = None
    if not view.arn:
        problems.append("spec.arn is required: set it to the ARN of your AWS Private CA")
    else:
        try:
            ca = parse_ca_arn(view.arn)
        except PermanentError as err:
            problems.append(f"spec.arn: {err.message}")
    if view.region and not _REGION.fullmatch(view.region):
        problems.append(f"spec.region {shown(view.region)} is not an AWS region name")
    elif view.region and ca is not None and view.region != ca.region:
        problems.append(
            f"spec.region {shown(view.region)} differs from the CA ARN's region {ca.region!r}; "
            "AWS Private CA is regional: remove spec.region or make it match"
        )
    if effective_region(view, default_region=default_region) is None:
        problems.append(
            "no AWS region: set spec.region, use a valid CA ARN, or set AWS_REGION "
            "on the controller"
        )
    if view.role and not _ROLE_ARN.fullmatch(view.role):
        problems.append(
            f"spec.role {shown(view.role)} is not an IAM role ARN "
            "(expected arn:<partition>:iam::<12-digit account>:role/<name>)"
        )
    ref = view.secret_ref
    if ref is not None:
        problems.extend(_secret_ref_problems(ref))
    if (
        ref is not None
        and not view.is_cluster
        and ref.namespace
        and ref.namespace != view.namespace
    ):
        problems.append(
            f"spec.secretRef.namespace {shown(ref.namespace)} is not allowed: an AWSPCAIssuer "
            f"may only read Secrets in its own namespace {view.namespace!r}; leave "
            "secretRef.namespace empty or use an AWSPCAClusterIssuer"
        )
    try:
        not_before_offset_seconds(view)
    except PermanentError as err:
        problems.append(err.message)
    template = view.default_template_name
    if template and not (_TEMPLATE_NAME.fullmatch(template) or _TEMPLATE_ARN.fullmatch(template)):
        problems.append(
            f"spec.pcaTemplate.defaultTemplateName {shown(template)} is neither a template name "
            "(e.g. EndEntityCertificate/V1) nor a template ARN"
        )
    return problems


def _secret_ref_problems(ref: SecretRefView) -> list[str]:
    """Names in secretRef that are not what the API server could name.

    They would otherwise reach a URL path (``../../other/secrets/x``) or a
    message; the CRD schema refuses them too, this holds when it does not
    (e.g. a cluster still on the Go issuer's CRDs).
    """
    problems: list[str] = []
    if ref.name:
        problem = name_problem(ref.name, what="spec.secretRef.name")
        if problem:
            problems.append(problem)
    if ref.namespace:
        problem = name_problem(ref.namespace, what="spec.secretRef.namespace", label=True)
        if problem:
            problems.append(problem)
    for field, key in (
        ("accessKeyIDSelector", ref.access_key_id_key),
        ("secretAccessKeySelector", ref.secret_access_key_key),
        ("sessionTokenSelector", ref.session_token_key),
    ):
        if len(key) > DATA_KEY_MAX or not _DATA_KEY.fullmatch(key):
            problems.append(
                f"spec.secretRef.{field}.key {shown(key)} is not a Secret key "
                "(letters, digits, '-', '_' and '.', at most 253 characters)"
            )
    return problems


def _service_account_name_problems(view: IssuerView) -> list[str]:
    """serviceAccountRef names reach a TokenRequest path: they must be object names."""
    ref = view.service_account_ref
    if ref is None:
        return []
    checks = (
        name_problem(ref.name, what="spec.serviceAccountRef.name") if ref.name else None,
        name_problem(ref.namespace, what="spec.serviceAccountRef.namespace", label=True)
        if ref.namespace
        else None,
    )
    return [p for p in checks if p]
