"""Choice of the ACM PCA certificate template ARN for a request, as the Go issuer does.

Mirrors ``templateArn`` in the upstream ``pkg/aws/pca.go``: ``isCA`` gives a
path-length-0 subordinate CA; a single usage maps to its template; exactly
{client auth, server auth} gives EndEntityCertificate; anything else gives the
CSR-passthrough template. The usages are counted as written in
``spec.usages``, *all* of them: like the Go issuer, ``["digital signature",
"key encipherment", "server auth"]`` is three usages and so gets the
passthrough template (which copies the CSR's extensions). New and additive:
``spec.pcaTemplate.defaultTemplateName`` on the issuer wins over all of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from issuer.errors import PermanentError, Reason

TEMPLATE_ARN_MARKER = ":acm-pca:::template/"
SUBORDINATE_CA = "SubordinateCACertificate_PathLen0/V1"
PASSTHROUGH = "BlankEndEntityCertificate_APICSRPassthrough/V1"
END_ENTITY = "EndEntityCertificate/V1"

_SINGLE_USAGE = {
    "code signing": "CodeSigningCertificate/V1",
    "client auth": "EndEntityClientAuthCertificate/V1",
    "server auth": "EndEntityServerAuthCertificate/V1",
    "ocsp signing": "OCSPSigningCertificate/V1",
}


def _partition(ca_arn: str) -> str:
    parts = ca_arn.split(":", 2)
    if len(parts) < 3 or parts[0] != "arn" or not parts[1]:
        raise PermanentError(
            f"cannot choose a PCA template: {ca_arn!r} is not an ARN", reason=Reason.INVALID_ARN
        )
    return parts[1]


def _with_version(name: str) -> str:
    return name if "/" in name else f"{name}/V1"


def select_template(
    *,
    default_template_name: str | None,
    is_ca: bool,
    usages: Sequence[str],
    ca_arn: str,
) -> str:
    """The full template ARN to pass to ``IssueCertificate``.

    ``default_template_name`` may be a full template ARN (used as is), a name
    with a version (``EndEntityClientAuthCertificate/V1``) or a bare name
    (``EndEntityClientAuthCertificate``, which gets ``/V1``). The prefix is
    ``arn:<partition of the CA ARN>:acm-pca:::template/``.
    """
    prefix = f"arn:{_partition(ca_arn)}{TEMPLATE_ARN_MARKER}"
    if default_template_name:
        name = default_template_name.strip()
        if name.startswith("arn:"):
            return name
        return prefix + _with_version(name)
    if is_ca:
        return prefix + SUBORDINATE_CA
    if len(usages) == 1 and usages[0] in _SINGLE_USAGE:
        return prefix + _SINGLE_USAGE[usages[0]]
    if len(usages) == 2 and set(usages) == {"client auth", "server auth"}:
        return prefix + END_ENTITY
    return prefix + PASSTHROUGH
