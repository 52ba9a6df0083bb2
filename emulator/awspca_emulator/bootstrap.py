"""Bootstrap of a root CA and a subordinate CA signed by it, both ACTIVE.

Runs the real flow through the same `PcaService` operations the API uses:
create root -> GetCertificateAuthorityCsr -> IssueCertificate with
RootCACertificate/V1 -> GetCertificate -> Import; then create subordinate ->
CSR -> IssueCertificate by the root with SubordinateCACertificate_PathLenN/V1 ->
GetCertificate -> Import with the chain.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from . import certs
from .errors import ApiError
from .pca_ops import CallContext

if TYPE_CHECKING:
    from .app import Emulator

KEY_ALIASES = {"rsa": "RSA_2048", "ec": "EC_prime256v1"}
SIGNING = {
    "RSA_2048": "SHA256WITHRSA",
    "RSA_3072": "SHA256WITHRSA",
    "RSA_4096": "SHA256WITHRSA",
    "EC_prime256v1": "SHA256WITHECDSA",
    "EC_secp384r1": "SHA384WITHECDSA",
    "EC_secp521r1": "SHA512WITHECDSA",
}


async def _wait_certificate(emu: Emulator, ca_arn: str, cert_arn: str, ctx: CallContext) -> str:
    while True:
        try:
            out = emu.pca.get_certificate(
                {"CertificateAuthorityArn": ca_arn, "CertificateArn": cert_arn}, ctx
            )
            return str(out["Certificate"])
        except ApiError as err:
            if err.code != "RequestInProgressException":
                raise
            await asyncio.sleep(0.05)


async def _create(emu: Emulator, ctx: CallContext, ca_type: str, key_alg: str, cn: str) -> str:
    loop = asyncio.get_running_loop()
    key = await loop.run_in_executor(None, certs.generate_key, key_alg)
    out = emu.pca.create_certificate_authority(
        {
            "CertificateAuthorityType": ca_type,
            "CertificateAuthorityConfiguration": {
                "KeyAlgorithm": key_alg,
                "SigningAlgorithm": SIGNING[key_alg],
                "Subject": {"Organization": "Emulator", "CommonName": cn},
            },
        },
        ctx,
        key=key,
    )
    return str(out["CertificateAuthorityArn"])


async def _signed_by(
    emu: Emulator,
    ctx: CallContext,
    ca_arn: str,
    signer_arn: str,
    signing: str,
    template_arn: str,
    years: int,
) -> str:
    """The certificate (PEM) ``signer_arn`` issues for ``ca_arn``'s CSR with ``template_arn``."""
    ops = emu.pca
    csr = ops.get_certificate_authority_csr({"CertificateAuthorityArn": ca_arn}, ctx)["Csr"]
    issued = ops.issue_certificate(
        {
            "CertificateAuthorityArn": signer_arn,
            "Csr": csr.encode(),
            "SigningAlgorithm": signing,
            "TemplateArn": template_arn,
            "Validity": {"Type": "YEARS", "Value": years},
        },
        ctx,
    )
    return await _wait_certificate(emu, signer_arn, issued["CertificateArn"], ctx)


async def bootstrap(
    emu: Emulator,
    *,
    key_algorithm: str = "RSA_2048",
    region: str = "us-east-1",
    subordinate_pathlen: int = 0,
    account: str | None = None,
    root_years: int = 10,
    subordinate_years: int = 5,
) -> dict[str, Any]:
    """Create root + subordinate CAs; returns their ARNs and certificates."""
    key_alg = KEY_ALIASES.get(key_algorithm.lower(), key_algorithm)
    if key_alg not in SIGNING:
        raise ApiError("InvalidArgsException", f"KeyAlgorithm not supported: {key_algorithm}")
    if not 0 <= subordinate_pathlen <= 3:
        raise ApiError("InvalidArgsException", "subordinate_pathlen must be 0..3")
    ctx = CallContext(account=account or emu.config.account_id, region=region)
    ops = emu.pca
    tpl = "arn:aws:acm-pca:::template/"

    root = await _create(emu, ctx, "ROOT", key_alg, "Emulator Root CA")
    root_pem = await _signed_by(
        emu, ctx, root, root, SIGNING[key_alg], tpl + "RootCACertificate/V1", root_years
    )
    ops.import_certificate_authority_certificate(
        {"CertificateAuthorityArn": root, "Certificate": root_pem.encode()}, ctx
    )

    sub = await _create(emu, ctx, "SUBORDINATE", key_alg, "Emulator Subordinate CA")
    sub_template = tpl + f"SubordinateCACertificate_PathLen{subordinate_pathlen}/V1"
    sub_pem = await _signed_by(
        emu, ctx, sub, root, SIGNING[key_alg], sub_template, subordinate_years
    )
    ops.import_certificate_authority_certificate(
        {
            "CertificateAuthorityArn": sub,
            "Certificate": sub_pem.encode(),
            "CertificateChain": root_pem.encode(),
        },
        ctx,
    )
    return {
        "root_arn": root,
        "subordinate_arn": sub,
        "region": region,
        "account": ctx.account,
        "key_algorithm": key_alg,
        "signing_algorithm": SIGNING[key_alg],
        "root_certificate": root_pem,
        "subordinate_certificate": sub_pem,
    }
