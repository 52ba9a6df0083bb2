"""The ACM PCA wire protocol (AWS JSON 1.1) on top of `PcaService`.

Parses ``X-Amz-Target: ACMPrivateCA.<Op>`` requests as botocore sends them,
authenticates them (SigV4), applies role permissions, fault injection and
throttling, runs the operation and answers JSON, or a JSON error
``{"__type": code, "message": ...}`` botocore turns into a ClientError.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import certs
from .calllog import CallRecord
from .errors import ApiError
from .identity import Identity
from .limits import check_input
from .pca_ops import OPERATIONS, CallContext

if TYPE_CHECKING:
    from .app import Emulator

TARGET_PREFIX = "ACMPrivateCA."
CONTENT_TYPE = "application/x-amz-json-1.1"
BLOB_PARAMS = ("Csr", "Certificate", "CertificateChain")
#: What PCA applies when IssueCertificate names no template.
DEFAULT_TEMPLATE_ARN = "arn:aws:acm-pca:::template/EndEntityCertificate/V1"

_AUTH_CODES: dict[str, tuple[str, int]] = {
    "missing": ("MissingAuthenticationTokenException", 403),
    "malformed": ("IncompleteSignatureException", 400),
    "unknown_key": ("UnrecognizedClientException", 400),
    "invalid_token": ("UnrecognizedClientException", 400),
    "expired": ("ExpiredTokenException", 400),
    "bad_signature": ("InvalidSignatureException", 400),
    "skew": ("InvalidSignatureException", 400),
}


def _json_response(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def error_response(err: ApiError) -> web.Response:
    return _json_response({"__type": err.code, "message": err.message}, err.status)


def _decode_blobs(params: dict[str, Any]) -> None:
    for name in BLOB_PARAMS:
        value = params.get(name)
        if isinstance(value, str):
            try:
                params[name] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                params[name] = value.encode()


def authorize(emu: Emulator, identity: Identity, operation: str, params: dict[str, Any]) -> None:
    """The caller's policies, and for a CA of another account a RAM share, must allow the call."""
    ca_arn = params.get("CertificateAuthorityArn")
    if not isinstance(ca_arn, str):
        emu.authz.check(identity, f"acm-pca:{operation}", "*")
        return
    context: dict[str, str] = {}
    if operation == "IssueCertificate":
        template = params.get("TemplateArn")
        context["acm-pca:TemplateArn"] = (
            template if isinstance(template, str) else DEFAULT_TEMPLATE_ARN
        )
    ca = emu.store.cas.get(ca_arn)
    emu.authz.check(
        identity,
        f"acm-pca:{operation}",
        ca_arn,
        resource_account=ca.account if ca is not None else _arn_account(ca_arn),
        context=context,
    )


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


async def handle(emu: Emulator, request: web.Request, body: bytes, target: str) -> web.Response:
    operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target
    rec = CallRecord(
        time=time.time(), service="acm-pca", operation=operation, result="OK", status=200
    )
    return await emu.recorded(rec, _handle(emu, request, body, operation, rec), error_response)


async def _handle(
    emu: Emulator, request: web.Request, body: bytes, operation: str, rec: CallRecord
) -> web.Response:
    if operation not in OPERATIONS:
        raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
    try:
        params = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError("SerializationException", "The request body is not valid JSON.") from exc
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    ca_arn = params.get("CertificateAuthorityArn")
    rec.ca_arn = ca_arn if isinstance(ca_arn, str) else None
    token = params.get("IdempotencyToken")
    rec.idempotency_token = token if isinstance(token, str) else None
    if isinstance(params.get("CertificateArn"), str):
        rec.certificate_arn = params["CertificateArn"]
    auth = emu.authenticate(request, body, service="acm-pca", codes=_AUTH_CODES)
    identity = auth.credential.identity
    rec.access_key_id = identity.access_key_id
    rec.caller_arn = identity.arn
    rec.region = auth.region
    authorize(emu, identity, operation, params)
    fault = emu.faults.decide(operation)
    if fault.latency > 0:
        await asyncio.sleep(fault.latency)
    if fault.error is not None:
        raise fault.error
    if not emu.throttler.allow(operation, identity.account, auth.region):
        raise ApiError("ThrottlingException", "Rate exceeded")
    _decode_blobs(params)
    check_input(operation, params)
    ctx = CallContext(account=identity.account, region=auth.region)
    if operation == "CreateCertificateAuthority":
        result = await _create_ca(emu, params, ctx)
    else:
        result = OPERATIONS[operation](emu.pca, params, ctx)
    if operation == "IssueCertificate":
        rec.certificate_arn = result.get("CertificateArn")
    if operation == "CreateCertificateAuthority":
        rec.ca_arn = result.get("CertificateAuthorityArn")
    return _json_response(result)


async def _create_ca(emu: Emulator, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    """CreateCertificateAuthority with the (slow, for RSA) key generation off the loop."""
    conf = params.get("CertificateAuthorityConfiguration")
    key = None
    if isinstance(conf, dict) and conf.get("KeyAlgorithm") in certs.KEY_ALGORITHMS:
        certs.check_signing_algorithm(conf["KeyAlgorithm"], str(conf.get("SigningAlgorithm")))
        loop = asyncio.get_running_loop()
        key = await loop.run_in_executor(None, certs.generate_key, conf["KeyAlgorithm"])
    return emu.pca.create_certificate_authority(params, ctx, key=key)
