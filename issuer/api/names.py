"""The API's names in one place: groups, versions, kinds, plurals, keys, URL paths, durations.

Every path the controller sends to the API server is built here, from
segments that were validated as Kubernetes object names and then
percent-quoted, so a hostile name (``../../other/secrets/aws``) can never
make a request reach another object than the one it names: it is refused
with ``InvalidName`` before any I/O. ``parse_go_duration`` is the one parser
of Go ``time.Duration`` strings (``spec.duration``, command-line flags).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from issuer.errors import PermanentError, Reason

# -- our CRDs -------------------------------------------------------------------
GROUP = "awspca.cert-manager.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
ISSUER_KIND = "AWSPCAIssuer"
CLUSTER_ISSUER_KIND = "AWSPCAClusterIssuer"
KINDS = (ISSUER_KIND, CLUSTER_ISSUER_KIND)
PLURALS = {ISSUER_KIND: "awspcaissuers", CLUSTER_ISSUER_KIND: "awspcaclusterissuers"}
CERT_ARN_ANNOTATION = "aws-privateca-issuer/certificate-arn"
#: Beside the ARN: ties it to the request's UID and CSR (``signer.token.arn_binding``).
ARN_BINDING_ANNOTATION = "aws-privateca-issuer/certificate-arn-binding"

# -- cert-manager ---------------------------------------------------------------
CM_GROUP = "cert-manager.io"
CM_VERSION = "v1"
CM_API_VERSION = f"{CM_GROUP}/{CM_VERSION}"
CM_CR_KIND = "CertificateRequest"
CM_CR_PLURAL = "certificaterequests"

# -- Kubernetes object names ----------------------------------------------------
DNS1123_SUBDOMAIN_MAX = 253
DNS1123_LABEL_MAX = 63
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
# The same expressions go into the CRD schema (hack/gen_crds.py).
DNS1123_SUBDOMAIN_PATTERN = rf"^{_LABEL}(\.{_LABEL})*$"
DNS1123_LABEL_PATTERN = rf"^{_LABEL}$"
_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_PATTERN)
_LABEL_RE = re.compile(DNS1123_LABEL_PATTERN)
_SHOWN = 80  # characters of a refused name shown back in a message


class InvalidName(PermanentError):
    """A name that must reach an API path is not a valid Kubernetes object name."""

    reason = Reason.INVALID_NAME


class InvalidDuration(PermanentError, ValueError):
    """Text that is not a Go duration (also a ValueError, as parsers' callers expect)."""

    reason = Reason.INVALID_DURATION


def clip(value: str, limit: int = _SHOWN) -> str:
    """``value`` cut to ``limit`` characters for a human message (hostile names can be huge)."""
    return value if len(value) <= limit else value[:limit] + "..."


def shown(value: str, limit: int = _SHOWN) -> str:
    """``value`` clipped and quoted (``repr``) for a human message."""
    return repr(clip(value, limit))


def name_problem(value: str, *, what: str, label: bool = False) -> str | None:
    """Why ``value`` is not a DNS-1123 subdomain (``label=True``: label), or None if it is."""
    limit = DNS1123_LABEL_MAX if label else DNS1123_SUBDOMAIN_MAX
    pattern = _LABEL_RE if label else _SUBDOMAIN
    kind = "DNS-1123 label" if label else "DNS-1123 subdomain"
    if not isinstance(value, str) or not value:
        return f"{what} must not be empty"
    if len(value) > limit:
        return f"{what} is {len(value)} characters long; a {kind} has at most {limit}"
    if not pattern.fullmatch(value):
        return (
            f"{what} {shown(value)} is not a valid {kind} "
            "(lower-case letters, digits, '-'"
            + ("" if label else " and '.'")
            + ", starting and ending with a letter or digit)"
        )
    return None


def check_name(value: str, *, what: str = "name") -> str:
    """``value`` if it is a valid object name (DNS-1123 subdomain); InvalidName otherwise."""
    problem = name_problem(value, what=what)
    if problem is not None:
        raise InvalidName(problem)
    return value


def check_namespace(value: str, *, what: str = "namespace") -> str:
    """``value`` if it is a valid namespace name (DNS-1123 label); InvalidName otherwise."""
    problem = name_problem(value, what=what, label=True)
    if problem is not None:
        raise InvalidName(problem)
    return value


def _seg(value: str) -> str:
    # Validated already; quoting keeps the builder safe even for a future caller
    # that forgets to validate.
    return quote(value, safe="")


# -- URL paths ------------------------------------------------------------------
def _core(resource: str, namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{_seg(check_namespace(namespace))}/{resource}"
    return f"{path}/{_seg(check_name(name, what=f'{resource} name'))}" if name is not None else path


def secret_path(namespace: str, name: str) -> str:
    """``/api/v1/namespaces/<ns>/secrets/<name>``."""
    return _core("secrets", namespace, name)


def secrets_path(namespace: str) -> str:
    """``/api/v1/namespaces/<ns>/secrets`` (the collection)."""
    return _core("secrets", namespace)


def events_path(namespace: str) -> str:
    """``/api/v1/namespaces/<ns>/events`` (the collection Events are created in)."""
    return _core("events", namespace)


def service_account_token_path(namespace: str, name: str) -> str:
    """``/api/v1/namespaces/<ns>/serviceaccounts/<name>/token`` (TokenRequest)."""
    return _core("serviceaccounts", namespace, name) + "/token"


def lease_path(namespace: str, name: str | None = None) -> str:
    """``/apis/coordination.k8s.io/v1/namespaces/<ns>/leases[/<name>]``."""
    path = f"/apis/coordination.k8s.io/v1/namespaces/{_seg(check_namespace(namespace))}/leases"
    return f"{path}/{_seg(check_name(name, what='Lease name'))}" if name is not None else path


def issuers_path(kind: str) -> str:
    """The cluster-wide collection of ``kind`` (for list and watch)."""
    return f"/apis/{GROUP}/{VERSION}/{PLURALS[_kind(kind)]}"


def issuer_path(kind: str, namespace: str, name: str, *, status: bool = False) -> str:
    """One issuer (``namespace`` is ignored for the cluster kind); ``/status`` when asked."""
    plural = PLURALS[_kind(kind)]
    base = f"/apis/{GROUP}/{VERSION}"
    obj = _seg(check_name(name, what=f"{kind} name"))
    if kind == CLUSTER_ISSUER_KIND:
        path = f"{base}/{plural}/{obj}"
    else:
        path = f"{base}/namespaces/{_seg(check_namespace(namespace))}/{plural}/{obj}"
    return f"{path}/status" if status else path


def requests_path() -> str:
    """All CertificateRequests of the cluster (for list and watch)."""
    return f"/apis/{CM_GROUP}/{CM_VERSION}/{CM_CR_PLURAL}"


def request_path(namespace: str, name: str, *, status: bool = False) -> str:
    """One CertificateRequest; ``/status`` when asked."""
    ns = _seg(check_namespace(namespace))
    obj = _seg(check_name(name, what="CertificateRequest name"))
    path = f"/apis/{CM_GROUP}/{CM_VERSION}/namespaces/{ns}/{CM_CR_PLURAL}/{obj}"
    return f"{path}/status" if status else path


def _kind(kind: str) -> str:
    if kind not in PLURALS:
        raise InvalidName(f"unknown issuer kind {shown(kind)}; expected one of {', '.join(KINDS)}")
    return kind


# -- typed keys -----------------------------------------------------------------
@dataclass(frozen=True)
class RequestKey:
    """A CertificateRequest's workqueue key, ``namespace/name``."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, key: str) -> RequestKey:
        namespace, _, name = key.partition("/")
        return cls(namespace, name)


@dataclass(frozen=True)
class IssuerKey:
    """An issuer's key: ``AWSPCAIssuer/ns/name`` or ``AWSPCAClusterIssuer/name``.

    One key space for both kinds, so a namespaced and a cluster issuer of the
    same name never collide.
    """

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.kind == CLUSTER_ISSUER_KIND:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, key: str) -> IssuerKey:
        kind, _, rest = key.partition("/")
        if kind == CLUSTER_ISSUER_KIND:
            return cls(kind, "", rest)
        namespace, _, name = rest.partition("/")
        return cls(kind, namespace, name)

    @property
    def where(self) -> str:
        """How a human names it: ``ns/name`` for a namespaced issuer, ``name`` for a cluster one."""
        where = self.name if self.kind == CLUSTER_ISSUER_KIND else f"{self.namespace}/{self.name}"
        return clip(where)

    def path(self, *, status: bool = False) -> str:
        """The issuer's API path (InvalidName when a part is not a valid name)."""
        return issuer_path(self.kind, self.namespace, self.name, status=status)


# -- Go durations ---------------------------------------------------------------
_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds
MAX_DURATION_TEXT = "2562047h47m16.854775807s"
_MAX_DIGITS = 40  # more integer digits than this overflows whatever the unit


def parse_go_duration(text: str) -> float:
    """Seconds of a Go ``time.Duration`` string (``720h0m0s``, ``1h30m``, ``1.5h``, ``-90s``).

    Accepts exactly what Go's ``time.ParseDuration`` accepts, including its
    limit: a duration beyond int64 nanoseconds (about 292 years) is refused
    as too long rather than turned into infinity. Raises ``InvalidDuration``
    (a ValueError) with a message naming the problem.
    """
    if not isinstance(text, str):
        raise InvalidDuration(f"invalid duration: a {type(text).__name__}, not a string")
    s = text  # as Go: no white space trimmed
    if not s:
        raise InvalidDuration("invalid duration: empty")
    negative = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise InvalidDuration(f"invalid duration {shown(text)}")
    total = 0
    pos = 0
    while pos < len(s):
        match = _DURATION_PART.match(s, pos)
        if match is None or not (match.group(1) or match.group(2)):
            raise InvalidDuration(
                f"invalid duration {shown(text)} (expected e.g. 720h, 1h30m, 90s, 500ms)"
            )
        whole = match.group(1).lstrip("0")
        frac = (match.group(2) or "")[:_MAX_DIGITS]
        if len(whole) > _MAX_DIGITS:
            raise _too_long(text)
        unit = _NS_PER_UNIT[match.group(3)]
        value = Decimal(f"{whole or '0'}.{frac or '0'}") * unit
        total += int(value)  # Go truncates below a nanosecond
        if total > _MAX_NS + (1 if negative else 0):
            raise _too_long(text)
        pos = match.end()
    seconds = total / 1e9
    return -seconds if negative else seconds


def _too_long(text: str) -> InvalidDuration:
    return InvalidDuration(
        f"invalid duration {shown(text)}: longer than the longest Go duration ({MAX_DURATION_TEXT})"
    )
