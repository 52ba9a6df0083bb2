"""The STS wire protocol (query protocol, XML answers) and its three operations.

GetCallerIdentity and AssumeRole are SigV4-signed; AssumeRoleWithWebIdentity is
unsigned and validates the web identity token for real (signature against the
issuer's JWKS, iss, aud, exp/nbf) before checking the role's trusted subjects.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from aiohttp import web

from .calllog import CallRecord
from .errors import ApiError
from .identity import Credential, Identity, matches, trusts
from .jwt_verify import TokenError
from .queryproto import AUTH_CODES, iso8601, serve, xml_response

if TYPE_CHECKING:
    from .app import Emulator

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")

_TOKEN_CODES: dict[str, str] = {
    "expired": "ExpiredTokenException",
    "fetch": "IDPCommunicationError",
}


def _xml(action: str, result: str) -> web.Response:
    return xml_response(NAMESPACE, action, result)


def _credentials_xml(cred: Credential) -> str:
    ident = cred.identity
    return (
        "<Credentials>"
        f"<AccessKeyId>{ident.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{escape(cred.secret)}</SecretAccessKey>"
        f"<SessionToken>{escape(cred.session_token or '')}</SessionToken>"
        f"<Expiration>{iso8601(cred.expiration or 0)}</Expiration>"
        "</Credentials>"
        "<AssumedRoleUser>"
        f"<AssumedRoleId>{escape(ident.user_id)}</AssumedRoleId>"
        f"<Arn>{escape(ident.arn)}</Arn>"
        "</AssumedRoleUser>"
    )


async def handle(emu: Emulator, request: web.Request, body: bytes) -> web.Response:
    return await serve(emu, request, body, service="sts", namespace=NAMESPACE, handler=_handle)


async def _handle(
    emu: Emulator,
    request: web.Request,
    body: bytes,
    form: dict[str, str],
    action: str,
    rec: CallRecord,
) -> web.Response:
    if action not in ("GetCallerIdentity", "AssumeRole", "AssumeRoleWithWebIdentity"):
        raise ApiError("InvalidAction", f"Could not find operation {action} for version 2011-06-15")
    caller: Identity | None = None
    if action != "AssumeRoleWithWebIdentity":
        auth = emu.authenticate(request, body, service="sts", codes=AUTH_CODES)
        caller = auth.credential.identity
        rec.access_key_id, rec.caller_arn, rec.region = (
            caller.access_key_id,
            caller.arn,
            auth.region,
        )
    fault = emu.faults.decide(action)
    if fault.latency > 0:
        await asyncio.sleep(fault.latency)
    if fault.error is not None:
        raise fault.error
    if caller is not None and action == "GetCallerIdentity":
        return _xml(
            action,
            f"<UserId>{escape(caller.user_id)}</UserId><Account>{caller.account}</Account>"
            f"<Arn>{escape(caller.arn)}</Arn>",
        )
    role_arn = _param(form, "RoleArn")
    session = _param(form, "RoleSessionName")
    if not _SESSION_NAME.match(session):
        raise ApiError("ValidationError", "RoleSessionName must match [\\w+=,.@-]{2,64}")
    lifetime = _duration(emu, form)
    role = emu.creds.role_by_arn(role_arn)
    now = emu.clock()
    if caller is not None:
        if role is None or not trusts(caller, role.allowed_principals):
            raise ApiError(
                "AccessDenied",
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                403,
            )
        cred = emu.creds.mint(role, session, lifetime, now)
        rec.caller_arn = cred.identity.arn
        return _xml(action, _credentials_xml(cred) + "<PackedPolicySize>0</PackedPolicySize>")
    token = _param(form, "WebIdentityToken")
    try:
        provider, claims = await emu.oidc.verify(token, now)
    except TokenError as err:
        raise ApiError(_TOKEN_CODES.get(err.kind, "InvalidIdentityToken"), err.message) from err
    subject = str(claims.get("sub", ""))
    denied = ApiError(
        "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403
    )
    if role is None or not matches(subject, role.trusted_subjects):
        raise denied
    if role.trusted_issuers and provider.config.issuer not in role.trusted_issuers:
        raise denied
    cred = emu.creds.mint(role, session, lifetime, now)
    rec.caller_arn = cred.identity.arn
    rec.access_key_id = cred.identity.access_key_id
    return _xml(
        action,
        _credentials_xml(cred)
        + f"<SubjectFromWebIdentityToken>{escape(subject)}</SubjectFromWebIdentityToken>"
        + f"<Audience>{escape(provider.config.audience)}</Audience>"
        + f"<Provider>{escape(provider.config.issuer)}</Provider>",
    )


def _param(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise ApiError("MissingParameter", f"The request must contain the parameter {name}")
    return value


def _duration(emu: Emulator, form: dict[str, str]) -> float:
    c = emu.config
    raw = form.get("DurationSeconds")
    try:
        seconds = int(raw) if raw else c.sts_default_duration
    except ValueError as exc:
        raise ApiError("ValidationError", f"DurationSeconds not valid: {raw}") from exc
    if not c.sts_min_duration <= seconds <= c.sts_max_duration:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to "
            f"satisfy constraint: Member must have value between {c.sts_min_duration} and "
            f"{c.sts_max_duration}",
        )
    return c.credential_lifetime if c.credential_lifetime is not None else float(seconds)
