"""The RAM wire protocol (REST-JSON: one path per operation, camelCase members).

Operations: CreateResourceShare, GetResourceShareInvitations,
AcceptResourceShareInvitation, GetResourceShareAssociations,
DeleteResourceShare. Errors carry ``x-amzn-ErrorType`` and a JSON body, as
the service sends them.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .calllog import CallRecord
from .errors import ApiError
from .ram_ops import Invitation, Share

if TYPE_CHECKING:
    from .app import Emulator

PATHS = {
    "/createresourceshare": "CreateResourceShare",
    "/getresourceshareinvitations": "GetResourceShareInvitations",
    "/acceptresourceshareinvitation": "AcceptResourceShareInvitation",
    "/getresourceshareassociations": "GetResourceShareAssociations",
    "/deleteresourceshare": "DeleteResourceShare",
}
_AUTH_CODES: dict[str, tuple[str, int]] = {
    "missing": ("MissingAuthenticationTokenException", 403),
    "malformed": ("IncompleteSignatureException", 400),
    "unknown_key": ("UnrecognizedClientException", 403),
    "invalid_token": ("UnrecognizedClientException", 403),
    "expired": ("ExpiredTokenException", 403),
    "bad_signature": ("InvalidSignatureException", 403),
    "skew": ("InvalidSignatureException", 403),
}


def error_response(err: ApiError) -> web.Response:
    return web.Response(
        body=json.dumps({"__type": err.code, "message": err.message}).encode(),
        status=err.status,
        headers={"Content-Type": "application/json", "x-amzn-ErrorType": err.code},
    )


def _ok(data: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _share_json(s: Share) -> dict[str, Any]:
    return {
        "resourceShareArn": s.arn,
        "name": s.name,
        "owningAccountId": s.owner,
        "allowExternalPrincipals": s.allow_external,
        "status": s.status,
        "creationTime": s.created_at,
        "lastUpdatedTime": s.updated_at,
        "featureSet": "STANDARD",
    }


def _invitation_json(i: Invitation, share: Share) -> dict[str, Any]:
    return {
        "resourceShareInvitationArn": i.arn,
        "resourceShareName": share.name,
        "resourceShareArn": i.share_arn,
        "senderAccountId": i.sender,
        "receiverAccountId": i.receiver,
        "invitationTimestamp": i.created_at,
        "status": i.status,
    }


def _strings(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("InvalidParameterException", f"{name} must be a list of strings.")
    return value


async def handle(emu: Emulator, request: web.Request, body: bytes) -> web.Response:
    operation = PATHS.get(request.path, request.path)
    rec = CallRecord(time=time.time(), service="ram", operation=operation, result="OK", status=200)
    return await emu.recorded(rec, _handle(emu, request, body, operation, rec), error_response)


async def _handle(
    emu: Emulator, request: web.Request, body: bytes, operation: str, rec: CallRecord
) -> web.Response:
    auth = emu.authenticate(request, body, service="ram", codes=_AUTH_CODES)
    caller = auth.credential.identity
    rec.access_key_id, rec.caller_arn, rec.region = caller.access_key_id, caller.arn, auth.region
    if operation not in PATHS.values():
        raise ApiError("UnknownOperationException", f"Unknown operation {request.path}", 404)
    try:
        params = json.loads(body) if body else {}
    except ValueError as exc:
        raise ApiError("MalformedPolicyTemplateException", "The body is not JSON.") from exc
    params.update(request.query)
    if not isinstance(params, dict):
        raise ApiError("InvalidParameterException", "The body must be a JSON object.")
    emu.authz.check(caller, f"ram:{operation}", "*", code="OperationNotPermittedException")
    acct, ram = caller.account, emu.ram
    match operation:
        case "CreateResourceShare":
            perms = _strings(params, "permissionArns")
            share = ram.create(
                acct,
                auth.region,
                params.get("name"),
                _strings(params, "resourceArns"),
                _strings(params, "principals"),
                perms or None,
                bool(params.get("allowExternalPrincipals", True)),
            )
            return _ok(
                {"resourceShare": _share_json(share), "clientToken": params.get("clientToken")}
            )
        case "GetResourceShareInvitations":
            invs = ram.invitations_for(
                acct,
                _strings(params, "resourceShareArns"),
                _strings(params, "resourceShareInvitationArns"),
            )
            return _ok(
                {
                    "resourceShareInvitations": [
                        _invitation_json(i, ram.shares[i.share_arn]) for i in invs
                    ]
                }
            )
        case "AcceptResourceShareInvitation":
            inv = ram.accept(acct, params.get("resourceShareInvitationArn"))
            return _ok(
                {
                    "resourceShareInvitation": _invitation_json(inv, ram.shares[inv.share_arn]),
                    "clientToken": params.get("clientToken"),
                }
            )
        case "GetResourceShareAssociations":
            kind = params.get("associationType")
            if kind not in ("RESOURCE", "PRINCIPAL"):
                raise ApiError(
                    "InvalidParameterException", "associationType must be RESOURCE or PRINCIPAL."
                )
            wanted = _strings(params, "resourceShareArns")
            out = []
            for share in ram.shares.values():
                if share.owner != acct or (wanted and share.arn not in wanted):
                    continue
                for a in share.associations:
                    if a.kind != kind:
                        continue
                    out.append(
                        {
                            "resourceShareArn": share.arn,
                            "resourceShareName": share.name,
                            "associatedEntity": a.entity,
                            "associationType": a.kind,
                            "status": a.status,
                            "creationTime": a.created_at,
                            "lastUpdatedTime": a.updated_at,
                            "external": a.external,
                        }
                    )
            return _ok({"resourceShareAssociations": out})
        case _:  # DeleteResourceShare
            ram.delete(acct, params.get("resourceShareArn"))
            return _ok({"returnValue": True, "clientToken": params.get("clientToken")})
