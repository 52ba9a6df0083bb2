"""ACM PCA certificate templates: ARN parsing and the extensions each one sets.

Error codes: an unknown or malformed template ARN, a CA template on a CA whose
own path length forbids it, and a RootCACertificate template on a CA that is not
a pending/own root all raise ``InvalidArgsException`` (the code the service's
model documents for IssueCertificate argument errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from .errors import ApiError

DEFAULT_TEMPLATE = "EndEntityCertificate"
_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):acm-pca:::template/([A-Za-z0-9_]+)/V1$")


@dataclass(frozen=True)
class KeyUsageSpec:
    digital_signature: bool = False
    key_encipherment: bool = False
    key_agreement: bool = False
    key_cert_sign: bool = False
    crl_sign: bool = False

    def extension(self) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=self.digital_signature,
            content_commitment=False,
            key_encipherment=self.key_encipherment,
            data_encipherment=False,
            key_agreement=self.key_agreement,
            key_cert_sign=self.key_cert_sign,
            crl_sign=self.crl_sign,
            encipher_only=False,
            decipher_only=False,
        )


@dataclass(frozen=True)
class Template:
    name: str
    is_ca: bool = False
    path_length: int | None = None
    is_root: bool = False
    key_usage: KeyUsageSpec | None = None
    eku: tuple[x509.ObjectIdentifier, ...] = ()
    #: Copy the CSR's extensions (APICSRPassthrough).
    csr_passthrough: bool = False
    #: Keep the CSR's subject alternative names.
    keep_sans: bool = True


_CA_KU = KeyUsageSpec(digital_signature=True, key_cert_sign=True, crl_sign=True)

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "EndEntityCertificate",
            key_usage=KeyUsageSpec(digital_signature=True, key_encipherment=True),
            eku=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
        ),
        Template(
            "EndEntityClientAuthCertificate",
            key_usage=KeyUsageSpec(digital_signature=True, key_agreement=True),
            eku=(ExtendedKeyUsageOID.CLIENT_AUTH,),
        ),
        Template(
            "EndEntityServerAuthCertificate",
            key_usage=KeyUsageSpec(digital_signature=True, key_encipherment=True),
            eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
        ),
        Template(
            "CodeSigningCertificate",
            key_usage=KeyUsageSpec(digital_signature=True),
            eku=(ExtendedKeyUsageOID.CODE_SIGNING,),
        ),
        Template(
            "OCSPSigningCertificate",
            key_usage=KeyUsageSpec(digital_signature=True),
            eku=(ExtendedKeyUsageOID.OCSP_SIGNING,),
        ),
        Template("BlankEndEntityCertificate_APICSRPassthrough", csr_passthrough=True),
        *(
            Template(
                f"SubordinateCACertificate_PathLen{n}",
                is_ca=True,
                path_length=n,
                key_usage=_CA_KU,
                keep_sans=False,
            )
            for n in range(4)
        ),
        Template("RootCACertificate", is_ca=True, is_root=True, key_usage=_CA_KU, keep_sans=False),
    )
}

#: Extensions the CA always sets itself, never copied from a CSR.
_CA_OWNED = {
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
}


def parse_template_arn(arn: str | None) -> Template:
    """The template for a TemplateArn (EndEntityCertificate/V1 when absent)."""
    if arn is None:
        return TEMPLATES[DEFAULT_TEMPLATE]
    m = _ARN.match(arn)
    if m is None or m.group(2) not in TEMPLATES:
        raise ApiError("InvalidArgsException", f"The template ARN is not valid: {arn}")
    return TEMPLATES[m.group(2)]


def check_path_length(
    template: Template, issuer_path_length: int | None, issuer_is_ca: bool
) -> None:
    """A CA may only issue CA certificates its own basic constraints allow."""
    if not template.is_ca or template.is_root:
        return
    if not issuer_is_ca:
        raise ApiError("InvalidArgsException", "The issuing certificate is not a CA.")
    if (
        issuer_path_length is not None
        and template.path_length is not None
        and template.path_length >= issuer_path_length
    ):
        raise ApiError(
            "InvalidArgsException",
            f"The template {template.name}/V1 requires a path length of "
            f"{template.path_length}, but the issuing CA's path length constraint "
            f"is {issuer_path_length}; the path length of an issued CA certificate "
            "must be less than the issuing CA's.",
        )


def template_extensions(
    template: Template, csr: x509.CertificateSigningRequest
) -> list[tuple[x509.ExtensionType, bool]]:
    """Extensions (value, critical) the template puts in the certificate, SKI/AKI aside."""
    exts: list[tuple[x509.ExtensionType, bool]] = []
    if template.csr_passthrough:
        exts.append((x509.BasicConstraints(ca=False, path_length=None), True))
        for ext in csr.extensions:
            if ext.oid not in _CA_OWNED:
                exts.append((ext.value, ext.critical))
        return exts
    exts.append((x509.BasicConstraints(ca=template.is_ca, path_length=template.path_length), True))
    if template.key_usage is not None:
        exts.append((template.key_usage.extension(), True))
    if template.eku:
        exts.append((x509.ExtendedKeyUsage(list(template.eku)), False))
    if template.keep_sans:
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            pass
        else:
            exts.append((san.value, san.critical))
    return exts
