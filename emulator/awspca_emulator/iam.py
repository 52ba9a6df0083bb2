"""The IAM wire protocol (query protocol, XML answers) on top of `IamDirectory`.

Operations: CreatePolicy, GetPolicy, DeletePolicy, CreateUser, GetUser,
DeleteUser, AttachUserPolicy, DetachUserPolicy, ListAttachedUserPolicies,
CreateAccessKey, DeleteAccessKey, ListAccessKeys. Every call is SigV4-signed
for service ``iam`` and authorized (``iam:<Action>`` on the entity's ARN) in
the caller's account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from aiohttp import web

from .calllog import CallRecord
from .errors import ApiError
from .iam_ops import AccessKey, ManagedPolicy, User
from .queryproto import AUTH_CODES, iso8601, serve, xml_response

if TYPE_CHECKING:
    from .app import Emulator

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def _policy_xml(p: ManagedPolicy) -> str:
    return (
        "<Policy>"
        f"<PolicyName>{escape(p.name)}</PolicyName><PolicyId>{p.policy_id}</PolicyId>"
        f"<Arn>{escape(p.arn)}</Arn><Path>{escape(p.path)}</Path>"
        "<DefaultVersionId>v1</DefaultVersionId>"
        f"<AttachmentCount>{p.attachments}</AttachmentCount>"
        f"<PermissionsBoundaryUsageCount>{p.boundary_uses}</PermissionsBoundaryUsageCount>"
        "<IsAttachable>true</IsAttachable>"
        f"<CreateDate>{iso8601(p.created_at)}</CreateDate>"
        f"<UpdateDate>{iso8601(p.created_at)}</UpdateDate>"
        "</Policy>"
    )


def _user_xml(u: User) -> str:
    boundary = (
        "<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType>"
        f"<PermissionsBoundaryArn>{escape(u.boundary_arn)}</PermissionsBoundaryArn>"
        "</PermissionsBoundary>"
        if u.boundary_arn
        else ""
    )
    return (
        "<User>"
        f"<Path>{escape(u.path)}</Path><UserName>{escape(u.name)}</UserName>"
        f"<UserId>{u.user_id}</UserId><Arn>{escape(u.arn)}</Arn>"
        f"<CreateDate>{iso8601(u.created_at)}</CreateDate>{boundary}"
        "</User>"
    )


def _key_xml(k: AccessKey, *, with_secret: bool) -> str:
    secret = f"<SecretAccessKey>{escape(k.secret)}</SecretAccessKey>" if with_secret else ""
    tag = "AccessKey" if with_secret else "member"
    return (
        f"<{tag}><UserName>{escape(k.user_name)}</UserName>"
        f"<AccessKeyId>{k.access_key_id}</AccessKeyId><Status>{k.status}</Status>{secret}"
        f"<CreateDate>{iso8601(k.created_at)}</CreateDate></{tag}>"
    )


async def handle(emu: Emulator, request: web.Request, body: bytes) -> web.Response:
    return await serve(emu, request, body, service="iam", namespace=NAMESPACE, handler=_handle)


async def _handle(
    emu: Emulator,
    request: web.Request,
    body: bytes,
    form: dict[str, str],
    action: str,
    rec: CallRecord,
) -> web.Response:
    auth = emu.authenticate(request, body, service="iam", codes=AUTH_CODES)
    caller = auth.credential.identity
    rec.access_key_id, rec.caller_arn, rec.region = caller.access_key_id, caller.arn, auth.region
    acct = caller.account
    d = emu.iam

    def allow(resource: str) -> None:
        emu.authz.check(caller, f"iam:{action}", resource, code="AccessDenied")

    def user_arn(name: str | None) -> str:
        return f"arn:aws:iam::{acct}:user/{name}"

    def ok(result: str = "") -> web.Response:
        return xml_response(NAMESPACE, action, result)

    name = form.get("UserName")
    match action:
        case "CreatePolicy":
            allow(f"arn:aws:iam::{acct}:policy/{form.get('PolicyName')}")
            pol = d.create_policy(
                acct, form.get("PolicyName"), form.get("PolicyDocument"), form.get("Path")
            )
            return ok(_policy_xml(pol))
        case "GetPolicy":
            allow(str(form.get("PolicyArn")))
            return ok(_policy_xml(d.policy(acct, form.get("PolicyArn"))))
        case "DeletePolicy":
            allow(str(form.get("PolicyArn")))
            d.delete_policy(acct, form.get("PolicyArn"))
            return ok()
        case "CreateUser":
            allow(user_arn(name))
            return ok(
                _user_xml(
                    d.create_user(acct, name, form.get("Path"), form.get("PermissionsBoundary"))
                )
            )
        case "GetUser":
            if not name:  # the caller itself
                return ok(_user_xml(d.user(acct, caller.arn.rsplit("/", 1)[-1])))
            allow(user_arn(name))
            return ok(_user_xml(d.user(acct, name)))
        case "DeleteUser":
            allow(user_arn(name))
            d.delete_user(acct, name)
            return ok()
        case "AttachUserPolicy":
            allow(user_arn(name))
            d.attach_user_policy(acct, name, form.get("PolicyArn"))
            return ok()
        case "DetachUserPolicy":
            allow(user_arn(name))
            d.detach_user_policy(acct, name, form.get("PolicyArn"))
            return ok()
        case "ListAttachedUserPolicies":
            allow(user_arn(name))
            members = "".join(
                f"<member><PolicyName>{escape(d.policies[a].name)}</PolicyName>"
                f"<PolicyArn>{escape(a)}</PolicyArn></member>"
                for a in d.user(acct, name).attached
            )
            return ok(
                f"<AttachedPolicies>{members}</AttachedPolicies><IsTruncated>false</IsTruncated>"
            )
        case "CreateAccessKey":
            allow(user_arn(name))
            return ok(_key_xml(d.create_access_key(acct, name), with_secret=True))
        case "DeleteAccessKey":
            allow(user_arn(name))
            d.delete_access_key(acct, name, form.get("AccessKeyId"))
            return ok()
        case "ListAccessKeys":
            allow(user_arn(name))
            keys = "".join(_key_xml(k, with_secret=False) for k in d.user(acct, name).keys.values())
            return ok(
                f"<AccessKeyMetadata>{keys}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
            )
    raise ApiError("InvalidAction", f"Could not find operation {action} for version 2010-05-08")
